import assert from "node:assert/strict";
import { parseIpv4, parseMac } from "./addr.ts";
import { eth } from "./_frame_builder.ts";
import type { TestRip } from "./_program_builder.ts";
import {
  CLIENT,
  CLIENT_MAC,
  LEG0,
  LEG1,
  resolveAll,
  RIP6_FAR,
  RIP_FAR,
  RIP_NEAR,
  RIP_UDP,
  twoLegProgram,
  VIP,
  VIP6,
} from "./_two_legs.ts";
import {
  Forwarder,
  VERDICT_DROP,
  VERDICT_FORWARD,
  VERDICT_IGNORE,
  VERDICT_REPLY,
} from "./forwarder.ts";
import { TCP_ACK, TCP_SYN } from "./packet.ts";
import {
  createSharedTables,
  G_ARP_REPLIES,
  G_DROP_OVERSIZE,
  G_ICMP_REPLIES,
  G_OTHER_MAC,
  G_SIZE,
  type Program,
  type SharedTables,
} from "./tables.ts";

const NOW = 1_000_000;
const BROADCAST = "ff:ff:ff:ff:ff:ff";
const SERVER_SIDE_ROUTER = "02:00:00:00:11:fe";

interface Harness {
  shared: SharedTables;
  fwd: Forwarder;
  program: Program;
  tx: Uint8Array;
}

function setup(fastPath = true): Harness {
  const shared = createSharedTables();
  const fwd = new Forwarder(shared, { maxFlows: 1024, fastPath });
  const program = twoLegProgram();
  resolveAll(shared, program);
  fwd.load(program);
  return { shared, fwd, program, tx: new Uint8Array(2048) };
}

/** Runs a copy of `frame` as taken on leg `leg`: the verdict, the leg it leaves by, the frame after. */
function run(h: Harness, leg: number, frame: Uint8Array) {
  const out = frame.slice();
  h.fwd.receiveOn(leg);
  h.fwd.outLeg = -1;
  const verdict = h.fwd.process(out, out.length, h.tx, NOW);
  return { verdict, outLeg: h.fwd.outLeg, out };
}

/** A frame as it must leave towards `rip`, from `leg`'s MAC. */
const rewritten = (frame: Uint8Array, rip: TestRip, leg: { mac: string }) =>
  Uint8Array.from([...parseMac(rip.mac), ...parseMac(leg.mac), ...frame.subarray(12)]);

const bytes = (n: number) => Array.from({ length: n }, (_, i) => (i * 7) & 255);
const tcpTo = (dstMac: string, dport: number, flags = TCP_SYN, data = 0) =>
  eth({ src: CLIENT_MAC, dst: dstMac }).ipv4({ src: CLIENT, dst: VIP })
    .tcp({ sport: 40000, dport, flags }).payload(bytes(data)).build();
const arpFor = (target: string) =>
  eth({ src: CLIENT_MAC, dst: BROADCAST })
    .arp({ op: 1, senderMac: CLIENT_MAC, senderIp: CLIENT, targetIp: target }).build();
const arpReply = (legMac: string) =>
  eth({ src: legMac, dst: CLIENT_MAC }).arp({
    op: 2,
    senderMac: legMac,
    senderIp: VIP,
    targetMac: CLIENT_MAC,
    targetIp: CLIENT,
  }).build();

interface Case {
  name: string;
  /** The leg the frame is taken on. */
  leg: number;
  frame: Uint8Array;
  verdict: number;
  /** Global counters that must read 1 afterwards; every other must read 0. */
  counters?: number[];
  /** A forward: the real server, and the leg it must leave by. */
  forward?: { rip: TestRip; leg: number };
  /** The exact answer a reply must leave in tx. */
  reply?: Uint8Array;
}

const cases: Case[] = [
  {
    name: "a SYN taken on the clients' leg leaves by the real server's leg, from that leg's MAC",
    leg: 0,
    frame: tcpTo(LEG0.mac, 80),
    verdict: VERDICT_FORWARD,
    forward: { rip: RIP_FAR, leg: 1 },
  },
  {
    name: "a SYN taken on the real servers' leg (a router there) leaves by the same leg",
    leg: 1,
    frame: tcpTo(LEG1.mac, 80),
    verdict: VERDICT_FORWARD,
    forward: { rip: RIP_FAR, leg: 1 },
  },
  {
    name: "a SYN for a real server on the clients' leg leaves by the clients' leg",
    leg: 0,
    frame: tcpTo(LEG0.mac, 8080),
    verdict: VERDICT_FORWARD,
    forward: { rip: RIP_NEAR, leg: 0 },
  },
  {
    name: "a UDP datagram taken on the clients' leg leaves by its real server's leg",
    leg: 0,
    frame: eth({ src: CLIENT_MAC, dst: LEG0.mac }).ipv4({ src: CLIENT, dst: VIP })
      .udp({ sport: 5353, dport: 53 }).payload(bytes(20)).build(),
    verdict: VERDICT_FORWARD,
    forward: { rip: RIP_UDP, leg: 1 },
  },
  {
    name: "an IPv6 SYN taken on the clients' leg leaves by the real server's leg",
    leg: 0,
    frame: eth({ src: CLIENT_MAC, dst: LEG0.mac }).ipv6({ src: "2001:2:10::2", dst: VIP6 })
      .tcp({ sport: 40000, dport: 80, flags: TCP_SYN }).build(),
    verdict: VERDICT_FORWARD,
    forward: { rip: RIP6_FAR, leg: 1 },
  },
  {
    name: "a frame on the clients' leg for the other leg's MAC is another host's: ignored",
    leg: 0,
    frame: tcpTo(LEG1.mac, 80),
    verdict: VERDICT_IGNORE,
    counters: [G_OTHER_MAC],
  },
  {
    name:
      "a frame over the real servers' leg MTU (1400) is dropped, though the clients' leg takes 1500",
    leg: 0,
    frame: tcpTo(LEG0.mac, 80, TCP_ACK, 1410 - 40),
    verdict: VERDICT_DROP,
    counters: [G_DROP_OVERSIZE],
  },
  {
    name: "the same size to the real server on the clients' leg (MTU 1500) is forwarded",
    leg: 0,
    frame: tcpTo(LEG0.mac, 8080, TCP_ACK, 1410 - 40),
    verdict: VERDICT_FORWARD,
    forward: { rip: RIP_NEAR, leg: 0 },
  },
  {
    name: "an ARP request for the VIP on the clients' leg is answered with that leg's MAC",
    leg: 0,
    frame: arpFor(VIP),
    verdict: VERDICT_REPLY,
    counters: [G_ARP_REPLIES],
    reply: arpReply(LEG0.mac),
  },
  {
    name: "an ARP request for the VIP on the real servers' leg is answered with that leg's MAC",
    leg: 1,
    frame: arpFor(VIP),
    verdict: VERDICT_REPLY,
    counters: [G_ARP_REPLIES],
    reply: arpReply(LEG1.mac),
  },
  {
    name:
      "an ICMP echo request to the VIP on the real servers' leg is answered from that leg's MAC",
    leg: 1,
    frame: eth({ src: SERVER_SIDE_ROUTER, dst: LEG1.mac }).ipv4({ src: CLIENT, dst: VIP })
      .icmpEcho({ id: 7, seq: 1 }).payload(bytes(16)).build(),
    verdict: VERDICT_REPLY,
    counters: [G_ICMP_REPLIES],
  },
];

for (const c of cases) {
  Deno.test(`two legs: ${c.name}`, () => {
    for (const fastPath of [true, false]) {
      const h = setup(fastPath);
      const { verdict, outLeg, out } = run(h, c.leg, c.frame);
      assert.equal(verdict, c.verdict, `fast path ${fastPath}`);
      const g = new Array<number>(G_SIZE).fill(0);
      for (const i of c.counters ?? []) g[i] = 1;
      assert.deepEqual(Array.from(h.shared.global), g);
      if (c.forward) {
        assert.equal(outLeg, c.forward.leg);
        const leg = c.forward.leg === 0 ? LEG0 : LEG1;
        assert.deepEqual(out, rewritten(c.frame, c.forward.rip, leg));
      } else assert.deepEqual(out, c.frame, "a frame that is not forwarded is left as it came");
      if (c.reply) assert.deepEqual(h.tx.subarray(0, h.fwd.replyLength), c.reply);
      if (c.verdict === VERDICT_REPLY) {
        const leg = c.leg === 0 ? LEG0 : LEG1;
        assert.deepEqual(h.tx.subarray(6, 12), parseMac(leg.mac), "answered from its own leg");
      }
    }
  });
}

Deno.test("two legs: a known flow's next frames take the fast path out of the real server's leg", () => {
  const h = setup();
  assert.equal(run(h, 0, tcpTo(LEG0.mac, 80)).verdict, VERDICT_FORWARD);
  // Between two frames of leg 0, the loop drained leg 1: the receiving leg changes back.
  h.fwd.receiveOn(1);
  const ack = tcpTo(LEG0.mac, 80, TCP_ACK, 100);
  const r = run(h, 0, ack);
  assert.equal(r.verdict, VERDICT_FORWARD);
  assert.equal(r.outLeg, 1);
  assert.deepEqual(r.out, rewritten(ack, RIP_FAR, LEG1));
});

Deno.test("two legs: a real server's MAC is learnt from ARP on its own leg only", () => {
  const h = setup();
  const slot = h.program.backendNeighbor[RIP_FAR.id];
  h.shared.neighborSeen[slot] = 0;
  h.shared.neighborMacs.fill(0, slot * 8, slot * 8 + 8);
  const reply = eth({ src: "02:00:00:00:99:99", dst: LEG1.mac }).arp({
    op: 2,
    senderMac: "02:00:00:00:99:99",
    senderIp: RIP_FAR.ip,
    targetMac: LEG1.mac,
    targetIp: LEG1.ip,
  }).build();
  run(h, 0, reply.slice());
  assert.equal(h.shared.neighborSeen[slot], 0, "heard on the clients' leg: not the MAC to send to");
  run(h, 1, reply.slice());
  assert.ok(h.shared.neighborSeen[slot] > 0);
  assert.deepEqual(
    h.shared.neighborMacs.subarray(slot * 8, slot * 8 + 6),
    parseMac("02:00:00:00:99:99"),
  );
});

Deno.test("two legs: the balancer's own other leg announcing a VIP is no claim; another host is", () => {
  const h = setup();
  const garp = (mac: string) =>
    eth({ src: mac, dst: BROADCAST }).arp({ op: 1, senderMac: mac, senderIp: VIP, targetIp: VIP })
      .build();
  // Legs on one broadcast domain hear each other's gratuitous ARP.
  run(h, 0, garp(LEG1.mac));
  run(h, 1, garp(LEG0.mac));
  assert.deepEqual(h.fwd.vipClaims, []);
  run(h, 0, garp("02:00:00:00:10:66"));
  assert.deepEqual(h.fwd.vipClaims, [{ vip: VIP, mac: "02:00:00:00:10:66" }]);
});

Deno.test("two legs: a DR-path probe's SYN-ACK to the real servers' leg address is taken there", () => {
  const h = setup();
  h.fwd.probes.add(9, parseIpv4(VIP), 80, 61000, 1000);
  const synAck = (dst: string, legMac: string) =>
    eth({ src: RIP_FAR.mac, dst: legMac }).ipv4({ src: VIP, dst })
      .tcp({ sport: 80, dport: 61000, flags: TCP_SYN | TCP_ACK, ack: 1001 }).build();
  run(h, 1, synAck(LEG0.ip, LEG1.mac));
  assert.deepEqual(h.fwd.probeAnswers, [], "to the other leg's address: not our probe's answer");
  run(h, 1, synAck(LEG1.ip, LEG1.mac));
  assert.deepEqual(h.fwd.probeAnswers, [{ id: 9, answer: "syn-ack" }]);
});

Deno.test("one leg: receiveOn a leg the program does not have changes nothing", () => {
  const shared = createSharedTables();
  const fwd = new Forwarder(shared, { maxFlows: 1024 });
  const program = twoLegProgram();
  resolveAll(shared, program);
  fwd.load({ ...program, legs: undefined, neighborLeg: undefined });
  fwd.receiveOn(1);
  const frame = tcpTo(LEG0.mac, 80);
  assert.equal(fwd.process(frame, frame.length, new Uint8Array(2048), NOW), VERDICT_FORWARD);
  assert.equal(fwd.outLeg, 0);
  assert.deepEqual(frame.subarray(6, 12), parseMac(LEG0.mac));
});
