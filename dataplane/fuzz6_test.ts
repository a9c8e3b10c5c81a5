import assert from "node:assert/strict";
import fc from "fast-check";
import { formatMac } from "./addr.ts";
import { formatIpv6 } from "./addr6.ts";
import { eth, type ExtensionOptions } from "./_frame_builder.ts";
import {
  buildProgram,
  LB_IP6,
  LB_MAC,
  resolve,
  type TestProgram,
  type TestRip,
} from "./_program_builder.ts";
import {
  Forwarder,
  VERDICT_DROP,
  VERDICT_FORWARD,
  VERDICT_IGNORE,
  VERDICT_REPLY,
} from "./forwarder.ts";
import { PROTO_UDP } from "./packet.ts";
import { createSharedTables } from "./tables.ts";

// Random and mutated IPv6 frames through the forwarder, held to a model that
// knows only what may leave: a forward goes out unchanged but for its MACs,
// to a real server of a service on the frame's VIP, port and protocol, and
// only for a frame addressed to the balancer; a reply is an NA for a VIP or
// an echo reply from a VIP. Nothing may throw.

const MTU = 1500;
const CLIENT_MAC = "02:00:00:00:00:c1";
const VIP = "2001:2::100";
const VIP_UDP = "2001:2::101";
const RIPS: TestRip[] = [
  { id: 0, ip: "2001:2::11", mac: "02:00:00:00:06:11" },
  { id: 1, ip: "2001:2::12", mac: "02:00:00:00:06:12" },
  { id: 2, ip: "2001:2::13", mac: "02:00:00:00:06:13" },
];
const PROGRAM: TestProgram = {
  mtu: MTU,
  services: [
    { id: 0, vip: VIP, port: 80, rips: RIPS.slice(0, 2) },
    { id: 1, vip: VIP_UDP, port: 0, proto: PROTO_UDP, rips: RIPS.slice(1) },
  ],
};
/** What the model allows: per VIP, the services (port 0: any) and their real servers' MACs. */
const SERVICES = [
  { vip: VIP, port: 80, proto: 6, macs: new Set(RIPS.slice(0, 2).map((r) => r.mac)) },
  { vip: VIP_UDP, port: 0, proto: 17, macs: new Set(RIPS.slice(1).map((r) => r.mac)) },
];
const VIPS = new Set([VIP, VIP_UDP]);

/** Frames worth mutating: every kind the IPv6 path handles. */
function seeds(): Uint8Array[] {
  const to = (dst: string, ext: ExtensionOptions[] = [], hops = 57) =>
    eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv6({ src: "2001:2:ff::9", dst, hopLimit: hops, ext });
  const frag = (offset: number, more: boolean): ExtensionOptions => ({
    type: 44,
    offset,
    more,
    id: 0x1234,
  });
  return [
    to(VIP).tcp({ sport: 40000, dport: 80, flags: 2 }).build(),
    to(VIP).tcp({ sport: 40000, dport: 80, flags: 0x10 }).payload(new Uint8Array(100)).build(),
    to(VIP, [{ type: 0 }, { type: 60 }]).tcp({ sport: 1, dport: 80, flags: 2 }).build(),
    to(VIP_UDP).udp({ sport: 53, dport: 5353 }).payload(new Uint8Array(40)).build(),
    to(VIP_UDP, [frag(0, true)]).udp({ sport: 7, dport: 7, length: 2000 })
      .payload(new Uint8Array(64)).build(),
    to(VIP_UDP, [{ ...frag(1008, false), next: 17 }]).payload(new Uint8Array(64)).build(),
    to(VIP).icmpEcho({ id: 1, seq: 1 }).payload(new Uint8Array(16)).build(),
    eth({ src: CLIENT_MAC, dst: "33:33:ff:00:01:00" })
      .ipv6({ src: "2001:2:ff::9", dst: "ff02::1:ff00:100", hopLimit: 255 })
      .icmp6({ type: 135, body: [0, 0, 0, 0, ...ipBytes(VIP), 1, 1, 2, 0, 0, 0, 0, 0xc1] })
      .build(),
    eth({ src: RIPS[0].mac, dst: LB_MAC }).ipv6({ src: RIPS[0].ip, dst: LB_IP6, hopLimit: 255 })
      .icmp6({
        type: 136,
        body: [0x60, 0, 0, 0, ...ipBytes(RIPS[0].ip), 2, 1, 2, 0, 0, 0, 6, 0x11],
      })
      .build(),
    to(VIP).icmp6({ type: 2, body: [0, 0, 5, 0] }).payload(
      eth().ipv6({ src: VIP, dst: "2001:2:ff::9" }).tcp({ sport: 80, dport: 40000, flags: 0x18 })
        .build({ pad: false }).subarray(14),
    ).build(),
    to("2001:2::99").tcp({ sport: 1, dport: 80, flags: 2 }).build(),
  ];
}

function ipBytes(text: string): number[] {
  return Array.from(eth().ipv6({ src: text, dst: text }).build({ pad: false }).subarray(22, 38));
}

/** Why the model refuses `out` as a forward of `input` (len bytes), or null when it may leave. */
function badForward(input: Uint8Array, len: number, out: Uint8Array): string | null {
  if (formatMac(input, 0) !== LB_MAC) return "forwarded a frame for another MAC";
  if (formatMac(out, 6) !== LB_MAC) return "forwarded from another MAC than the balancer's";
  for (let i = 12; i < len; i++) if (out[i] !== input[i]) return `byte ${i} changed`;
  if (len - 14 > MTU) return "forwarded a frame above the MTU";
  const type = (input[12] << 8) | input[13];
  if (type !== 0x86dd || input[14] >> 4 !== 6) return "forwarded what is not IPv6";
  if (54 + ((input[18] << 8) | input[19]) > len) return "forwarded a packet longer than its frame";
  const dst = formatIpv6(input, 38);
  if (!VIPS.has(dst)) return `forwarded a packet to ${dst}, no VIP`;
  const macs = new Set(SERVICES.filter((s) => s.vip === dst).flatMap((s) => [...s.macs]));
  if (!macs.has(formatMac(out, 0))) {
    return `forwarded to ${formatMac(out, 0)}, no real server of ${dst}`;
  }
  // Without extension headers the ports are plain to see: they must name a service.
  const next = input[20];
  if (next === 6 || next === 17) {
    const port = (input[56] << 8) | input[57];
    const fits = SERVICES.some((s) =>
      s.vip === dst && s.proto === next && (s.port === 0 || s.port === port) &&
      s.macs.has(formatMac(out, 0))
    );
    if (!fits) {
      return `forwarded ${next}/${port} to ${dst}, which no service of that real server takes`;
    }
  } else if (next === 58 && input[54] !== 2) return "forwarded ICMPv6 that is no packet-too-big";
  return null;
}

/** Why a reply is not what the balancer may send, or null. */
function badReply(input: Uint8Array, reply: Uint8Array): string | null {
  if (formatMac(reply, 6) !== LB_MAC) return "replied from another MAC";
  if (reply[12] !== 0x86 || reply[13] !== 0xdd) return "replied with what is not IPv6";
  const src = formatIpv6(reply, 22);
  if (!VIPS.has(src)) return `replied from ${src}, no VIP`;
  const type = reply[54];
  if (type === 136 && formatIpv6(reply, 62) === src) return null;
  // An echo reply goes back to the request's source.
  if (type === 129 && formatIpv6(reply, 38) === formatIpv6(input, 22)) return null;
  return `replied with ICMPv6 type ${type}`;
}

const mutation = fc.oneof(
  fc.record({ at: fc.nat(200), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    at: fc.constantFrom(0, 5, 12, 13, 14, 18, 19, 20, 21, 37, 53, 54, 55, 56, 57, 62, 66),
    value: fc.integer({ min: 0, max: 255 }),
  }),
);

Deno.test("fuzz, IPv6: mutated and random frames never throw and nothing leaves that should not", () => {
  const base = seeds();
  const frame = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        seed: fc.integer({ min: 0, max: base.length - 1 }),
        mutations: fc.array(mutation, { maxLength: 4 }),
        cut: fc.option(fc.integer({ min: 0, max: 140 }), { freq: 4 }),
      }).map(({ seed, mutations, cut }) => {
        const f = base[seed].slice();
        for (const m of mutations) if (m.at < f.length) f[m.at] = m.value;
        return cut === null ? f : f.subarray(0, Math.min(cut, f.length));
      }),
    },
    {
      weight: 1,
      arbitrary: fc.uint8Array({ minLength: 0, maxLength: 160 }).map((f) => {
        // Random bytes with the balancer's MAC and the IPv6 type, so they reach the parser.
        const out = new Uint8Array(Math.max(f.length, 15));
        out.set(f);
        out.set([2, 0, 0, 0, 0, 0x0a], 0);
        out.set([0x86, 0xdd, 0x60], 12);
        return out;
      }),
    },
  );
  fc.assert(
    fc.property(fc.array(frame, { minLength: 1, maxLength: 40 }), (frames) => {
      const shared = createSharedTables();
      const fwd = new Forwarder(shared, { maxFlows: 1024 });
      const program = buildProgram(PROGRAM);
      for (const rip of RIPS) resolve(shared, program, rip);
      fwd.load(program);
      const tx = new Uint8Array(2048);
      frames.forEach((input, i) => {
        const out = input.slice();
        const verdict = fwd.process(out, out.length, tx, 1_000_000 + i);
        assert.ok([VERDICT_FORWARD, VERDICT_REPLY, VERDICT_DROP, VERDICT_IGNORE].includes(verdict));
        if (verdict === VERDICT_FORWARD) {
          assert.equal(badForward(input, input.length, out), null);
        } else {
          assert.deepEqual(out, input, "a frame not forwarded is left as it came");
        }
        if (verdict === VERDICT_REPLY) {
          assert.equal(badReply(input, tx.subarray(0, fwd.replyLength)), null);
        }
      });
    }),
    { numRuns: 400 },
  );
});
