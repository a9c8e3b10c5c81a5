import assert from "node:assert/strict";
import { rip, status, vip } from "./_fixtures.ts";
import { advanceRates, emptyRates } from "./rates.ts";
import { bodyLines, moveSelection, nextSort, SORT_MODES } from "./rows.ts";

const V = "198.18.0.100";
const at = (t: number, pkts: number[]) =>
  status(t, [
    vip(V, [
      rip("198.18.0.11", { packets: pkts[0], activeConns: 1 }),
      rip("198.18.0.12", { packets: pkts[1], state: "down", activeConns: 5 }),
      rip("198.18.0.13", { packets: pkts[2], state: "drain", activeConns: 5, inactiveConns: 2 }),
    ]),
    vip(V, [], { port: 443 }),
  ]);
const rates = advanceRates(advanceRates(emptyRates(), at(1, [0, 0, 0])), at(2, [10, 0, 30]));
const order = (sort: (typeof SORT_MODES)[number]) =>
  bodyLines(at(2, [10, 0, 30]), rates, sort).map((l) =>
    l.kind === "rip" ? l.rip.ip.slice(-2) : l.kind
  );

Deno.test("each VIP has a title line, then its real servers; an empty VIP says so", () => {
  assert.deepEqual(order("config"), ["vip", "11", "12", "13", "vip", "empty"]);
});

Deno.test("sorting orders real servers within their VIP by pps, connections or state", () => {
  assert.deepEqual(order("pps"), ["vip", "13", "11", "12", "vip", "empty"]);
  assert.deepEqual(order("connections"), ["vip", "13", "12", "11", "vip", "empty"]);
  assert.deepEqual(order("state"), ["vip", "12", "13", "11", "vip", "empty"]);
  assert.deepEqual(
    SORT_MODES.map(nextSort),
    ["pps", "connections", "state", "config"],
    "s cycles back to the configured order",
  );
});

Deno.test("selection moves over real-server lines only and survives reordering", () => {
  const lines = bodyLines(at(2, [10, 0, 30]), rates, "config");
  const key = (i: number) => lines[i].key;
  assert.equal(moveSelection(lines, null, 0), 1, "the first real server to start with");
  assert.equal(key(moveSelection(lines, key(3), 1)), key(3), "stops at the last one");
  assert.equal(moveSelection(lines, key(1), -1), 1, "stops at the first one");
  const sorted = bodyLines(at(2, [10, 0, 30]), rates, "pps");
  assert.equal(sorted[moveSelection(sorted, key(1), 0)].key, key(1), "follows its row");
  assert.equal(moveSelection(bodyLines(status(1, []), rates, "config"), null, 1), -1);
});
