import assert from "node:assert/strict";
import { sparkline } from "./sparkline.ts";

Deno.test("sparkline scales samples to the peak with eight block heights", () => {
  assert.equal(sparkline([0, 1, 2, 3, 4, 5, 6, 7], 30), "▁▂▃▄▅▆▇█");
  assert.equal(sparkline([10, 20, 40], 30), "▃▅█");
});

Deno.test("sparkline shows only the newest samples that fit", () => {
  assert.equal(sparkline([100, 0, 0, 50], 2), "▁█");
  assert.equal(sparkline([1, 2, 3], 0), "");
});

Deno.test("sparkline draws silence as the lowest block and an empty history as nothing", () => {
  assert.equal(sparkline([0, 0, 0], 30), "▁▁▁");
  assert.equal(sparkline([], 30), "");
  assert.equal(sparkline([0, 0.001, 1000], 30), "▁▂█", "any traffic stands above silence");
});
