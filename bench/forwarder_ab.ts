/**
 * In-process A/B of `Forwarder.process` between this checkout (A) and
 * another (B, `--b-root DIR`, e.g. a `git worktree` of an older commit): the
 * two builds' data planes are loaded side by side into one process and timed
 * in turns, a short slice each, slice after slice, so the drift and the load
 * of a shared machine fall on both alike (`deno bench` runs of two builds one
 * after the other differed by up to 2x on a loaded machine). The cases are
 * `forwarder_bench.ts`'s IPv4 ones: a SYN of a known flow by the fast path
 * and by the general path alone, and a SYN of a new flow every time (1M-flow
 * table). Prints each build's median ns per frame over the slices, and B/A.
 *
 *   deno run -A bench/forwarder_ab.ts --b-root DIR [--slices N]
 * @module
 */

import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { eth } from "../dataplane/_frame_builder.ts";
import { TCP_SYN } from "../dataplane/packet.ts";

const { values } = parseArgs({
  options: { "b-root": { type: "string" }, slices: { type: "string", default: "200" } },
});
if (!values["b-root"]) {
  console.error("usage: deno run -A bench/forwarder_ab.ts --b-root DIR [--slices N]");
  Deno.exit(2);
}
const SLICES = Number(values.slices);
const ITERATIONS = 2000; // per slice: about 0.2-2 ms, well under a scheduler tick
const NOW = 1_000_000;
const VIP = "198.18.0.100";
const RIPS = [11, 12, 13].map((o, id) => ({
  id,
  ip: `198.18.0.${o}`,
  mac: `02:00:c6:12:00:${o.toString(16).padStart(2, "0")}`,
}));

/** One build's data plane, loaded from `root`. */
async function load(root: URL) {
  const at = (path: string) => new URL(path, root).href;
  const { buildProgram, resolve } = await import(at("dataplane/_program_builder.ts"));
  const { Forwarder } = await import(at("dataplane/forwarder.ts"));
  const { createSharedTables } = await import(at("dataplane/tables.ts"));
  return (fastPath: boolean) => {
    const shared = createSharedTables();
    const fwd = new Forwarder(shared, { maxFlows: 1_000_000, fastPath });
    const program = buildProgram({ services: [{ id: 0, vip: VIP, port: 80, rips: RIPS }] });
    for (const rip of RIPS) resolve(shared, program, rip);
    fwd.load(program);
    return fwd as { process(f: Uint8Array, len: number, tx: Uint8Array, now: number): number };
  };
}

const roots = [new URL("../", import.meta.url), pathToFileURL(`${values["b-root"]}/`)];
const builds = await Promise.all(roots.map(load));
const tx = new Uint8Array(2048);
const LB_MAC = Uint8Array.of(2, 0, 0, 0, 0, 0x0a);
const syn = (sport: number) =>
  eth({ src: "02:00:c6:12:00:02", dst: "02:00:00:00:00:0a" })
    .ipv4({ src: "198.19.7.9", dst: VIP }).tcp({ sport, dport: 80, flags: TCP_SYN }).build();

/** A case: per build, a function running `n` frames. */
type Case = [string, ((n: number) => number)[]];
let sink = 0;
const cases: Case[] = [
  ["SYN of a known flow", builds.map((make) => known(make(true)))],
  ["SYN of a known flow, general path only", builds.map((make) => known(make(false)))],
  ["SYN of a new flow (SYN flood, 1M-flow table)", builds.map((make) => flood(make(true)))],
];

function known(fwd: ReturnType<Awaited<ReturnType<typeof load>>>) {
  const frame = syn(40000);
  fwd.process(frame.slice(), frame.length, tx, NOW);
  return (n: number) => {
    for (let i = 0; i < n; i++) {
      frame.set(LB_MAC); // a forward rewrote the MACs: the frame is the balancer's again
      sink ^= fwd.process(frame, frame.length, tx, NOW);
    }
    return n;
  };
}

function flood(fwd: ReturnType<Awaited<ReturnType<typeof load>>>) {
  const frame = syn(1);
  let k = 0;
  return (n: number) => {
    for (let i = 0; i < n; i++) {
      k++;
      frame.set(LB_MAC);
      frame[28] = (k >>> 16) & 255;
      frame[29] = (k >>> 8) & 255;
      frame[35] = k & 255;
      sink ^= fwd.process(frame, frame.length, tx, NOW + k);
    }
    return n;
  };
}

const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[xs.length >> 1];
for (const [name, runs] of cases) {
  for (const run of runs) run(ITERATIONS * 5); // warm up both before timing either
  const times: number[][] = [[], []];
  for (let s = 0; s < SLICES; s++) {
    // Who goes first alternates, so neither always follows the other's cache footprint.
    for (const b of s % 2 === 0 ? [0, 1] : [1, 0]) {
      const t0 = performance.now();
      runs[b](ITERATIONS);
      times[b].push((performance.now() - t0) * 1e6 / ITERATIONS);
    }
  }
  const [a, b] = times.map(median);
  console.log(
    `${name.padEnd(46)} A ${a.toFixed(1).padStart(7)} ns  B ${b.toFixed(1).padStart(7)} ns  B/A ${
      (b / a).toFixed(3)
    }`,
  );
}
if (sink === 0x7fffffff) console.log(sink);
