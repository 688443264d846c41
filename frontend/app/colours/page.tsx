"use client";

import { useRouter, useSearchParams } from "next/navigation";
import { FormEvent, Suspense, useState } from "react";
import ResultGrid from "@/components/ResultGrid";
import { ColourNames, Recommendation, Results } from "@/lib/api";
import { useApi } from "@/lib/swr";

const MAX_COLOURS = 5; // as recommend/colour_search.py

type Match = { wanted: string; colour: string; share: number; delta_e: number };

function matches(result: Recommendation): Match[] {
  const parts = (result.explanation as { colours?: Match[] }).colours;
  return Array.isArray(parts) ? parts : [];
}

function Matches({ result }: { result: Recommendation }) {
  return (
    <ul className="why">
      {matches(result).map((m) => (
        <li key={m.wanted}>
          <span className="swatch small" style={{ background: m.colour }} aria-hidden="true" /> {m.colour}: ΔE{" "}
          {m.delta_e.toFixed(1)} from {m.wanted}, {(m.share * 100).toFixed(0)}% of the photo
        </li>
      ))}
    </ul>
  );
}

function ColourSearch() {
  const router = useRouter();
  const query = useSearchParams();
  const [hexes, setHexes] = useState<string[]>(["#2050d0"]);
  const [minShare, setMinShare] = useState("5");
  const names = useApi<ColourNames>("/recommend/colour-names");
  // The search lives in the address (?hex=…&name=…&min_share=…), so a palette swatch can link here.
  const wantedHexes = query.getAll("hex");
  const wantedNames = query.getAll("name");
  const asked = [...wantedHexes, ...wantedNames].join(" + ");
  // The last results stay on screen while the next search runs.
  const found = useApi<Results>(asked ? `/recommend/colours?${query.toString()}` : null, { keepPreviousData: true });
  const results = found.data?.results;
  const busy = found.isLoading;
  const error = found.error?.message ?? names.error?.message;

  // The form shows the search in the address, also one a link opened (set while rendering, as React advises
  // for state that follows a prop: no effect, no second render of the old values).
  const shown = { hexes: wantedHexes.slice(0, MAX_COLOURS), share: query.get("min_share") };
  const [address, setAddress] = useState<string | null>(null);
  if (address !== query.toString()) {
    setAddress(query.toString());
    if (shown.hexes.length) setHexes(shown.hexes);
    if (shown.share) setMinShare(String(Math.round(Number(shown.share) * 100)));
  }

  function search(params: URLSearchParams) {
    params.set("min_share", String(Number(minShare) / 100));
    if (params.toString() === query.toString()) found.mutate(); // the same search again: ask again
    else router.push(`/colours?${params.toString()}`);
  }

  function byHex(event: FormEvent) {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const hex of hexes) params.append("hex", hex);
    search(params);
  }

  return (
    <>
      <h1>Colours</h1>
      <p className="lead">Find photos whose palette holds the colours you pick.</p>

      <form className="card" onSubmit={byHex} aria-label="Search by colour">
        <h2>Pick colours</h2>
        <ul className="plain pickers">
          {hexes.map((hex, i) => (
            <li key={i} className="row">
              <label htmlFor={`hex-${i}`}>Colour {i + 1}</label>
              <input id={`hex-${i}`} type="color" value={hex}
                     onChange={(e) => setHexes((all) => all.map((h, j) => (j === i ? e.target.value : h)))} />
              <code>{hex}</code>
              {hexes.length > 1 && (
                <button type="button" aria-label={`Remove colour ${i + 1}`}
                        onClick={() => setHexes((all) => all.filter((_, j) => j !== i))}>
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
        <div className="row">
          <button type="button" disabled={hexes.length >= MAX_COLOURS}
                  onClick={() => setHexes((all) => [...all, "#808080"])}>
            Add a colour
          </button>
          <label htmlFor="min-share">Minimum share of the photo (%)</label>
          <input id="min-share" type="number" min={0} max={100} value={minShare}
                 onChange={(e) => setMinShare(e.target.value)} />
          <button type="submit" className="primary" disabled={busy}>
            Search
          </button>
        </div>
      </form>

      <section className="card" aria-labelledby="names-heading">
        <h2 id="names-heading">Or pick a named colour</h2>
        <ul className="named" aria-label="Named colours">
          {names.data?.colours.map((colour) => (
            <li key={colour.name}>
              {/* Named by its text, "teal (12 photos)", which shows "teal (12)". */}
              <button type="button" onClick={() => search(new URLSearchParams({ name: colour.name }))}>
                <span className="swatch" style={{ background: colour.hex }} aria-hidden="true" />
                {colour.name} <span className="muted" aria-hidden="true">({colour.count})</span>
                <span className="visually-hidden">({colour.count} photos)</span>
              </button>
            </li>
          ))}
        </ul>
      </section>

      <div role="status" aria-live="polite" className="note">
        {busy ? "Searching…" : results && `${results.length} photo${results.length === 1 ? "" : "s"} with ${asked}.`}
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {results && (
        <section aria-label="Results">
          <ResultGrid results={results} label="Colour matches" details={(r) => <Matches result={r} />} />
        </section>
      )}
    </>
  );
}

export default function ColoursPage() {
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <ColourSearch />
    </Suspense>
  );
}
