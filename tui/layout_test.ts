import assert from "node:assert/strict";
import { type Column, fitColumns, rowWidth, scrollWindow } from "./layout.ts";

const ids = (columns: Column[]) => columns.map((c) => c.id);

Deno.test("at 80 columns every column of SPEC §7 fits, with room for the last error", () => {
  const columns = fitColumns(80, { ipWidth: 11 });
  assert.deepEqual(ids(columns), [
    "ip",
    "state",
    "weight",
    "active",
    "inactive",
    "cps",
    "pps",
    "bps",
    "latency",
    "error",
  ]);
  assert.equal(rowWidth(columns), 80);
  assert.ok(columns.find((c) => c.id === "error")!.width >= 10);
});

Deno.test("narrow terminals lose the least useful columns first and never overflow", () => {
  assert.deepEqual(ids(fitColumns(40, { ipWidth: 11 })), ["ip", "state", "weight", "pps", "bps"]);
  for (let width = 30; width <= 300; width++) {
    for (const ipWidth of [7, 11, 15]) {
      const columns = fitColumns(width, { ipWidth });
      assert.ok(rowWidth(columns) <= width, `width ${width}: ${rowWidth(columns)}`);
      assert.deepEqual(ids(columns).slice(0, 1), ["ip"]);
    }
  }
});

Deno.test("an IPv6 real server gets its whole address at 80 columns, the least useful columns giving way", () => {
  for (const ip of ["2001:2::11", "2001:db8:85a3::8a2e:370:7334", "fd00:1:2:3:4:5:6:7"]) {
    const columns = fitColumns(80, { ipWidth: ip.length });
    assert.equal(columns[0].width, Math.max(11, ip.length), ip);
    assert.ok(rowWidth(columns) <= 80, ip);
    for (const id of ["state", "weight", "pps", "bps"]) {
      assert.ok(ids(columns).includes(id as never), `${ip}: ${id}`);
    }
  }
  for (let width = 30; width <= 120; width++) {
    assert.ok(rowWidth(fitColumns(width, { ipWidth: 39 })) <= width, `width ${width}`);
  }
});

Deno.test("wide terminals gain total connections, check type and MAC; the error takes the rest", () => {
  const wide = fitColumns(140, { ipWidth: 15 });
  for (const id of ["mac", "connections", "check"]) assert.ok(ids(wide).includes(id as never), id);
  assert.equal(rowWidth(wide), 140);
  assert.ok(!ids(fitColumns(80)).includes("mac"));
});

Deno.test("the scroll window keeps the selected row and its VIP title visible, moving little", () => {
  const w = (offset: number, from: number, to: number) =>
    scrollWindow({ offset, total: 51, visible: 19, from, to });
  assert.equal(w(0, 4, 5), 0, "already visible: no move");
  assert.equal(w(0, 19, 19), 1, "one past the bottom: scroll by one");
  assert.equal(w(20, 9, 9), 9, "above the top: scroll up to it");
  assert.equal(w(0, 0, 1), 0, "the first row brings its title");
  assert.equal(w(0, 50, 50), 32, "the last row: the window ends at the last line");
  assert.equal(w(40, 50, 50), 32, "never past the end");
  assert.equal(scrollWindow({ offset: 5, total: 3, visible: 19, from: 1, to: 2 }), 0);
});
