import assert from "node:assert/strict";
import fc from "fast-check";
import { parseIpv4, parseMac } from "../dataplane/addr.ts";
import { PROTO_TCP, PROTO_UDP } from "../dataplane/packet.ts";
import { SCHED_MH, SCHED_RR } from "../dataplane/scheduler.ts";
import type { Program } from "../dataplane/tables.ts";
import { type Compiled, Compiler, type RipConditions } from "./compile.ts";
import { type Config, parseConfig } from "./config.ts";
import type { IfaceInfo } from "./netinfo.ts";

const IFACE: IfaceInfo = {
  name: "eth0",
  mac: "02:00:00:00:00:0a",
  mtu: 1500,
  addresses: ["198.18.0.10"],
  subnets: [{ base: parseIpv4("198.18.0.0"), prefix: 24 }],
};
const ALL_GOOD: RipConditions = {
  resolved: () => true,
  healthy: () => true,
  adjacent: () => true,
};
const WEB = "198.18.0.100:80/tcp";
const API = "198.18.0.101:443/tcp";

type Rips = { ip: string; weight?: number; drain?: boolean }[];
const web = (rips: Rips, o: Record<string, unknown> = {}) => ({
  vip: "198.18.0.100",
  port: 80,
  rips,
  ...o,
});
const api = (rips: Rips) => ({ vip: "198.18.0.101", port: 443, rips });
const config = (...vips: unknown[]): Config => parseConfig({ version: 1, vips });
const ABC: Rips = [{ ip: "198.18.0.11" }, { ip: "198.18.0.12" }, { ip: "198.18.0.13" }];

/** The backend id of a real server (`service|ip`). */
function rid(c: Compiled, key: string): number {
  const rip = c.rips.get(key);
  assert.ok(rip, `no real server ${key}`);
  return rip.id;
}

function service(p: Program, id: number) {
  const s = p.services.find((s) => s.id === id);
  assert.ok(s, `no service ${id}`);
  return s;
}

Deno.test("a program carries the interface's MAC, address and MTU and timeouts in ms", () => {
  const compiler = new Compiler(IFACE);
  const doc = parseConfig({ version: 1, timeouts: { tcp: 60, tcpfin: 10, udp: 2.5 }, vips: [] });
  const { program } = compiler.compile(doc, ALL_GOOD);
  assert.deepEqual(program.mac, parseMac("02:00:00:00:00:0a"));
  assert.equal(program.ip, parseIpv4("198.18.0.10"));
  assert.equal(program.mtu, 1500);
  assert.deepEqual(program.timeouts, { tcp: 60_000, tcpfin: 10_000, udp: 2_500 });
  assert.equal(program.generation, 1);
  assert.equal(compiler.compile(doc, ALL_GOOD).program.generation, 2);
});

Deno.test("a service is compiled with its address, port, protocol, scheduler and backends", () => {
  const c = new Compiler(IFACE).compile(
    config(
      web(ABC.slice(0, 2)),
      { vip: "198.18.0.100", port: 0, proto: "udp", scheduler: "rr", persist: 30, rips: ABC },
    ),
    ALL_GOOD,
  );
  const p = c.program;
  const tcp = service(p, c.services.get(WEB)!);
  assert.deepEqual([tcp.vip, tcp.port, tcp.proto, tcp.sched.kind, tcp.persistMs, tcp.fallback], [
    parseIpv4("198.18.0.100"),
    80,
    PROTO_TCP,
    SCHED_MH,
    0,
    -1,
  ]);
  const udp = service(p, c.services.get("198.18.0.100:0/udp")!);
  assert.deepEqual([udp.port, udp.proto, udp.sched.kind, udp.persistMs], [
    0,
    PROTO_UDP,
    SCHED_RR,
    30_000,
  ]);
  assert.deepEqual(Array.from(tcp.sched.ids), [
    rid(c, `${WEB}|198.18.0.11`),
    rid(c, `${WEB}|198.18.0.12`),
  ]);
  for (const [key, rip] of c.rips) {
    assert.equal(p.backendNeighbor[rip.id], rip.neighbor, key);
    assert.equal(p.neighborIps[rip.neighbor], parseIpv4(key.split("|")[1]), key);
  }
});

Deno.test("one real server address in two services has two backend ids and one neighbour slot", () => {
  const c = new Compiler(IFACE).compile(config(web(ABC), api(ABC)), ALL_GOOD);
  const a = c.rips.get(`${WEB}|198.18.0.11`)!;
  const b = c.rips.get(`${API}|198.18.0.11`)!;
  assert.notEqual(a.id, b.id);
  assert.equal(a.neighbor, b.neighbor);
  assert.equal(c.services.size, 2);
});

Deno.test("service and backend ids stay stable when other services and servers come and go", () => {
  const compiler = new Compiler(IFACE);
  const first = compiler.compile(config(web(ABC)), ALL_GOOD);
  const second = compiler.compile(
    config(api([{ ip: "198.18.0.21" }]), web([{ ip: "198.18.0.9" }, ...ABC.slice(1)])),
    ALL_GOOD,
  );
  const third = compiler.compile(config(web(ABC.slice(1))), ALL_GOOD);
  for (const c of [second, third]) {
    assert.equal(c.services.get(WEB), first.services.get(WEB));
    for (const ip of ["198.18.0.12", "198.18.0.13"]) {
      assert.equal(rid(c, `${WEB}|${ip}`), rid(first, `${WEB}|${ip}`));
      assert.equal(c.rips.get(`${WEB}|${ip}`)!.neighbor, first.rips.get(`${WEB}|${ip}`)!.neighbor);
    }
  }
});

Deno.test("a deleted real server's id is flushed by the next program only", () => {
  const compiler = new Compiler(IFACE);
  const first = compiler.compile(config(web(ABC)), ALL_GOOD);
  assert.deepEqual(first.program.flushBackends, []);
  const second = compiler.compile(config(web(ABC.slice(0, 2))), ALL_GOOD);
  assert.deepEqual(second.program.flushBackends, [rid(first, `${WEB}|198.18.0.13`)]);
  assert.deepEqual(second.program.flushServices, []);
  assert.deepEqual(
    compiler.compile(config(web(ABC.slice(0, 2))), ALL_GOOD).program.flushBackends,
    [],
  );
});

Deno.test("a real server added as another is deleted never takes the flushed id in that program", () => {
  const compiler = new Compiler(IFACE);
  const first = compiler.compile(config(web([{ ip: "198.18.0.11" }])), ALL_GOOD);
  const second = compiler.compile(config(web([{ ip: "198.18.0.12" }])), ALL_GOOD);
  const old = rid(first, `${WEB}|198.18.0.11`);
  assert.deepEqual(second.program.flushBackends, [old]);
  assert.notEqual(rid(second, `${WEB}|198.18.0.12`), old);
});

Deno.test("a deleted VIP's service id is in flushServices and its backends in flushBackends", () => {
  const compiler = new Compiler(IFACE);
  const first = compiler.compile(config(web(ABC), api([{ ip: "198.18.0.21" }])), ALL_GOOD);
  const second = compiler.compile(config(api([{ ip: "198.18.0.21" }])), ALL_GOOD);
  assert.deepEqual(second.program.flushServices, [first.services.get(WEB)]);
  assert.deepEqual(
    [...second.program.flushBackends].sort(),
    ABC.map((r) => rid(first, `${WEB}|${r.ip}`)).sort(),
  );
  assert.equal(second.services.get(API), first.services.get(API));
  const third = compiler.compile(config(api([{ ip: "198.18.0.21" }])), ALL_GOOD);
  assert.deepEqual([third.program.flushServices, third.program.flushBackends], [[], []]);
});

Deno.test("a new VIP is announced by gratuitous ARP once", () => {
  const compiler = new Compiler(IFACE);
  const vip = parseIpv4("198.18.0.100");
  const both = config(web(ABC), web(ABC, { port: 443 }));
  assert.deepEqual(compiler.compile(both, ALL_GOOD).program.garp, [vip], "one GARP per address");
  assert.deepEqual(compiler.compile(both, ALL_GOOD).program.garp, []);
  const more = config(web(ABC), api([]));
  assert.deepEqual(compiler.compile(more, ALL_GOOD).program.garp, [parseIpv4("198.18.0.101")]);
  assert.deepEqual(compiler.compile(more, ALL_GOOD).program.garp, []);
});

Deno.test("a VIP deleted and added again is announced again", () => {
  const compiler = new Compiler(IFACE);
  compiler.compile(config(web(ABC)), ALL_GOOD);
  compiler.compile(config(), ALL_GOOD);
  assert.deepEqual(
    compiler.compile(config(web(ABC)), ALL_GOOD).program.garp,
    [parseIpv4("198.18.0.100")],
  );
});

Deno.test("a drained real server is in state drain with effective weight 0", () => {
  const c = new Compiler(IFACE).compile(
    config(web([{ ip: "198.18.0.11", weight: 5, drain: true }, { ip: "198.18.0.12", weight: 3 }])),
    ALL_GOOD,
  );
  const drained = c.rips.get(`${WEB}|198.18.0.11`)!;
  const up = c.rips.get(`${WEB}|198.18.0.12`)!;
  assert.deepEqual([drained.state, drained.effectiveWeight], ["drain", 0]);
  assert.deepEqual([up.state, up.effectiveWeight], ["up", 3]);
  assert.deepEqual(Array.from(c.program.services[0].sched.weights), [0, 3]);
  assert.deepEqual(c.program.flushBackends, [], "drain keeps existing flows");
});

Deno.test("a real server with weight 0 is up but takes no new flows", () => {
  const c = new Compiler(IFACE).compile(config(web([{ ip: "198.18.0.11", weight: 0 }])), ALL_GOOD);
  const rip = c.rips.get(`${WEB}|198.18.0.11`)!;
  assert.deepEqual([rip.state, rip.effectiveWeight], ["up", 0]);
});

Deno.test("a real server whose MAC is unresolved is in state unresolved with weight 0", () => {
  const compiler = new Compiler(IFACE);
  const dark = compiler.neighbor("198.18.0.12");
  const c = compiler.compile(config(web(ABC)), { ...ALL_GOOD, resolved: (n) => n !== dark });
  assert.deepEqual(
    ABC.map((r) => c.rips.get(`${WEB}|${r.ip}`)!).map((r) => [r.state, r.effectiveWeight]),
    [["up", 1], ["unresolved", 0], ["up", 1]],
  );
});

Deno.test("a real server off the interface's subnets is in state unresolved", () => {
  const c = new Compiler(IFACE).compile(config(web(ABC)), {
    ...ALL_GOOD,
    adjacent: (ip) => ip !== "198.18.0.13",
  });
  const rip = c.rips.get(`${WEB}|198.18.0.13`)!;
  assert.deepEqual([rip.state, rip.effectiveWeight], ["unresolved", 0]);
});

Deno.test("an unhealthy real server is down, in its own service only", () => {
  const c = new Compiler(IFACE).compile(config(web(ABC), api(ABC)), {
    ...ALL_GOOD,
    healthy: (svc, ip) => !(svc === WEB && ip === "198.18.0.11"),
  });
  const down = c.rips.get(`${WEB}|198.18.0.11`)!;
  assert.deepEqual([down.state, down.effectiveWeight], ["down", 0]);
  assert.equal(c.rips.get(`${API}|198.18.0.11`)!.state, "up");
});

Deno.test("a real server going down is flushed once, on the transition", () => {
  const compiler = new Compiler(IFACE);
  let healthy = true;
  const conditions = {
    ...ALL_GOOD,
    healthy: (_: string, ip: string) => healthy || ip !== "198.18.0.12",
  };
  const doc = config(web(ABC));
  const flushes: number[][] = [];
  let id = -1;
  for (const h of [true, false, false, true, false]) {
    healthy = h;
    const c = compiler.compile(doc, conditions);
    id = rid(c, `${WEB}|198.18.0.12`);
    flushes.push(c.program.flushBackends);
  }
  assert.deepEqual(flushes, [[], [id], [], [], [id]]);
});

Deno.test("a real server down from its first compile has nothing to flush", () => {
  const c = new Compiler(IFACE).compile(config(web(ABC)), { ...ALL_GOOD, healthy: () => false });
  assert.deepEqual(c.program.flushBackends, []);
  assert.ok([...c.rips.values()].every((r) => r.state === "down"));
});

Deno.test("health wins over drain, and an unknown MAC over both", () => {
  const drained: Rips = [{ ip: "198.18.0.11", drain: true }];
  const state = (conditions: RipConditions) =>
    new Compiler(IFACE).compile(config(web(drained)), conditions).rips.get(`${WEB}|198.18.0.11`)!
      .state;
  assert.equal(state(ALL_GOOD), "drain");
  assert.equal(state({ ...ALL_GOOD, healthy: () => false }), "down");
  assert.equal(state({ ...ALL_GOOD, healthy: () => false, resolved: () => false }), "unresolved");
});

Deno.test("a usable fallback is the service's fallback backend; an unusable one is not", () => {
  const doc = config(web(ABC, { fallback: "198.18.0.50" }));
  const compiler = new Compiler(IFACE);
  const c = compiler.compile(doc, ALL_GOOD);
  const sorry = c.rips.get(`${WEB}|fallback`)!;
  assert.equal(c.program.services[0].fallback, sorry.id);
  assert.equal(c.program.neighborIps[sorry.neighbor], parseIpv4("198.18.0.50"));
  assert.ok(!c.program.services[0].sched.ids.includes(sorry.id), "not scheduled with the others");
  const dark = compiler.neighbor("198.18.0.50");
  const unresolved = compiler.compile(doc, { ...ALL_GOOD, resolved: (n) => n !== dark });
  assert.equal(unresolved.program.services[0].fallback, -1);
});

Deno.test({
  name: "a fallback server going down has its flows flushed like any real server",

  fn: () => {
    const compiler = new Compiler(IFACE);
    let healthy = true;
    const conditions = {
      ...ALL_GOOD,
      healthy: (_: string, ip: string) => healthy || ip !== "198.18.0.50",
    };
    const doc = config(web(ABC, { fallback: "198.18.0.50" }));
    const first = compiler.compile(doc, conditions);
    healthy = false;
    const second = compiler.compile(doc, conditions);
    assert.equal(second.rips.get(`${WEB}|fallback`)!.state, "down");
    assert.deepEqual(second.program.flushBackends, [rid(first, `${WEB}|fallback`)]);
  },
});

Deno.test("the mh ring holds exactly the backends that take new flows", () => {
  const flags = fc.array(
    fc.record({ drain: fc.boolean(), weight: fc.integer({ min: 0, max: 4 }) }),
    {
      minLength: 1,
      maxLength: 5,
    },
  );
  fc.assert(
    fc.property(flags, (rips) => {
      const doc = config(web(rips.map((r, i) => ({ ip: `198.18.0.${11 + i}`, ...r }))));
      const c = new Compiler(IFACE).compile(doc, ALL_GOOD);
      const usable = rips.flatMap((r, i) =>
        !r.drain && r.weight > 0 ? [rid(c, `${WEB}|198.18.0.${11 + i}`)] : []
      );
      const ring = new Set(c.program.services[0].sched.ring);
      assert.deepEqual(
        [...ring].sort(),
        usable.length > 0 ? usable.sort() : [-1],
      );
    }),
    { numRuns: 40 },
  );
});

Deno.test("a drained backend leaves the ring and comes back when enabled", () => {
  const compiler = new Compiler(IFACE);
  const before = compiler.compile(config(web(ABC)), ALL_GOOD);
  const drainedId = rid(before, `${WEB}|198.18.0.12`);
  assert.ok(before.program.services[0].sched.ring.includes(drainedId));
  const drained = compiler.compile(
    config(web(ABC.map((r) => ({ ...r, drain: r.ip === "198.18.0.12" })))),
    ALL_GOOD,
  );
  assert.ok(!drained.program.services[0].sched.ring.includes(drainedId));
  const enabled = compiler.compile(config(web(ABC)), ALL_GOOD);
  assert.deepEqual(enabled.program.services[0].sched.ring, before.program.services[0].sched.ring);
});
