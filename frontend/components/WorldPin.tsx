"use client";

import { useEffect, useRef, useState } from "react";

/** Where a photo was taken: one marker on the world map the dashboards draw, with the outlines our own API
 *  serves (/visualize/topojson/), so no map tiles and no request leaves the platform. */
export default function WorldPin({ latitude, longitude }: { latitude: number; longitude: number }) {
  const target = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<"loading" | "drawn" | "failed">("loading");

  useEffect(() => {
    let gone = false;
    const element = target.current;
    (async () => {
      try {
        // Loaded on demand: plotly.js is large and only photos with a position need it here.
        const Plotly = await import("plotly.js-dist-min");
        if (gone || !element) return;
        await Plotly.newPlot(
          element,
          [{ type: "scattergeo", lat: [latitude], lon: [longitude], mode: "markers", hoverinfo: "skip",
             marker: { size: 12, color: "#c0392b", line: { color: "#ffffff", width: 2 } } }],
          { geo: { scope: "world", resolution: 110, projection: { type: "natural earth" }, showcountries: true,
                   showland: true, landcolor: "#e7ece3", countrycolor: "#a9b3a1", fitbounds: false },
            margin: { l: 0, r: 0, t: 0, b: 0 }, height: 240, showlegend: false },
          // A picture (role="img", named by its coordinates): no zoom, hover or mode bar, whose controls inside
          // an image would be hidden from assistive technology (axe: nested-interactive).
          { displaylogo: false, responsive: true, staticPlot: true, topojsonURL: "/visualize/topojson/" },
        );
        if (!gone) setState("drawn");
      } catch {
        if (!gone) setState("failed");
      }
    })();
    return () => {
      gone = true;
      if (element) import("plotly.js-dist-min").then((Plotly) => Plotly.purge(element));
    };
  }, [latitude, longitude]);

  return (
    <figure className="world" data-map-state={state}>
      <div ref={target} role="img"
           aria-label={`Map pin at latitude ${latitude.toFixed(4)}, longitude ${longitude.toFixed(4)}`} />
      {state === "failed" && <figcaption className="error">The map could not be drawn.</figcaption>}
    </figure>
  );
}
