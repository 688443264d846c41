// Unit tests of the Library's layout (node:test, compiled by tsc: `npm test`, run by `make test`).
import assert from "node:assert/strict";
import test from "node:test";

import { aspect, groupRuns, justify, lastDay, monthName, monthOf, type Tile } from "./justify";

const GAP = 4;

function rowWidth(row: { items: { width: number }[] }): number {
  return row.items.reduce((sum, item) => sum + item.width, 0) + GAP * (row.items.length - 1);
}

// A seeded generator, so a failure names the case that broke.
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

test("every photo is placed once, in order", () => {
  const tiles: Tile[] = Array.from({ length: 37 }, (_, i) => ({ width: 400 + (i % 5) * 200, height: 600 }));
  const placed = justify(tiles, 1000, 180, GAP).flatMap((row) => row.items.map((item) => item.index));
  assert.deepEqual(placed, tiles.map((_, i) => i));
});

test("full rows end exactly at the edge, never taller than 1.5 targets; a short last row keeps the target", () => {
  for (let seed = 1; seed <= 200; seed++) {
    const next = random(seed);
    const width = 320 + Math.floor(next() * 1600);
    const tiles: Tile[] = Array.from({ length: 1 + Math.floor(next() * 60) }, () => ({
      width: 200 + Math.floor(next() * 3000),
      height: 200 + Math.floor(next() * 2000),
    }));
    const rows = justify(tiles, width, 180, GAP);
    rows.forEach((row, index) => {
      const where = `seed ${seed}, row ${index} of ${rows.length}`;
      assert.ok(row.height <= 270, `${where}: ${row.height} px tall`);
      for (const item of row.items) assert.ok(item.width >= 1, where);
      if (index === rows.length - 1 && rowWidth(row) < width) assert.equal(row.height, 180, where);
      else if (row.height < 270) assert.equal(rowWidth(row), width, where);
    });
  }
});

test("a panorama does not squash the photos beside it", () => {
  const square = { width: 1000, height: 1000 };
  const rows = justify([square, square, square, square, { width: 8000, height: 1000 }, square], 900, 200, GAP);
  for (const row of rows) assert.ok(row.height >= 100, `a row ${row.height} px tall`);
});

test("no room, no rows; a photo without dimensions counts as 4:3", () => {
  assert.deepEqual(justify([{ width: 10, height: 10 }], 0, 180), []);
  assert.equal(aspect({ width: null, height: 300 }), 4 / 3);
  assert.equal(aspect({ width: 600, height: 300 }), 2);
});

test("months: keys, headings, last days", () => {
  assert.equal(monthOf("2024-06-03T10:00:00"), "2024-06");
  assert.equal(monthOf(null), "undated");
  assert.equal(monthName("2024-06"), "June 2024");
  assert.equal(monthName("undated"), "Undated");
  assert.equal(lastDay("2024-02"), "2024-02-29");
  assert.equal(lastDay("2023-02"), "2023-02-28");
  assert.equal(lastDay("2024-12"), "2024-12-31");
});

test("runs group neighbours with one key, in order", () => {
  const runs = groupRuns(["2024-06", "2024-06", "2024-05", "2024-06"], (month) => month);
  assert.deepEqual(runs.map((run) => [run.key, run.items.length]), [["2024-06", 2], ["2024-05", 1], ["2024-06", 1]]);
});
