/**
 * In-process A/B of the flow table between this checkout (A) and another (B,
 * `--b-root DIR`), as `forwarder_ab.ts` does for `Forwarder.process`: each
 * build gets a table of 1,000,000 flows (eight backends, as
 * `dataplane_bench.ts` fills it) and the two are timed in turns, a short
 * slice each, so a shared machine's drift falls on both alike. Cases: lookups
 * of known flows in a loop, a lookup and a touch per known flow (what a
 * packet of a known flow does), inserts into the full table (each evicts the
 * oldest flow: a SYN flood), and flushing a backend of 100 flows. Prints each
 * build's median ns per operation over the slices, and B/A.
 *
 *   deno run -A bench/flow_table_ab.ts --b-root DIR [--slices N]
 * @module
 */

import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";

const { values } = parseArgs({
  options: { "b-root": { type: "string" }, slices: { type: "string", default: "200" } },
});
if (!values["b-root"]) {
  console.error("usage: deno run -A bench/flow_table_ab.ts --b-root DIR [--slices N]");
  Deno.exit(2);
}
const SLICES = Number(values.slices);
const FLOWS = 1_000_000;
const VIP_PORT = 80;
const SYN = 1, ESTABLISHED = 2; // FLOW_SYN, FLOW_ESTABLISHED
const key = (i: number) => [0x0a000000 + (i >>> 4), ((1024 + (i & 15)) << 16 | VIP_PORT) >>> 0];

interface Table {
  lookup(srcIp: number, ports: number, service: number): number;
  insert(srcIp: number, ports: number, service: number, b: number, s: number, now: number): number;
  touch(slot: number, state: number, now: number): void;
  removeBackend(backend: number): number;
}

/** One build's full table, from `root`. */
async function load(root: URL): Promise<Table> {
  const { FlowTable } = await import(new URL("dataplane/flow_table.ts", root).href);
  const table: Table = new FlowTable(FLOWS, { lruGrainMs: 1000 });
  for (let i = 0; i < FLOWS; i++) {
    const [ip, ports] = key(i);
    table.insert(ip, ports, 0, i & 7, ESTABLISHED, 0);
  }
  return table;
}

const roots = [new URL("../", import.meta.url), pathToFileURL(`${values["b-root"]}/`)];
const tables: Table[] = [];
for (const root of roots) tables.push(await load(root));
let sink = 0;

/** A case: per build, a function doing one slice; its ns per operation. */
type Case = [string, ((t: Table) => () => number)];

const cases: Case[] = [
  ["lookup hit at 1M flows, 2000 in a loop", (t) => {
    let next = 0;
    return () => {
      const t0 = performance.now();
      for (let k = 0; k < 2000; k++) {
        const i = next = (next + 7919) % FLOWS;
        const [ip, ports] = key(i);
        sink ^= t.lookup(ip, ports, 0);
      }
      return (performance.now() - t0) * 1e6 / 2000;
    };
  }],
  ["lookup + touch of a known flow, 2000 in a loop", (t) => {
    let next = 0, now = 1;
    return () => {
      const t0 = performance.now();
      now += 7; // a touch moves a flow at most once a second (the forwarder's grain)
      for (let k = 0; k < 2000; k++) {
        const i = next = (next + 7919) % FLOWS;
        const [ip, ports] = key(i);
        const slot = t.lookup(ip, ports, 0);
        if (slot >= 0) t.touch(slot, ESTABLISHED, now);
      }
      return (performance.now() - t0) * 1e6 / 2000;
    };
  }],
  ["insert at 1M flows (evicts the oldest), 2000", (t) => {
    let fresh = 0;
    return () => {
      const t0 = performance.now();
      for (let k = 0; k < 2000; k++) {
        const i = fresh++;
        sink ^= t.insert(0x0b000000 + (i >>> 4), ((1024 + (i & 15)) << 16) >>> 0, 1, i & 7, SYN, i);
      }
      return (performance.now() - t0) * 1e6 / 2000;
    };
  }],
  ["removeBackend of 100 flows at 1M flows", (t) => {
    let fresh = 0;
    return () => {
      for (let k = 0; k < 100; k++) {
        const i = fresh++;
        t.insert(0x0d000000 + (i >>> 4), ((1024 + (i & 15)) << 16) >>> 0, 2, 9, SYN, 0);
      }
      const t0 = performance.now();
      sink ^= t.removeBackend(9);
      return (performance.now() - t0) * 1e6;
    };
  }],
];

const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[xs.length >> 1];
for (const [name, make] of cases) {
  const runs = tables.map(make);
  for (const run of runs) for (let w = 0; w < 5; w++) run(); // warm up both before timing either
  const times: number[][] = [[], []];
  for (let s = 0; s < SLICES; s++) {
    // Who goes first alternates, so neither always follows the other's cache footprint.
    for (const b of s % 2 === 0 ? [0, 1] : [1, 0]) times[b].push(runs[b]());
  }
  const [a, b] = times.map(median);
  const ns = (x: number) => (x < 1e5 ? `${x.toFixed(1)} ns` : `${(x / 1e6).toFixed(3)} ms`);
  console.log(
    `${name.padEnd(48)} A ${ns(a).padStart(10)}  B ${ns(b).padStart(10)}  B/A ${
      (b / a).toFixed(3)
    }`,
  );
}
if (sink === 0x7fffffff) console.log(sink);
