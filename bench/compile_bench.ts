/**
 * The compiler at 1000 VIPs of 4 real servers each, every VIP on servers of
 * its own (1000 distinct Maglev tables of 65537 entries). A health flap (one
 * real server of one VIP down, or back up) compiles the whole configuration
 * but builds one table: each flap bench fails unless exactly one was built.
 * The "every table" bench is what each flap cost before the cache. Posting
 * the program to the worker is a structured clone: with the tables in shared
 * memory it copies none of them, against 256 MiB of private tables before.
 *
 *     deno bench -A bench/compile_bench.ts
 */

import { parseIpv4 } from "../dataplane/addr.ts";
import { buildRing, type RingSource, type SchedState } from "../dataplane/scheduler.ts";
import type { Program } from "../dataplane/tables.ts";
import { Compiler, type RipConditions } from "../control/compile.ts";
import { parseConfig } from "../control/config.ts";
import type { IfaceInfo } from "../control/netinfo.ts";

const VIPS = 1000;
const IFACE: IfaceInfo = {
  name: "eth0",
  mac: "02:00:00:00:00:0a",
  mtu: 1500,
  addresses: ["198.18.0.10"],
  subnets: [{ base: parseIpv4("198.18.0.0"), prefix: 15 }],
};
const doc = parseConfig({
  version: 1,
  vips: Array.from({ length: VIPS }, (_, i) => ({
    vip: `198.18.${128 + (i >> 8)}.${i & 255}`,
    port: 80,
    rips: [0, 1, 2, 3].map((j) => ({ ip: `198.19.${i >> 5}.${4 * (i & 31) + j + 1}` })),
  })),
});

let builds = 0;
const counted: RingSource = (members, size) => {
  builds++;
  return buildRing(members, size);
};
let down = "";
const conditions: RipConditions = {
  resolved: () => true,
  adjacent: () => true,
  healthy: (service, ip) => `${service}|${ip}` !== down,
};

const compiler = new Compiler(IFACE, { buildRing: counted });
const first = compiler.compile(doc, conditions);
compiler.adopt(first);
let program: Program = first.program;
let flaps = 0;

/** One real server of VIP number `flaps % VIPS` goes down, or comes back. */
function flap(): void {
  const vip = doc.vips[(flaps >> 1) % VIPS];
  down = flaps++ % 2 === 0 ? `${vip.vip}:80/tcp|${vip.rips[1].ip}` : "";
  const before = builds;
  const compiled = compiler.compile(doc, conditions);
  compiler.adopt(compiled);
  program = compiled.program;
  if (builds - before !== 1) throw new Error(`a flap built ${builds - before} tables, not 1`);
}

Deno.bench(`health flap at ${VIPS} VIPs: compile and adopt, one table built`, {
  group: "flap",
  baseline: true,
}, flap);

Deno.bench(`health flap at ${VIPS} VIPs, every table built (before the cache)`, {
  group: "flap",
  n: 2,
  warmup: 0,
}, () => {
  const before = builds;
  new Compiler(IFACE, { buildRing: counted }).compile(doc, conditions);
  if (builds - before !== VIPS) throw new Error(`built ${builds - before} tables, not ${VIPS}`);
});

/** The program as it was posted before: a private Int32 table per service. */
function privateTables(p: Program): Program {
  const sched = (s: SchedState) => ({ ...s, ring: Int32Array.from(s.ring) });
  return { ...p, services: p.services.map((s) => ({ ...s, sched: sched(s.sched) as never })) };
}
const unshared = privateTables(program);
let sink = 0;

Deno.bench(`post a ${VIPS}-VIP program: structured clone, tables shared`, {
  group: "post",
  baseline: true,
}, () => {
  sink ^= structuredClone(program).services.length;
});

Deno.bench(`post a ${VIPS}-VIP program: structured clone, private tables (before)`, {
  group: "post",
  n: 5,
  warmup: 1,
}, () => {
  sink ^= structuredClone(unshared).services.length;
});

globalThis.addEventListener("unload", () => {
  if (sink === 0.5) console.log(sink);
});
