import assert from "node:assert/strict";
import fc from "fast-check";
import { formatMac, parseIpv4, parseMac } from "./addr.ts";
import { eth } from "./_frame_builder.ts";
import {
  buildProgram,
  hasRip,
  LB_MAC,
  resolve,
  type TestProgram,
  type TestRip,
} from "./_program_builder.ts";
import { FLOW_CLOSE, FLOW_ESTABLISHED, FLOW_FIN, FLOW_SYN } from "./flow_table.ts";
import {
  firstTcpState,
  Forwarder,
  nextTcpState,
  VERDICT_DROP,
  VERDICT_FORWARD,
  VERDICT_IGNORE,
  VERDICT_REPLY,
} from "./forwarder.ts";
import {
  MALFORMED_BAD_ARP,
  MALFORMED_BAD_IHL,
  MALFORMED_BAD_L4,
  MALFORMED_BAD_LENGTH,
  MALFORMED_BAD_VERSION,
  MALFORMED_TRUNCATED,
  PROTO_UDP,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
} from "./packet.ts";
import { SCHED_DH, SCHED_LBLC, SCHED_RR } from "./scheduler.ts";
import {
  B_BYTES,
  B_CONNECTIONS,
  B_PACKETS,
  B_STRIDE,
  createSharedTables,
  G_ARP_REPLIES,
  G_DROP_FRAGMENT,
  G_DROP_MALFORMED,
  G_DROP_NO_BACKEND,
  G_DROP_NO_SERVICE,
  G_DROP_OVERSIZE,
  G_DROP_STANDBY,
  G_ICMP_REPLIES,
  G_MALFORMED_BASE,
  G_OTHER_MAC,
  G_SIZE,
  type Program,
  S_BYTES,
  S_CONNECTIONS,
  S_PACKETS,
  S_STRIDE,
  type SharedTables,
} from "./tables.ts";

const NOW = 1_000_000;
const CLIENT_MAC = "02:00:00:00:00:c1";
const BROADCAST = "ff:ff:ff:ff:ff:ff";
const CLIENT = "203.0.113.9"; // high first octet: catches signed 32-bit mistakes
const LB_IP = "198.18.0.10";
const VIP = "198.18.0.100"; // tcp/80 to RIP_A; udp on every port to RIP_UDP
const VIP_DARK = "198.18.0.101"; // tcp/443 to a real server whose MAC is unknown
const VIP_IDLE = "198.18.0.102"; // tcp/80, every weight 0, no fallback
const VIP_SORRY = "198.18.0.103"; // tcp/80, every weight 0, fallback SORRY
const NOT_A_VIP = "198.18.0.99";
const MTU = 1500;

const RIP_A: TestRip = { id: 0, ip: "198.18.0.11", mac: "02:00:00:00:01:11" };
const RIP_B: TestRip = { id: 1, ip: "198.18.0.12", mac: "02:00:00:00:01:12" };
const RIP_UDP: TestRip = { id: 2, ip: "198.18.0.13", mac: "02:00:00:00:01:13" };
const RIP_DARK: TestRip = { id: 3, ip: "198.18.0.14", mac: "02:00:00:00:01:14" };
const RIP_IDLE: TestRip = { id: 4, ip: "198.18.0.15", mac: "02:00:00:00:01:15", weight: 0 };
const RIP_ZERO: TestRip = { id: 5, ip: "198.18.0.16", mac: "02:00:00:00:01:16", weight: 0 };
const SORRY: TestRip = { id: 6, ip: "198.18.0.17", mac: "02:00:00:00:01:17" };
const RESOLVED = [RIP_A, RIP_B, RIP_UDP, RIP_IDLE, RIP_ZERO, SORRY];
// IPv6 services beside them, for the fast/general property test.
const CLIENT6 = "2001:2:ff::9";
const VIP6 = "2001:2::100"; // tcp/80 to RIP6_A; udp on every port to RIP6_UDP
const VIP6_DARK = "2001:2::101"; // tcp/443 to a real server whose MAC is unknown
const RIP6_A: TestRip = { id: 7, ip: "2001:2::11", mac: "02:00:00:00:06:11" };
const RIP6_UDP: TestRip = { id: 8, ip: "2001:2::13", mac: "02:00:00:00:06:13" };
const RIP6_DARK: TestRip = { id: 9, ip: "2001:2::14", mac: "02:00:00:00:06:14" };

/** The program of the verdict table: every service has at most one usable real server. */
const TABLE: TestProgram = {
  mtu: MTU,
  services: [
    { id: 0, vip: VIP, port: 80, rips: [RIP_A] },
    { id: 1, vip: VIP, port: 0, proto: PROTO_UDP, rips: [RIP_UDP] },
    { id: 2, vip: VIP_DARK, port: 443, rips: [RIP_DARK] },
    { id: 3, vip: VIP_IDLE, port: 80, rips: [RIP_IDLE] },
    { id: 4, vip: VIP_SORRY, port: 80, rips: [RIP_ZERO], fallback: SORRY },
    { id: 5, vip: VIP6, port: 80, rips: [RIP6_A] },
    { id: 6, vip: VIP6, port: 0, proto: PROTO_UDP, rips: [RIP6_UDP] },
    { id: 7, vip: VIP6_DARK, port: 443, rips: [RIP6_DARK] },
  ],
};

/** One mh service over two real servers. */
const TWO: TestProgram = { services: [{ id: 0, vip: VIP, port: 80, rips: [RIP_A, RIP_B] }] };

interface Harness {
  shared: SharedTables;
  fwd: Forwarder;
  program: Program;
  tx: Uint8Array;
}

/** A forwarder running `o`, with the MACs of `resolved` known. */
function setup(
  o: TestProgram = TABLE,
  resolved: TestRip[] = [...RESOLVED, RIP6_A, RIP6_UDP],
  fastPath = true,
): Harness {
  const shared = createSharedTables();
  const fwd = new Forwarder(shared, { maxFlows: 4096, fastPath });
  const program = buildProgram(o);
  for (const rip of resolved) if (hasRip(program, rip)) resolve(shared, program, rip);
  fwd.load(program);
  return { shared, fwd, program, tx: new Uint8Array(2048) };
}

/** Runs a copy of `frame`; the verdict and the frame as it is afterwards. */
function run(h: Harness, frame: Uint8Array, now = NOW): { verdict: number; out: Uint8Array } {
  const out = frame.slice();
  const verdict = h.fwd.process(out, out.length, h.tx, now);
  return { verdict, out };
}

/** The real server a forwarded frame went to, by its destination MAC. */
function ripOf(out: Uint8Array, rips: TestRip[] = [RIP_A, RIP_B]): TestRip {
  const mac = formatMac(out, 0);
  const rip = rips.find((r) => r.mac === mac);
  assert.ok(rip, `forwarded to unknown MAC ${mac}`);
  return rip;
}

/** The frame a forward must send: RIP MAC, balancer MAC, then the received bytes from 12 on. */
function rewritten(frame: Uint8Array, rip: TestRip): Uint8Array {
  return Uint8Array.from([...parseMac(rip.mac), ...parseMac(LB_MAC), ...frame.subarray(12)]);
}

function globals(counts: Record<number, number>): number[] {
  const g = new Array<number>(G_SIZE).fill(0);
  for (const [i, n] of Object.entries(counts)) g[Number(i)] = n;
  return g;
}

const OTHER_MAC = "02:00:00:00:00:99";
/** `frame` with its destination MAC replaced by `mac`. */
const toMac = (mac: string, frame: Uint8Array) => {
  frame.set(parseMac(mac), 0);
  return frame;
};
const bytes = (n: number, seed = 0) => Array.from({ length: n }, (_, i) => (i * 7 + seed) & 255);
const fromClient = (dst = VIP, o: { id?: number; mf?: boolean; fragOffset?: number } = {}) =>
  eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv4({ src: CLIENT, dst, ttl: 57, id: 4242, ...o });
const tcp = (dport: number, flags: number, dst = VIP, sport = 40000) =>
  fromClient(dst).tcp({ sport, dport, flags });
const udp = (dport: number, dst = VIP) => fromClient(dst).udp({ sport: 5353, dport });
const arp = (op: number, targetIp: string, senderIp = CLIENT, senderMac = CLIENT_MAC) =>
  eth({ src: senderMac, dst: BROADCAST }).arp({ op, senderMac, senderIp, targetIp }).build();
/** The balancer's answer to the client's ARP request for `vip`. */
const arpReply = (vip: string) =>
  eth({ src: LB_MAC, dst: CLIENT_MAC })
    .arp({ op: 2, senderMac: LB_MAC, senderIp: vip, targetMac: CLIENT_MAC, targetIp: CLIENT })
    .build();
const echo = (dst: string, type = 8) =>
  fromClient(dst).icmpEcho({ id: 0x1234, seq: 9, type }).payload(bytes(32)).build();

interface Case {
  name: string;
  frame: Uint8Array;
  verdict: number;
  /** Global counters that must read 1 afterwards; every other must read 0. */
  counters?: number[];
  /** Where a forward goes: the output must be {@link rewritten} for this real server. */
  forwardTo?: TestRip;
  /** The exact frame a reply must leave in tx. */
  reply?: Uint8Array;
}

const cases: Case[] = [
  {
    name: "ARP request for a VIP is answered with the balancer's MAC",
    frame: arp(1, VIP),
    verdict: VERDICT_REPLY,
    counters: [G_ARP_REPLIES],
    reply: arpReply(VIP),
  },
  {
    name: "ARP request for a VIP whose only service has no usable server is still answered",
    frame: arp(1, VIP_IDLE),
    verdict: VERDICT_REPLY,
    counters: [G_ARP_REPLIES],
    reply: arpReply(VIP_IDLE),
  },
  {
    name: "ARP request for a non-VIP address is ignored",
    frame: arp(1, NOT_A_VIP),
    verdict: VERDICT_IGNORE,
  },
  {
    name: "ARP request for the balancer's own address is left to the kernel",
    frame: arp(1, LB_IP),
    verdict: VERDICT_IGNORE,
  },
  {
    name: "gratuitous ARP from another host claiming the VIP is not answered",
    frame: arp(1, VIP, VIP),
    verdict: VERDICT_IGNORE,
  },
  { name: "ARP reply about a VIP is ignored", frame: arp(2, VIP), verdict: VERDICT_IGNORE },
  {
    name: "TCP SYN to VIP:80 is forwarded with only the MACs rewritten",
    frame: tcp(80, TCP_SYN).build(),
    verdict: VERDICT_FORWARD,
    forwardTo: RIP_A,
  },
  {
    name: "TCP data with IP options is forwarded byte for byte after the MACs",
    frame: eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv4({ src: CLIENT, dst: VIP, ihl: 7, tos: 0x10 })
      .tcp({ sport: 40001, dport: 80, flags: TCP_ACK | TCP_PSH }).payload(bytes(300)).build(),
    verdict: VERDICT_FORWARD,
    forwardTo: RIP_A,
  },
  {
    name: "UDP to port 53 of a VIP with a port-0 UDP service is forwarded",
    frame: udp(53).build(),
    verdict: VERDICT_FORWARD,
    forwardTo: RIP_UDP,
  },
  {
    name: "UDP to port 65535 of a VIP with a port-0 UDP service is forwarded",
    frame: udp(65535).build(),
    verdict: VERDICT_FORWARD,
    forwardTo: RIP_UDP,
  },
  {
    name: "UDP to port 80 goes to the port-0 UDP service, not the TCP one on port 80",
    frame: udp(80).build(),
    verdict: VERDICT_FORWARD,
    forwardTo: RIP_UDP,
  },
  {
    name: "TCP to a VIP port with no service is dropped as noService",
    frame: tcp(22, TCP_SYN).build(),
    verdict: VERDICT_DROP,
    counters: [G_DROP_NO_SERVICE],
  },
  {
    name: "UDP to a VIP that serves only TCP is dropped as noService",
    frame: udp(443, VIP_DARK).build(),
    verdict: VERDICT_DROP,
    counters: [G_DROP_NO_SERVICE],
  },
  {
    name: "ICMP echo reply to a VIP is dropped as noService",
    frame: echo(VIP, 0),
    verdict: VERDICT_DROP,
    counters: [G_DROP_NO_SERVICE],
  },
  {
    name: "ICMP echo request to a VIP is answered by the balancer",
    frame: echo(VIP),
    verdict: VERDICT_REPLY,
    counters: [G_ICMP_REPLIES],
    reply: eth({ src: LB_MAC, dst: CLIENT_MAC }).ipv4({ src: VIP, dst: CLIENT, id: 4242, ttl: 64 })
      .icmpEcho({ id: 0x1234, seq: 9, type: 0 }).payload(bytes(32)).build(),
  },
  {
    name: "TCP SYN to an address that is not a VIP is ignored",
    frame: tcp(80, TCP_SYN, NOT_A_VIP).build(),
    verdict: VERDICT_IGNORE,
  },
  {
    name: "SYN to VIP:80 for another host's MAC (flooded or mirrored) is ignored as otherMac",
    frame: toMac(OTHER_MAC, tcp(80, TCP_SYN).build()),
    verdict: VERDICT_IGNORE,
    counters: [G_OTHER_MAC],
  },
  {
    name: "a malformed frame for another host's MAC is not ours to count as malformed",
    frame: toMac(OTHER_MAC, fromClient(VIP).ipv4({ src: CLIENT, dst: VIP, ihl: 4 }).build()),
    verdict: VERDICT_IGNORE,
    counters: [G_OTHER_MAC],
  },
  {
    name: "SYN to VIP:80 sent to the broadcast MAC is ignored as otherMac (broadcast is ARP's)",
    frame: toMac(BROADCAST, tcp(80, TCP_SYN).build()),
    verdict: VERDICT_IGNORE,
    counters: [G_OTHER_MAC],
  },
  {
    name: "SYN to VIP:80 sent to a solicited-node multicast MAC is ignored as otherMac",
    frame: toMac("33:33:ff:00:01:00", tcp(80, TCP_SYN).build()),
    verdict: VERDICT_IGNORE,
    counters: [G_OTHER_MAC],
  },
  {
    name: "SYN to VIP:80 sent to an IPv4 multicast MAC is ignored as otherMac",
    frame: toMac("01:00:5e:00:00:01", tcp(80, TCP_SYN).build()),
    verdict: VERDICT_IGNORE,
    counters: [G_OTHER_MAC],
  },
  {
    name: "ARP request for a VIP unicast to another host's MAC is ignored as otherMac",
    frame: toMac(OTHER_MAC, arp(1, VIP)),
    verdict: VERDICT_IGNORE,
    counters: [G_OTHER_MAC],
  },
  {
    name: "ARP request for a VIP unicast to the balancer's MAC (a refresh) is answered",
    frame: toMac(LB_MAC, arp(1, VIP)),
    verdict: VERDICT_REPLY,
    counters: [G_ARP_REPLIES],
    reply: arpReply(VIP),
  },
  {
    name: "ICMP echo request to an address that is not a VIP is ignored",
    frame: echo(NOT_A_VIP),
    verdict: VERDICT_IGNORE,
  },
  {
    name: "IPv6 frame to an address that is no VIP is ignored",
    frame: eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv6({ src: "2001:2:ff::9", dst: "2001:2::99" })
      .tcp({ sport: 40000, dport: 80, flags: TCP_SYN }).build(),
    verdict: VERDICT_IGNORE,
  },
  {
    name: "SYN to a service whose only real server has no known MAC is dropped as noBackend",
    frame: tcp(443, TCP_SYN, VIP_DARK).build(),
    verdict: VERDICT_DROP,
    counters: [G_DROP_NO_BACKEND],
  },
  {
    name: "SYN to a service whose weights are all 0 and no fallback is dropped as noBackend",
    frame: tcp(80, TCP_SYN, VIP_IDLE).build(),
    verdict: VERDICT_DROP,
    counters: [G_DROP_NO_BACKEND],
  },
  {
    name: "SYN to a service whose weights are all 0 goes to its fallback",
    frame: tcp(80, TCP_SYN, VIP_SORRY).build(),
    verdict: VERDICT_FORWARD,
    forwardTo: SORRY,
  },
  {
    name: "frame of exactly MTU + 14 bytes is forwarded",
    frame: tcp(80, TCP_ACK).payload(bytes(MTU - 40)).build(),
    verdict: VERDICT_FORWARD,
    forwardTo: RIP_A,
  },
  {
    name: "frame one byte longer than MTU + 14 is dropped as oversize",
    frame: tcp(80, TCP_ACK).payload(bytes(MTU - 39)).build(),
    verdict: VERDICT_DROP,
    counters: [G_DROP_OVERSIZE],
  },
  {
    name: "first fragment (MF, offset 0, with ports) is forwarded like any packet",
    frame: fromClient(VIP, { id: 77, mf: true }).tcp({ sport: 40000, dport: 80, flags: TCP_ACK })
      .payload(bytes(200)).build(),
    verdict: VERDICT_FORWARD,
    forwardTo: RIP_A,
  },
  {
    name: "later fragment of a datagram whose first fragment was never seen is dropped",
    frame: eth({ src: CLIENT_MAC, dst: LB_MAC })
      .ipv4({ src: CLIENT, dst: VIP, id: 78, fragOffset: 1480, proto: 6 }).payload(bytes(100))
      .build(),
    verdict: VERDICT_DROP,
    counters: [G_DROP_FRAGMENT],
  },
  ...malformedCases(),
];

function malformedCases(): Case[] {
  const malformed = (name: string, frame: Uint8Array, reason: number): Case => ({
    name: `${name} is dropped as malformed`,
    frame,
    verdict: VERDICT_DROP,
    counters: [G_DROP_MALFORMED, G_MALFORMED_BASE + reason],
  });
  return [
    malformed(
      "IPv4 with IHL 4",
      fromClient(VIP).ipv4({ src: CLIENT, dst: VIP, ihl: 4 })
        .tcp({ sport: 1, dport: 80, flags: TCP_SYN }).build(),
      MALFORMED_BAD_IHL,
    ),
    malformed(
      "IPv4 whose IHL runs past the frame",
      fromClient(VIP).ipv4({ src: CLIENT, dst: VIP, ihl: 15, options: [] })
        .tcp({ sport: 1, dport: 80, flags: TCP_SYN }).build(),
      MALFORMED_BAD_IHL,
    ),
    malformed(
      "IPv4 whose total length is beyond the frame",
      fromClient(VIP).ipv4({ src: CLIENT, dst: VIP, totalLength: 1000 })
        .tcp({ sport: 1, dport: 80, flags: TCP_SYN }).build(),
      MALFORMED_BAD_LENGTH,
    ),
    malformed(
      "IPv4 frame cut inside the IP header",
      tcp(80, TCP_SYN).build({ pad: false }).slice(0, 30),
      MALFORMED_TRUNCATED,
    ),
    malformed(
      "IPv4 ethertype carrying version 6",
      fromClient(VIP).ipv4({ src: CLIENT, dst: VIP, version: 6 }).udp({ sport: 1, dport: 2 })
        .build(),
      MALFORMED_BAD_VERSION,
    ),
    malformed(
      "TCP with data offset 4",
      fromClient(VIP).tcp({ sport: 1, dport: 80, flags: TCP_SYN, dataOffset: 4 }).build(),
      MALFORMED_BAD_L4,
    ),
    malformed(
      "ARP for a non-Ethernet hardware type",
      eth({ src: CLIENT_MAC, dst: BROADCAST })
        .arp({ op: 1, senderMac: CLIENT_MAC, senderIp: CLIENT, targetIp: VIP, htype: 6 }).build(),
      MALFORMED_BAD_ARP,
    ),
  ];
}

for (const c of cases) {
  Deno.test(`forwarder: ${c.name}`, () => {
    const h = setup();
    const { verdict, out } = run(h, c.frame);
    assert.equal(verdict, c.verdict);
    assert.deepEqual(
      Array.from(h.shared.global),
      globals(Object.fromEntries((c.counters ?? []).map((i) => [i, 1]))),
    );
    if (c.forwardTo) assert.deepEqual(out, rewritten(c.frame, c.forwardTo));
    else assert.deepEqual(out, c.frame, "a frame that is not forwarded is left as it came");
    if (c.reply) {
      assert.equal(h.fwd.replyLength, c.reply.length);
      assert.deepEqual(h.tx.subarray(0, h.fwd.replyLength), c.reply);
    }
  });
}

/** What a standby node does with each kind of frame: nothing reaches a real server or answers for a VIP. */
const standbyCases: Case[] = [
  { name: "ARP request for a VIP is not answered", frame: arp(1, VIP), verdict: VERDICT_IGNORE },
  {
    name: "TCP SYN to VIP:80 is dropped as standby",
    frame: tcp(80, TCP_SYN).build(),
    verdict: VERDICT_DROP,
    counters: [G_DROP_STANDBY],
  },
  {
    name: "UDP to a port-0 UDP service is dropped as standby",
    frame: udp(53).build(),
    verdict: VERDICT_DROP,
    counters: [G_DROP_STANDBY],
  },
  {
    name: "ICMP echo request to a VIP is dropped as standby, not answered",
    frame: echo(VIP),
    verdict: VERDICT_DROP,
    counters: [G_DROP_STANDBY],
  },
  {
    name: "TCP to a VIP port with no service is dropped as standby",
    frame: tcp(22, TCP_SYN).build(),
    verdict: VERDICT_DROP,
    counters: [G_DROP_STANDBY],
  },
  {
    name:
      "SYN to a service whose weights are all 0 is dropped as standby, not sent to its fallback",
    frame: tcp(80, TCP_SYN, VIP_SORRY).build(),
    verdict: VERDICT_DROP,
    counters: [G_DROP_STANDBY],
  },
  {
    name: "later fragment to a VIP is dropped as standby",
    frame: eth({ src: CLIENT_MAC, dst: LB_MAC })
      .ipv4({ src: CLIENT, dst: VIP, id: 78, fragOffset: 1480, proto: 6 }).payload(bytes(100))
      .build(),
    verdict: VERDICT_DROP,
    counters: [G_DROP_STANDBY],
  },
  {
    name: "TCP SYN to an address that is not a VIP is ignored",
    frame: tcp(80, TCP_SYN, NOT_A_VIP).build(),
    verdict: VERDICT_IGNORE,
  },
  {
    name: "malformed IPv4 to a VIP is still dropped as malformed",
    frame: fromClient(VIP).ipv4({ src: CLIENT, dst: VIP, ihl: 4 })
      .tcp({ sport: 1, dport: 80, flags: TCP_SYN }).build(),
    verdict: VERDICT_DROP,
    counters: [G_DROP_MALFORMED, G_MALFORMED_BASE + MALFORMED_BAD_IHL],
  },
];

for (const c of standbyCases) {
  Deno.test(`forwarder on standby: ${c.name}`, () => {
    const h = setup({ ...TABLE, standby: true });
    const { verdict, out } = run(h, c.frame);
    assert.equal(verdict, c.verdict);
    assert.deepEqual(
      Array.from(h.shared.global),
      globals(Object.fromEntries((c.counters ?? []).map((i) => [i, 1]))),
    );
    assert.deepEqual(out, c.frame, "a standby changes no frame");
    assert.equal(h.fwd.flows.size, 0, "a standby makes no flow");
  });
}

Deno.test("a demoted forwarder drops the frames of a flow it held; promoted, it sends them to the same real server", () => {
  const h = setup(TWO);
  const ports = [40000, 40001, 40002, 40003, 40004, 40005];
  const before = ports.map((p) => ripOf(run(h, tcp(80, TCP_SYN, VIP, p).build()).out));
  h.fwd.load(buildProgram({ ...TWO, generation: 2, standby: true }));
  for (const p of ports) {
    assert.equal(run(h, tcp(80, TCP_ACK, VIP, p).build()).verdict, VERDICT_DROP);
  }
  assert.equal(h.shared.global[G_DROP_STANDBY], ports.length);
  assert.equal(run(h, arp(1, VIP)).verdict, VERDICT_IGNORE);
  h.fwd.load(buildProgram({ ...TWO, generation: 3 }));
  ports.forEach((p, i) => {
    const next = run(h, tcp(80, TCP_ACK, VIP, p).build());
    assert.equal(next.verdict, VERDICT_FORWARD);
    assert.equal(ripOf(next.out), before[i], `flow from port ${p}`);
  });
  assert.equal(run(h, arp(1, VIP)).verdict, VERDICT_REPLY);
});

Deno.test("a standby still learns real servers' MACs from ARP", () => {
  const h = setup({ ...TABLE, standby: true }, RESOLVED);
  const slot = h.program.backendNeighbor[RIP_DARK.id];
  const reply = eth({ src: RIP_DARK.mac, dst: LB_MAC }).arp({
    op: 2,
    senderMac: RIP_DARK.mac,
    senderIp: RIP_DARK.ip,
    targetMac: LB_MAC,
    targetIp: LB_IP,
  }).build();
  assert.equal(run(h, reply).verdict, VERDICT_IGNORE);
  assert.equal(formatMac(h.shared.neighborMacs, slot * 8), RIP_DARK.mac);
});

Deno.test("a routed node (--announce) answers no ARP for a VIP but forwards to it", () => {
  const h = setup({ ...TABLE, routed: true });
  assert.equal(run(h, arp(1, VIP)).verdict, VERDICT_IGNORE);
  assert.equal(h.shared.global[G_ARP_REPLIES], 0);
  const syn = tcp(80, TCP_SYN).build();
  const { verdict, out } = run(h, syn);
  assert.equal(verdict, VERDICT_FORWARD);
  assert.deepEqual(out, rewritten(syn, RIP_A));
});

Deno.test("a standby still takes the SYN-ACK of a DR-path probe (health checks go on)", () => {
  const h = setup({ ...TABLE, standby: true });
  h.fwd.probes.add(7, parseIpv4(VIP), 80, 61000, 5000);
  const synAck = eth({ src: RIP_A.mac, dst: LB_MAC }).ipv4({ src: VIP, dst: LB_IP })
    .tcp({ sport: 80, dport: 61000, flags: TCP_SYN | TCP_ACK, ack: 5001 }).build();
  assert.equal(run(h, synAck).verdict, VERDICT_IGNORE);
  assert.deepEqual(h.fwd.probeAnswers, [{ id: 7, answer: "syn-ack" }]);
  assert.equal(h.shared.global[G_DROP_STANDBY], 0);
});

Deno.test("forwarder ignores every frame until a program is loaded, but counts malformed ones", () => {
  const shared = createSharedTables();
  const fwd = new Forwarder(shared);
  const tx = new Uint8Array(2048);
  assert.equal(fwd.process(arp(1, VIP), 60, tx, NOW), VERDICT_IGNORE);
  const syn = tcp(80, TCP_SYN).build();
  assert.equal(fwd.process(syn, syn.length, tx, NOW), VERDICT_IGNORE);
  const bad = fromClient().ipv4({ src: CLIENT, dst: VIP, ihl: 4 }).build();
  assert.equal(fwd.process(bad, bad.length, tx, NOW), VERDICT_DROP);
  assert.deepEqual(
    Array.from(shared.global),
    globals({ [G_DROP_MALFORMED]: 1, [G_MALFORMED_BASE + MALFORMED_BAD_IHL]: 1 }),
  );
});

Deno.test("ARP reply from a real server's address teaches the balancer its MAC", () => {
  const h = setup(TABLE, RESOLVED);
  const slot = h.program.backendNeighbor[RIP_DARK.id];
  assert.equal(h.shared.neighborSeen[slot], 0);
  const reply = eth({ src: RIP_DARK.mac, dst: LB_MAC }).arp({
    op: 2,
    senderMac: RIP_DARK.mac,
    senderIp: RIP_DARK.ip,
    targetMac: LB_MAC,
    targetIp: LB_IP,
  }).build();
  const before = Date.now();
  assert.equal(run(h, reply).verdict, VERDICT_IGNORE);
  assert.equal(formatMac(h.shared.neighborMacs, slot * 8), RIP_DARK.mac);
  assert.ok(h.shared.neighborSeen[slot] >= before && h.shared.neighborSeen[slot] <= Date.now());
  // The service that had no reachable real server now forwards to it.
  const syn = tcp(443, TCP_SYN, VIP_DARK).build();
  const { verdict, out } = run(h, syn);
  assert.equal(verdict, VERDICT_FORWARD);
  assert.deepEqual(out, rewritten(syn, RIP_DARK));
});

Deno.test("ARP request from a real server for a VIP teaches its MAC and is answered", () => {
  const h = setup(TABLE, RESOLVED);
  const slot = h.program.backendNeighbor[RIP_DARK.id];
  assert.equal(run(h, arp(1, VIP, RIP_DARK.ip, RIP_DARK.mac)).verdict, VERDICT_REPLY);
  assert.equal(formatMac(h.shared.neighborMacs, slot * 8), RIP_DARK.mac);
  assert.ok(h.shared.neighborSeen[slot] > 0);
});

Deno.test("ARP from an address that is no real server teaches nothing", () => {
  const h = setup(TABLE, []);
  run(
    h,
    eth({ src: CLIENT_MAC, dst: LB_MAC }).arp({
      op: 2,
      senderMac: CLIENT_MAC,
      senderIp: CLIENT,
      targetMac: LB_MAC,
      targetIp: LB_IP,
    }).build(),
  );
  assert.ok(h.shared.neighborSeen.every((t) => t === 0));
  assert.ok(h.shared.neighborMacs.every((b) => b === 0));
});

Deno.test("a known flow's frame for another host's MAC is ignored, not forwarded a second time", () => {
  const h = setup();
  assert.equal(run(h, tcp(80, TCP_SYN).build()).verdict, VERDICT_FORWARD);
  const flooded = toMac(OTHER_MAC, tcp(80, TCP_ACK).build());
  const { verdict, out } = run(h, flooded);
  assert.equal(verdict, VERDICT_IGNORE);
  assert.deepEqual(out, flooded);
  assert.equal(h.shared.global[G_OTHER_MAC], 1);
  assert.equal(h.shared.backends[RIP_A.id * B_STRIDE + B_PACKETS], 1);
  assert.equal(run(h, tcp(80, TCP_ACK).build()).verdict, VERDICT_FORWARD);
});

Deno.test("mh sends every packet of one 5-tuple to the same real server", () => {
  const h = setup(TWO);
  const client = fc.tuple(
    fc.integer({ min: 1, max: 0xfffffffe }),
    fc.integer({ min: 1, max: 65535 }),
  );
  fc.assert(fc.property(client, ([src, sport]) => {
    const packet = (flags: number) =>
      eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv4({ src, dst: VIP })
        .tcp({ sport, dport: 80, flags }).build();
    const first = run(h, packet(TCP_SYN));
    assert.equal(first.verdict, VERDICT_FORWARD);
    for (const flags of [TCP_ACK, TCP_ACK | TCP_PSH, TCP_FIN | TCP_ACK]) {
      const next = run(h, packet(flags));
      assert.equal(next.verdict, VERDICT_FORWARD);
      assert.equal(ripOf(next.out), ripOf(first.out));
    }
  }));
});

Deno.test("mh spreads distinct 5-tuples over both real servers", () => {
  const h = setup(TWO);
  const seen = new Map<number, number>();
  for (let sport = 1024; sport < 1224; sport++) {
    const rip = ripOf(run(h, tcp(80, TCP_SYN, VIP, sport).build()).out);
    seen.set(rip.id, (seen.get(rip.id) ?? 0) + 1);
  }
  assert.ok((seen.get(RIP_A.id) ?? 0) > 40, `A got ${seen.get(RIP_A.id)}`);
  assert.ok((seen.get(RIP_B.id) ?? 0) > 40, `B got ${seen.get(RIP_B.id)}`);
});

Deno.test("every fragment of a datagram goes to the real server of its first fragment", () => {
  const h = setup(TWO);
  const used = new Set<number>();
  for (let i = 0; i < 40; i++) {
    const id = 1000 + i;
    const first = fromClient(VIP, { id, mf: true })
      .tcp({ sport: 30000 + i, dport: 80, flags: TCP_ACK }).payload(bytes(1000, i)).build();
    const later = eth({ src: CLIENT_MAC, dst: LB_MAC })
      .ipv4({ src: CLIENT, dst: VIP, id, fragOffset: 1024, proto: 6 }).payload(bytes(500, i))
      .build();
    const a = run(h, first);
    const b = run(h, later);
    assert.equal(a.verdict, VERDICT_FORWARD);
    assert.equal(b.verdict, VERDICT_FORWARD);
    const rip = ripOf(a.out);
    assert.deepEqual(b.out, rewritten(later, rip));
    used.add(rip.id);
  }
  assert.equal(used.size, 2, "the datagrams themselves are spread over both servers");
  assert.equal(h.shared.global[G_DROP_FRAGMENT], 0);
});

Deno.test("a later fragment with another IP id than the first is dropped as a fragment", () => {
  const h = setup(TWO);
  run(h, fromClient(VIP, { id: 5, mf: true }).tcp({ sport: 1, dport: 80, flags: TCP_ACK }).build());
  const orphan = eth({ src: CLIENT_MAC, dst: LB_MAC })
    .ipv4({ src: CLIENT, dst: VIP, id: 6, fragOffset: 8, proto: 6 }).payload(bytes(40)).build();
  assert.equal(run(h, orphan).verdict, VERDICT_DROP);
  assert.equal(h.shared.global[G_DROP_FRAGMENT], 1);
});

Deno.test("TCP states move a flow between inactive and active counts", () => {
  const h = setup({ services: [{ id: 0, vip: VIP, port: 80, rips: [RIP_A] }] });
  const id = RIP_A.id;
  const steps: [string, number, { active: number; inactive: number }][] = [
    ["SYN", TCP_SYN, { active: 0, inactive: 1 }],
    ["SYN retransmitted", TCP_SYN, { active: 0, inactive: 1 }],
    ["ACK", TCP_ACK, { active: 1, inactive: 0 }],
    ["data", TCP_ACK | TCP_PSH, { active: 1, inactive: 0 }],
    ["FIN", TCP_FIN | TCP_ACK, { active: 0, inactive: 1 }],
    ["last ACK", TCP_ACK, { active: 0, inactive: 1 }],
  ];
  for (const [what, flags, expected] of steps) {
    assert.equal(run(h, tcp(80, flags).build()).verdict, VERDICT_FORWARD, what);
    assert.deepEqual(
      { active: h.shared.active[id], inactive: h.shared.inactive[id] },
      expected,
      `after ${what}`,
    );
  }
  assert.equal(h.fwd.flows.size, 1);
});

Deno.test("a TCP flow first seen mid-stream (ACK only) counts as active", () => {
  const h = setup({ services: [{ id: 0, vip: VIP, port: 80, rips: [RIP_A] }] });
  run(h, tcp(80, TCP_ACK | TCP_PSH).payload(bytes(10)).build());
  assert.equal(h.shared.active[RIP_A.id], 1);
  assert.equal(h.shared.inactive[RIP_A.id], 0);
});

Deno.test("a UDP flow counts as inactive", () => {
  const h = setup();
  run(h, udp(53).build());
  assert.equal(h.shared.active[RIP_UDP.id], 0);
  assert.equal(h.shared.inactive[RIP_UDP.id], 1);
});

Deno.test("forwarding moves the service and real server packet, byte and connection counters", () => {
  const h = setup();
  const syn = tcp(80, TCP_SYN).build();
  const data = tcp(80, TCP_ACK | TCP_PSH).payload(bytes(100)).build();
  const other = tcp(80, TCP_SYN, VIP, 40001).build();
  for (const f of [syn, data, other]) assert.equal(run(h, f).verdict, VERDICT_FORWARD);
  run(h, tcp(22, TCP_SYN).build()); // no service: counted nowhere below
  const s = h.shared.services.subarray(0, S_STRIDE);
  const b = h.shared.backends.subarray(RIP_A.id * B_STRIDE, (RIP_A.id + 1) * B_STRIDE);
  const total = syn.length + data.length + other.length;
  assert.deepEqual(
    [s[S_PACKETS], s[S_BYTES], s[S_CONNECTIONS]],
    [3, total, 2],
  );
  assert.deepEqual([b[B_PACKETS], b[B_BYTES], b[B_CONNECTIONS]], [3, total, 2]);
  // The UDP service and its real server saw nothing.
  assert.equal(h.shared.services[1 * S_STRIDE + S_PACKETS], 0);
  assert.equal(h.shared.backends[RIP_UDP.id * B_STRIDE + B_PACKETS], 0);
});

/** Client ports whose SYN lands on A and on B (in that order). */
function onePortEach(h: Harness): [number, number] {
  const ports = new Map<number, number>();
  for (let sport = 2000; ports.size < 2; sport++) {
    const rip = ripOf(run(h, tcp(80, TCP_SYN, VIP, sport).build()).out);
    if (!ports.has(rip.id)) ports.set(rip.id, sport);
  }
  return [ports.get(RIP_A.id)!, ports.get(RIP_B.id)!];
}

Deno.test("load() with flushBackends removes that real server's flows and zeroes its counters", () => {
  const h = setup(TWO);
  const [portA, portB] = onePortEach(h);
  const flowsBefore = h.fwd.flows.size;
  const bPacketsBefore = h.shared.backends[RIP_B.id * B_STRIDE + B_PACKETS];
  // A is marked down: weight 0 and flushed, as the compiler posts it.
  const down = buildProgram({
    generation: 2,
    flushBackends: [RIP_A.id],
    services: [{ id: 0, vip: VIP, port: 80, rips: [{ ...RIP_A, weight: 0 }, RIP_B] }],
  });
  h.fwd.load(down);
  const a = RIP_A.id * B_STRIDE;
  assert.deepEqual(Array.from(h.shared.backends.subarray(a, a + B_STRIDE)), [0, 0, 0, 0]);
  assert.equal(h.shared.active[RIP_A.id], 0);
  assert.equal(h.shared.inactive[RIP_A.id], 0);
  assert.ok(h.fwd.flows.size < flowsBefore);
  assert.equal(h.shared.backends[RIP_B.id * B_STRIDE + B_PACKETS], bPacketsBefore, "B kept");
  // The next packet of A's flow is scheduled anew, as a flow first seen mid-stream.
  const next = run(h, tcp(80, TCP_ACK, VIP, portA).build());
  assert.equal(next.verdict, VERDICT_FORWARD);
  assert.equal(ripOf(next.out), RIP_B);
  assert.equal(h.shared.active[RIP_B.id], 1);
  // B's own flow was never touched.
  assert.equal(ripOf(run(h, tcp(80, TCP_ACK, VIP, portB).build()).out), RIP_B);
});

Deno.test("load() with forgetNeighbors clears a reused slot, so a new address waits for its own ARP", () => {
  const h = setup(TWO);
  const slot = h.program.backendNeighbor[RIP_A.id];
  assert.ok(h.shared.neighborSeen[slot] > 0);
  // A's address left and C's took its slot (the compiler reuses freed slots).
  const c: TestRip = { id: 7, ip: "198.18.0.18", mac: "02:00:00:00:01:18" };
  const next = buildProgram({
    generation: 2,
    flushBackends: [RIP_A.id, RIP_B.id],
    forgetNeighbors: [slot],
    services: [{ id: 0, vip: VIP, port: 80, rips: [c] }],
  });
  assert.equal(next.backendNeighbor[c.id], slot);
  h.fwd.load(next);
  assert.equal(h.shared.neighborSeen[slot], 0);
  assert.deepEqual(Array.from(h.shared.neighborMacs.subarray(slot * 8, slot * 8 + 8)), [
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
  assert.equal(run(h, tcp(80, TCP_SYN).build()).verdict, VERDICT_DROP, "not to A's MAC");
  run(h, arp(1, VIP, c.ip, c.mac));
  const { verdict, out } = run(h, tcp(80, TCP_SYN, VIP, 40001).build());
  assert.equal(verdict, VERDICT_FORWARD);
  assert.equal(formatMac(out, 0), c.mac);
});

Deno.test("load() with flushServices removes the service's flows and zeroes its counters", () => {
  const h = setup(TABLE);
  run(h, tcp(80, TCP_SYN).build());
  run(h, udp(53).build());
  assert.equal(h.fwd.flows.size, 2);
  const program = buildProgram({ ...TABLE, generation: 2, flushServices: [0] });
  program.services = program.services.filter((s) => s.id !== 0);
  h.fwd.load(program);
  assert.equal(h.fwd.flows.size, 1, "the UDP service's flow stays");
  assert.deepEqual(Array.from(h.shared.services.subarray(0, S_STRIDE)), [0, 0, 0, 0]);
  assert.equal(h.shared.services[1 * S_STRIDE + S_PACKETS], 1);
  assert.equal(run(h, tcp(80, TCP_ACK).build()).verdict, VERDICT_DROP);
  assert.equal(h.shared.global[G_DROP_NO_SERVICE], 1);
});

Deno.test("a drained real server keeps its flows but takes no new ones", () => {
  const h = setup(TWO);
  const [portA] = onePortEach(h);
  h.fwd.load(buildProgram({
    generation: 2,
    services: [{ id: 0, vip: VIP, port: 80, rips: [{ ...RIP_A, weight: 0 }, RIP_B] }],
  }));
  assert.equal(ripOf(run(h, tcp(80, TCP_ACK, VIP, portA).build()).out), RIP_A);
  for (let sport = 3000; sport < 3050; sport++) {
    assert.equal(ripOf(run(h, tcp(80, TCP_SYN, VIP, sport).build()).out), RIP_B);
  }
});

const rr = (persistMs: number): TestProgram => ({
  services: [{ id: 0, vip: VIP, port: 80, sched: SCHED_RR, persistMs, rips: [RIP_A, RIP_B] }],
});
const ripsOfPorts = (h: Harness, ports: number[], src = CLIENT) =>
  ports.map((sport) =>
    ripOf(
      run(
        h,
        eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv4({ src, dst: VIP })
          .tcp({ sport, dport: 80, flags: TCP_SYN }).build(),
      ).out,
    ).id
  );

Deno.test("rr without persistence alternates one client's connections", () => {
  const h = setup(rr(0));
  assert.deepEqual(ripsOfPorts(h, [1000, 1001, 1002, 1003]), [0, 1, 0, 1]);
});

Deno.test("persistence sends one client's connections to one real server under rr", () => {
  const h = setup(rr(60_000));
  const ids = ripsOfPorts(h, [1000, 1001, 1002, 1003, 1004]);
  assert.deepEqual(ids, new Array(5).fill(ids[0]));
  // Another client is scheduled on its own (rr moves on to the other server).
  assert.notEqual(ripsOfPorts(h, [1000], "203.0.113.10")[0], ids[0]);
});

Deno.test("persistence gives way when the client's real server is drained", () => {
  const h = setup(rr(60_000));
  const [first] = ripsOfPorts(h, [1000]);
  const drained = first === RIP_A.id ? RIP_A : RIP_B;
  const other = first === RIP_A.id ? RIP_B : RIP_A;
  h.fwd.load(buildProgram({
    generation: 2,
    services: [{
      id: 0,
      vip: VIP,
      port: 80,
      sched: SCHED_RR,
      persistMs: 60_000,
      rips: [RIP_A, RIP_B].map((r) => r === drained ? { ...r, weight: 0 } : r),
    }],
  }));
  assert.deepEqual(ripsOfPorts(h, [1001, 1002]), [other.id, other.id]);
});

Deno.test("dh sends every client of a VIP to one real server, chosen by the VIP's address", () => {
  const vips = Array.from({ length: 8 }, (_, i) => `198.18.0.${110 + i}`);
  const h = setup({
    services: vips.map((vip, i) => ({
      id: i,
      vip,
      port: 80,
      sched: SCHED_DH,
      rips: [{ ...RIP_A, id: 2 * i }, { ...RIP_B, id: 2 * i + 1 }],
    })),
  }, [RIP_A, RIP_B]);
  const used = new Set<string>();
  for (const vip of vips) {
    const macs = new Set<string>();
    for (let c = 0; c < 20; c++) {
      const frame = eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv4({ src: `203.0.113.${c}`, dst: vip })
        .tcp({ sport: 1000 + c, dport: 80, flags: TCP_SYN }).build();
      macs.add(formatMac(run(h, frame).out, 0));
    }
    assert.equal(macs.size, 1, `${vip}: ${[...macs]}`);
    used.add([...macs][0]);
  }
  assert.equal(used.size, 2, "eight VIPs over two real servers use both");
});

Deno.test("lblc keeps a VIP's real server across a new program, unless the service id was flushed", () => {
  const lblc = (rips: TestRip[]): TestProgram["services"] => [
    { id: 0, vip: VIP, port: 80, sched: SCHED_LBLC, rips },
  ];
  for (const flushed of [false, true]) {
    const h = setup({ services: lblc([RIP_A, RIP_B]) });
    assert.deepEqual(ripsOfPorts(h, [1000]), [RIP_A.id]);
    // Scheduled afresh, a new flow would go to B: first in the list, and A holds a flow.
    const next = buildProgram({
      generation: 2,
      flushServices: flushed ? [0] : [],
      services: lblc([{ ...RIP_B, weight: 5 }, RIP_A]),
    });
    // Listed in another order, the real servers have other neighbour slots.
    for (const rip of [RIP_A, RIP_B]) resolve(h.shared, next, rip);
    h.fwd.load(next);
    assert.deepEqual(ripsOfPorts(h, [1001]), [flushed ? RIP_B.id : RIP_A.id], `flushed ${flushed}`);
  }
});

/** A UDP service on VIP:53 over A and B with rr, one-packet scheduling as given. */
const dns = (ops: boolean, persistMs = 0): TestProgram => ({
  services: [{
    id: 0,
    vip: VIP,
    port: 53,
    proto: PROTO_UDP,
    sched: SCHED_RR,
    ops,
    persistMs,
    rips: [RIP_A, RIP_B],
  }],
});
/** Datagrams from one client socket (port 5353) to VIP:53: the real server of each. */
const datagrams = (h: Harness, n: number) =>
  Array.from({ length: n }, () => ripOf(run(h, udp(53).build()).out).id);

for (const fastPath of [true, false]) {
  Deno.test(`--ops schedules every datagram of one client socket on its own and keeps no flow (fast path ${fastPath})`, () => {
    const h = setup(dns(true), [RIP_A, RIP_B], fastPath);
    assert.deepEqual(datagrams(h, 6), [0, 1, 0, 1, 0, 1]);
    assert.equal(h.fwd.flows.size, 0);
    for (const rip of [RIP_A, RIP_B]) {
      assert.equal(h.shared.active[rip.id] + h.shared.inactive[rip.id], 0);
      // Each datagram is a connection, as IPVS counts one-packet connections.
      assert.equal(h.shared.backends[rip.id * B_STRIDE + B_CONNECTIONS], 3);
      assert.equal(h.shared.backends[rip.id * B_STRIDE + B_PACKETS], 3);
    }
    assert.equal(h.shared.services[S_CONNECTIONS], 6);
  });
}

Deno.test("without --ops the datagrams of one client socket follow one flow", () => {
  const h = setup(dns(false), [RIP_A, RIP_B]);
  assert.deepEqual(datagrams(h, 4), [0, 0, 0, 0]);
  assert.equal(h.fwd.flows.size, 1);
  assert.equal(h.shared.inactive[RIP_A.id], 1);
});

Deno.test("turning --ops on drops the service's flows; the next datagrams are scheduled one by one", () => {
  const h = setup(dns(false), [RIP_A, RIP_B]);
  assert.deepEqual(datagrams(h, 2), [0, 0]);
  h.fwd.load(buildProgram({ ...dns(true), generation: 2 }));
  assert.equal(h.fwd.flows.size, 0);
  assert.equal(h.shared.inactive[RIP_A.id], 0, "the flow's count went with it");
  assert.deepEqual(datagrams(h, 3), [0, 1, 0]);
  assert.equal(h.fwd.flows.size, 0);
});

Deno.test("--ops with persistence keeps a client on one real server, still without flows", () => {
  const h = setup(dns(true, 60_000), [RIP_A, RIP_B]);
  const ids = datagrams(h, 4);
  assert.deepEqual(ids, new Array(4).fill(ids[0]));
  assert.equal(h.fwd.flows.size, 0);
});

Deno.test({
  name: "persistence never sends a client to a real server of another service after id reuse",

  fn: () => {
    const RIP_T = { id: 7, ip: "198.18.0.21", mac: "02:00:00:00:01:21" };
    const REUSED = { id: RIP_A.id, ip: "198.18.0.22", mac: "02:00:00:00:01:22" };
    const h = setup(rr(300_000), [RIP_A, RIP_B, RIP_T, REUSED]);
    assert.deepEqual(ripsOfPorts(h, [1000]), [RIP_A.id]);
    // Program 2: RIP_A deleted from the persistent service (its id flushed).
    const persistent = { id: 0, vip: VIP, port: 80, sched: SCHED_RR, persistMs: 300_000 };
    const other = { id: 1, vip: VIP_SORRY, port: 80 };
    h.fwd.load(buildProgram({
      generation: 2,
      flushBackends: [RIP_A.id],
      services: [{ ...persistent, rips: [RIP_B] }, { ...other, rips: [RIP_T] }],
    }));
    // Program 3: the freed id now names a new real server of the other service.
    const p3 = buildProgram({
      generation: 3,
      services: [{ ...persistent, rips: [RIP_B] }, { ...other, rips: [RIP_T, REUSED] }],
    });
    for (const rip of [RIP_B, RIP_T, REUSED]) resolve(h.shared, p3, rip);
    h.fwd.load(p3);
    const next = run(h, tcp(80, TCP_SYN, VIP, 1001).build());
    assert.equal(next.verdict, VERDICT_FORWARD);
    assert.equal(formatMac(next.out, 0), RIP_B.mac);
  },
});

Deno.test("firstTcpState and nextTcpState follow the client side of a TCP connection", () => {
  const first: [string, number, number][] = [
    ["SYN", TCP_SYN, FLOW_SYN],
    ["SYN+ACK", TCP_SYN | TCP_ACK, FLOW_ESTABLISHED],
    ["ACK", TCP_ACK, FLOW_ESTABLISHED],
    ["PSH+ACK", TCP_PSH | TCP_ACK, FLOW_ESTABLISHED],
    ["no flags", 0, FLOW_ESTABLISHED],
    ["FIN+ACK", TCP_FIN | TCP_ACK, FLOW_FIN],
    ["RST", TCP_RST, FLOW_CLOSE],
    ["RST+ACK", TCP_RST | TCP_ACK, FLOW_CLOSE],
  ];
  for (const [what, flags, state] of first) assert.equal(firstTcpState(flags), state, what);

  const next: [number, string, number, number][] = [
    [FLOW_SYN, "ACK", TCP_ACK, FLOW_ESTABLISHED],
    [FLOW_SYN, "SYN again", TCP_SYN, FLOW_SYN],
    [FLOW_SYN, "RST", TCP_RST, FLOW_CLOSE],
    [FLOW_SYN, "FIN", TCP_FIN, FLOW_FIN],
    [FLOW_ESTABLISHED, "ACK", TCP_ACK, FLOW_ESTABLISHED],
    [FLOW_ESTABLISHED, "stray SYN", TCP_SYN, FLOW_ESTABLISHED],
    [FLOW_ESTABLISHED, "FIN+ACK", TCP_FIN | TCP_ACK, FLOW_FIN],
    [FLOW_ESTABLISHED, "RST", TCP_RST, FLOW_CLOSE],
    [FLOW_FIN, "ACK", TCP_ACK, FLOW_FIN],
    [FLOW_FIN, "new SYN", TCP_SYN, FLOW_SYN],
    [FLOW_FIN, "RST", TCP_RST, FLOW_CLOSE],
    [FLOW_CLOSE, "ACK", TCP_ACK, FLOW_CLOSE],
    [FLOW_CLOSE, "new SYN", TCP_SYN, FLOW_SYN],
  ];
  for (const [from, what, flags, to] of next) {
    assert.equal(nextTcpState(from, flags), to, `${from} + ${what}`);
  }
});

/** `arb` one time in eight, else null. */
const rarely = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: fc.constant(null), weight: 7 }, { arbitrary: arb, weight: 1 });

/** Flows to every kind of destination of the verdict table: (destination, port, UDP?, client). */
const FLOWS: [string, number, boolean, string][] = [
  [VIP, 80, false, CLIENT],
  [VIP, 80, false, "198.19.0.1"],
  [VIP, 53, true, CLIENT],
  [VIP, 80, true, "198.19.0.1"],
  [VIP, 53, false, CLIENT],
  [VIP_DARK, 443, false, CLIENT],
  [VIP_IDLE, 80, false, CLIENT],
  [VIP_SORRY, 80, false, CLIENT],
  [NOT_A_VIP, 80, false, CLIENT],
  [LB_IP, 80, false, CLIENT],
  [VIP6, 80, false, CLIENT6],
  [VIP6, 80, false, "2001:2:ff::8"],
  [VIP6, 53, true, CLIENT6],
  [VIP6, 53, false, CLIENT6],
  [VIP6_DARK, 443, false, CLIENT6],
  ["2001:2::99", 80, false, CLIENT6],
];

/**
 * A header byte to change: any, or often one the fast path checks
 * (destination MAC, type, IHL, length, fragment, protocol, data offset; for
 * IPv6 version, payload length, next header, ports and data offset).
 */
const POKED = fc.oneof(
  fc.integer({ min: 0, max: 79 }),
  fc.constantFrom(0, 3, 5, 12, 13, 14, 16, 17, 20, 21, 23, 46),
  fc.constantFrom(14, 18, 19, 20, 37, 53, 55, 57, 66),
);

Deno.test("the fast path of process decides every frame as the general path does", () => {
  // Most frames repeat a flow the table holds; TCP flags vary, some frames
  // are past the MTU, and now and then one is a fragment, has a header byte
  // changed or its capture cut short.
  const frame = fc.record({
    flow: fc.integer({ min: 0, max: FLOWS.length - 1 }),
    flags: fc.integer({ min: 0, max: 0x3f }),
    payload: fc.constantFrom(0, 6, 100, MTU - 40, MTU - 27),
    fragment: rarely(fc.constantFrom("first", "later")),
    poke: rarely(fc.tuple(POKED, fc.integer({ min: 0, max: 255 }))),
    cut: rarely(fc.integer({ min: 0, max: 80 })),
    // Before this frame both forwarders load the program again in this role.
    role: rarely(fc.constantFrom("standby", "active")),
  });
  fc.assert(
    fc.property(fc.array(frame, { minLength: 20, maxLength: 80 }), (frames) => {
      const fast = setup();
      const general = setup(TABLE, undefined, false);
      frames.forEach((f, i) => {
        if (f.role !== null) {
          for (const h of [fast, general]) {
            h.fwd.load(
              buildProgram({ ...TABLE, generation: i + 2, standby: f.role === "standby" }),
            );
          }
        }
        const [dst, dport, udp, client] = FLOWS[f.flow];
        const ip = !dst.includes(":")
          ? fromClient().ipv4({
            src: client,
            dst,
            mf: f.fragment === "first",
            fragOffset: f.fragment === "later" ? 1480 : 0,
          })
          : eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv6({
            src: client,
            dst,
            hopLimit: 57,
            ext: f.fragment === null
              ? []
              : [{ type: 44, offset: f.fragment === "later" ? 1480 : 0, more: true, id: 77 }],
          });
        const l4 = udp
          ? ip.udp({ sport: 40000, dport })
          : ip.tcp({ sport: 40000, dport, flags: f.flags });
        const bytes = l4.payload(new Uint8Array(f.payload)).build();
        if (f.poke) bytes[f.poke[0]] = f.poke[1];
        const len = f.cut === null ? bytes.length : Math.min(bytes.length, f.cut);
        const a = bytes.slice();
        const b = bytes.slice();
        const now = NOW + i * 1000;
        const verdict = fast.fwd.process(a, len, fast.tx, now);
        assert.equal(verdict, general.fwd.process(b, len, general.tx, now), `frame ${i}`);
        assert.deepEqual(a, b, `frame ${i} as sent`);
        if (verdict === VERDICT_REPLY) {
          assert.deepEqual(
            fast.tx.subarray(0, fast.fwd.replyLength),
            general.tx.subarray(0, general.fwd.replyLength),
          );
        }
      });
      for (const table of ["global", "services", "backends", "active", "inactive"] as const) {
        assert.deepEqual(fast.shared[table], general.shared[table], table);
      }
      assert.equal(fast.fwd.flows.size, general.fwd.flows.size);
    }),
    { numRuns: 300 },
  );
});
