// The Library's justified rows: thumbnails of one height per row, each row filled to the container's width
// (the last row of a run keeps the target height rather than stretching a few photos across the page).
// Pure, so its shape can be checked without a browser.

export type Tile = { width: number | null; height: number | null };
export type Placed = { index: number; width: number };
export type Row = { height: number; items: Placed[] };

/** A photo's width over its height; photos without dimensions (not yet read) count as 4:3. */
export function aspect(tile: Tile): number {
  return tile.width && tile.height ? tile.width / tile.height : 4 / 3;
}

/**
 * Rows for `tiles` in a container `width` pixels wide: each row as tall as fills the width at its photos'
 * aspect ratios, around `target` pixels (never more than `target * 1.5`, for a lone panorama's neighbours),
 * `gap` pixels between photos. Widths are whole pixels and a full row's widths plus gaps add up to `width`.
 */
export function justify(tiles: Tile[], width: number, target: number, gap = 4): Row[] {
  const rows: Row[] = [];
  if (width <= 0) return rows;
  let start = 0;
  let sum = 0;
  for (let i = 0; i < tiles.length; i++) {
    sum += aspect(tiles[i]);
    const count = i - start + 1;
    const natural = sum * target + gap * (count - 1);
    if (natural < width) continue;
    // The row is full: close it with this photo, or before it when that leaves a height nearer the target
    // (a panorama at the end of a row would otherwise squash the whole row).
    const withIt = (width - gap * (count - 1)) / sum;
    const before = sum - aspect(tiles[i]);
    const without = count > 1 ? (width - gap * (count - 2)) / before : Infinity;
    if (without - target < target - withIt && without <= target * 1.5) {
      rows.push(fill(tiles, start, i, before, width, gap, target * 1.5));
      start = i;
      sum = aspect(tiles[i]);
      if (sum * target < width) continue;
    }
    rows.push(fill(tiles, start, i + 1, sum, width, gap, target * 1.5));
    start = i + 1;
    sum = 0;
  }
  if (start < tiles.length) {
    const items: Placed[] = [];
    for (let i = start; i < tiles.length; i++)
      items.push({ index: i, width: Math.max(1, Math.round(aspect(tiles[i]) * target)) });
    rows.push({ height: target, items });
  }
  return rows;
}

function fill(tiles: Tile[], start: number, end: number, sum: number, width: number, gap: number, tallest: number): Row {
  const room = width - gap * (end - start - 1);
  const height = Math.min(tallest, room / sum);
  const items: Placed[] = [];
  let used = 0;
  for (let i = start; i < end; i++) {
    // The last photo takes what rounding left, so the row ends exactly at the edge.
    const w = i === end - 1 && height < tallest ? room - used : Math.max(1, Math.round(aspect(tiles[i]) * height));
    items.push({ index: i, width: w });
    used += w;
  }
  return { height: Math.round(height), items };
}

/** "2024-06" for a naive ISO timestamp, and its heading ("June 2024"). */
export function monthOf(shotAt: string | null): string {
  return shotAt ? shotAt.slice(0, 7) : "undated";
}

export function monthName(month: string): string {
  const [year, m] = month.split("-").map(Number);
  if (!year || !m) return month === "undated" ? "Undated" : month;
  return new Date(Date.UTC(year, m - 1, 1)).toLocaleString("en", { month: "long", year: "numeric", timeZone: "UTC" });
}

/** The last day of `month` ("2024-02" → "2024-02-29"): the `to=` that starts the Library at that month. */
export function lastDay(month: string): string {
  const [year, m] = month.split("-").map(Number);
  const day = new Date(Date.UTC(year, m, 0)).getUTCDate();
  return `${month}-${String(day).padStart(2, "0")}`;
}

/** Consecutive runs of `items` with the same key, in order. */
export function groupRuns<T>(items: T[], key: (item: T) => string): { key: string; items: T[] }[] {
  const runs: { key: string; items: T[] }[] = [];
  for (const item of items) {
    const k = key(item);
    if (runs.length && runs[runs.length - 1].key === k) runs[runs.length - 1].items.push(item);
    else runs.push({ key: k, items: [item] });
  }
  return runs;
}
