import assert from "node:assert/strict";
import { formatIpv4, parseIpv4, parseMac } from "./addr.ts";
import { eth } from "./_frame_builder.ts";
import { buildProgram, LB_IP, LB_MAC, resolve, type TestRip } from "./_program_builder.ts";
import { FRAGMENT_TIMEOUT_MS } from "./fragment_table.ts";
import { ForwardingLoop } from "./loop.ts";
import { PROTO_UDP, TCP_ACK, TCP_SYN } from "./packet.ts";
import { MemoryPacketIo } from "./packet_io.ts";
import {
  createSharedTables,
  G_ARP_REPLIES,
  G_BATCH_MAX_MS,
  G_DROP_FRAGMENT,
  G_FLOWS,
  G_RX,
  G_TX,
  M_APPLIED,
  M_POSTED,
  type Program,
  type SharedTables,
} from "./tables.ts";

const START = 5_000_000;
const BROADCAST = "ff:ff:ff:ff:ff:ff";
const CLIENT_MAC = "02:00:00:00:00:c1";
const CLIENT = "203.0.113.9";
const VIP = "198.18.0.100";
const VIP2 = "198.18.0.101";
const RIP_A: TestRip = { id: 0, ip: "198.18.0.11", mac: "02:00:00:00:01:11" };
const RIP_B: TestRip = { id: 1, ip: "198.18.0.12", mac: "02:00:00:00:01:12" };
const RIP_C: TestRip = { id: 2, ip: "198.18.0.13", mac: "02:00:00:00:01:13" };
const UDP_TIMEOUT_MS = 5_000;

/** VIP:80/tcp over A, VIP2 on every UDP port over B and C. */
const program = (o: { generation?: number; garp?: string[] } = {}): Program =>
  buildProgram({
    ...o,
    timeouts: { tcp: 60_000, tcpfin: 10_000, udp: UDP_TIMEOUT_MS },
    services: [
      { id: 0, vip: VIP, port: 80, rips: [RIP_A] },
      { id: 1, vip: VIP2, port: 0, proto: PROTO_UDP, rips: [RIP_B, RIP_C] },
    ],
  });

interface Harness {
  io: MemoryPacketIo;
  shared: SharedTables;
  loop: ForwardingLoop;
  /** Moves the injected clock on. */
  advance(ms: number): number;
}

function setup(start = START): Harness {
  const io = new MemoryPacketIo();
  const shared = createSharedTables();
  let now = start;
  const loop = new ForwardingLoop(io, shared, { maxFlows: 1024, clock: () => now });
  return { io, shared, loop, advance: (ms) => (now += ms) };
}

/** Posts and applies `p`, with the MACs of `resolved` known; forgets what was sent. */
function applied(h: Harness, p: Program, resolved: TestRip[] = [RIP_A, RIP_B, RIP_C]): void {
  for (const rip of resolved) resolve(h.shared, p, rip);
  h.loop.post({ seq: p.generation, body: p });
  h.loop.applyPending();
  h.io.sent.length = 0;
}

const garp = (vip: string) =>
  eth({ src: LB_MAC, dst: BROADCAST })
    .arp({ op: 1, senderMac: LB_MAC, senderIp: vip, targetIp: vip }).build();
const arpRequest = (target: string) =>
  eth({ src: LB_MAC, dst: BROADCAST })
    .arp({ op: 1, senderMac: LB_MAC, senderIp: LB_IP, targetIp: target }).build();
const syn = (sport = 40000) =>
  eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv4({ src: CLIENT, dst: VIP })
    .tcp({ sport, dport: 80, flags: TCP_SYN }).build();

Deno.test("posting a program sets the capture filter, announces its VIPs and reports it applied", () => {
  const h = setup();
  const p = program({ generation: 7, garp: [VIP, VIP2] });
  h.loop.post({ seq: 1, body: p });
  assert.equal(h.io.filter, "", "nothing happens before applyPending");
  assert.equal(h.shared.mailbox[M_APPLIED], 0);
  h.loop.applyPending();
  assert.match(h.io.filter, /\barp\b/);
  assert.ok(h.io.filter.includes(`dst host ${VIP}`), h.io.filter);
  assert.ok(h.io.filter.includes(`dst host ${VIP2}`), h.io.filter);
  assert.deepEqual(h.io.sent, [garp(VIP), garp(VIP2)]);
  assert.equal(Atomics.load(h.shared.mailbox, M_APPLIED), 7);
});

Deno.test("a gratuitous ARP is a broadcast request whose sender and target IP are the VIP", () => {
  const h = setup();
  h.loop.post({ seq: 1, body: program({ garp: [VIP] }) });
  h.loop.applyPending();
  const [frame] = h.io.sent;
  assert.deepEqual(frame.subarray(0, 6), parseMac(BROADCAST));
  assert.deepEqual(frame.subarray(6, 12), parseMac(LB_MAC));
  assert.deepEqual([frame[12], frame[13], frame[20], frame[21]], [0x08, 0x06, 0, 1]);
  assert.deepEqual(frame.subarray(22, 28), parseMac(LB_MAC), "sender MAC");
  assert.equal(formatIpv4(new DataView(frame.buffer).getUint32(28)), VIP, "sender IP");
  assert.deepEqual(frame.subarray(32, 38), new Uint8Array(6), "target MAC");
  assert.equal(formatIpv4(new DataView(frame.buffer).getUint32(38)), VIP, "target IP");
});

Deno.test("only the VIPs a program lists in garp are announced", () => {
  const h = setup();
  h.loop.post({ seq: 1, body: program({ generation: 1, garp: [VIP2] }) });
  h.loop.post({ seq: 2, body: program({ generation: 2, garp: [] }) });
  h.loop.applyPending();
  assert.deepEqual(h.io.sent, [garp(VIP2)]);
  assert.equal(h.shared.mailbox[M_APPLIED], 2, "programs apply in order; the last one runs");
});

Deno.test("a program without services lets only ARP through", () => {
  const h = setup();
  h.loop.post({ seq: 1, body: buildProgram({ services: [] }) });
  h.loop.applyPending();
  assert.equal(h.io.filter, "arp");
});

Deno.test("a garp command announces a VIP from the balancer's MAC", () => {
  const h = setup();
  h.loop.post({ seq: 1, body: { type: "garp", vip: parseIpv4(VIP) } });
  h.loop.applyPending();
  assert.deepEqual(h.io.sent, [], "no program yet: no MAC to announce from");
  applied(h, program());
  h.loop.post({ seq: 3, body: { type: "garp", vip: parseIpv4(VIP) } });
  h.loop.applyPending();
  assert.deepEqual(h.io.sent, [garp(VIP)]);
});

Deno.test("a routed node (--announce) sends no gratuitous ARP", () => {
  const h = setup();
  h.loop.post({ seq: 1, body: { ...program({ garp: [VIP, VIP2] }), routed: true } });
  h.loop.post({ seq: 2, body: { type: "garp", vip: parseIpv4(VIP) } });
  h.loop.applyPending();
  assert.equal(h.io.sent.length, 0);
});

Deno.test("a standby sends no gratuitous ARP, neither for a program nor on command, but still resolves real servers", () => {
  const h = setup();
  h.loop.post({ seq: 1, body: { ...program({ garp: [VIP, VIP2] }), standby: true } });
  h.loop.post({ seq: 2, body: { type: "garp", vip: parseIpv4(VIP) } });
  h.loop.applyPending();
  assert.equal(h.io.sent.length, 0, "no frame sent");
  h.loop.tick(h.advance(2_000));
  assert.deepEqual(
    new Set(h.io.sent.map((f) => formatIpv4(new DataView(f.buffer).getUint32(38)))),
    new Set([RIP_A.ip, RIP_B.ip, RIP_C.ip]),
    "ARP requests for every real server",
  );
  h.io.sent.length = 0;
  // Promoted: the same command announces the VIP.
  h.loop.post({ seq: 3, body: { ...program({ generation: 2 }), standby: false } });
  h.loop.post({ seq: 4, body: { type: "garp", vip: parseIpv4(VIP) } });
  h.loop.applyPending();
  assert.deepEqual(h.io.sent, [garp(VIP)]);
});

Deno.test("tick asks by ARP for real servers whose MAC is unknown or stale, not fresh ones", () => {
  const h = setup();
  const p = program();
  applied(h, p, [RIP_A]);
  resolve(h.shared, p, RIP_C, Date.now() - 60_000); // confirmed long ago
  h.loop.tick(START);
  assert.deepEqual(h.io.sent, [arpRequest(RIP_B.ip), arpRequest(RIP_C.ip)]);
});

Deno.test("tick asks for neighbours at most once a second", () => {
  const h = setup();
  applied(h, program(), []);
  h.loop.tick(START);
  assert.equal(h.io.sent.length, 3);
  h.loop.tick(START + 500);
  assert.equal(h.io.sent.length, 3, "half a second later: nothing new");
  h.loop.tick(START + 1000);
  assert.equal(h.io.sent.length, 6);
});

Deno.test("runBatch forwards a queued SYN to the real server and counts rx and tx", () => {
  const h = setup();
  applied(h, program());
  const frame = syn();
  h.io.push(frame);
  assert.equal(h.loop.runBatch(), 1);
  const expected = Uint8Array.from([
    ...parseMac(RIP_A.mac),
    ...parseMac(LB_MAC),
    ...frame.subarray(12),
  ]);
  assert.deepEqual(h.io.sent, [expected]);
  assert.equal(h.shared.global[G_RX], 1);
  assert.equal(h.shared.global[G_TX], 1);
  assert.equal(h.shared.global[G_FLOWS], 1, "the batch ends with a tick that sets the gauge");
  assert.equal(h.loop.runBatch(), 0, "nothing queued");
});

Deno.test("runBatch sends replies, never ignored frames, and counts every frame read", () => {
  const h = setup();
  applied(h, program());
  const arpForVip = eth({ src: CLIENT_MAC, dst: BROADCAST })
    .arp({ op: 1, senderMac: CLIENT_MAC, senderIp: CLIENT, targetIp: VIP }).build();
  const notForUs = eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv4({ src: CLIENT, dst: "198.18.0.99" })
    .tcp({ sport: 1, dport: 80, flags: TCP_SYN }).build();
  h.io.push(notForUs);
  h.io.push(arpForVip);
  assert.equal(h.loop.runBatch(), 2);
  assert.equal(h.io.sent.length, 1);
  assert.deepEqual(
    h.io.sent[0],
    eth({ src: LB_MAC, dst: CLIENT_MAC })
      .arp({ op: 2, senderMac: LB_MAC, senderIp: VIP, targetMac: CLIENT_MAC, targetIp: CLIENT })
      .build(),
  );
  assert.deepEqual(
    [h.shared.global[G_RX], h.shared.global[G_TX], h.shared.global[G_ARP_REPLIES]],
    [2, 1, 1],
  );
});

Deno.test("each second publishes the longest batch of the second before", () => {
  const h = setup();
  applied(h, program());
  const g = h.shared.global;
  const next = h.io.next.bind(h.io);
  h.io.next = () => {
    const n = next();
    if (n > 0) h.advance(40); // each frame holds the loop for 40 ms
    return n;
  };
  h.io.push(syn(40001));
  assert.equal(h.loop.runBatch(), 1);
  h.advance(2000); // idle time is no batch's
  assert.equal(h.loop.runBatch(), 0);
  assert.equal(g[G_BATCH_MAX_MS], 40);
  h.advance(1000);
  assert.equal(h.loop.runBatch(), 0);
  assert.equal(g[G_BATCH_MAX_MS], 0, "a quiet second publishes 0");
});

Deno.test("runBatch returns -1 once the I/O is closed", () => {
  const h = setup();
  applied(h, program());
  h.io.close();
  assert.equal(h.loop.runBatch(), -1);
});

Deno.test("UDP flows leave the table after the UDP timeout; established TCP flows stay", () => {
  const h = setup();
  applied(h, program());
  h.io.push(
    eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv4({ src: CLIENT, dst: VIP2 })
      .udp({ sport: 5353, dport: 53 }).build(),
  );
  h.io.push(
    eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv4({ src: CLIENT, dst: VIP })
      .tcp({ sport: 40000, dport: 80, flags: TCP_ACK }).build(),
  );
  h.loop.runBatch();
  assert.equal(h.shared.global[G_FLOWS], 2);
  h.loop.tick(h.advance(UDP_TIMEOUT_MS - 1));
  assert.equal(h.shared.global[G_FLOWS], 2, "one ms before the timeout");
  h.loop.tick(h.advance(1));
  assert.equal(h.shared.global[G_FLOWS], 1, "the UDP flow is gone");
  const udpRips = [RIP_B.id, RIP_C.id];
  assert.deepEqual(udpRips.map((id) => h.shared.inactive[id]), [0, 0]);
  assert.equal(h.shared.active[RIP_A.id], 1);
});

Deno.test("run() applies a posted program, forwards what is queued and stops when the I/O closes", async () => {
  const h = setup();
  const p = program({ generation: 3 });
  for (const rip of [RIP_A, RIP_B, RIP_C]) resolve(h.shared, p, rip);
  // Close once the queue is drained, so run() ends.
  const next = h.io.next.bind(h.io);
  h.io.next = () => {
    const n = next();
    if (n === 0) h.io.close();
    return n;
  };
  h.io.push(syn(1000));
  h.io.push(syn(1001));
  Atomics.store(h.shared.mailbox, M_POSTED, 1);
  h.loop.post({ seq: 1, body: p });
  await h.loop.run();
  assert.equal(h.shared.mailbox[M_APPLIED], 3);
  assert.equal(h.shared.global[G_TX], 2);
  assert.equal(h.io.sent.filter((f) => f[12] === 0x08 && f[13] === 0x00).length, 2);
});

Deno.test("run() waits as soon as a batch empties the ring, without asking it again", async () => {
  const h = setup();
  applied(h, program());
  const reads: string[] = [];
  const next = h.io.next.bind(h.io);
  h.io.next = () => {
    const n = next();
    reads.push(n > 0 ? "frame" : n === 0 ? "empty" : "closed");
    return n;
  };
  h.io.wait = () => {
    reads.push("wait");
    if (reads.filter((r) => r === "wait").length === 2) h.io.close();
    else h.io.push(syn(1002)); // the next frame arrives while the loop waits
  };
  h.io.push(syn(1000));
  h.io.push(syn(1001));
  await h.loop.run();
  assert.deepEqual(reads, [
    ...["frame", "frame", "empty", "wait"],
    ...["frame", "empty", "wait"],
    "closed",
  ]);
  assert.equal(h.shared.global[G_TX], 3);
});

Deno.test("flows and fragments outlive the wrap of the 32-bit clock of the packet path", () => {
  // A Date.now() whose low 32 bits are a second short of wrapping to negative.
  const h = setup(2 ** 40 + 0x7fffffff - 1_000);
  applied(h, program());
  const udp = eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv4({ src: CLIENT, dst: VIP2 })
    .udp({ sport: 5353, dport: 53 }).build();
  h.io.push(udp);
  h.loop.runBatch();
  const rip = h.io.sent[0].subarray(0, 6);
  h.advance(2_000);
  h.io.push(udp);
  h.loop.runBatch();
  assert.deepEqual(h.io.sent[1].subarray(0, 6), rip, "the flow keeps its real server");
  assert.equal(h.shared.global[G_FLOWS], 1);
  h.loop.tick(h.advance(UDP_TIMEOUT_MS - 1));
  assert.equal(h.shared.global[G_FLOWS], 1, "one ms before the timeout");
  h.loop.tick(h.advance(1));
  assert.equal(h.shared.global[G_FLOWS], 0, "expired on time across the wrap");

  const fragments = (id: number) => [
    eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv4({ src: CLIENT, dst: VIP, id, mf: true })
      .tcp({ sport: 40000 + id, dport: 80, flags: TCP_ACK }).payload(new Uint8Array(64)).build(),
    eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv4({
      src: CLIENT,
      dst: VIP,
      id,
      fragOffset: 88,
      proto: 6,
    })
      .payload(new Uint8Array(40)).build(),
  ];
  // Each datagram's first fragment comes a second before the wrap, the later one after it.
  for (const [wait, forwarded] of [[2_000, true], [FRAGMENT_TIMEOUT_MS + 1, false]] as const) {
    const wrap = setup(2 ** 40 + 0x7fffffff - 1_000);
    applied(wrap, program());
    const [first, later] = fragments(1);
    wrap.io.push(first);
    wrap.loop.runBatch();
    wrap.advance(wait);
    wrap.io.push(later);
    wrap.loop.runBatch();
    assert.equal(wrap.io.sent.length, forwarded ? 2 : 1, `later fragment ${wait} ms after`);
    assert.equal(wrap.shared.global[G_DROP_FRAGMENT], forwarded ? 0 : 1);
  }
});
