import assert from "node:assert/strict";
import fc from "fast-check";
import { parseIpv4, parseMac } from "../dataplane/addr.ts";
import { PROTO_TCP, PROTO_UDP } from "../dataplane/packet.ts";
import {
  buildRing,
  SCHED_MH,
  SCHED_RR,
  type SchedState,
  SCHEDULER_NAMES,
  schedulerCode,
} from "../dataplane/scheduler.ts";
import { MAX_BACKENDS, MAX_NEIGHBORS, MAX_SERVICES, type Program } from "../dataplane/tables.ts";
import { type Compiled, Compiler, type RipConditions } from "./compile.ts";
import { type Config, parseConfig } from "./config.ts";
import { CapacityError, RuntimeError } from "./errors.ts";
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

/** Compiles and adopts, as the daemon does for a change it keeps. */
function step(compiler: Compiler, doc: Config, conditions: RipConditions): Compiled {
  const compiled = compiler.compile(doc, conditions);
  compiler.adopt(compiled);
  return compiled;
}

/** The backend id of a real server (`service|ip`). */
function rid(c: Compiled, key: string): number {
  const rip = c.rips.get(key);
  assert.ok(rip, `no real server ${key}`);
  return rip.id;
}

/** A Maglev table as backend ids (the program holds member indexes). */
function table(sched: SchedState): number[] {
  return Array.from(sched.ring, (i) => sched.ringIds[i]);
}

function service(p: Program, id: number) {
  const s = p.services.find((s) => s.id === id);
  assert.ok(s, `no service ${id}`);
  return s;
}

Deno.test("a program carries the interface's MAC, address and MTU and timeouts in ms", () => {
  const compiler = new Compiler(IFACE);
  const doc = parseConfig({ version: 1, timeouts: { tcp: 60, tcpfin: 10, udp: 2.5 }, vips: [] });
  const { program } = step(compiler, doc, ALL_GOOD);
  assert.deepEqual(program.mac, parseMac("02:00:00:00:00:0a"));
  assert.equal(program.ip, parseIpv4("198.18.0.10"));
  assert.equal(program.mtu, 1500);
  assert.deepEqual(program.timeouts, { tcp: 60_000, tcpfin: 10_000, udp: 2_500 });
  assert.equal(program.generation, 1);
  assert.equal(step(compiler, doc, ALL_GOOD).program.generation, 2);
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

Deno.test("every IPVS scheduler name compiles to its scheduler, and --ops to a UDP service's one-packet scheduling", () => {
  const c = new Compiler(IFACE, { ringSize: 1009 }).compile(
    config(
      ...SCHEDULER_NAMES.map((scheduler, i) => web(ABC, { port: 1000 + i, scheduler })),
      { vip: "198.18.0.100", port: 53, proto: "udp", scheduler: "rr", ops: true, rips: ABC },
    ),
    ALL_GOOD,
  );
  SCHEDULER_NAMES.forEach((name, i) => {
    const s = service(c.program, c.services.get(`198.18.0.100:${1000 + i}/tcp`)!);
    assert.equal(s.sched.kind, schedulerCode(name));
    assert.equal(s.sched.ring.length > 0, ["sh", "mh", "dh"].includes(name), name);
    assert.equal(s.sched.locality.length > 0, ["lblc", "lblcr"].includes(name), name);
    assert.equal(s.ops, false, name);
  });
  assert.equal(service(c.program, c.services.get("198.18.0.100:53/udp")!).ops, true);
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
  const first = step(compiler, config(web(ABC)), ALL_GOOD);
  const second = step(
    compiler,
    config(api([{ ip: "198.18.0.21" }]), web([{ ip: "198.18.0.9" }, ...ABC.slice(1)])),
    ALL_GOOD,
  );
  const third = step(compiler, config(web(ABC.slice(1))), ALL_GOOD);
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
  const first = step(compiler, config(web(ABC)), ALL_GOOD);
  assert.deepEqual(first.program.flushBackends, []);
  const second = step(compiler, config(web(ABC.slice(0, 2))), ALL_GOOD);
  assert.deepEqual(second.program.flushBackends, [rid(first, `${WEB}|198.18.0.13`)]);
  assert.deepEqual(second.program.flushServices, []);
  assert.deepEqual(
    step(compiler, config(web(ABC.slice(0, 2))), ALL_GOOD).program.flushBackends,
    [],
  );
});

Deno.test("a real server added as another is deleted never takes the flushed id in that program", () => {
  const compiler = new Compiler(IFACE);
  const first = step(compiler, config(web([{ ip: "198.18.0.11" }])), ALL_GOOD);
  const second = step(compiler, config(web([{ ip: "198.18.0.12" }])), ALL_GOOD);
  const old = rid(first, `${WEB}|198.18.0.11`);
  assert.deepEqual(second.program.flushBackends, [old]);
  assert.notEqual(rid(second, `${WEB}|198.18.0.12`), old);
});

Deno.test("a deleted VIP's service id is in flushServices and its backends in flushBackends", () => {
  const compiler = new Compiler(IFACE);
  const first = step(compiler, config(web(ABC), api([{ ip: "198.18.0.21" }])), ALL_GOOD);
  const second = step(compiler, config(api([{ ip: "198.18.0.21" }])), ALL_GOOD);
  assert.deepEqual(second.program.flushServices, [first.services.get(WEB)]);
  assert.deepEqual(
    [...second.program.flushBackends].sort(),
    ABC.map((r) => rid(first, `${WEB}|${r.ip}`)).sort(),
  );
  assert.equal(second.services.get(API), first.services.get(API));
  const third = step(compiler, config(api([{ ip: "198.18.0.21" }])), ALL_GOOD);
  assert.deepEqual([third.program.flushServices, third.program.flushBackends], [[], []]);
});

Deno.test("a new VIP is announced by gratuitous ARP once", () => {
  const compiler = new Compiler(IFACE);
  const vip = parseIpv4("198.18.0.100");
  const both = config(web(ABC), web(ABC, { port: 443 }));
  assert.deepEqual(step(compiler, both, ALL_GOOD).program.garp, [vip], "one GARP per address");
  assert.deepEqual(step(compiler, both, ALL_GOOD).program.garp, []);
  const more = config(web(ABC), api([]));
  assert.deepEqual(step(compiler, more, ALL_GOOD).program.garp, [parseIpv4("198.18.0.101")]);
  assert.deepEqual(step(compiler, more, ALL_GOOD).program.garp, []);
});

Deno.test("a VIP deleted and added again is announced again", () => {
  const compiler = new Compiler(IFACE);
  step(compiler, config(web(ABC)), ALL_GOOD);
  step(compiler, config(), ALL_GOOD);
  assert.deepEqual(
    step(compiler, config(web(ABC)), ALL_GOOD).program.garp,
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
  step(compiler, config(web(ABC)), ALL_GOOD);
  const dark = compiler.neighbor("198.18.0.12");
  const c = step(compiler, config(web(ABC)), { ...ALL_GOOD, resolved: (n) => n !== dark });
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
    const c = step(compiler, doc, conditions);
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
  const c = step(compiler, doc, ALL_GOOD);
  const sorry = c.rips.get(`${WEB}|fallback`)!;
  assert.equal(c.program.services[0].fallback, sorry.id);
  assert.equal(c.program.neighborIps[sorry.neighbor], parseIpv4("198.18.0.50"));
  assert.ok(!c.program.services[0].sched.ids.includes(sorry.id), "not scheduled with the others");
  const dark = compiler.neighbor("198.18.0.50");
  const unresolved = step(compiler, doc, { ...ALL_GOOD, resolved: (n) => n !== dark });
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
    const first = step(compiler, doc, conditions);
    healthy = false;
    const second = step(compiler, doc, conditions);
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
      const ring = new Set(table(c.program.services[0].sched));
      assert.deepEqual([...ring].sort(), usable.sort());
    }),
    { numRuns: 40 },
  );
});

Deno.test("a drained backend leaves the ring and comes back when enabled", () => {
  const compiler = new Compiler(IFACE);
  const before = step(compiler, config(web(ABC)), ALL_GOOD);
  const drainedId = rid(before, `${WEB}|198.18.0.12`);
  assert.ok(table(before.program.services[0].sched).includes(drainedId));
  const drained = step(
    compiler,
    config(web(ABC.map((r) => ({ ...r, drain: r.ip === "198.18.0.12" })))),
    ALL_GOOD,
  );
  assert.ok(!table(drained.program.services[0].sched).includes(drainedId));
  const enabled = step(compiler, config(web(ABC)), ALL_GOOD);
  assert.deepEqual(
    table(enabled.program.services[0].sched),
    table(before.program.services[0].sched),
  );
});

/** `n` services on VIPs from 198.18.128.0 up, `rips(i)` real servers each, round robin (no ring to build). */
function many(
  n: number,
  rips: (i: number) => string[],
  fallback?: (i: number) => string | null,
): Config {
  return parseConfig({
    version: 1,
    vips: Array.from({ length: n }, (_, i) => ({
      vip: `198.18.${128 + (i >> 8)}.${i & 255}`,
      port: 80,
      scheduler: "rr",
      fallback: fallback?.(i) ?? null,
      rips: rips(i).map((ip) => ({ ip })),
    })),
  });
}

/** The i-th address from 198.19.0.1 up. */
const addr = (i: number) => `198.19.${(i + 1) >> 8}.${(i + 1) & 255}`;

/** Ids, neighbour slots and the program: everything a compile decides. */
function decided(c: Compiled) {
  return { rips: [...c.rips], services: [...c.services], program: c.program };
}

for (
  const [limit, asked, max, over] of [
    ["virtual services", 4097, MAX_SERVICES, () => many(4097, () => [addr(0)])],
    [
      "real server entries",
      32769,
      MAX_BACKENDS,
      // 4096 services of 8 real servers on 8 addresses, and one fallback.
      () => many(4096, () => [0, 1, 2, 3, 4, 5, 6, 7].map(addr), (i) => i === 0 ? addr(8) : null),
    ],
    [
      "distinct real server addresses",
      16392,
      MAX_NEIGHBORS,
      () => many(2049, (i) => [0, 1, 2, 3, 4, 5, 6, 7].map((j) => addr(i * 8 + j))),
    ],
  ] as const
) {
  Deno.test(`a config beyond the ${limit} is refused naming the limit and changes nothing`, () => {
    const before = config(web(ABC), api([{ ip: "198.18.0.21" }]));
    const after = config(web(ABC.slice(1)), api([{ ip: "198.18.0.22" }]));
    const compiler = new Compiler(IFACE);
    const reference = new Compiler(IFACE);
    step(compiler, before, ALL_GOOD);
    step(reference, before, ALL_GOOD);
    const doc = over();
    assert.throws(() => compiler.compile(doc, ALL_GOOD), (e: unknown) => {
      assert.ok(e instanceof CapacityError, `not a CapacityError: ${e}`);
      assert.ok(e instanceof RuntimeError, "exit status 1");
      assert.equal(e.message, `too many ${limit}: ${asked} asked, at most ${max}`);
      assert.deepEqual([e.limit, e.asked, e.max], [limit, asked, max]);
      return true;
    });
    // The compiler is as if the refused config had never been asked for.
    assert.deepEqual(
      decided(step(compiler, after, ALL_GOOD)),
      decided(step(reference, after, ALL_GOOD)),
    );
  });
}

Deno.test("capacity is SPEC §8's at least", () => {
  assert.ok(MAX_SERVICES >= 4096 && MAX_BACKENDS >= 32768 && MAX_NEIGHBORS >= 16384);
});

Deno.test("a config at every capacity compiles, and so does one replacing all of it", () => {
  const compiler = new Compiler(IFACE);
  const full = many(4096, (i) => [0, 1, 2, 3, 4, 5, 6, 7].map((j) => addr((i * 8 + j) % 16384)));
  const c = step(compiler, full, ALL_GOOD);
  assert.equal(c.services.size, MAX_SERVICES);
  assert.equal(c.rips.size, MAX_BACKENDS);
  assert.equal(new Set([...c.rips.values()].map((r) => r.neighbor)).size, MAX_NEIGHBORS);
  // Other VIPs, other addresses: every id is released and taken again in one program.
  const other = parseConfig({
    version: 1,
    vips: full.vips.map((v, i) => ({
      ...v,
      port: 81,
      rips: v.rips.map((_, j) => ({
        ip: `198.18.${64 + (((i * 8 + j) % 16384) >> 8)}.${(i * 8 + j) & 255}`,
      })),
    })),
  });
  const d = step(compiler, other, ALL_GOOD);
  assert.equal(d.services.size, MAX_SERVICES);
  assert.equal(d.program.flushServices.length, MAX_SERVICES);
  assert.equal(new Set(d.program.forgetNeighbors).size, MAX_NEIGHBORS);
  assert.equal(new Set([...d.rips.values()].map((r) => r.id)).size, MAX_BACKENDS);
});

Deno.test("compiling twice without adopting gives the same ids and generation", () => {
  const compiler = new Compiler(IFACE);
  step(compiler, config(web(ABC)), ALL_GOOD);
  const next = config(web(ABC.slice(1)), api([{ ip: "198.18.0.21" }, { ip: "198.18.0.11" }]));
  const a = compiler.compile(next, ALL_GOOD);
  const b = compiler.compile(next, ALL_GOOD);
  assert.deepEqual(decided(a), decided(b));
  assert.equal(a.program.generation, 2);
  assert.deepEqual(a.program.garp, [parseIpv4("198.18.0.101")]);
  assert.equal(compiler.neighbor("198.18.0.21"), -1, "not adopted: no slot yet");
  compiler.adopt(b);
  assert.equal(compiler.neighbor("198.18.0.21"), b.rips.get(`${API}|198.18.0.21`)!.neighbor);
  const c = compiler.compile(next, ALL_GOOD);
  assert.deepEqual([c.program.generation, c.program.garp, c.program.flushBackends], [3, [], []]);
});

Deno.test("a compile made before another was adopted cannot be adopted", () => {
  const compiler = new Compiler(IFACE);
  const a = compiler.compile(config(web(ABC)), ALL_GOOD);
  const b = compiler.compile(config(api(ABC)), ALL_GOOD);
  compiler.adopt(b);
  assert.throws(() => compiler.adopt(a), /stale/);
  assert.throws(() => compiler.adopt(b), /stale/);
  assert.throws(() => new Compiler(IFACE).adopt(b), /not a compile of this compiler/);
});

Deno.test("an address no longer used frees its neighbour slot, reused by the next address and forgotten", () => {
  const compiler = new Compiler(IFACE);
  const first = step(compiler, config(web(ABC)), ALL_GOOD);
  assert.deepEqual(
    [...first.program.forgetNeighbors].sort(),
    [...new Set([...first.rips.values()].map((r) => r.neighbor))].sort(),
    "new slots start unknown",
  );
  const slot = compiler.neighbor("198.18.0.12");
  const second = step(compiler, config(web([ABC[0], ABC[2]])), ALL_GOOD);
  assert.deepEqual(second.program.forgetNeighbors, [slot]);
  assert.equal(second.program.neighborIps[slot], 0);
  assert.equal(compiler.neighbor("198.18.0.12"), -1);
  const third = step(compiler, config(web([ABC[0], ABC[2], { ip: "198.18.0.14" }])), ALL_GOOD);
  assert.equal(third.rips.get(`${WEB}|198.18.0.14`)!.neighbor, slot);
  assert.deepEqual(third.program.forgetNeighbors, [slot]);
  assert.equal(third.program.neighborIps[slot], parseIpv4("198.18.0.14"));
  assert.deepEqual(
    step(compiler, config(web([ABC[0], ABC[2], { ip: "198.18.0.14" }])), ALL_GOOD).program
      .forgetNeighbors,
    [],
  );
});

/** A compiler that counts the Maglev tables it builds. */
function counting(): { compiler: Compiler; builds: () => number } {
  let n = 0;
  const compiler = new Compiler(IFACE, {
    ringSize: 1009,
    buildRing: (members, size) => {
      n++;
      return buildRing(members, size);
    },
  });
  return { compiler, builds: () => n };
}

/** `n` mh VIPs over the same four real servers, each weighing them its own way. */
function weighted(n: number): Config {
  return parseConfig({
    version: 1,
    vips: Array.from({ length: n }, (_, i) => ({
      vip: `198.18.1.${i + 1}`,
      port: 80,
      rips: [0, 1, 2, 3].map((j) => ({
        ip: `198.18.0.${11 + j}`,
        weight: 1 + ((i >> (2 * j)) & 3),
      })),
    })),
  });
}

Deno.test("a health flap builds one Maglev table; every other service keeps its own, the same memory", () => {
  const { compiler, builds } = counting();
  let down = "";
  const conditions = { ...ALL_GOOD, healthy: (svc: string, ip: string) => `${svc}|${ip}` !== down };
  const doc = weighted(50);
  const first = step(compiler, doc, conditions);
  assert.equal(builds(), 50, "one table per distinct weighting");
  assert.equal(
    step(compiler, doc, conditions).program.services[0].sched.ring,
    first.program.services[0].sched.ring,
  );
  assert.equal(builds(), 50, "nothing changed, nothing built");
  down = "198.18.1.8:80/tcp|198.18.0.12";
  const flapped = step(compiler, doc, conditions);
  assert.equal(builds(), 51);
  const changed = flapped.services.get("198.18.1.8:80/tcp")!;
  for (const s of flapped.program.services) {
    const before = service(first.program, s.id).sched;
    if (s.id === changed) {
      assert.notEqual(s.sched.ring, before.ring);
      assert.ok(!table(s.sched).includes(rid(flapped, `198.18.1.8:80/tcp|198.18.0.12`)));
    } else {
      assert.equal(s.sched.ring, before.ring, `service ${s.id}`);
    }
  }
  down = "";
  step(compiler, doc, conditions);
  assert.equal(builds(), 52, "and one to come back");
});

Deno.test("services over the same servers with the same weights share one Maglev table", () => {
  const { compiler, builds } = counting();
  const same = config(web(ABC), api(ABC), web(ABC, { port: 8080, scheduler: "sh" }));
  const c = step(compiler, same, ALL_GOOD);
  assert.equal(builds(), 1);
  const [a, b, d] = c.program.services.map((s) => s.sched);
  assert.ok(a.ring === b.ring && b.ring === d.ring);
  assert.ok(a.ring.buffer instanceof SharedArrayBuffer, "posted to the worker without a copy");
  assert.notDeepEqual(table(a), table(b), "each maps the entries to its own backend ids");
});

Deno.test("a refused config builds no table, and a compile not adopted leaves no table behind", () => {
  const { compiler, builds } = counting();
  step(compiler, weighted(4), ALL_GOOD);
  const before = builds();
  assert.throws(() => compiler.compile(many(4097, () => [addr(0)]), ALL_GOOD), CapacityError);
  assert.equal(builds(), before);
  compiler.compile(weighted(6), ALL_GOOD);
  assert.equal(builds(), before + 2);
  compiler.compile(weighted(6), ALL_GOOD);
  assert.equal(builds(), before + 4, "not adopted: its tables are not the compiler's");
});
