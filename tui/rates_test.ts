import assert from "node:assert/strict";
import { rip, status, vip } from "./_fixtures.ts";
import { advanceRates, emptyRates, type Rates, ripKey, vipKey } from "./rates.ts";
import type { Status } from "../control/status.ts";

const V = "198.18.0.100";
const doc = (uptime: number, packets: number, bytes: number, connections: number): Status =>
  status(uptime, [vip(V, [rip("198.18.0.11", { packets, bytes, connections })])]);
const fold = (...docs: Status[]) => docs.reduce<Rates>((r, d) => advanceRates(r, d), emptyRates());
const key = vipKey({ vip: V, port: 80, proto: "tcp" });
const rk = ripKey({ vip: V, port: 80, proto: "tcp" }, "198.18.0.11");

Deno.test("the first document gives no rate", () => {
  const r = fold(doc(10, 100, 6400, 5));
  assert.deepEqual(r.total, { pps: null, bps: null, cps: null });
  assert.equal(r.vips.get(key), undefined);
  assert.deepEqual(r.history.get(key) ?? [], []);
});

Deno.test("rates divide counter deltas by the daemon's uptime delta, not the poll interval", () => {
  // Two daemon seconds apart, whatever the local clock did between the polls.
  const r = fold(doc(10, 100, 6400, 5), doc(12, 300, 16_400, 9));
  assert.deepEqual(r.vips.get(key), { pps: 100, bps: 40_000, cps: 2 });
  assert.deepEqual(r.rips.get(rk), { pps: 100, bps: 40_000, cps: 2 });
  assert.deepEqual(r.total, { pps: 100, bps: 40_000, cps: 2 });
  assert.deepEqual(r.history.get(key), [100]);
});

Deno.test("totals add up every VIP's rate", () => {
  const two = (t: number, a: number, b: number) =>
    status(t, [
      vip(V, [rip("198.18.0.11", { packets: a, bytes: a * 100 })]),
      vip(V, [rip("198.18.0.12", { packets: b, bytes: b * 100 })], { port: 443 }),
    ]);
  const r = fold(two(1, 0, 0), two(2, 10, 30));
  assert.deepEqual(r.total, { pps: 40, bps: 32_000, cps: 0 });
});

Deno.test("a poll that sees the same daemon instant keeps the rates", () => {
  const r1 = fold(doc(10, 100, 6400, 5), doc(11, 200, 12_800, 6));
  const r2 = advanceRates(r1, doc(11, 200, 12_800, 6));
  assert.equal(r2, r1);
});

Deno.test("a daemon restart (uptime or a counter going backwards) starts the rates over", () => {
  const running = fold(doc(100, 5000, 320_000, 50), doc(101, 5100, 326_400, 51));
  assert.equal(running.total.pps, 100);
  const clockBack = advanceRates(running, doc(2, 10, 640, 1));
  assert.deepEqual(clockBack.total, { pps: null, bps: null, cps: null });
  assert.equal(clockBack.history.size, 0);
  // Restarted early: its uptime is past the old one, but its counters went back.
  const young = fold(doc(1, 500, 32_000, 5), doc(2, 600, 38_400, 6));
  const countersBack = advanceRates(young, doc(3, 20, 1280, 1));
  assert.deepEqual(countersBack.total, { pps: null, bps: null, cps: null });
  const after = advanceRates(countersBack, doc(4, 120, 7680, 3));
  assert.deepEqual(after.total, { pps: 100, bps: 51_200, cps: 2 });
});

Deno.test("a real server added since the last document has no rate yet; history keeps 30 samples", () => {
  let r = fold(doc(0, 0, 0, 0));
  for (let t = 1; t <= 40; t++) r = advanceRates(r, doc(t, t * 10, t * 640, t));
  assert.equal(r.history.get(key)?.length, 30);
  const added = advanceRates(
    r,
    status(41, [
      vip(V, [
        rip("198.18.0.11", { packets: 410, bytes: 41 * 640, connections: 41 }),
        rip("198.18.0.12"),
      ]),
    ]),
  );
  assert.deepEqual(added.rips.get(ripKey({ vip: V, port: 80, proto: "tcp" }, "198.18.0.12")), {
    pps: null,
    bps: null,
    cps: null,
  });
  assert.equal(added.rips.get(rk)?.pps, 10);
});
