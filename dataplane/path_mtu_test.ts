import assert from "node:assert/strict";
import { formatMac } from "./addr.ts";
import { eth } from "./_frame_builder.ts";
import {
  buildProgram,
  LB_MAC,
  resolve,
  type TestProgram,
  type TestRip,
} from "./_program_builder.ts";
import { Forwarder, VERDICT_DROP, VERDICT_FORWARD } from "./forwarder.ts";
import { PROTO_UDP, TCP_ACK, TCP_SYN } from "./packet.ts";
import { SCHED_MH, SCHED_RR } from "./scheduler.ts";
import {
  createSharedTables,
  G_DROP_ICMP_NO_FLOW,
  G_DROP_NO_SERVICE,
  G_DROP_STANDBY,
  G_PMTU_FORWARDED,
} from "./tables.ts";

const NOW = 1_000_000;
const CLIENT_MAC = "02:00:00:00:00:c1";
const ROUTER4 = "198.18.1.1";
const ROUTER6 = "2001:2:1::1";
const RIPS: TestRip[] = [
  { id: 0, ip: "198.18.0.11", mac: "02:00:00:00:01:11" },
  { id: 1, ip: "198.18.0.12", mac: "02:00:00:00:01:12" },
  { id: 2, ip: "198.18.0.13", mac: "02:00:00:00:01:13" },
  { id: 3, ip: "2001:2::11", mac: "02:00:00:00:06:11" },
  { id: 4, ip: "2001:2::12", mac: "02:00:00:00:06:12" },
  { id: 5, ip: "2001:2::13", mac: "02:00:00:00:06:13" },
];

interface Family {
  name: string;
  vip: string;
  client: (i: number) => string;
  rips: TestRip[];
}
const FAMILIES: Family[] = [
  { name: "IPv4", vip: "198.18.0.100", client: (i) => `203.0.113.${i}`, rips: RIPS.slice(0, 3) },
  { name: "IPv6", vip: "2001:2::100", client: (i) => `2001:2:ff::${i}`, rips: RIPS.slice(3) },
];

function setup(f: Family, sched: number, o: Partial<TestProgram> = {}) {
  const shared = createSharedTables();
  const fwd = new Forwarder(shared, { maxFlows: 4096 });
  const program = buildProgram({
    ...o,
    services: [
      { id: 0, vip: f.vip, port: 80, sched, rips: f.rips },
      { id: 1, vip: f.vip, port: 53, proto: PROTO_UDP, sched, rips: f.rips },
    ],
  });
  for (const rip of f.rips) resolve(shared, program, rip);
  fwd.load(program);
  const tx = new Uint8Array(2048);
  const run = (frame: Uint8Array) => {
    const out = frame.slice();
    const verdict = fwd.process(out, out.length, tx, NOW);
    return { verdict, mac: formatMac(out, 0), out };
  };
  return { shared, fwd, run };
}

const ip = (f: Family, src: string, dst: string, hops = 57) =>
  f.vip.includes(":")
    ? eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv6({ src, dst, hopLimit: hops })
    : eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv4({ src, dst, ttl: hops });
const syn = (f: Family, client: string, port: number) =>
  ip(f, client, f.vip).tcp({ sport: port, dport: 80, flags: TCP_SYN }).build();

/**
 * What a router sends the VIP when the real server's reply (VIP:80 →
 * client:port) is too big for the next link: the reply's headers embedded.
 */
function tooBig(
  f: Family,
  client: string,
  port: number,
  o: { vip?: string; udp?: boolean; cut?: number } = {},
): Uint8Array {
  const reply = ip(f, o.vip ?? f.vip, client, 64);
  const l4 = o.udp
    ? reply.udp({ sport: 53, dport: port }).payload(new Uint8Array(1400))
    : reply.tcp({ sport: 80, dport: port, flags: TCP_ACK }).payload(new Uint8Array(1400));
  const embedded = l4.build({ pad: false }).subarray(14, o.cut ? 14 + o.cut : 14 + 200);
  if (f.vip.includes(":")) {
    return eth({ src: "02:00:00:00:00:fe", dst: LB_MAC }).ipv6({ src: ROUTER6, dst: f.vip })
      .icmp6({ type: 2, body: [0, 0, 0x05, 0x00] }).payload(embedded).build();
  }
  return eth({ src: "02:00:00:00:00:fe", dst: LB_MAC }).ipv4({ src: ROUTER4, dst: f.vip })
    .icmpEcho({ type: 3, code: 4, id: 0, seq: 1280 }).payload(embedded).build();
}

for (const f of FAMILIES) {
  const what = f.name === "IPv4" ? "fragmentation needed" : "packet too big";
  Deno.test(`path MTU, ${f.name}: ${what} goes to the real server of the flow it embeds`, () => {
    const h = setup(f, SCHED_RR);
    const owner = new Map<number, string>();
    for (let i = 1; i <= 12; i++) {
      const r = h.run(syn(f, f.client(i), 40000 + i));
      assert.equal(r.verdict, VERDICT_FORWARD);
      owner.set(i, r.mac);
    }
    assert.equal(new Set(owner.values()).size, 3, "rr spread the flows");
    for (let i = 1; i <= 12; i++) {
      const frame = tooBig(f, f.client(i), 40000 + i);
      const r = h.run(frame);
      assert.equal(r.verdict, VERDICT_FORWARD, `flow ${i}`);
      assert.equal(r.mac, owner.get(i), `flow ${i}`);
      assert.deepEqual(r.out.subarray(12), frame.subarray(12), "only the MACs change");
    }
    assert.equal(h.shared.global[G_PMTU_FORWARDED], 12);
    assert.equal(h.fwd.flows.size, 12, "an ICMP error makes no flow");
  });

  Deno.test(`path MTU, ${f.name}: with mh, a flow the table lost still finds its server`, () => {
    const before = setup(f, SCHED_MH);
    const after = setup(f, SCHED_MH); // a restarted balancer: an empty table
    for (let i = 1; i <= 12; i++) {
      const owner = before.run(syn(f, f.client(i), 50000 + i)).mac;
      const r = after.run(tooBig(f, f.client(i), 50000 + i));
      assert.equal(r.verdict, VERDICT_FORWARD);
      assert.equal(r.mac, owner, `flow ${i}`);
    }
    assert.equal(after.fwd.flows.size, 0);
  });

  Deno.test(`path MTU, ${f.name}: a UDP flow's error follows it too`, () => {
    const h = setup(f, SCHED_RR);
    const owners: string[] = [];
    for (let i = 1; i <= 3; i++) {
      owners.push(h.run(ip(f, f.client(i), f.vip).udp({ sport: 7000, dport: 53 }).build()).mac);
    }
    for (let i = 1; i <= 3; i++) {
      assert.equal(h.run(tooBig(f, f.client(i), 7000, { udp: true })).mac, owners[i - 1]);
    }
  });

  Deno.test(`path MTU, ${f.name}: an error the balancer cannot place is dropped as icmpNoFlow`, () => {
    const h = setup(f, SCHED_RR);
    h.run(syn(f, f.client(1), 40001));
    const other = f.vip.includes(":") ? "2001:2::107" : "198.18.0.107";
    const cases: [string, Uint8Array][] = [
      ["no flow, and rr cannot tell", tooBig(f, f.client(2), 40002)],
      ["the embedded source is not the VIP", tooBig(f, f.client(1), 40001, { vip: other })],
      ["the embedded header is cut before the ports", tooBig(f, f.client(1), 40001, { cut: 20 })],
    ];
    for (const [why, frame] of cases) {
      assert.equal(h.run(frame).verdict, VERDICT_DROP, why);
    }
    assert.equal(h.shared.global[G_DROP_ICMP_NO_FLOW], cases.length);
    assert.equal(h.shared.global[G_PMTU_FORWARDED], 0);
  });

  Deno.test(`path MTU, ${f.name}: a standby drops the error as standby`, () => {
    const h = setup(f, SCHED_MH, { standby: true });
    assert.equal(h.run(tooBig(f, f.client(1), 40001)).verdict, VERDICT_DROP);
    assert.equal(h.shared.global[G_DROP_STANDBY], 1);
  });
}

Deno.test("path MTU: other ICMP errors to a VIP (port unreachable) are still dropped as noService", () => {
  const f = FAMILIES[0];
  const h = setup(f, SCHED_MH);
  const frame = tooBig(f, f.client(1), 40001);
  frame[14 + 20 + 1] = 3; // code 3, port unreachable
  frame[14 + 20 + 2] = frame[14 + 20 + 3] = 0;
  assert.equal(h.run(frame).verdict, VERDICT_DROP);
  assert.equal(h.shared.global[G_DROP_NO_SERVICE], 1);
});
