"use client";

import { useRouter, useSearchParams } from "next/navigation";
import { FormEvent, Suspense, useEffect, useState } from "react";
import ResultGrid from "@/components/ResultGrid";
import { ColourName, getJson, message, Recommendation, Results } from "@/lib/api";

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
  const [names, setNames] = useState<ColourName[]>([]);
  const [hexes, setHexes] = useState<string[]>(["#2050d0"]);
  const [minShare, setMinShare] = useState("5");
  const [results, setResults] = useState<Recommendation[] | null>(null);
  const [asked, setAsked] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    getJson<{ colours: ColourName[] }>("/recommend/colour-names").then(
      (answer) => setNames(answer.colours),
      (e) => setError(message(e)),
    );
  }, []);

  // The search lives in the address (?hex=…&name=…&min_share=…), so a palette swatch can link here.
  useEffect(() => {
    const wantedHexes = query.getAll("hex");
    const wantedNames = query.getAll("name");
    if (!wantedHexes.length && !wantedNames.length) return;
    if (wantedHexes.length) setHexes(wantedHexes.slice(0, MAX_COLOURS));
    const share = query.get("min_share");
    if (share) setMinShare(String(Math.round(Number(share) * 100)));
    let gone = false;
    setBusy(true);
    setError("");
    getJson<Results>(`/recommend/colours?${query.toString()}`)
      .then(
        (answer) => {
          if (gone) return;
          setResults(answer.results);
          setAsked([...wantedHexes, ...wantedNames].join(" + "));
        },
        (e) => !gone && setError(message(e)),
      )
      .finally(() => !gone && setBusy(false));
    return () => {
      gone = true;
    };
  }, [query]);

  function search(params: URLSearchParams) {
    params.set("min_share", String(Number(minShare) / 100));
    router.push(`/colours?${params.toString()}`);
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
          {names.map((colour) => (
            <li key={colour.name}>
              <button type="button" onClick={() => search(new URLSearchParams({ name: colour.name }))}
                      aria-label={`${colour.name} (${colour.count} photos)`}>
                <span className="swatch" style={{ background: colour.hex }} aria-hidden="true" />
                {colour.name} <span className="muted">{colour.count}</span>
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
