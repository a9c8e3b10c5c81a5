import assert from "node:assert/strict";
import { parseMac } from "./addr.ts";
import { parseIpv6 } from "./addr6.ts";
import { eth } from "./_frame_builder.ts";
import { buildProgram, LB_IP6, LB_MAC, resolve, type TestRip, words6 } from "./_program_builder.ts";
import { ForwardingLoop, type LoopReport } from "./loop.ts";
import { TCP_SYN } from "./packet.ts";
import { MemoryPacketIo } from "./packet_io.ts";
import { createSharedTables, type Program, type SharedTables } from "./tables.ts";

const START = 5_000_000;
const CLIENT_MAC = "02:00:00:00:00:c1";
const VIP = "2001:2::100";
const VIP2 = "2001:2::101";
const RIP_A: TestRip = { id: 0, ip: "2001:2::11", mac: "02:00:00:00:01:11" };
const RIP_B: TestRip = { id: 1, ip: "2001:2::12", mac: "02:00:00:00:01:12" };
const RIP4: TestRip = { id: 2, ip: "198.18.0.11", mac: "02:00:00:00:02:11" };

const program = (o: { generation?: number; garp6?: string[]; standby?: boolean } = {}): Program =>
  buildProgram({
    ...o,
    services: [
      { id: 0, vip: VIP, port: 80, rips: [RIP_A, RIP_B] },
      { id: 1, vip: VIP2, port: 80, rips: [RIP_A] },
      { id: 2, vip: "198.18.0.100", port: 80, rips: [RIP4] },
    ],
  });

interface Harness {
  io: MemoryPacketIo;
  shared: SharedTables;
  loop: ForwardingLoop;
  reports: LoopReport[];
}

function setup(): Harness {
  const io = new MemoryPacketIo();
  const shared = createSharedTables();
  const reports: LoopReport[] = [];
  const loop = new ForwardingLoop(io, shared, {
    maxFlows: 1024,
    clock: () => START,
    report: (r) => reports.push(r),
  });
  return { io, shared, loop, reports };
}

const addr = (a: string) => Array.from(parseIpv6(a));
const mac = (m: string) => Array.from(parseMac(m));
const unsolicited = (vip: string) =>
  eth({ src: LB_MAC, dst: "33:33:00:00:00:01" }).ipv6({ src: vip, dst: "ff02::1", hopLimit: 255 })
    .icmp6({ type: 136, body: [0x20, 0, 0, 0, ...addr(vip), 2, 1, ...mac(LB_MAC)] }).build();
const solicitation = (target: string) => {
  const b = parseIpv6(target);
  const group = `ff02::1:ff${b[13].toString(16).padStart(2, "0")}:${
    ((b[14] << 8) | b[15]).toString(16)
  }`;
  const dstMac = `33:33:ff:${
    [13, 14, 15].map((i) => b[i].toString(16).padStart(2, "0")).join(":")
  }`;
  return eth({ src: LB_MAC, dst: dstMac }).ipv6({ src: LB_IP6, dst: group, hopLimit: 255 })
    .icmp6({ type: 135, body: [0, 0, 0, 0, ...addr(target), 1, 1, ...mac(LB_MAC)] }).build();
};

Deno.test("posting a program announces its IPv6 VIPs by unsolicited NA and lets NDP and IPv6 through", () => {
  const h = setup();
  h.loop.post({ seq: 1, body: program({ garp6: [VIP, VIP2] }) });
  h.loop.applyPending();
  assert.deepEqual(h.io.sent, [unsolicited(VIP), unsolicited(VIP2)]);
  assert.ok(h.io.filter.includes("(icmp6 and (ip6[40] == 135 or ip6[40] == 136))"), h.io.filter);
  assert.ok(h.io.filter.includes(`(ip6 and (dst host ${VIP} or dst host ${VIP2}))`), h.io.filter);
  assert.ok(h.io.filter.includes("dst host 198.18.0.100"), h.io.filter);
});

Deno.test("a program of IPv4 only keeps NDP out of the capture", () => {
  const h = setup();
  h.loop.post({
    seq: 1,
    body: buildProgram({ services: [{ id: 0, vip: "198.18.0.100", port: 80, rips: [RIP4] }] }),
  });
  h.loop.applyPending();
  assert.ok(!h.io.filter.includes("ip6"), h.io.filter);
});

Deno.test("a garp6 command announces a VIP; a standby or routed node announces nothing", () => {
  const h = setup();
  h.loop.post({ seq: 1, body: program() });
  h.loop.post({ seq: 2, body: { type: "garp6", vip: words6(VIP) } });
  h.loop.applyPending();
  assert.deepEqual(h.io.sent, [unsolicited(VIP)]);
  h.io.sent.length = 0;
  for (const role of [{ standby: true }, { routed: true }]) {
    h.loop.post({ seq: 3, body: { ...program({ garp6: [VIP] }), ...role } });
    h.loop.post({ seq: 4, body: { type: "garp6", vip: words6(VIP) } });
    h.loop.applyPending();
    assert.deepEqual(h.io.sent, [], JSON.stringify(role));
  }
});

Deno.test("tick resolves IPv6 real servers by Neighbor Solicitation, IPv4 ones by ARP, fresh ones not", () => {
  const h = setup();
  const p = program();
  h.loop.post({ seq: 1, body: p });
  h.loop.applyPending();
  resolve(h.shared, p, RIP_B);
  h.loop.tick(START);
  assert.equal(h.io.sent.length, 2);
  assert.deepEqual(h.io.sent[0], solicitation(RIP_A.ip));
  assert.deepEqual([h.io.sent[1][12], h.io.sent[1][13]], [0x08, 0x06], "ARP for the IPv4 one");
});

Deno.test("an NA answering the solicitation makes the real server's traffic flow", () => {
  const h = setup();
  h.loop.post({ seq: 1, body: program() });
  h.loop.applyPending();
  h.io.sent.length = 0;
  const syn = eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv6({ src: "2001:2:ff::9", dst: VIP2 })
    .tcp({ sport: 1, dport: 80, flags: TCP_SYN }).build();
  h.io.push(syn);
  const toA = () =>
    h.io.sent.filter((f) => f.subarray(0, 6).every((b, i) => b === parseMac(RIP_A.mac)[i]));
  h.loop.runBatch();
  assert.equal(toA().length, 0, "MAC unknown: nothing forwarded");
  h.io.push(
    eth({ src: RIP_A.mac, dst: LB_MAC }).ipv6({ src: RIP_A.ip, dst: LB_IP6, hopLimit: 255 })
      .icmp6({ type: 136, body: [0x60, 0, 0, 0, ...addr(RIP_A.ip), 2, 1, ...mac(RIP_A.mac)] })
      .build(),
  );
  h.io.push(syn);
  h.loop.runBatch();
  assert.equal(toA().length, 1);
});

Deno.test("whohas6 solicits a VIP and another host's advertisement of it comes back as a claim", () => {
  const h = setup();
  h.loop.post({ seq: 1, body: program() });
  h.loop.post({ seq: 2, body: { type: "whohas6", vip: words6(VIP) } });
  h.loop.applyPending();
  assert.deepEqual(h.io.sent, [solicitation(VIP)]);
  h.io.push(
    eth({ src: "02:00:00:00:00:77", dst: LB_MAC }).ipv6({ src: VIP, dst: LB_IP6, hopLimit: 255 })
      .icmp6({ type: 136, body: [0x60, 0, 0, 0, ...addr(VIP), 2, 1, ...mac("02:00:00:00:00:77")] })
      .build(),
  );
  h.loop.runBatch();
  assert.deepEqual(h.reports, [{ type: "vip-claim", vip: VIP, mac: "02:00:00:00:00:77" }]);
});
