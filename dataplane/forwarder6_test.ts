import assert from "node:assert/strict";
import { formatMac, parseMac } from "./addr.ts";
import { parseIpv6 } from "./addr6.ts";
import { eth, type ExtensionOptions } from "./_frame_builder.ts";
import {
  buildProgram,
  hasRip,
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
import {
  MALFORMED_BAD_EXTENSION,
  MALFORMED_BAD_L4,
  MALFORMED_LONG_CHAIN,
  MAX_EXTENSION_HEADERS,
  PROTO_UDP,
  TCP_ACK,
  TCP_SYN,
} from "./packet.ts";
import { SCHED_RR, SCHED_SH } from "./scheduler.ts";
import {
  B_CONNECTIONS,
  B_PACKETS,
  B_STRIDE,
  createSharedTables,
  G_DROP_FRAGMENT,
  G_DROP_MALFORMED,
  G_DROP_NO_BACKEND,
  G_DROP_NO_SERVICE,
  G_DROP_OVERSIZE,
  G_DROP_STANDBY,
  G_ICMP_REPLIES,
  G_MALFORMED_BASE,
  G_NA_REPLIES,
  G_OTHER_MAC,
  G_SIZE,
  type SharedTables,
} from "./tables.ts";

const NOW = 1_000_000;
const CLIENT_MAC = "02:00:00:00:00:c1";
const CLIENT = "2001:2:ff::9";
const VIP = "2001:2::100"; // tcp/80 to RIP_A; udp on every port to RIP_UDP
const VIP_DARK = "2001:2::101"; // tcp/443 to a real server whose MAC is unknown
const NOT_A_VIP = "2001:2::99";
const VIP4 = "198.18.0.100"; // the same program serves IPv4 too
const MTU = 1500;

const RIP_A: TestRip = { id: 0, ip: "2001:2::11", mac: "02:00:00:00:01:11" };
const RIP_B: TestRip = { id: 1, ip: "2001:2::12", mac: "02:00:00:00:01:12" };
const RIP_UDP: TestRip = { id: 2, ip: "2001:2::13", mac: "02:00:00:00:01:13" };
const RIP_DARK: TestRip = { id: 3, ip: "2001:2::14", mac: "02:00:00:00:01:14" };
const RIP4: TestRip = { id: 4, ip: "198.18.0.11", mac: "02:00:00:00:02:11" };
const RESOLVED = [RIP_A, RIP_B, RIP_UDP, RIP4];

const TABLE: TestProgram = {
  mtu: MTU,
  services: [
    { id: 0, vip: VIP, port: 80, rips: [RIP_A] },
    { id: 1, vip: VIP, port: 0, proto: PROTO_UDP, rips: [RIP_UDP] },
    { id: 2, vip: VIP_DARK, port: 443, rips: [RIP_DARK] },
    { id: 3, vip: VIP4, port: 80, rips: [RIP4] },
  ],
};
const TWO: TestProgram = { services: [{ id: 0, vip: VIP, port: 80, rips: [RIP_A, RIP_B] }] };

interface Harness {
  shared: SharedTables;
  fwd: Forwarder;
  tx: Uint8Array;
}

function setup(o: TestProgram = TABLE, fastPath = true): Harness {
  const shared = createSharedTables();
  const fwd = new Forwarder(shared, { maxFlows: 4096, fastPath });
  const program = buildProgram(o);
  for (const rip of RESOLVED) if (hasRip(program, rip)) resolve(shared, program, rip);
  fwd.load(program);
  return { shared, fwd, tx: new Uint8Array(2048) };
}

function run(h: Harness, frame: Uint8Array, now = NOW): { verdict: number; out: Uint8Array } {
  const out = frame.slice();
  return { verdict: h.fwd.process(out, out.length, h.tx, now), out };
}

const rewritten = (frame: Uint8Array, rip: TestRip) =>
  Uint8Array.from([...parseMac(rip.mac), ...parseMac(LB_MAC), ...frame.subarray(12)]);

function ripOf(out: Uint8Array, rips: TestRip[] = [RIP_A, RIP_B]): TestRip {
  const rip = rips.find((r) => r.mac === formatMac(out, 0));
  assert.ok(rip, `forwarded to unknown MAC ${formatMac(out, 0)}`);
  return rip;
}

const fromClient = (dst = VIP, ext: ExtensionOptions[] = [], src = CLIENT) =>
  eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv6({ src, dst, hopLimit: 57, ext });
const tcp = (dport: number, flags: number, dst = VIP, sport = 40000) =>
  fromClient(dst).tcp({ sport, dport, flags });
const frag = (offset: number, more: boolean, id: number, next?: number): ExtensionOptions => ({
  type: 44,
  offset,
  more,
  id,
  next,
});
const bytes = (n: number) => Array.from({ length: n }, (_, i) => (i * 7) & 255);

interface Case {
  name: string;
  frame: Uint8Array;
  verdict: number;
  counters?: number[];
  forwardTo?: TestRip;
}

const cases: Case[] = [
  {
    name: "TCP SYN to VIP:80 goes to its real server with only the MACs rewritten (hop limit kept)",
    frame: tcp(80, TCP_SYN).build(),
    verdict: VERDICT_FORWARD,
    forwardTo: RIP_A,
  },
  {
    name: "UDP to any port of the all-ports UDP service is forwarded",
    frame: fromClient().udp({ sport: 5353, dport: 9999 }).payload(bytes(100)).build(),
    verdict: VERDICT_FORWARD,
    forwardTo: RIP_UDP,
  },
  {
    name: "TCP after destination options and routing headers is forwarded whole",
    frame: fromClient(VIP, [{ type: 60 }, { type: 43, length: 24 }])
      .tcp({ sport: 1, dport: 80, flags: TCP_SYN }).build(),
    verdict: VERDICT_FORWARD,
    forwardTo: RIP_A,
  },
  {
    name: "a first fragment (with ports) is forwarded like any packet",
    frame: fromClient(VIP, [frag(0, true, 7)]).udp({ sport: 1, dport: 53 }).payload(bytes(64))
      .build(),
    verdict: VERDICT_FORWARD,
    forwardTo: RIP_UDP,
  },
  {
    name: "a later fragment whose first was never seen is dropped as fragment",
    frame: fromClient(VIP, [frag(1232, false, 7, PROTO_UDP)]).payload(bytes(64)).build(),
    verdict: VERDICT_DROP,
    counters: [G_DROP_FRAGMENT],
  },
  {
    name: "TCP to a port of the VIP with no service is dropped as noService",
    frame: tcp(81, TCP_SYN).build(),
    verdict: VERDICT_DROP,
    counters: [G_DROP_NO_SERVICE],
  },
  {
    name: "TCP to a real server whose MAC is unknown is dropped as noBackend",
    frame: tcp(443, TCP_SYN, VIP_DARK).build(),
    verdict: VERDICT_DROP,
    counters: [G_DROP_NO_BACKEND],
  },
  {
    name: "a frame above the MTU is dropped as oversize",
    frame: tcp(80, TCP_SYN).payload(bytes(MTU - 40 - 20 + 1)).build(),
    verdict: VERDICT_DROP,
    counters: [G_DROP_OVERSIZE],
  },
  {
    name: "a frame of exactly the MTU is forwarded",
    frame: tcp(80, TCP_SYN).payload(bytes(MTU - 40 - 20)).build(),
    verdict: VERDICT_FORWARD,
    forwardTo: RIP_A,
  },
  {
    name: "TCP to an address that is no VIP is ignored",
    frame: tcp(80, TCP_SYN, NOT_A_VIP).build(),
    verdict: VERDICT_IGNORE,
  },
  {
    name: "TCP to VIP:80 for another host's MAC is ignored as otherMac",
    frame: eth({ src: CLIENT_MAC, dst: "02:00:00:00:00:99" }).ipv6({ src: CLIENT, dst: VIP })
      .tcp({ sport: 1, dport: 80, flags: TCP_SYN }).build(),
    verdict: VERDICT_IGNORE,
    counters: [G_OTHER_MAC],
  },
  {
    name: "TCP to VIP:80 sent to a solicited-node multicast MAC is ignored as otherMac",
    frame: eth({ src: CLIENT_MAC, dst: "33:33:ff:00:01:00" }).ipv6({ src: CLIENT, dst: VIP })
      .tcp({ sport: 1, dport: 80, flags: TCP_SYN }).build(),
    verdict: VERDICT_IGNORE,
    counters: [G_OTHER_MAC],
  },
  {
    name: "an extension header running past the packet is dropped as badExtension",
    frame: eth({ src: CLIENT_MAC, dst: LB_MAC })
      .ipv6({ src: CLIENT, dst: VIP, ext: [{ type: 60, length: 64 }], payloadLength: 40 })
      .build(),
    verdict: VERDICT_DROP,
    counters: [G_DROP_MALFORMED, G_MALFORMED_BASE + MALFORMED_BAD_EXTENSION],
  },
  {
    name: `a chain of ${MAX_EXTENSION_HEADERS + 1} extension headers is dropped as longChain`,
    frame: fromClient(VIP, new Array(MAX_EXTENSION_HEADERS + 1).fill({ type: 60 }))
      .tcp({ sport: 1, dport: 80, flags: TCP_SYN }).build(),
    verdict: VERDICT_DROP,
    counters: [G_DROP_MALFORMED, G_MALFORMED_BASE + MALFORMED_LONG_CHAIN],
  },
  {
    name: "a TCP header cut short is dropped as badL4",
    frame: eth({ src: CLIENT_MAC, dst: LB_MAC })
      .ipv6({ src: CLIENT, dst: VIP, nextHeader: 6 }).payload(bytes(12)).build(),
    verdict: VERDICT_DROP,
    counters: [G_DROP_MALFORMED, G_MALFORMED_BASE + MALFORMED_BAD_L4],
  },
];

for (const c of cases) {
  Deno.test(`forwarder, IPv6: ${c.name}`, () => {
    for (const fastPath of [true, false]) {
      const h = setup(TABLE, fastPath);
      const { verdict, out } = run(h, c.frame);
      assert.equal(verdict, c.verdict);
      const expected = new Array<number>(G_SIZE).fill(0);
      for (const i of c.counters ?? []) expected[i] = 1;
      assert.deepEqual(Array.from(h.shared.global), expected);
      if (c.forwardTo) assert.deepEqual(out, rewritten(c.frame, c.forwardTo));
      else assert.deepEqual(out, c.frame);
    }
  });
}

Deno.test("IPv6: a known flow's packets take the fast path's verdict and count once each", () => {
  const h = setup();
  for (let i = 0; i < 3; i++) {
    const { verdict, out } = run(h, tcp(80, i === 0 ? TCP_SYN : TCP_ACK).build());
    assert.equal(verdict, VERDICT_FORWARD);
    assert.equal(ripOf(out, [RIP_A]), RIP_A);
  }
  assert.equal(h.shared.backends[RIP_A.id * B_STRIDE + B_PACKETS], 3);
  assert.equal(h.shared.backends[RIP_A.id * B_STRIDE + B_CONNECTIONS], 1);
  assert.equal(h.fwd.flows.size, 1);
  assert.equal(h.shared.active[RIP_A.id], 1);
});

Deno.test("IPv6: mh sends every packet of one 5-tuple to one real server and spreads 5-tuples", () => {
  const h = setup(TWO);
  const seen = new Map<number, string>();
  for (let round = 0; round < 3; round++) {
    for (let port = 1000; port < 1200; port++) {
      const rip = ripOf(run(h, tcp(80, round === 0 ? TCP_SYN : TCP_ACK, VIP, port).build()).out);
      if (round === 0) seen.set(port, rip.ip);
      else assert.equal(rip.ip, seen.get(port), `port ${port}`);
    }
  }
  const onA = [...seen.values()].filter((ip) => ip === RIP_A.ip).length;
  assert.ok(onA > 60 && onA < 140, `${onA} of 200 on A`);
});

Deno.test("IPv6: mh picks the same real server for a flow in a new forwarder (a restart)", () => {
  const a = setup(TWO), b = setup(TWO);
  for (let port = 2000; port < 2050; port++) {
    const frame = tcp(80, TCP_ACK, VIP, port).build();
    assert.equal(ripOf(run(a, frame).out), ripOf(run(b, frame).out));
  }
});

Deno.test("IPv6: clients whose addresses differ in one bit are distinct flows", () => {
  const h = setup({
    services: [{ id: 0, vip: VIP, port: 80, sched: SCHED_RR, rips: [RIP_A, RIP_B] }],
  });
  const one = fromClient(VIP, [], "2001:2:ff::8").tcp({ sport: 1, dport: 80, flags: TCP_SYN });
  const two = fromClient(VIP, [], "2001:2:ff::9").tcp({ sport: 1, dport: 80, flags: TCP_SYN });
  const first = ripOf(run(h, one.build()).out);
  const second = ripOf(run(h, two.build()).out);
  assert.notEqual(first, second, "rr gave the second client the other server");
  assert.equal(h.fwd.flows.size, 2);
  assert.equal(ripOf(run(h, one.build()).out), first);
  assert.equal(ripOf(run(h, two.build()).out), second);
});

Deno.test("IPv6: sh sends one client to one real server whatever its ports", () => {
  const h = setup({
    services: [{ id: 0, vip: VIP, port: 80, sched: SCHED_SH, rips: [RIP_A, RIP_B] }],
  });
  for (const client of ["2001:2:ff::1", "2001:2:ff::2", "2001:2:ff::3", "2001:2:ff::4"]) {
    const rips = new Set<string>();
    for (let port = 3000; port < 3020; port++) {
      const frame = fromClient(VIP, [], client).tcp({ sport: port, dport: 80, flags: TCP_SYN });
      rips.add(ripOf(run(h, frame.build()).out).ip);
    }
    assert.equal(rips.size, 1, client);
  }
});

Deno.test("IPv6: persistence sends one client's connections to one real server under rr", () => {
  const h = setup({
    services: [{
      id: 0,
      vip: VIP,
      port: 80,
      sched: SCHED_RR,
      persistMs: 300_000,
      rips: [RIP_A, RIP_B],
    }],
  });
  const rips = new Set<string>();
  for (let port = 1000; port < 1010; port++) {
    rips.add(ripOf(run(h, tcp(80, TCP_SYN, VIP, port).build()).out).ip);
  }
  assert.equal(rips.size, 1);
  const other = fromClient(VIP, [], "2001:2:ff::77").tcp({ sport: 1, dport: 80, flags: TCP_SYN });
  assert.notEqual(ripOf(run(h, other.build()).out).ip, [...rips][0]);
});

Deno.test("IPv6: every fragment of a datagram goes to the real server of its first fragment", () => {
  const h = setup({
    services: [{ id: 0, vip: VIP, port: 0, proto: PROTO_UDP, rips: [RIP_A, RIP_B] }],
  });
  const used = new Set<string>();
  for (let id = 1; id <= 40; id++) {
    const first = fromClient(VIP, [frag(0, true, id * 0x01010101)])
      .udp({ sport: 1000 + id, dport: 53, length: 2000 }).payload(bytes(1000)).build();
    const rip = ripOf(run(h, first).out);
    used.add(rip.ip);
    for (const offset of [1008, 2016]) {
      const later = fromClient(VIP, [frag(offset, offset < 2016, id * 0x01010101, PROTO_UDP)])
        .payload(bytes(offset < 2016 ? 1008 : 100)).build();
      const { verdict, out } = run(h, later);
      assert.equal(verdict, VERDICT_FORWARD, `datagram ${id} at ${offset}`);
      assert.equal(ripOf(out), rip, `datagram ${id} at ${offset}`);
    }
  }
  assert.equal(used.size, 2, "the datagrams' first fragments were spread");
  // Another identification, or another source, is another datagram.
  const stray = fromClient(VIP, [frag(1008, false, 12345, PROTO_UDP)]).payload(bytes(8)).build();
  assert.equal(run(h, stray).verdict, VERDICT_DROP);
  const elsewhere = fromClient(VIP, [frag(1008, false, 0x01010101, PROTO_UDP)], "2001:2:ff::1")
    .payload(bytes(8)).build();
  assert.equal(run(h, elsewhere).verdict, VERDICT_DROP);
  assert.equal(h.shared.global[G_DROP_FRAGMENT], 2);
});

Deno.test("IPv6: a standby drops frames to a VIP as standby", () => {
  const h = setup({ ...TABLE, standby: true });
  assert.equal(run(h, tcp(80, TCP_SYN).build()).verdict, VERDICT_DROP);
  assert.equal(h.shared.global[G_DROP_STANDBY], 1);
});

Deno.test("IPv6 and IPv4 flows live side by side in one table", () => {
  const h = setup();
  const v4 = eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv4({ src: "203.0.113.9", dst: VIP4 })
    .tcp({ sport: 40000, dport: 80, flags: TCP_SYN }).build();
  assert.equal(run(h, v4).verdict, VERDICT_FORWARD);
  assert.equal(run(h, tcp(80, TCP_SYN).build()).verdict, VERDICT_FORWARD);
  assert.equal(h.fwd.flows.size, 2);
  assert.equal(formatMac(run(h, v4).out, 0), RIP4.mac);
  assert.equal(formatMac(run(h, tcp(80, TCP_ACK).build()).out, 0), RIP_A.mac);
  assert.equal(h.fwd.flows.size, 2);
});

// Neighbor Discovery and echo: the balancer answers for its IPv6 VIPs as it does in ARP.

const SOLICITED_NODE_MAC = "33:33:ff:00:01:00"; // of 2001:2::100
const SOLICITED_NODE = "ff02::1:ff00:100";
const addr = (a: string) => Array.from(parseIpv6(a));
const ndp = (flags: number, target: string, option?: [number, string]) => [
  flags,
  0,
  0,
  0,
  ...addr(target),
  ...(option ? [option[0], 1, ...parseMac(option[1])] : []),
];
/** A Neighbor Solicitation from `src` for `target`. */
const solicit = (
  target: string,
  o: {
    src?: string;
    dst?: string;
    dstMac?: string;
    hops?: number;
    mac?: string;
    option?: boolean;
  } = {},
) =>
  eth({ src: o.mac ?? CLIENT_MAC, dst: o.dstMac ?? SOLICITED_NODE_MAC })
    .ipv6({ src: o.src ?? CLIENT, dst: o.dst ?? SOLICITED_NODE, hopLimit: o.hops ?? 255 })
    .icmp6({
      type: 135,
      body: ndp(0, target, o.option === false ? undefined : [1, o.mac ?? CLIENT_MAC]),
    })
    .build();
/** A Neighbor Advertisement of `target` at `mac`. */
const advert = (target: string, mac: string, flags = 0x60, dst = LB_IP6) =>
  eth({ src: mac, dst: LB_MAC }).ipv6({ src: target, dst, hopLimit: 255 })
    .icmp6({ type: 136, body: ndp(flags, target, [2, mac]) }).build();
/** The balancer's solicited answer for VIP to `dst` at `dstMac`. */
const answer = (dst = CLIENT, dstMac = CLIENT_MAC) =>
  eth({ src: LB_MAC, dst: dstMac }).ipv6({ src: VIP, dst, hopLimit: 255 })
    .icmp6({ type: 136, body: ndp(0x60, VIP, [2, LB_MAC]) }).build();

interface NdpCase {
  name: string;
  frame: Uint8Array;
  verdict: number;
  counters?: number[];
  reply?: Uint8Array;
  standby?: boolean;
}

const ndpCases: NdpCase[] = [
  {
    name:
      "NS for a VIP to its solicited-node address is answered: solicited, override, balancer's MAC",
    frame: solicit(VIP),
    verdict: VERDICT_REPLY,
    counters: [G_NA_REPLIES],
    reply: answer(),
  },
  {
    name: "NS for a VIP unicast to the balancer (a refresh) is answered",
    frame: solicit(VIP, { dst: VIP, dstMac: LB_MAC }),
    verdict: VERDICT_REPLY,
    counters: [G_NA_REPLIES],
    reply: answer(),
  },
  {
    name: "NS without a source option is answered to the Ethernet source",
    frame: solicit(VIP, { option: false }),
    verdict: VERDICT_REPLY,
    counters: [G_NA_REPLIES],
    reply: answer(),
  },
  {
    name: "duplicate address detection for a VIP (from ::) is answered to all-nodes, unsolicited",
    frame: solicit(VIP, { src: "::", option: false }),
    verdict: VERDICT_REPLY,
    counters: [G_NA_REPLIES],
    reply: eth({ src: LB_MAC, dst: "33:33:00:00:00:01" })
      .ipv6({ src: VIP, dst: "ff02::1", hopLimit: 255 })
      .icmp6({ type: 136, body: ndp(0x20, VIP, [2, LB_MAC]) }).build(),
  },
  {
    name: "NS for an address that is no VIP is ignored",
    frame: solicit(NOT_A_VIP, { dst: "ff02::1:ff00:99", dstMac: "33:33:ff:00:00:99" }),
    verdict: VERDICT_IGNORE,
  },
  {
    name: "NS with a hop limit below 255 (routed from afar) is ignored",
    frame: solicit(VIP, { hops: 254 }),
    verdict: VERDICT_IGNORE,
  },
  {
    name: "NS with a wrong checksum is ignored",
    frame: (() => {
      const f = solicit(VIP);
      f[56] ^= 0x10;
      return f;
    })(),
    verdict: VERDICT_IGNORE,
  },
  {
    name: "NS with an option of length 0 is ignored",
    frame: eth({ src: CLIENT_MAC, dst: SOLICITED_NODE_MAC })
      .ipv6({ src: CLIENT, dst: SOLICITED_NODE, hopLimit: 255 })
      .icmp6({ type: 135, body: [...ndp(0, VIP), 1, 0, 0, 0, 0, 0, 0, 0] }).build(),
    verdict: VERDICT_IGNORE,
  },
  {
    name: "a standby answers no NS for a VIP",
    frame: solicit(VIP),
    verdict: VERDICT_IGNORE,
    standby: true,
  },
  {
    name: "ICMPv6 echo to a VIP is answered by the balancer",
    frame: fromClient().icmpEcho({ id: 0x1234, seq: 9 }).payload(bytes(32)).build(),
    verdict: VERDICT_REPLY,
    counters: [G_ICMP_REPLIES],
    reply: eth({ src: LB_MAC, dst: CLIENT_MAC }).ipv6({ src: VIP, dst: CLIENT, hopLimit: 64 })
      .icmpEcho({ id: 0x1234, seq: 9, type: 129 }).payload(bytes(32)).build(),
  },
  {
    name: "ICMPv6 echo to an address that is no VIP is ignored",
    frame: fromClient(NOT_A_VIP).icmpEcho({ id: 1, seq: 1 }).build(),
    verdict: VERDICT_IGNORE,
  },
  {
    name: "ICMPv6 echo to a VIP on a standby is dropped as standby",
    frame: fromClient().icmpEcho({ id: 1, seq: 1 }).build(),
    verdict: VERDICT_DROP,
    counters: [G_DROP_STANDBY],
    standby: true,
  },
  {
    name: "an ICMPv6 echo reply to a VIP is dropped as noService",
    frame: fromClient().icmpEcho({ id: 1, seq: 1, type: 129 }).build(),
    verdict: VERDICT_DROP,
    counters: [G_DROP_NO_SERVICE],
  },
];

for (const c of ndpCases) {
  Deno.test(`forwarder, NDP: ${c.name}`, () => {
    const h = setup({ ...TABLE, standby: c.standby });
    const { verdict, out } = run(h, c.frame);
    assert.equal(verdict, c.verdict);
    const expected = new Array<number>(G_SIZE).fill(0);
    for (const i of c.counters ?? []) expected[i] = 1;
    assert.deepEqual(Array.from(h.shared.global), expected);
    assert.deepEqual(out, c.frame, "a frame that is not forwarded is left as it came");
    if (c.reply) assert.deepEqual(h.tx.subarray(0, h.fwd.replyLength), c.reply);
  });
}

Deno.test("NDP: an NA from a real server teaches the balancer its MAC, and traffic flows", () => {
  const h = setup({ services: [{ id: 0, vip: VIP, port: 80, rips: [RIP_DARK] }] });
  assert.equal(run(h, tcp(80, TCP_SYN).build()).verdict, VERDICT_DROP, "MAC unknown yet");
  assert.equal(run(h, advert(RIP_DARK.ip, RIP_DARK.mac)).verdict, VERDICT_IGNORE);
  const { verdict, out } = run(h, tcp(80, TCP_SYN).build());
  assert.equal(verdict, VERDICT_FORWARD);
  assert.equal(formatMac(out, 0), RIP_DARK.mac);
});

Deno.test("NDP: an NS from a real server (with its source option) teaches its MAC too", () => {
  const h = setup({ services: [{ id: 0, vip: VIP, port: 80, rips: [RIP_DARK] }] });
  const ns = solicit(LB_IP6, {
    src: RIP_DARK.ip,
    mac: RIP_DARK.mac,
    dst: "ff02::1:ff00:10",
    dstMac: "33:33:ff:00:00:10",
  });
  assert.equal(run(h, ns).verdict, VERDICT_IGNORE);
  assert.equal(formatMac(run(h, tcp(80, TCP_SYN).build()).out, 0), RIP_DARK.mac);
});

Deno.test("NDP: an NA of a VIP from another MAC is a claim; the balancer's own is not", () => {
  const h = setup();
  run(h, advert(VIP, "02:00:00:00:00:77", 0x20, "ff02::1"));
  run(h, advert(VIP, LB_MAC, 0x20, "ff02::1"));
  run(h, advert(NOT_A_VIP, "02:00:00:00:00:78"));
  assert.deepEqual(h.fwd.vipClaims, [{ vip: VIP, mac: "02:00:00:00:00:77" }]);
});

Deno.test("NDP: an NA for an address that is no real server teaches nothing", () => {
  const h = setup({ services: [{ id: 0, vip: VIP, port: 80, rips: [RIP_DARK] }] });
  run(h, advert("2001:2::15", RIP_DARK.mac));
  assert.equal(run(h, tcp(80, TCP_SYN).build()).verdict, VERDICT_DROP);
});
