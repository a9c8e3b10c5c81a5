/**
 * No allocation per packet, shown: `Forwarder.process` runs a million frames
 * of one kind (IPv4 and IPv6: a known flow, a new flow each time as in a SYN
 * flood, fragments, a Neighbor Solicitation answered, an echo answered, a
 * packet-too-big sent on), after a warm-up, in a child V8 whose young
 * generation is 64 MiB: no collection runs during the million packets unless
 * they allocate over 64 bytes each, so the growth of the heap in use over the
 * run is what they allocated.
 *
 *   deno run -A bench/alloc_bench.ts [PACKETS=1000000]
 * @module
 */

import { eth } from "../dataplane/_frame_builder.ts";
import { buildProgram, resolve, type TestRip } from "../dataplane/_program_builder.ts";
import { Forwarder, VERDICT_FORWARD, VERDICT_REPLY } from "../dataplane/forwarder.ts";
import { PROTO_UDP, TCP_ACK, TCP_SYN } from "../dataplane/packet.ts";
import { createSharedTables } from "../dataplane/tables.ts";

const LB = "02:00:00:00:00:0a";
const CLIENT = "02:00:00:00:00:c1";
const RIPS: TestRip[] = [
  { id: 0, ip: "198.18.0.11", mac: "02:00:00:00:01:11" },
  { id: 1, ip: "198.18.0.12", mac: "02:00:00:00:01:12" },
  { id: 2, ip: "2001:2::11", mac: "02:00:00:00:06:11" },
  { id: 3, ip: "2001:2::12", mac: "02:00:00:00:06:12" },
  { id: 4, ip: "198.18.0.11", mac: "02:00:00:00:01:11" },
  { id: 5, ip: "2001:2::11", mac: "02:00:00:00:06:11" },
];

/** A frame maker per case: frame `n` of the run (the same bytes, or a new flow each time). */
type Maker = (n: number) => Uint8Array;

const v4 = () => eth({ src: CLIENT, dst: LB }).ipv4({ src: "198.19.7.9", dst: "198.18.0.100" });
const v6 = (
  ext: { type: number; offset?: number; more?: boolean; id?: number; next?: number }[] = [],
) => eth({ src: CLIENT, dst: LB }).ipv6({ src: "2001:2:ff::7:9", dst: "2001:2::100", ext });

/** Writes `n` into the client address's last bytes and port, in place: a new flow per frame. */
function fresh(frame: Uint8Array, addrEnd: number, portAt: number): Maker {
  return (n) => {
    frame[addrEnd - 1] = n & 255;
    frame[addrEnd - 2] = (n >>> 8) & 255;
    frame[addrEnd - 3] = (n >>> 16) & 255;
    frame[portAt] = (n >>> 8) & 255;
    frame[portAt + 1] = n & 255;
    return frame;
  };
}

const same = (frame: Uint8Array): Maker => () => frame;

const CASES: Record<string, () => Maker> = {
  "IPv4 known flow (fast path)": () =>
    same(v4().tcp({ sport: 40000, dport: 80, flags: TCP_ACK }).build()),
  "IPv6 known flow (fast path)": () =>
    same(v6().tcp({ sport: 40000, dport: 80, flags: TCP_ACK }).build()),
  "IPv4 SYN of a new flow": () =>
    fresh(v4().tcp({ sport: 1, dport: 80, flags: TCP_SYN }).build(), 30, 34),
  "IPv6 SYN of a new flow": () =>
    fresh(v6().tcp({ sport: 1, dport: 80, flags: TCP_SYN }).build(), 38, 54),
  "IPv6 first and later fragments": () => {
    const first = v6([{ type: 44, offset: 0, more: true, id: 7 }])
      .udp({ sport: 1, dport: 53, length: 2000 }).payload(new Uint8Array(100)).build();
    const later = v6([{ type: 44, offset: 1008, more: false, id: 7, next: PROTO_UDP }])
      .payload(new Uint8Array(100)).build();
    return (n) => n % 2 === 0 ? first : later;
  },
  "IPv6 Neighbor Solicitation (answered)": () =>
    same(
      eth({ src: CLIENT, dst: "33:33:ff:00:01:00" })
        .ipv6({ src: "2001:2:ff::7:9", dst: "ff02::1:ff00:100", hopLimit: 255 })
        .icmp6({
          type: 135,
          body: [
            0,
            0,
            0,
            0,
            0x20,
            1,
            0,
            2,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            1,
            0,
            1,
            1,
            2,
            0,
            0,
            0,
            0,
            0xc1,
          ],
        }).build(),
    ),
  "IPv6 echo request (answered)": () =>
    same(v6().icmpEcho({ id: 1, seq: 1 }).payload(new Uint8Array(56)).build()),
  "IPv6 packet too big (sent on)": () =>
    same(
      v6().icmp6({ type: 2, body: [0, 0, 5, 0] }).payload(
        eth().ipv6({ src: "2001:2::100", dst: "2001:2:ff::7:9" })
          .tcp({ sport: 80, dport: 40000, flags: TCP_ACK }).build({ pad: false }).subarray(14),
      ).build(),
    ),
};

function forwarder(): Forwarder {
  const shared = createSharedTables();
  const fwd = new Forwarder(shared, { maxFlows: 1_000_000 });
  const program = buildProgram({
    services: [
      { id: 0, vip: "198.18.0.100", port: 80, rips: RIPS.slice(0, 2) },
      { id: 1, vip: "2001:2::100", port: 80, rips: RIPS.slice(2, 4) },
      { id: 2, vip: "198.18.0.100", port: 53, proto: PROTO_UDP, rips: [RIPS[4]] },
      { id: 3, vip: "2001:2::100", port: 53, proto: PROTO_UDP, rips: [RIPS[5]] },
    ],
  });
  for (const rip of RIPS) resolve(shared, program, rip);
  fwd.load(program);
  return fwd;
}

function child(name: string, packets: number): void {
  const fwd = forwarder();
  const make = CASES[name]();
  const tx = new Uint8Array(2048);
  const dst = Uint8Array.of(2, 0, 0, 0, 0, 0x0a);
  let verdicts = 0;
  const run = (from: number, to: number) => {
    for (let n = from; n < to; n++) {
      const frame = make(n);
      // A forward rewrites the MACs in place: give the frame its destination back.
      if (frame[0] !== 0x33) { for (let i = 0; i < 6; i++) frame[i] = dst[i]; }
      const v = fwd.process(frame, frame.length, tx, 1_000_000 + (n >> 10));
      if (v === VERDICT_FORWARD || v === VERDICT_REPLY) verdicts++;
    }
  };
  run(0, 200_000); // warm-up: compiled code, the flow table's arrays
  const counted = verdicts;
  const before = Deno.memoryUsage().heapUsed;
  run(200_000, 200_000 + packets);
  const after = Deno.memoryUsage().heapUsed;
  console.log(JSON.stringify({ heapDelta: after - before, sent: verdicts - counted }));
}

if (Deno.args[0] === "--child") {
  child(Deno.args[1], Number(Deno.args[2]));
} else {
  const packets = Number(Deno.args[0] ?? 1_000_000);
  console.log("| case | packets | forwarded or answered | heap growth over the run | per packet |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const name of Object.keys(CASES)) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--v8-flags=--min-semi-space-size=64,--max-semi-space-size=64",
        new URL(import.meta.url).pathname,
        "--child",
        name,
        String(packets),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const result = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
    console.log(
      `| ${name} | ${packets} | ${result.sent} | ${result.heapDelta} bytes | ${
        (result.heapDelta / packets).toFixed(4)
      } |`,
    );
  }
}
