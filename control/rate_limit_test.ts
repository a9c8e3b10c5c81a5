import assert from "node:assert/strict";
import { OncePer } from "./rate_limit.ts";

Deno.test("OncePer lets a key through once per period", () => {
  const once = new OncePer(60_000);
  assert.equal(once.take("a", 0), true);
  assert.equal(once.take("a", 59_999), false);
  assert.equal(once.take("b", 59_999), true);
  assert.equal(once.take("a", 60_000), true);
});

Deno.test("OncePer holds only the last period's keys under a stream of new ones", () => {
  const once = new OncePer(60_000);
  // A new key every 10 ms for an hour: 360,000 keys, 6,000 of them within any minute.
  for (let t = 0; t < 3_600_000; t += 10) once.take(`mac-${t}`, t);
  assert.ok(once.size <= 6_001, `remembers ${once.size} keys`);
});
