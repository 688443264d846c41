"use client";

import { useSearchParams } from "next/navigation";
import { Suspense, useMemo, useState } from "react";
import AlbumPicker from "@/components/AlbumPicker";
import LoadMore from "@/components/LoadMore";
import PhotoGrid, { useSelection } from "@/components/PhotoGrid";
import Toast from "@/components/Toast";
import {
  Albums,
  BulkDelete,
  BulkDeleted,
  BulkRestore,
  BulkRestored,
  ColourNames,
  Labels,
  Makes,
  message,
  Months,
  PhotoFilters,
  PhotoPage,
  postJson,
} from "@/lib/api";
import { lastDay, monthName } from "@/lib/justify";
import { useApi, useCursorPages, useDebounced } from "@/lib/swr";

const FILTERS = ["from", "to", "make", "country", "town", "tag", "colour", "orientation", "state", "source",
                 "album"] as const satisfies readonly (keyof PhotoFilters)[];
type Filter = (typeof FILTERS)[number];
type Filters = Record<Filter, string>;
const SOURCES = ["upload", "url", "unsplash", "folder", "sample"];
const STATES = ["stored", "queued", "harvested", "indexed", "failed"];

function query(filters: Filters, leave: Filter[] = []): string {
  const params = new URLSearchParams();
  for (const name of FILTERS) if (filters[name].trim() && !leave.includes(name)) params.set(name, filters[name].trim());
  return params.toString();
}

function Library() {
  const params = useSearchParams();
  // ?limit= sets the page size (the browser test pages through a few photos); the filters start from the URL too.
  const limit = Math.min(200, Math.max(1, Number(params.get("limit")) || 60));
  const [filters, setFilters] = useState<Filters>(
    () => Object.fromEntries(FILTERS.map((name) => [name, params.get(name) ?? ""])) as Filters,
  );
  const settled = useDebounced(query(filters), 300);
  const forMonths = useDebounced(query(filters, ["from", "to"]), 300);
  const pages = useCursorPages<PhotoPage>(`/recommend/photos?limit=${limit}${settled ? `&${settled}` : ""}`);
  const months = useApi<Months>(`/recommend/photos/months${forMonths ? `?${forMonths}` : ""}`);
  const makes = useApi<Makes>("/recommend/makes?limit=100");
  const labels = useApi<Labels>("/recommend/labels?limit=100");
  const colours = useApi<ColourNames>("/recommend/colour-names");
  const albums = useApi<Albums>("/recommend/albums");
  const selection = useSelection();
  const [toast, setToast] = useState<{ note: string; undo?: () => void }>({ note: "" });
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const photos = useMemo(() => pages.loaded.flatMap((page) => page.photos), [pages.loaded]);
  const chosen = [...selection.selected];

  function set(name: Filter, value: string) {
    selection.clear();
    setFilters((before) => ({ ...before, [name]: value }));
  }

  async function refresh() {
    await Promise.all([pages.mutate(), months.mutate()]);
  }

  async function trash() {
    const ids = chosen;
    setBusy(true);
    setError("");
    try {
      const answer = await postJson<BulkDeleted>("/gather/images/delete", { ids, purge: false } satisfies BulkDelete);
      selection.clear();
      setToast({
        note: `Moved ${answer.trashed} photo${answer.trashed === 1 ? "" : "s"} to the trash.`,
        undo: () => restore(ids),
      });
      await refresh();
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  }

  async function restore(ids: string[]) {
    try {
      const answer = await postJson<BulkRestored>("/gather/images/restore", { ids } satisfies BulkRestore);
      setToast({ note: `Restored ${answer.restored} photo${answer.restored === 1 ? "" : "s"}.` });
      await refresh();
    } catch (e) {
      setError(message(e));
    }
  }

  const shownError = error || pages.error?.message;
  return (
    <>
      <h1>Library</h1>
      <p className="lead">Every photo, newest first. Tick photos (shift-click for a range, arrow keys and space from
        the keyboard, Escape to clear) to move them to the trash or add them to an album.</p>

      <details className="card" open={FILTERS.some((name) => filters[name])}>
        <summary>Filters</summary>
        <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
          <div className="field">
            <label htmlFor="f-from">From</label>
            <input id="f-from" type="date" value={filters.from} onChange={(e) => set("from", e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="f-to">To</label>
            <input id="f-to" type="date" value={filters.to} onChange={(e) => set("to", e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="f-make">Camera make</label>
            <select id="f-make" value={filters.make} onChange={(e) => set("make", e.target.value)}>
              <option value="">Any</option>
              {makes.data?.makes.map((m) => (
                <option key={m.make} value={m.make}>{m.make} ({m.count})</option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="f-country">Country</label>
            <input id="f-country" value={filters.country} onChange={(e) => set("country", e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="f-town">Town</label>
            <input id="f-town" value={filters.town} onChange={(e) => set("town", e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="f-tag">Tag</label>
            <select id="f-tag" value={filters.tag} onChange={(e) => set("tag", e.target.value)}>
              <option value="">Any</option>
              {labels.data?.labels.map((l) => (
                <option key={l.label} value={l.label}>{l.label} ({l.count})</option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="f-colour">Colour</label>
            <select id="f-colour" value={filters.colour} onChange={(e) => set("colour", e.target.value)}>
              <option value="">Any</option>
              {colours.data?.colours.map((c) => (
                <option key={c.name} value={c.name}>{c.name} ({c.count})</option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="f-orientation">Orientation</label>
            <select id="f-orientation" value={filters.orientation} onChange={(e) => set("orientation", e.target.value)}>
              <option value="">Any</option>
              <option value="landscape">Landscape</option>
              <option value="portrait">Portrait</option>
              <option value="square">Square</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor="f-state">State</label>
            <select id="f-state" value={filters.state} onChange={(e) => set("state", e.target.value)}>
              <option value="">Any</option>
              {STATES.map((s) => <option key={s} value={s}>{s}</option>)}
            </select>
          </div>
          <div className="field">
            <label htmlFor="f-source">Source</label>
            <select id="f-source" value={filters.source} onChange={(e) => set("source", e.target.value)}>
              <option value="">Any</option>
              {SOURCES.map((s) => <option key={s} value={s}>{s}</option>)}
            </select>
          </div>
          <div className="field">
            <label htmlFor="f-album">Album</label>
            <select id="f-album" value={filters.album} onChange={(e) => set("album", e.target.value)}>
              <option value="">Any</option>
              {albums.data?.albums.map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
            </select>
          </div>
          <div className="field actions">
            <button type="button" disabled={!FILTERS.some((name) => filters[name])}
                    onClick={() => { selection.clear(); setFilters(Object.fromEntries(FILTERS.map((n) => [n, ""])) as Filters); }}>
              Clear filters
            </button>
          </div>
        </form>
      </details>

      <div className="library-layout">
        <div>
          <div className="toolbar row" aria-label="Selection" role="group">
            <span>{chosen.length} selected</span>
            <button type="button" disabled={!chosen.length || busy} onClick={trash}>
              Move to trash
            </button>
            <button type="button" disabled={!chosen.length} onClick={selection.clear}>
              Clear selection
            </button>
            {chosen.length > 0 && (
              <AlbumPicker ids={chosen} idPrefix="bulk" onDone={(note) => { setToast({ note }); void albums.mutate(); }} />
            )}
          </div>
          <Toast note={toast.note} undo={toast.undo} onDismiss={() => setToast({ note: "" })} />
          {shownError && <p role="alert" className="error">{shownError}</p>}
          {pages.data && photos.length === 0 && <p>No photos{settled ? " match these filters" : " yet"}.</p>}
          <PhotoGrid photos={photos} label="Photos" selection={selection} />
          <LoadMore hasMore={pages.hasMore} loading={pages.loading} onMore={pages.more} count={photos.length} />
        </div>
        <nav aria-label="Timeline" className="timeline">
          <ol className="plain">
            <li>
              <button type="button" aria-pressed={!filters.to} onClick={() => set("to", "")}>
                Newest
              </button>
            </li>
            {months.data?.months.map((m) => (
              <li key={m.month}>
                <button type="button" aria-pressed={filters.to === lastDay(m.month)}
                        onClick={() => set("to", lastDay(m.month))}>
                  {monthName(m.month)} <span className="muted">{m.count}</span>
                </button>
              </li>
            ))}
          </ol>
        </nav>
      </div>
    </>
  );
}

export default function LibraryPage() {
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <Library />
    </Suspense>
  );
}
