"use client";

import { FormEvent, useState } from "react";
import Chart from "@/components/Chart";
import { ApiQuery, Graph, Labels, Makes } from "@/lib/api";
import { useApi } from "@/lib/swr";

// The query parameters the charts read (visualize/filters.py), as the form holds them.
type Filters = Record<keyof ApiQuery<"/visualize/graphs", "get">, string>;
const NONE: Filters = { from: "", to: "", country: "", make: "", tag: "" };

export default function DashboardsPage() {
  const [draft, setDraft] = useState<Filters>(NONE);
  const [applied, setApplied] = useState<Filters>(NONE);
  const makes = useApi<Makes>("/recommend/makes?limit=100").data?.makes ?? [];
  const labels = useApi<Labels>("/recommend/labels?limit=100").data?.labels ?? [];
  const params = new URLSearchParams(Object.entries(applied).filter(([, value]) => value));
  // The charts of the filters applied last stay on screen while the next ones load.
  const { data: graphs, error } = useApi<Graph[]>(`/visualize/graphs?${params.toString()}`, {
    keepPreviousData: true,
  });

  function apply(event: FormEvent) {
    event.preventDefault();
    setApplied(draft);
  }

  const field = (name: keyof Filters) => ({
    id: `filter-${name}`,
    value: draft[name],
    onChange: (e: { target: { value: string } }) => setDraft((d) => ({ ...d, [name]: e.target.value })),
  });

  return (
    <>
      <h1>Dashboards</h1>
      <form className="card filters" onSubmit={apply} aria-label="Filters">
        <div className="field">
          <label htmlFor="filter-from">Taken from</label>
          <input type="date" {...field("from")} />
        </div>
        <div className="field">
          <label htmlFor="filter-to">Taken until</label>
          <input type="date" {...field("to")} />
        </div>
        <div className="field">
          <label htmlFor="filter-country">Country (name or code)</label>
          <input type="text" {...field("country")} />
        </div>
        <div className="field">
          <label htmlFor="filter-make">Camera make</label>
          <input type="text" list="make-choices" {...field("make")} />
          <datalist id="make-choices">
            {makes.map((m) => <option key={m.make} value={m.make}>{`${m.make} (${m.count})`}</option>)}
          </datalist>
        </div>
        <div className="field">
          <label htmlFor="filter-tag">Tag</label>
          <input type="text" list="tag-choices" {...field("tag")} />
          <datalist id="tag-choices">
            {labels.map((l) => <option key={l.label} value={l.label}>{`${l.label} (${l.count})`}</option>)}
          </datalist>
        </div>
        <div className="actions row">
          <button type="submit" className="primary">
            Apply filters
          </button>
          <button type="button" onClick={() => { setDraft(NONE); setApplied(NONE); }}>
            Clear
          </button>
        </div>
      </form>
      {error && (
        <p role="alert" className="error">
          {error.message}
        </p>
      )}
      <div className="charts">
        {graphs?.map((graph) => <Chart key={graph.url} title={graph.title} url={graph.url} />)}
      </div>
    </>
  );
}
