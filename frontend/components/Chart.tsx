"use client";

import type { Data, Layout } from "plotly.js-dist-min";
import { useEffect, useRef, useState } from "react";
import { getJson, message } from "@/lib/api";

type Figure = { data: Data[]; layout: Partial<Layout> };

/** One dashboard chart: its Plotly figure drawn by the bundled plotly.js, or the server's "no data yet". */
export default function Chart({ title, url }: { title: string; url: string }) {
  const target = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<{ empty?: string; error?: string; drawn?: boolean }>({});

  useEffect(() => {
    let gone = false;
    const element = target.current;
    setState({});
    (async () => {
      try {
        const figure = await getJson<Figure>(url);
        if (gone) return;
        if (!figure.data.length) {
          // The API's empty figure has no traces and says why in an annotation.
          setState({ empty: figure.layout.annotations?.[0]?.text ?? "no data yet" });
          return;
        }
        // Loaded on demand: plotly.js is large and only this page needs it.
        const Plotly = await import("plotly.js-dist-min");
        if (gone || !element) return;
        await Plotly.newPlot(element, figure.data, { ...figure.layout, autosize: true },
                             { responsive: true, displaylogo: false, topojsonURL: "/visualize/topojson/" });
        setState({ drawn: true });
      } catch (e) {
        if (!gone) setState({ error: message(e) });
      }
    })();
    return () => {
      gone = true;
      if (element) import("plotly.js-dist-min").then((Plotly) => Plotly.purge(element));
    };
  }, [url]);

  const status = state.error ? "error" : state.empty ? "empty" : state.drawn ? "drawn" : "loading";
  return (
    <section className="card chart" aria-label={title} data-chart-state={status}>
      <h2>{title}</h2>
      {state.empty && <p className="no-data">{state.empty}</p>}
      {state.error && <p role="alert" className="error">{state.error}</p>}
      {status === "loading" && <p className="muted">Loading…</p>}
      <div ref={target} className="plot" hidden={!!state.empty || !!state.error} />
    </section>
  );
}
