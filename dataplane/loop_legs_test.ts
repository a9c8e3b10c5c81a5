import assert from "node:assert/strict";
import { parseMac } from "./addr.ts";
import { eth } from "./_frame_builder.ts";
import { resolve } from "./_program_builder.ts";
import {
  CLIENT,
  CLIENT_MAC,
  LEG0,
  LEG1,
  resolveAll,
  RIP6_FAR,
  RIP_FAR,
  RIP_NEAR,
  twoLegProgram,
  VIP,
  VIP6,
} from "./_two_legs.ts";
import { ForwardingLoop, type LoopReport } from "./loop.ts";
import { TCP_ACK, TCP_SYN } from "./packet.ts";
import { MemoryPacketIo } from "./packet_io.ts";
import { createSharedTables, G_RX, G_TX, M_STOP, type SharedTables } from "./tables.ts";

const START = 5_000_000;
const BROADCAST = "ff:ff:ff:ff:ff:ff";

interface Harness {
  legs: [MemoryPacketIo, MemoryPacketIo];
  shared: SharedTables;
  loop: ForwardingLoop;
  reports: LoopReport[];
  waits: number[];
}

/** A loop on two legs running the two-legged program, every real server resolved. */
function setup(o: { garp?: string[]; garp6?: string[] } = {}): Harness {
  const legs: [MemoryPacketIo, MemoryPacketIo] = [new MemoryPacketIo(), new MemoryPacketIo()];
  const shared = createSharedTables();
  const reports: LoopReport[] = [];
  const waits: number[] = [];
  const loop = new ForwardingLoop(legs, shared, {
    maxFlows: 1024,
    clock: () => START,
    report: (r) => reports.push(r),
    wait: () => {
      // The loop waits: record how many frames it had read, and stop it.
      waits.push(shared.global[G_RX]);
      Atomics.store(shared.mailbox, M_STOP, 1);
    },
  });
  const program = twoLegProgram(o);
  resolveAll(shared, program);
  loop.post({ seq: 1, body: program });
  loop.applyPending();
  return { legs, shared, loop, reports, waits };
}

const sentBy = (io: MemoryPacketIo) => io.sent.splice(0);
const srcMacs = (frames: Uint8Array[]) => frames.map((f) => formatMac6(f.subarray(6, 12)));
const formatMac6 = (b: Uint8Array) =>
  Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(":");
const garp = (mac: string) =>
  eth({ src: mac, dst: BROADCAST }).arp({ op: 1, senderMac: mac, senderIp: VIP, targetIp: VIP })
    .build();
const arpRequest = (leg: { mac: string; ip: string }, target: string) =>
  eth({ src: leg.mac, dst: BROADCAST })
    .arp({ op: 1, senderMac: leg.mac, senderIp: leg.ip, targetIp: target }).build();
const syn = (dstMac: string, dport = 80) =>
  eth({ src: CLIENT_MAC, dst: dstMac }).ipv4({ src: CLIENT, dst: VIP })
    .tcp({ sport: 40000, dport, flags: TCP_SYN }).build();

Deno.test("two legs: each leg's capture lets through the probe answers to its own address", () => {
  const h = setup();
  const [f0, f1] = h.legs.map((io) => io.filter);
  assert.ok(f0.includes(`tcp and dst host ${LEG0.ip}`), f0);
  assert.ok(f1.includes(`tcp and dst host ${LEG1.ip}`), f1);
  for (const f of [f0, f1]) assert.ok(f.includes(`dst host ${VIP}`), f);
  assert.ok(f1.includes(`dst host ${LEG1.ip6}`), f1);
});

Deno.test("two legs: gratuitous ARP and unsolicited NA for a VIP go out on every leg, each from its own MAC", () => {
  const h = setup({ garp: [VIP], garp6: [VIP6] });
  const [s0, s1] = h.legs.map(sentBy);
  assert.deepEqual(s0[0], garp(LEG0.mac));
  assert.deepEqual(s1[0], garp(LEG1.mac));
  assert.deepEqual(srcMacs(s0), [LEG0.mac, LEG0.mac]);
  assert.deepEqual(srcMacs(s1), [LEG1.mac, LEG1.mac]);
  assert.equal(s1[1][12] * 256 + s1[1][13], 0x86dd, "the second is the IPv6 VIP's NA");
  h.loop.post({ seq: 2, body: { type: "garp", vip: 0xc6120c6e } }); // 198.18.12.110
  h.loop.applyPending();
  assert.deepEqual(h.legs.map(sentBy), [[garp(LEG0.mac)], [garp(LEG1.mac)]]);
});

Deno.test("two legs: a frame taken on the clients' leg leaves by the server leg; an ARP answer by the leg asked", () => {
  const h = setup();
  h.legs.forEach(sentBy);
  const frame = syn(LEG0.mac);
  h.legs[0].push(frame);
  h.legs[0].push(arpRequest({ mac: CLIENT_MAC, ip: CLIENT }, VIP));
  h.legs[1].push(syn(LEG1.mac, 8080)); // from a router on the servers' side, to a server on leg 0
  assert.equal(h.loop.runBatch(), 3);
  const [s0, s1] = h.legs.map(sentBy);
  assert.deepEqual(s1, [
    Uint8Array.from([...parseMac(RIP_FAR.mac), ...parseMac(LEG1.mac), ...frame.subarray(12)]),
  ]);
  assert.equal(s0.length, 2);
  assert.deepEqual(srcMacs(s0), [LEG0.mac, LEG0.mac], "the ARP answer, then the forward to leg 0");
  assert.equal(s0[0][12] * 256 + s0[0][13], 0x0806);
  assert.deepEqual(s0[1].subarray(0, 6), parseMac(RIP_NEAR.mac));
  assert.equal(h.shared.global[G_RX], 3);
  assert.equal(h.shared.global[G_TX], 3);
});

Deno.test("two legs: neighbour resolution asks each real server on its own leg, from that leg", () => {
  const h = setup();
  h.legs.forEach(sentBy);
  for (let slot = 0; slot < 8; slot++) h.shared.neighborSeen[slot] = 0;
  h.loop.tick(START + 1_000);
  const [s0, s1] = h.legs.map(sentBy);
  assert.deepEqual(s0, [arpRequest(LEG0, RIP_NEAR.ip)]);
  assert.deepEqual(s1.slice(0, 1), [arpRequest(LEG1, RIP_FAR.ip)]);
  assert.equal(s1.length, 3, "RIP_FAR, the IPv6 one and the UDP one, all behind leg 1");
  assert.deepEqual(srcMacs(s1), [LEG1.mac, LEG1.mac, LEG1.mac]);
});

Deno.test("two legs: a DR-path probe goes out on its real server's leg and its answer there is reported", () => {
  const h = setup();
  h.legs.forEach(sentBy);
  const program = twoLegProgram();
  const slot = program.backendNeighbor[RIP_FAR.id];
  h.loop.post({
    seq: 2,
    body: {
      type: "probe",
      id: 5,
      neighbor: slot,
      vip: 0xc6120c6e,
      port: 80,
      srcPort: 61001,
      seq: 99,
    },
  });
  h.loop.applyPending();
  const [s0, s1] = h.legs.map(sentBy);
  assert.deepEqual(s0, []);
  assert.equal(s1.length, 1);
  const probe = s1[0];
  assert.deepEqual(probe.subarray(0, 6), parseMac(RIP_FAR.mac));
  assert.deepEqual(probe.subarray(6, 12), parseMac(LEG1.mac));
  assert.deepEqual(Array.from(probe.subarray(26, 30)), LEG1.ip.split(".").map(Number));
  h.legs[1].push(
    eth({ src: RIP_FAR.mac, dst: LEG1.mac }).ipv4({ src: VIP, dst: LEG1.ip })
      .tcp({ sport: 80, dport: 61001, flags: TCP_SYN | TCP_ACK, ack: 100 }).build(),
  );
  h.loop.runBatch();
  assert.deepEqual(h.reports, [{ type: "probe", id: 5, answer: "syn-ack" }]);
});

Deno.test("two legs: an IPv6 probe and who-has: the probe on the server leg, who-has on every leg", () => {
  const h = setup();
  h.legs.forEach(sentBy);
  const slot = twoLegProgram().backendNeighbor[RIP6_FAR.id];
  const vip6 = new Int32Array([0x20010002, 0x00120000, 0, 0x110]);
  h.loop.post({
    seq: 2,
    body: { type: "probe", id: 6, neighbor: slot, vip: 0, vip6, port: 80, srcPort: 61002, seq: 1 },
  });
  h.loop.post({ seq: 3, body: { type: "whohas", vip: 0xc6120c6e } });
  h.loop.applyPending();
  const [s0, s1] = h.legs.map(sentBy);
  assert.deepEqual(s0, [arpRequest(LEG0, VIP)]);
  assert.equal(s1.length, 2);
  assert.deepEqual(srcMacs(s1), [LEG1.mac, LEG1.mac]);
  assert.equal(s1[0][12] * 256 + s1[0][13], 0x86dd, "the IPv6 SYN first");
  assert.deepEqual(s1[1], arpRequest(LEG1, VIP));
});

Deno.test("two legs: the loop waits only once no leg had a full batch, on every leg at once", async () => {
  const h = setup();
  for (let i = 0; i < 300; i++) {
    h.legs[1].push(
      eth({ src: CLIENT_MAC, dst: LEG1.mac }).ipv4({ src: CLIENT, dst: VIP })
        .tcp({ sport: 40000, dport: 80, flags: TCP_ACK }).build(),
    );
  }
  h.legs[0].push(syn(LEG0.mac));
  await h.loop.run();
  // 256 from leg 1 and 1 from leg 0, then 44: the first batch was full, so no wait between.
  assert.deepEqual(h.waits, [301]);
  assert.equal(h.legs[1].sent.length, 301);
});

Deno.test("one leg given as a list runs as one leg given alone", () => {
  const io = new MemoryPacketIo();
  const shared = createSharedTables();
  const loop = new ForwardingLoop([io], shared, { maxFlows: 1024, clock: () => START });
  const program = { ...twoLegProgram(), legs: undefined, neighborLeg: undefined };
  resolve(shared, program, RIP_FAR);
  loop.post({ seq: 1, body: program });
  loop.applyPending();
  io.sent.length = 0;
  io.push(syn(LEG0.mac));
  loop.runBatch();
  const forwarded = io.sent.filter((f) => formatMac6(f.subarray(0, 6)) === RIP_FAR.mac);
  assert.equal(forwarded.length, 1);
  assert.deepEqual(forwarded[0].subarray(6, 12), parseMac(LEG0.mac));
  assert.throws(() => new ForwardingLoop([], shared), RangeError);
});
