/**
 * Micro-benchmarks of the per-packet decision, `Forwarder.process`: a TCP SYN
 * of a flow the table already holds (parse, service lookup, flow hit, MAC
 * rewrite, counters), by the fast path and by the general path alone, and a
 * SYN of a new flow each time, as in a SYN flood (adds a Maglev pick and a
 * flow insert; evicts once the table is full). The same for IPv6 (a VIP
 * 2001:2::100 beside the IPv4 one, in the same program and table). And a
 * datagram of a UDP service with one-packet scheduling (`--ops`), scheduled
 * every time and never kept as a flow.
 * `deno bench -A bench/forwarder_bench.ts`
 * @module
 */

import { eth } from "../dataplane/_frame_builder.ts";
import { buildProgram, resolve, type TestRip } from "../dataplane/_program_builder.ts";
import { Forwarder, VERDICT_FORWARD } from "../dataplane/forwarder.ts";
import { PROTO_UDP, TCP_SYN } from "../dataplane/packet.ts";
import { createSharedTables } from "../dataplane/tables.ts";

const VIP = "198.18.0.100";
const RIPS: TestRip[] = [11, 12, 13].map((o, id) => ({
  id,
  ip: `198.18.0.${o}`,
  mac: `02:00:c6:12:00:${o.toString(16).padStart(2, "0")}`,
}));
const VIP6 = "2001:2::100";
const RIPS6: TestRip[] = [11, 12, 13].map((o, i) => ({
  id: 6 + i,
  ip: `2001:2::${o}`,
  mac: `02:00:c6:12:06:${o.toString(16).padStart(2, "0")}`,
}));
const NOW = 1_000_000;

function forwarder(maxFlows: number, fastPath = true): Forwarder {
  const shared = createSharedTables();
  const fwd = new Forwarder(shared, { maxFlows, fastPath });
  const program = buildProgram({
    services: [
      { id: 0, vip: VIP, port: 80, rips: RIPS },
      {
        id: 1,
        vip: VIP,
        port: 9,
        proto: PROTO_UDP,
        rips: RIPS.map((r) => ({ ...r, id: r.id + 3 })),
      },
      { id: 2, vip: VIP6, port: 80, rips: RIPS6 },
      {
        id: 3,
        vip: VIP,
        port: 53,
        proto: PROTO_UDP,
        ops: true,
        rips: RIPS.map((r) => ({ ...r, id: r.id + 9 })),
      },
    ],
  });
  for (const rip of [...RIPS, ...RIPS6]) resolve(shared, program, rip);
  fwd.load(program);
  return fwd;
}

function syn(sport: number): Uint8Array {
  return eth({ src: "02:00:c6:12:00:02", dst: "02:00:00:00:00:0a" })
    .ipv4({ src: "198.19.7.9", dst: VIP })
    .tcp({ sport, dport: 80, flags: TCP_SYN })
    .build();
}

function syn6(sport: number): Uint8Array {
  return eth({ src: "02:00:c6:12:00:02", dst: "02:00:00:00:00:0a" })
    .ipv6({ src: "2001:2:ff::7:9", dst: VIP6 })
    .tcp({ sport, dport: 80, flags: TCP_SYN })
    .build();
}

const tx = new Uint8Array(2048);
const LB = Uint8Array.of(2, 0, 0, 0, 0, 0x0a);
/**
 * A forward rewrites the frame's MACs in place, and a frame for another MAC
 * is ignored: each iteration gives the frame back the balancer's MAC, as a
 * fresh frame from the wire has it.
 */
function toBalancer(f: Uint8Array): Uint8Array {
  for (let i = 0; i < 6; i++) f[i] = LB[i];
  return f;
}
const known = forwarder(1_000_000);
const frame = syn(40000);
const frame6 = syn6(40000);
for (const f of [frame, frame6]) {
  if (known.process(f.slice(), f.length, tx, NOW) !== VERDICT_FORWARD) {
    throw new Error("the benchmark's SYN is not forwarded: check its program");
  }
}
let sink = 0; // results land here so no call is optimised away

Deno.bench("process SYN of a known flow", { group: "process", baseline: true }, () => {
  sink ^= known.process(toBalancer(frame), frame.length, tx, NOW);
});

Deno.bench("process IPv6 SYN of a known flow", { group: "process" }, () => {
  sink ^= known.process(toBalancer(frame6), frame6.length, tx, NOW);
});

const general = forwarder(1_000_000, false);
general.process(frame.slice(), frame.length, tx, NOW);
general.process(frame6.slice(), frame6.length, tx, NOW);
Deno.bench("process SYN of a known flow, general path only", { group: "process" }, () => {
  sink ^= general.process(toBalancer(frame), frame.length, tx, NOW);
});
Deno.bench("process IPv6 SYN of a known flow, general path only", { group: "process" }, () => {
  sink ^= general.process(toBalancer(frame6), frame6.length, tx, NOW);
});

// Every SYN from a new (source address, port): source address bytes 26-29, port 34-35.
const flood = forwarder(1_000_000);
const fresh = syn(1);
let n = 0;
Deno.bench("process SYN of a new flow (SYN flood, 1M-flow table)", { group: "process" }, () => {
  n++;
  fresh[28] = (n >>> 16) & 255;
  fresh[29] = (n >>> 8) & 255;
  fresh[35] = n & 255;
  sink ^= flood.process(toBalancer(fresh), fresh.length, tx, NOW + n);
});

// The same flood over IPv6: client address bytes 34-37 (the last word), port 54-55.
const flood6 = forwarder(1_000_000);
const fresh6 = syn6(1);
let n6 = 0;
Deno.bench(
  "process IPv6 SYN of a new flow (SYN flood, 1M-flow table)",
  { group: "process" },
  () => {
    n6++;
    fresh6[36] = (n6 >>> 16) & 255;
    fresh6[37] = (n6 >>> 8) & 255;
    fresh6[55] = n6 & 255;
    sink ^= flood6.process(toBalancer(fresh6), fresh6.length, tx, NOW + n6);
  },
);

// One-packet scheduling: the fast path's lookup misses (no flow is ever
// kept), then the general path schedules the datagram with mh.
const datagram = eth({ src: "02:00:c6:12:00:02", dst: "02:00:00:00:00:0a" })
  .ipv4({ src: "198.19.7.9", dst: VIP }).udp({ sport: 40000, dport: 53 }).build();
if (known.process(datagram.slice(), datagram.length, tx, NOW) !== VERDICT_FORWARD) {
  throw new Error("the benchmark's datagram is not forwarded: check its program");
}
const flowsBefore = known.flows.size;
Deno.bench("process a datagram of an --ops UDP service (scheduled each time)", {
  group: "process",
}, () => {
  sink ^= known.process(toBalancer(datagram), datagram.length, tx, NOW);
});
addEventListener("unload", () => {
  if (known.flows.size !== flowsBefore) throw new Error("an --ops datagram left a flow");
});
