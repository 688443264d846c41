"use client";

import { useSearchParams } from "next/navigation";
import { Suspense, useMemo } from "react";
import LoadMore from "@/components/LoadMore";
import PhotoGrid from "@/components/PhotoGrid";
import { SearchItem, SearchPage } from "@/lib/api";
import { useCursorPages } from "@/lib/swr";

function Results({ q, limit }: { q: string; limit: number }) {
  const pages = useCursorPages<SearchPage>(`/recommend/search?q=${encodeURIComponent(q)}&limit=${limit}`);
  const results = useMemo(() => pages.loaded.flatMap((page) => page.results), [pages.loaded]);
  const terms = pages.loaded[0]?.terms;
  const understood = terms
    ? [...terms.words, ...Object.entries(terms.fields).map(([field, value]) => `${field}:${value}`)]
    : [];
  return (
    <>
      {pages.error && (
        <p role="alert" className="error">
          {pages.error.message}
        </p>
      )}
      {understood.length > 0 && (
        <p className="muted">
          Looked for: {understood.join(", ")}
        </p>
      )}
      {pages.data && results.length === 0 && <p>No photos match “{q}”.</p>}
      <PhotoGrid<SearchItem> photos={results} label="Search results" monthKey={null}
                             caption={(r) => <span className="matched">{r.matched.join(", ")}</span>} />
      {!pages.error && (
        <LoadMore hasMore={pages.hasMore} loading={pages.loading} onMore={pages.more} count={results.length}
                  noun="result" />
      )}
    </>
  );
}

function Search() {
  const params = useSearchParams();
  const q = (params.get("q") ?? "").trim();
  const limit = Math.min(200, Math.max(1, Number(params.get("limit")) || 60));
  return (
    <>
      <h1>{q ? `Search: ${q}` : "Search"}</h1>
      <p className="lead">
        Words find labels, places, cameras, file names and descriptions (“puppy” finds dogs); fields narrow it:{" "}
        <code>make:canon</code>, <code>country:france</code>, <code>year:2019</code>, <code>colour:red</code>,{" "}
        <code>tag:dog</code>, <code>album:holidays</code>, <code>before:2020-01-01</code>, <code>after:</code>.
      </p>
      {q ? <Results key={`${q}/${limit}`} q={q} limit={limit} /> : <p>Type in the search box at the top of the page.</p>}
    </>
  );
}

export default function SearchResultsPage() {
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <Search />
    </Suspense>
  );
}
