import assert from "node:assert/strict";
import { HealthState } from "./health_state.ts";

Deno.test("an up server goes down after exactly `fall` failures in a row", () => {
  const h = new HealthState({ rise: 2, fall: 3 });
  assert.equal(h.record(false), null);
  assert.equal(h.record(false), null);
  assert.equal(h.record(false), "down");
  assert.equal(h.state, "down");
});

Deno.test("a pass between failures restarts the fall count", () => {
  const h = new HealthState({ rise: 2, fall: 3 });
  for (const ok of [false, false, true, false, false]) assert.equal(h.record(ok), null);
  assert.equal(h.state, "up");
});

Deno.test("a down server comes up after exactly `rise` passes in a row", () => {
  const h = new HealthState({ rise: 2, fall: 1 }, "down");
  assert.equal(h.record(true), null);
  assert.equal(h.record(false), null);
  assert.equal(h.record(true), null);
  assert.equal(h.record(true), "up");
});

Deno.test("new thresholds keep the current state until the new check's results cross them", () => {
  const h = new HealthState({ rise: 1, fall: 1 });
  assert.equal(h.record(false), "down");
  h.retune({ rise: 3, fall: 3 });
  assert.equal(h.state, "down");
  assert.equal(h.record(true), null);
  assert.equal(h.record(true), null);
  assert.equal(h.record(true), "up");
});
