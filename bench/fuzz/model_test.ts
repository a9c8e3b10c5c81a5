import assert from "node:assert/strict";
import { parseMac } from "../../dataplane/addr.ts";
import { parseIpv6 } from "../../dataplane/addr6.ts";
import { eth } from "../../dataplane/_frame_builder.ts";
import { buildProgram, LB_MAC, type TestRip } from "../../dataplane/_program_builder.ts";
import { SCHED_RR } from "../../dataplane/scheduler.ts";
import { MAX_BACKENDS, type Program } from "../../dataplane/tables.ts";
import { ReferenceModel } from "./model.ts";

// The reference model on frames written by hand: each row is what SPEC §1,
// §2 and §12 (or the README where the SPEC is silent) say must happen.

const CLIENT = "198.19.0.9";
const VIP = "198.18.1.1";
const VIP6 = "2001:2::1:1";
const A: TestRip = { id: 0, ip: "198.18.0.11", mac: "02:00:00:00:04:11" };
const B: TestRip = { id: 1, ip: "198.18.0.12", mac: "02:00:00:00:04:12" };
const C6: TestRip = { id: 8, ip: "2001:2::11", mac: "02:00:00:00:06:11" };
const DARK: TestRip = { id: 16, ip: "198.18.0.16", mac: "02:00:00:00:04:16" };

function model(o: { standby?: boolean; routed?: boolean } = {}): { m: ReferenceModel; p: Program } {
  const p = buildProgram({
    ...o,
    services: [
      { id: 0, vip: VIP, port: 80, sched: SCHED_RR, rips: [A, B] },
      { id: 1, vip: VIP6, port: 80, rips: [C6] },
      { id: 2, vip: VIP, port: 81, rips: [DARK] },
    ],
  });
  const m = new ReferenceModel(MAX_BACKENDS);
  m.load(p);
  for (const r of [A, B, C6]) m.learn(p.backendNeighbor[r.id], parseMac(r.mac));
  return { m, p };
}

const to = (dst = LB_MAC) => eth({ src: "02:00:00:00:00:c1", dst });
const syn = (sport = 40000, flags = 2, dst = VIP, dport = 80) =>
  to().ipv4({ src: CLIENT, dst }).tcp({ sport, dport, flags }).build();
const mac = (b: Uint8Array | null) =>
  b && Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");

Deno.test("model: the destination MAC decides first: another host's, broadcast IP and multicast TCP are otherMac", () => {
  const { m } = model();
  const tcp = () => to().ipv4({ src: CLIENT, dst: VIP }).tcp({ sport: 1, dport: 80, flags: 2 });
  const cases: [string, Uint8Array, string][] = [
    ["another host", tcp().build().fill(0x02, 0, 1).fill(0x0b, 5, 6), "ignore otherMac"],
    [
      "broadcast IPv4",
      to("ff:ff:ff:ff:ff:ff").ipv4({ src: CLIENT, dst: VIP }).build(),
      "ignore otherMac",
    ],
    [
      "solicited-node multicast TCP",
      to("33:33:ff:00:00:01").ipv6({ src: "2001:2:ff::9", dst: VIP6 })
        .tcp({ sport: 1, dport: 80, flags: 2 }).build(),
      "ignore otherMac",
    ],
    [
      "a malformed frame for another host",
      to("02:00:00:00:00:99").ipv4({ src: CLIENT, dst: VIP, version: 5 }).build(),
      "ignore otherMac",
    ],
    ["13 bytes", new Uint8Array(13), "drop malformed"],
  ];
  for (const [name, frame, want] of cases) {
    const o = m.decide(frame, 1000);
    assert.equal(`${o.verdict} ${o.reason}`, want, name);
  }
});

Deno.test("model: malformed frames are dropped under README's reason names", () => {
  const { m } = model();
  const ip = (o: object) => to().ipv4({ src: CLIENT, dst: VIP, ...o });
  const cases: [string, Uint8Array, string][] = [
    ["IPv4 cut to 30 bytes", syn().subarray(0, 30), "truncated"],
    ["version 6 in an IPv4 frame", ip({ version: 6 }).build(), "badVersion"],
    ["IHL 4", ip({ ihl: 4 }).build(), "badIhl"],
    ["total length past the frame", ip({ totalLength: 400 }).build(), "badLength"],
    [
      "TCP data offset 4",
      ip({}).tcp({ sport: 1, dport: 80, flags: 2, dataOffset: 4 }).build(),
      "badL4",
    ],
    ["UDP in 6 bytes", ip({ totalLength: 26 }).udp({ sport: 1, dport: 80 }).build(), "badL4"],
    [
      "ARP for another protocol",
      to().arp({ op: 1, senderMac: LB_MAC, senderIp: CLIENT, targetIp: VIP, ptype: 0x86dd })
        .build(),
      "badArp",
    ],
    [
      "nine extension headers",
      to().ipv6({ src: "2001:2:ff::9", dst: VIP6, ext: new Array(9).fill({ type: 60 }) })
        .tcp({ sport: 1, dport: 80, flags: 2 }).build(),
      "longChain",
    ],
    [
      "hop-by-hop after a destination header",
      to().ipv6({ src: "2001:2:ff::9", dst: VIP6, ext: [{ type: 60 }, { type: 0 }] })
        .tcp({ sport: 1, dport: 80, flags: 2 }).build(),
      "badExtension",
    ],
  ];
  for (const [name, frame, reason] of cases) {
    const o = m.decide(frame, 1000);
    assert.deepEqual([o.verdict, o.reason, o.malformed], ["drop", "malformed", reason], name);
  }
});

Deno.test("model: a new flow is scheduled, its later packets follow it, TCP state moves the connection counts", () => {
  const { m } = model();
  const first = m.decide(syn(40000), 1000);
  assert.deepEqual([first.verdict, first.reason, first.backend], ["forward", "new", 0]);
  assert.equal(mac(first.mac), A.mac);
  assert.deepEqual([m.active[0], m.inactive[0]], [0, 1], "a SYN is not established");
  const other = m.decide(syn(40001), 1001);
  assert.equal(other.backend, 1, "rr: the next connection goes to the next server");
  const ack = m.decide(syn(40000, 0x10), 1002);
  assert.deepEqual([ack.reason, ack.backend], ["flow", 0]);
  assert.deepEqual([m.active[0], m.inactive[0]], [1, 0], "the ACK establishes it");
  m.decide(syn(40000, 0x11), 1003);
  assert.deepEqual([m.active[0], m.inactive[0]], [0, 1], "FIN: inactive again");
  m.sweep(1001 + 119_999);
  assert.equal(m.flows.size, 2, "a SYN's and a FIN's timeout is tcpfin, 120 s");
  m.sweep(1001 + 120_000);
  assert.equal(m.flows.size, 1, "the SYN at 1001 expired at 121001");
  m.sweep(1003 + 120_000);
  assert.equal(m.flows.size, 0);
});

Deno.test("model: fragments follow their first fragment for 30 s; an orphan is dropped", () => {
  const { m } = model();
  const first = to().ipv4({ src: CLIENT, dst: VIP, id: 7, mf: true }).tcp({
    sport: 5,
    dport: 80,
    flags: 2,
  })
    .payload(new Uint8Array(16)).build();
  const later = (id: number) =>
    to().ipv4({ src: CLIENT, dst: VIP, id, fragOffset: 40, proto: 6 }).payload(new Uint8Array(8))
      .build();
  assert.equal(m.decide(later(7), 1000).reason, "fragment", "before its first: dropped");
  const o = m.decide(first, 1000);
  assert.equal(o.verdict, "forward");
  const f = m.decide(later(7), 31_000);
  assert.deepEqual([f.verdict, f.reason, f.backend], ["forward", "fragment", o.backend]);
  assert.equal(m.decide(later(7), 31_001).verdict, "drop", "30 s on, forgotten");
  assert.equal(m.decide(later(8), 1000).verdict, "drop", "another datagram");
});

Deno.test("model: an unresolved server is noBackend, a standby drops VIP traffic, no service is noService", () => {
  assert.equal(model().m.decide(syn(1, 2, VIP, 81), 0).reason, "noBackend");
  assert.equal(model().m.decide(syn(1, 2, VIP, 82), 0).reason, "noService");
  assert.equal(model({ standby: true }).m.decide(syn(), 0).reason, "standby");
  assert.equal(model().m.decide(syn(1, 2, "198.18.1.2"), 0).reason, "notOurs");
});

Deno.test("model: ARP for a VIP is answered with the balancer's MAC, not by a standby or routed node; a real server's ARP teaches its MAC", () => {
  const request = to("ff:ff:ff:ff:ff:ff")
    .arp({ op: 1, senderMac: "02:00:00:00:00:c1", senderIp: CLIENT, targetIp: VIP }).build();
  const o = model().m.decide(request, 0);
  assert.deepEqual([o.verdict, o.reason], ["reply", "arp"]);
  const right = eth({ src: LB_MAC, dst: "02:00:00:00:00:c1" })
    .arp({
      op: 2,
      senderMac: LB_MAC,
      senderIp: VIP,
      targetMac: "02:00:00:00:00:c1",
      targetIp: CLIENT,
    })
    .build();
  assert.equal(o.checkReply!(right), null);
  right[31]++;
  assert.match(o.checkReply!(right) ?? "", /byte 31/);
  assert.equal(model({ standby: true }).m.decide(request, 0).verdict, "ignore");
  assert.equal(model({ routed: true }).m.decide(request, 0).verdict, "ignore");

  const { m } = model();
  const moved = eth({ src: "02:00:00:00:09:11", dst: LB_MAC })
    .arp({ op: 2, senderMac: "02:00:00:00:09:11", senderIp: A.ip, targetIp: "198.18.0.10" })
    .build();
  assert.equal(m.decide(moved, 0).verdict, "ignore");
  assert.equal(mac(m.decide(syn(), 0).mac), "02:00:00:00:09:11");
  const claim = eth({ src: "02:00:00:00:0e:01", dst: "ff:ff:ff:ff:ff:ff" })
    .arp({ op: 1, senderMac: "02:00:00:00:0e:01", senderIp: VIP, targetIp: VIP }).build();
  const c = m.decide(claim, 0);
  assert.deepEqual([c.verdict, c.claims], ["ignore", 1], "another MAC's gratuitous ARP is a claim");
});

Deno.test("model: a Neighbor Solicitation for a VIP is answered; one with a bad checksum, hop limit or option is not", () => {
  const ns = (o: { hop?: number; checksum?: number; options?: number[]; src?: string } = {}) =>
    eth({ src: "02:00:00:00:00:c1", dst: "33:33:ff:01:00:01" })
      .ipv6({ src: o.src ?? "2001:2:ff::9", dst: "ff02::1:ff01:1", hopLimit: o.hop ?? 255 })
      .icmp6({
        type: 135,
        checksum: o.checksum,
        body: [0, 0, 0, 0, ...parseIpv6(VIP6), ...(o.options ?? [1, 1, 2, 0, 0, 0, 0, 0xc1])],
      })
      .build();
  const o = model().m.decide(ns(), 0);
  assert.deepEqual([o.verdict, o.reason], ["reply", "na"]);
  const dad = model().m.decide(ns({ src: "::", options: [] }), 0);
  assert.equal(dad.verdict, "reply", "duplicate address detection is answered too");
  for (
    const [name, frame] of [
      ["hop limit 64", ns({ hop: 64 })],
      ["bad checksum", ns({ checksum: 1 })],
      ["option of length 0", ns({ options: [1, 0, 0, 0, 0, 0, 0, 0] })],
      ["a stray byte after the option", ns({ options: [1, 1, 2, 0, 0, 0, 0, 0xc1, 0] })],
    ] as const
  ) assert.equal(model().m.decide(frame, 0).verdict, "ignore", name);
});

Deno.test("model: echo requests to a VIP are answered, path-MTU errors go to the flow's server", () => {
  const { m } = model();
  const echo = m.decide(
    to().ipv4({ src: CLIENT, dst: VIP }).icmpEcho({ id: 1, seq: 2 }).build(),
    0,
  );
  assert.deepEqual([echo.verdict, echo.reason], ["reply", "echo"]);
  const flow = m.decide(syn(40000), 0);
  m.decide(syn(40001), 0); // the next rr pick is the other server
  const inner = eth().ipv4({ src: VIP, dst: CLIENT }).tcp({ sport: 80, dport: 40000, flags: 0x18 })
    .build({ pad: false }).subarray(14);
  const error = to().ipv4({ src: "198.18.2.1", dst: VIP })
    .icmpEcho({ type: 3, code: 4, id: 0, seq: 1400 }).payload(inner).build();
  const o = m.decide(error, 0);
  assert.deepEqual([o.verdict, o.reason, o.backend], ["forward", "pmtu", flow.backend]);
  const unknown = eth().ipv4({ src: VIP, dst: CLIENT }).tcp({ sport: 80, dport: 1, flags: 0x18 })
    .build({ pad: false }).subarray(14);
  const lost = to().ipv4({ src: "198.18.2.1", dst: VIP })
    .icmpEcho({ type: 3, code: 4, id: 0, seq: 1400 }).payload(unknown).build();
  assert.equal(m.decide(lost, 0).reason, "icmpNoFlow", "rr cannot place a flow it does not hold");
});

Deno.test("model: two legs: a frame is ours by its leg's MAC, leaves by its real server's leg and MTU, and a MAC counts only on the server's leg", () => {
  const leg1 = parseMac("02:00:00:00:00:1a");
  const FAR: TestRip = { id: 2, ip: "198.18.4.14", mac: "02:00:00:00:04:0e" };
  const p = buildProgram({
    services: [{ id: 0, vip: VIP, port: 80, sched: SCHED_RR, rips: [A, FAR] }],
  });
  p.legs = [{ mac: p.mac, ip: p.ip, mtu: 1500 }, { mac: leg1, ip: 0, mtu: 1400 }];
  p.neighborLeg = new Uint8Array(16384);
  p.neighborLeg[p.backendNeighbor[FAR.id]] = 1;
  const m = new ReferenceModel(MAX_BACKENDS);
  m.load(p);
  for (const r of [A, FAR]) m.learn(p.backendNeighbor[r.id], parseMac(r.mac));
  const on1 = (sport: number, size = 0) =>
    to("02:00:00:00:00:1a").ipv4({ src: CLIENT, dst: VIP }).tcp({ sport, dport: 80, flags: 2 })
      .payload(new Uint8Array(size)).build();
  assert.equal(m.decide(on1(1), 0, 0).reason, "otherMac", "leg 1's MAC on leg 0");
  const near = m.decide(on1(1), 0, 1);
  assert.deepEqual([near.backend, near.leg, mac(near.from)], [0, 0, LB_MAC]);
  const far = m.decide(on1(2), 0, 1);
  assert.deepEqual([far.backend, far.leg, mac(far.from)], [2, 1, "02:00:00:00:00:1a"]);
  assert.equal(
    m.decide(on1(2, 1400), 0, 1).reason,
    "oversize",
    "1440 bytes of IP above leg 1's 1400",
  );
  const heard = (leg: number) =>
    m.decide(
      eth({ src: "02:00:00:00:09:0e", dst: "ff:ff:ff:ff:ff:ff" })
        .arp({ op: 2, senderMac: "02:00:00:00:09:0e", senderIp: FAR.ip, targetIp: "198.18.4.10" })
        .build(),
      0,
      leg,
    );
  heard(0);
  assert.equal(mac(m.decide(on1(2), 0, 1).mac), FAR.mac, "heard on the other leg: not learnt");
  heard(1);
  assert.equal(mac(m.decide(on1(2), 0, 1).mac), "02:00:00:00:09:0e");
});
