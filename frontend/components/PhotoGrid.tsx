"use client";

import Link from "next/link";
import { KeyboardEvent, ReactNode, useCallback, useLayoutEffect, useMemo, useRef, useState } from "react";
import { photoHref, PhotoItem } from "@/lib/api";
import { groupRuns, justify, monthName, monthOf } from "@/lib/justify";

const ROW_HEIGHT = 180;
const GAP = 4;

/** The ids picked in a grid, with the last one clicked (the anchor of a shift-click range). */
export function useSelection() {
  const [selected, setSelected] = useState<Set<string>>(() => new Set());
  const anchor = useRef<number | null>(null);

  const toggle = useCallback((ids: string[], index: number, range: boolean) => {
    // Read now: React may run the updater after the anchor below has moved to this tile.
    const from = range ? anchor.current : null;
    setSelected((before) => {
      const next = new Set(before);
      const on = !before.has(ids[index]);
      if (from !== null && from < ids.length) {
        const [a, b] = [Math.min(from, index), Math.max(from, index)];
        for (let i = a; i <= b; i++) {
          if (on) next.add(ids[i]);
          else next.delete(ids[i]);
        }
      } else if (on) next.add(ids[index]);
      else next.delete(ids[index]);
      return next;
    });
    anchor.current = index;
  }, []);
  const clear = useCallback(() => {
    setSelected(new Set());
    anchor.current = null;
  }, []);
  return { selected, toggle, clear, setSelected };
}

export type Selection = ReturnType<typeof useSelection>;

function useWidth() {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const element = ref.current;
    if (!element) return;
    const measure = () => setWidth(Math.floor(element.clientWidth));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return { ref, width };
}

function describe(photo: PhotoItem): string {
  return photo.tags.length ? `Photo of ${photo.tags.join(", ")}` : `Photo ${photo.id}`;
}

/**
 * Photos in justified rows, in runs under month headings (by `monthKey`, the capture month unless given; null:
 * one run, no headings). With `selection`, each tile has a checkbox: shift-click selects a range, the arrow keys
 * move between tiles, space toggles, Escape clears.
 */
export default function PhotoGrid<P extends PhotoItem>({
  photos,
  label,
  selection,
  caption,
  monthKey = (photo) => monthOf(photo.shot_at),
}: {
  photos: P[];
  label: string;
  selection?: Selection;
  caption?: (photo: P) => ReactNode;
  monthKey?: ((photo: P) => string) | null;
}) {
  const { ref, width } = useWidth();
  const ids = useMemo(() => photos.map((photo) => photo.id), [photos]);
  const runs = useMemo(() => {
    const indexed = photos.map((photo, index) => ({ photo, index }));
    return monthKey ? groupRuns(indexed, (item) => monthKey(item.photo)) : [{ key: "", items: indexed }];
  }, [photos, monthKey]);
  // Room for one pixel of rounding, so a full row never wraps.
  const layoutWidth = Math.max(0, (width || 960) - 1);

  function focusTile(index: number) {
    const target = ref.current?.querySelector<HTMLInputElement>(`[data-index="${index}"]`);
    target?.focus();
    target?.scrollIntoView({ block: "nearest" });
  }

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    if (!selection) return;
    if (event.key === "Escape") {
      selection.clear();
      return;
    }
    const current = (event.target as HTMLElement).closest<HTMLElement>("[data-tile]");
    const index = Number(current?.dataset.tile ?? NaN);
    if (Number.isNaN(index)) return;
    let next: number | null = null;
    if (event.key === "ArrowRight") next = Math.min(index + 1, photos.length - 1);
    else if (event.key === "ArrowLeft") next = Math.max(index - 1, 0);
    else if (event.key === "ArrowDown" || event.key === "ArrowUp") next = vertical(index, event.key === "ArrowDown");
    if (next === null) return;
    event.preventDefault();
    focusTile(next);
  }

  // The tile in the row above or below whose centre is nearest this one's, from where the tiles are drawn.
  function vertical(index: number, down: boolean): number | null {
    const tiles = Array.from(ref.current?.querySelectorAll<HTMLElement>("[data-tile]") ?? []);
    const here = tiles.find((tile) => Number(tile.dataset.tile) === index)?.getBoundingClientRect();
    if (!here) return null;
    const centre = here.left + here.width / 2;
    const rows = tiles
      .map((tile) => ({ tile, rect: tile.getBoundingClientRect() }))
      .filter(({ rect }) => (down ? rect.top > here.bottom - 1 : rect.bottom < here.top + 1));
    if (!rows.length) return null;
    const edge = down ? Math.min(...rows.map((r) => r.rect.top)) : Math.max(...rows.map((r) => r.rect.top));
    const row = rows.filter((r) => Math.abs(r.rect.top - edge) < 2);
    row.sort((a, b) => Math.abs(a.rect.left + a.rect.width / 2 - centre) - Math.abs(b.rect.left + b.rect.width / 2 - centre));
    return Number(row[0].tile.dataset.tile);
  }

  return (
    <div ref={ref} className="library" onKeyDown={onKeyDown}>
      {runs.map((run) => {
        const rows = justify(run.items.map((item) => item.photo), layoutWidth, ROW_HEIGHT, GAP);
        const heading = run.key ? monthName(run.key) : "";
        return (
          <section key={run.key || "all"} className="month" data-month={run.key || undefined}
                   aria-label={heading || undefined}>
            {heading && <h2 className="month-heading">{heading}</h2>}
            <ul className="justified" aria-label={heading ? `${label}, ${heading}` : label}>
              {rows.flatMap((row) =>
                row.items.map((placed) => {
                  const { photo, index } = run.items[placed.index];
                  const picked = selection?.selected.has(photo.id) ?? false;
                  return (
                    <li key={photo.id} className="tile" data-image-id={photo.id} data-tile={index}
                        data-selected={picked ? "true" : undefined}
                        style={{ width: placed.width, height: row.height }}>
                      <Link href={photoHref(photo.id)} aria-label={`Open photo ${photo.id}`}>
                        {photo.thumbnail_url ? (
                          <img src={photo.thumbnail_url} alt={describe(photo)} loading="lazy" />
                        ) : (
                          // No thumbnail yet (still being processed) or ever (the file could not be read).
                          <span className="no-thumb">{photo.state === "failed" ? "Could not be read" : "Processing…"}</span>
                        )}
                      </Link>
                      {selection && (
                        <input type="checkbox" className="pick" data-index={index} checked={picked}
                               aria-label={`Select photo ${photo.id}`}
                               onChange={(event) =>
                                 selection.toggle(ids, index, (event.nativeEvent as MouseEvent).shiftKey)} />
                      )}
                      {caption && <div className="tile-caption">{caption(photo)}</div>}
                    </li>
                  );
                }),
              )}
            </ul>
          </section>
        );
      })}
    </div>
  );
}
