/**
 * Benchmarks of the data plane's hot structures: the flow table at 1,000,000
 * flows, Maglev table builds (10, 100 and 1000 backends) and scheduler picks.
 * `deno bench -A bench/dataplane_bench.ts`
 * @module
 */

import { FLOW_ESTABLISHED, FLOW_SYN, FlowTable } from "../dataplane/flow_table.ts";
import { hashAddr, hashFlow } from "../dataplane/hash.ts";
import { buildMaglev, type MaglevBackend } from "../dataplane/maglev.ts";
import { newSchedState, pick, SCHED_MH, SCHED_WLC } from "../dataplane/scheduler.ts";

const FLOWS = 1_000_000;
const VIP_PORT = 80;
const table = new FlowTable(FLOWS);
for (let i = 0; i < FLOWS; i++) {
  table.insert(
    0x0a000000 + (i >>> 4),
    ((1024 + (i & 15)) << 16 | VIP_PORT) >>> 0,
    0,
    i & 7,
    FLOW_ESTABLISHED,
    0,
  );
}
let next = 0;
let sink = 0; // results land here so no call is optimised away

Deno.bench("flow table lookup hit at 1M flows", { group: "flow table" }, () => {
  const i = next = (next + 7919) % FLOWS;
  sink ^= table.lookup(0x0a000000 + (i >>> 4), ((1024 + (i & 15)) << 16 | VIP_PORT) >>> 0, 0);
});

Deno.bench("flow table lookup hit at 1M flows, 1000 in a loop", {
  group: "flow table",
  n: 2000,
}, () => {
  // As the packet loop does: many independent lookups back to back, the
  // bench's per-call overhead spread over 1000 of them.
  for (let k = 0; k < 1000; k++) {
    const i = next = (next + 7919) % FLOWS;
    sink ^= table.lookup(0x0a000000 + (i >>> 4), ((1024 + (i & 15)) << 16 | VIP_PORT) >>> 0, 0);
  }
});

Deno.bench("flow table index growth to full size at 32,768 flows (one insert)", {
  group: "growth",
  n: 5,
  warmup: 1,
}, (b) => {
  const t = new FlowTable(1_000_000);
  const key = (i: number) => [0x0c000000 + i, (1024 << 16 | VIP_PORT) >>> 0] as const;
  for (let i = 0; i < 1 << 15; i++) t.insert(...key(i), 0, 0, FLOW_SYN, 0);
  b.start();
  // The worst growth: from 65,536 cells straight to 2^21, paged in already.
  t.insert(...key(1 << 15), 0, 0, FLOW_SYN, 0);
  b.end();
  sink ^= t.indexCells;
});

// One random cycle through 8M words (32 MiB, the size of the index at 1M
// flows): each read's address is the previous read's value, so nothing
// overlaps and the time per read is this machine's latency to memory.
const chase = new Int32Array(8 << 20);
for (let i = 0; i < chase.length; i++) chase[i] = i;
for (let i = chase.length - 1, seed = 1; i > 0; i--) {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  const j = seed % i; // Sattolo: one cycle through every word
  const t = chase[i];
  chase[i] = chase[j];
  chase[j] = t;
}
let at = 0;

Deno.bench("memory: 1000 dependent random reads in 32 MiB (a miss, for scale)", {
  group: "flow table",
  n: 2000,
}, () => {
  for (let k = 0; k < 1000; k++) at = chase[at];
  sink ^= at;
});

let fresh = 0;
Deno.bench("flow table insert at 1M flows (evicts LRU)", { group: "flow table" }, () => {
  const i = fresh++;
  sink ^= table.insert(
    0x0b000000 + (i >>> 4),
    ((1024 + (i & 15)) << 16 | VIP_PORT) >>> 0,
    1,
    0,
    FLOW_SYN,
    i,
  );
});

// A real server flushed from a full 1M-flow table: 100 flows of a backend id
// the table holds no other flow of (a service's other servers keep theirs),
// put back before each run (untimed; they evict the oldest flows).
let flushed = 0;
Deno.bench("flow table removeBackend of 100 flows at 1M flows", {
  group: "flow table",
  n: 200,
}, (b) => {
  for (let k = 0; k < 100; k++) {
    const i = flushed++;
    table.insert(
      0x0d000000 + (i >>> 4),
      ((1024 + (i & 15)) << 16 | VIP_PORT) >>> 0,
      2,
      9,
      FLOW_SYN,
      0,
    );
  }
  b.start();
  sink ^= table.removeBackend(9);
  b.end();
});

function backends(n: number): MaglevBackend[] {
  return Array.from({ length: n }, (_, i) => ({
    id: i,
    key: `198.18.${i >> 8}.${i & 255}:80`,
    weight: 1 + (i % 3),
  }));
}
const ten = backends(10);
const hundred = backends(100);
const thousand = backends(1000);

Deno.bench("maglev build, 10 backends, 65537 slots", { group: "maglev" }, () => {
  sink ^= buildMaglev(ten)[0];
});
Deno.bench("maglev build, 100 backends, 65537 slots", { group: "maglev" }, () => {
  sink ^= buildMaglev(hundred)[0];
});
Deno.bench("maglev build, 1000 backends, 65537 slots", { group: "maglev" }, () => {
  sink ^= buildMaglev(thousand)[0];
});

const mh = newSchedState(SCHED_MH, ten);
const wlc = newSchedState(SCHED_WLC, ten);
const active = new Int32Array(16);
const inactive = new Int32Array(16);
let port = 0;

Deno.bench("pick mh (10 backends)", { group: "pick" }, () => {
  port = (port + 1) & 0xffff;
  sink ^= pick(mh, hashFlow(0x0a000001, port, 0xc6120064, 80, 6), 0, active, inactive);
});
Deno.bench("pick wlc (10 backends)", { group: "pick" }, () => {
  const id = pick(wlc, 0, hashAddr(0x0a000001), active, inactive);
  active[id] = (active[id] + 1) & 0xfff;
  sink ^= id;
});
