"use client";

import type { Data, Layout } from "plotly.js-dist-min";
import { useEffect, useRef, useState } from "react";
import { useApi } from "@/lib/swr";

// LOCAL: a Plotly figure; GET /visualize/graph/{name} is a plain object in the API's document.
type Figure = { data: Data[]; layout: Partial<Layout> };

/** One dashboard chart: its Plotly figure drawn by the bundled plotly.js, or the server's "no data yet". */
export default function Chart({ title, url }: { title: string; url: string }) {
  const target = useRef<HTMLDivElement>(null);
  const { data: figure, error: fetchError } = useApi<Figure>(url, { revalidateOnFocus: false });
  // Which figure is on screen, and why the last one could not be drawn.
  const [drawn, setDrawn] = useState<{ figure?: Figure; error?: string }>({});

  useEffect(() => {
    const element = target.current;
    if (!figure?.data.length || !element) return;
    let gone = false;
    (async () => {
      try {
        // Loaded on demand: plotly.js is large and only this page needs it.
        const Plotly = await import("plotly.js-dist-min");
        if (gone) return;
        await Plotly.newPlot(element, figure.data, { ...figure.layout, autosize: true },
                             { responsive: true, displaylogo: false, topojsonURL: "/visualize/topojson/" });
        if (!gone) setDrawn({ figure });
      } catch (e) {
        if (!gone) setDrawn({ figure, error: e instanceof Error ? e.message : String(e) });
      }
    })();
    return () => {
      gone = true;
      import("plotly.js-dist-min").then((Plotly) => Plotly.purge(element));
    };
  }, [figure]);

  // The API's empty figure has no traces and says why in an annotation.
  const empty = figure && !figure.data.length ? (figure.layout.annotations?.[0]?.text ?? "no data yet") : undefined;
  const error = fetchError?.message ?? (drawn.figure === figure ? drawn.error : undefined);
  const status = error ? "error" : empty ? "empty" : figure && drawn.figure === figure ? "drawn" : "loading";
  return (
    <section className="card chart" aria-label={title} data-chart-state={status}>
      <h2>{title}</h2>
      {empty && <p className="no-data">{empty}</p>}
      {error && <p role="alert" className="error">{error}</p>}
      {status === "loading" && <p className="muted">Loading…</p>}
      <div ref={target} className="plot" hidden={!!empty || !!error} />
    </section>
  );
}
