import assert from "node:assert/strict";
import fc from "fast-check";
import { formatMac, parseIpv4 } from "./addr.ts";
import { eth } from "./_frame_builder.ts";
import {
  buildProgram,
  LB_MAC,
  resolve,
  type TestRip,
  type TestService,
} from "./_program_builder.ts";
import { Forwarder, VERDICT_FORWARD } from "./forwarder.ts";
import { PROTO_UDP, TCP_ACK, TCP_SYN } from "./packet.ts";
import { SCHED_RR, SCHED_SH, SCHEDULER_NAMES, schedulerCode } from "./scheduler.ts";
import { createSharedTables } from "./tables.ts";
import { traceFlow, type TraceQuery } from "./trace.ts";

const NOW = 1_000_000;
const CLIENT = "203.0.113.9";
const VIP = "198.18.0.100";
const RIPS: TestRip[] = [
  { id: 0, ip: "198.18.0.11", mac: "02:00:00:00:01:11" },
  { id: 1, ip: "198.18.0.12", mac: "02:00:00:00:01:12" },
  { id: 2, ip: "198.18.0.13", mac: "02:00:00:00:01:13", weight: 2 },
];
const SORRY: TestRip = { id: 3, ip: "198.18.0.19", mac: "02:00:00:00:01:19" };
const DARK: TestRip = { id: 4, ip: "198.18.0.14", mac: "02:00:00:00:01:14" };

/** A forwarder running `services`, every real server but DARK resolved. */
function setup(services: TestService[], standby = false) {
  const shared = createSharedTables();
  const fwd = new Forwarder(shared, { maxFlows: 4096 });
  const program = buildProgram({ services, standby });
  fwd.load(program);
  for (const s of services) {
    for (const r of [...s.rips, ...(s.fallback ? [s.fallback] : [])]) {
      if (r !== DARK) resolve(shared, program, r);
    }
  }
  return { fwd, shared, program };
}

const query = (o: Partial<TraceQuery> = {}): TraceQuery => ({
  client: parseIpv4(CLIENT),
  port: 40000,
  vip: parseIpv4(VIP),
  vipPort: 80,
  proto: 6,
  ...o,
});

/** Sends one TCP segment; returns the MAC it was forwarded to, or null. */
function send(fwd: Forwarder, sport: number, flags = TCP_SYN, client = CLIENT, now = NOW) {
  const frame = eth({ src: "02:00:00:00:00:c1", dst: LB_MAC })
    .ipv4({ src: client, dst: VIP }).tcp({ sport, dport: 80, flags }).build();
  const verdict = fwd.process(frame, frame.length, new Uint8Array(2048), now);
  return verdict === VERDICT_FORWARD ? formatMac(frame, 0) : null;
}

Deno.test("a new flow is the scheduler's pick, with the Maglev slot; after its SYN it is an existing flow with its state, idle time and expiry", () => {
  const { fwd } = setup([{ id: 0, vip: VIP, port: 80, rips: RIPS }]);
  const before = traceFlow(fwd.tracing, query(), NOW);
  assert.equal(before.verdict, "forward");
  assert.equal(before.reason, "schedule");
  assert.equal(before.scheduler, "mh");
  assert.equal(before.ringSize, 65537);
  assert.ok(before.slot !== null && before.slot >= 0 && before.slot < 65537);
  assert.equal(fwd.flows.size, 0, "the trace made no flow");
  const mac = send(fwd, 40000);
  assert.equal(mac, before.mac, "the SYN went where the trace said");
  send(fwd, 40000, TCP_ACK, CLIENT, NOW + 1000);
  const after = traceFlow(fwd.tracing, query(), NOW + 3500);
  assert.equal(after.reason, "flow");
  assert.equal(after.mac, mac);
  assert.deepEqual(after.flow, { state: "established", idleSeconds: 2.5, expiresInSeconds: 897.5 });
  assert.equal(after.rip, RIPS.find((r) => r.mac === mac)!.ip);
});

Deno.test("trace agrees with the forwarder on where each new flow goes, for each of the 14 schedulers, and changes no scheduler's state", () => {
  for (const sched of SCHEDULER_NAMES.map((name) => schedulerCode(name))) {
    const { fwd } = setup([{ id: 0, vip: VIP, port: 80, sched, rips: RIPS }]);
    fc.assert(
      fc.property(
        fc.integer({ min: 1024, max: 65535 }),
        fc.integer({ min: 1, max: 0xfffffe }),
        (sport, host) => {
          const client = `10.${host >> 16}.${(host >> 8) & 255}.${host & 255}`;
          const q = query({ client: parseIpv4(client), port: sport });
          const said = traceFlow(fwd.tracing, q, NOW);
          const again = traceFlow(fwd.tracing, q, NOW);
          assert.deepEqual(again, said, "tracing twice gives the same answer");
          const mac = send(fwd, sport, TCP_SYN, client);
          if (said.reason === "flow") return; // a client:port drawn twice
          assert.equal(said.reason, "schedule");
          assert.equal(mac, said.mac, `scheduler ${sched}`);
        },
      ),
      { numRuns: 200 },
    );
  }
});

Deno.test("persistence, the fallback, an unresolved MAC, no service, no backend, a standby and mh without a client port each say so", () => {
  const persist = setup([{
    id: 0,
    vip: VIP,
    port: 80,
    rips: RIPS,
    persistMs: 300_000,
    sched: SCHED_RR,
  }]);
  const first = send(persist.fwd, 41000);
  const p = traceFlow(persist.fwd.tracing, query({ port: 42000 }), NOW + 10_000);
  assert.equal(p.reason, "persist");
  assert.equal(p.mac, first);
  assert.deepEqual(p.persist, { expiresInSeconds: 290 });
  assert.equal(send(persist.fwd, 42000, TCP_SYN, CLIENT, NOW + 10_000), first);

  const idle = RIPS.map((r) => ({ ...r, weight: 0 }));
  const sorry = setup([{ id: 0, vip: VIP, port: 80, rips: idle, fallback: SORRY }]);
  const f = traceFlow(sorry.fwd.tracing, query(), NOW);
  assert.deepEqual([f.verdict, f.reason, f.rip], ["forward", "fallback", SORRY.ip]);
  assert.equal(send(sorry.fwd, 40000), SORRY.mac);

  const none = setup([{ id: 0, vip: VIP, port: 80, rips: idle }]);
  assert.deepEqual(
    [
      traceFlow(none.fwd.tracing, query(), NOW).verdict,
      traceFlow(none.fwd.tracing, query(), NOW).reason,
    ],
    ["drop", "noBackend"],
  );

  const dark = setup([{ id: 0, vip: VIP, port: 80, rips: [DARK] }]);
  const d = traceFlow(dark.fwd.tracing, query(), NOW);
  assert.deepEqual([d.verdict, d.reason, d.rip, d.mac], ["drop", "unresolved", DARK.ip, null]);
  assert.equal(send(dark.fwd, 40000), null);

  const web = setup([{ id: 0, vip: VIP, port: 80, rips: RIPS }]);
  assert.equal(traceFlow(web.fwd.tracing, query({ vipPort: 81 }), NOW).reason, "noService");
  assert.equal(traceFlow(web.fwd.tracing, query({ proto: PROTO_UDP }), NOW).reason, "noService");
  assert.equal(traceFlow(web.fwd.tracing, query({ port: -1 }), NOW).reason, "needsPort");
  const sh = setup([{ id: 0, vip: VIP, port: 80, sched: SCHED_SH, rips: RIPS }]);
  const noPort = traceFlow(sh.fwd.tracing, query({ port: -1 }), NOW);
  assert.equal(noPort.reason, "schedule", "sh needs no port");
  assert.equal(noPort.mac, send(sh.fwd, 45678));

  const standby = setup([{ id: 0, vip: VIP, port: 80, rips: RIPS }], true);
  assert.equal(traceFlow(standby.fwd.tracing, query(), NOW).reason, "standby");
});
