import assert from "node:assert/strict";
import fc from "fast-check";
import { hashAddr, hashFlow } from "./hash.ts";
import { buildMaglev, type MaglevBackend } from "./maglev.ts";
import {
  buildRing,
  newSchedState,
  pick,
  ringMembers,
  SCHED_DH,
  SCHED_FO,
  SCHED_LC,
  SCHED_MH,
  SCHED_NQ,
  SCHED_OVF,
  SCHED_RR,
  SCHED_SED,
  SCHED_SH,
  SCHED_TWOS,
  SCHED_WLC,
  SCHED_WRR,
  SCHEDULER_NAMES,
  schedulerCode,
} from "./scheduler.ts";

const KINDS = SCHEDULER_NAMES.map((_, code) => code);
const VIP = 0xc6120064;

function backends(weights: number[]): MaglevBackend[] {
  return weights.map((weight, i) => ({ id: 10 + i, key: `198.18.0.${10 + i}:80`, weight }));
}

/** Picks `n` times for distinct flows from distinct clients; counts per backend id, and -1 at [0]. */
function tally(kind: number, weights: number[], n: number, bumpActive = false): number[] {
  const s = newSchedState(kind, backends(weights), 1009);
  const active = new Int32Array(64);
  const inactive = new Int32Array(64);
  const counts = new Array<number>(64).fill(0);
  for (let i = 0; i < n; i++) {
    const client = 0x0a000000 + i * 7919;
    const id = pick(s, hashFlow(client, 1024 + i, VIP, 80, 6), hashAddr(client), active, inactive);
    counts[id < 0 ? 0 : id]++;
    if (bumpActive && id >= 0) active[id]++;
  }
  return counts;
}

Deno.test("schedulerCode maps each IPVS name to its code and rejects others", () => {
  SCHEDULER_NAMES.forEach((name, code) => assert.equal(schedulerCode(name), code));
  assert.equal(schedulerCode("mh"), SCHED_MH);
  assert.throws(() => schedulerCode("fifo" as "rr"), RangeError);
  assert.deepEqual(SCHEDULER_NAMES.slice(6), [
    "dh",
    "lblc",
    "lblcr",
    "sed",
    "nq",
    "fo",
    "ovf",
    "twos",
  ]);
  assert.throws(() => newSchedState(SCHEDULER_NAMES.length, backends([1])), RangeError);
  assert.throws(() => newSchedState(SCHED_RR, backends([-1])), RangeError);
});

Deno.test("rr spreads new flows evenly and skips weight 0", () => {
  const c = tally(SCHED_RR, [1, 1, 0, 5], 3000);
  assert.deepEqual([c[10], c[11], c[12], c[13]], [1000, 1000, 0, 1000]);
});

Deno.test("wrr gives weights 3:1 a 3:1 share, interleaved smoothly", () => {
  const s = newSchedState(SCHED_WRR, backends([3, 1]));
  const none = new Int32Array(64);
  const seq = Array.from({ length: 400 }, () => pick(s, 0, 0, none, none));
  assert.equal(seq.filter((id) => id === 10).length, 300);
  assert.equal(seq.filter((id) => id === 11).length, 100);
  for (let i = 0; i + 4 <= seq.length; i += 4) {
    assert.equal(seq.slice(i, i + 4).filter((id) => id === 11).length, 1, `window at ${i}`);
  }
});

Deno.test("lc picks the least loaded backend (active * 256 + inactive)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(1000), fc.nat(100_000), fc.nat(3)), { minLength: 1, maxLength: 8 }),
      (rows) => {
        const s = newSchedState(SCHED_LC, backends(rows.map(([, , w]) => w)));
        const active = new Int32Array(64);
        const inactive = new Int32Array(64);
        rows.forEach(([a, b], i) => {
          active[10 + i] = a;
          inactive[10 + i] = b;
        });
        const load = (id: number) => active[id] * 256 + inactive[id];
        const usable = rows.map((_, i) => 10 + i).filter((_, i) => rows[i][2] > 0);
        const id = pick(s, 0, 0, active, inactive);
        if (usable.length === 0) return assert.equal(id, -1);
        assert.ok(usable.includes(id));
        for (const other of usable) assert.ok(load(id) <= load(other));
      },
    ),
  );
});

Deno.test("wlc honours weight: connections end up in proportion 1:3", () => {
  const c = tally(SCHED_WLC, [1, 3], 4000, true);
  assert.equal(c[10], 1000);
  assert.equal(c[11], 3000);
  const s = newSchedState(SCHED_WLC, backends([1, 4]));
  const active = new Int32Array(64);
  active[10] = 10;
  active[11] = 30; // 30/4 < 10/1
  assert.equal(pick(s, 0, 0, active, new Int32Array(64)), 11);
});

Deno.test("weight 0 is never picked by any scheduler", () => {
  for (const kind of KINDS) {
    const c = tally(kind, [2, 0, 1], 5000, true);
    assert.equal(c[11], 0, `kind ${kind}`);
    // ovf has no server left once every one holds more active connections than its weight.
    if (kind !== SCHED_OVF) assert.equal(c[10] + c[12], 5000, `kind ${kind}`);
  }
});

Deno.test("sh sends one client address to the same backend for every flow", () => {
  const s = newSchedState(SCHED_SH, backends([1, 1, 1, 1]));
  const none = new Int32Array(64);
  const seen = new Set<number>();
  for (let c = 0; c < 200; c++) {
    const client = 0x0a000000 + c;
    const first = pick(s, 0, hashAddr(client), none, none);
    seen.add(first);
    for (let port = 1024; port < 1064; port++) {
      assert.equal(
        pick(s, hashFlow(client, port, VIP, 80, 6), hashAddr(client), none, none),
        first,
      );
    }
  }
  assert.equal(seen.size, 4);
});

Deno.test("mh sends one 5-tuple to the same backend and spreads many tuples evenly", () => {
  const s = newSchedState(SCHED_MH, backends([1, 1, 1, 1, 1]));
  const again = newSchedState(SCHED_MH, backends([1, 1, 1, 1, 1]).reverse());
  const none = new Int32Array(64);
  const counts = new Array<number>(64).fill(0);
  const n = 50_000;
  for (let i = 0; i < n; i++) {
    const client = 0x0a000000 + (i >>> 4);
    const h = hashFlow(client, 30000 + (i & 15), VIP, 80, 6);
    const id = pick(s, h, hashAddr(client), none, none);
    assert.equal(pick(s, h, 0, none, none), id);
    assert.equal(pick(again, h, 0, none, none), id, "a rebuilt table (e.g. after restart) agrees");
    counts[id]++;
  }
  for (let id = 10; id < 15; id++) {
    assert.ok(Math.abs(counts[id] - n / 5) < n / 5 * 0.05, `${counts}`);
  }
});

Deno.test("every scheduler returns -1 when no backend is usable", () => {
  const none = new Int32Array(64);
  for (const kind of KINDS) {
    assert.equal(pick(newSchedState(kind, backends([0, 0]), 1009), 1, 2, none, none), -1);
    assert.equal(pick(newSchedState(kind, [], 1009), 1, 2, none, none), -1);
  }
});

Deno.test("a Maglev table of member indexes picks what the table of ids picks, from shared memory", () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 8 }), (weights) => {
      const list = backends(weights);
      const s = newSchedState(SCHED_MH, list, 1009);
      const ids = buildMaglev(list, 1009);
      if (weights.every((w) => w === 0)) {
        assert.equal(s.ring.length, 0);
        return;
      }
      assert.ok(s.ring.buffer instanceof SharedArrayBuffer);
      assert.deepEqual(Array.from(s.ring, (i) => s.ringIds[i]), Array.from(ids));
    }),
    { numRuns: 60 },
  );
});

Deno.test("the table depends on members' keys and weights, not their ids or order", () => {
  const a = backends([1, 2, 3]);
  const b = a.map((m, i) => ({ ...m, id: 100 + i })).reverse();
  assert.deepEqual(ringMembers(b).map((m) => m.key), ringMembers(a).map((m) => m.key));
  assert.deepEqual(buildRing(ringMembers(b), 1009), buildRing(ringMembers(a), 1009));
});

Deno.test("newSchedState takes its table from the ring source it is given", () => {
  const given = new Uint16Array(new SharedArrayBuffer(1009 * 2));
  const asked: string[] = [];
  const s = newSchedState(SCHED_SH, backends([1, 0, 1]), 1009, (members, size) => {
    asked.push(`${members.map((m) => m.key).join(",")}/${size}`);
    return given;
  });
  assert.equal(s.ring, given);
  assert.deepEqual(asked, ["198.18.0.10:80,198.18.0.12:80/1009"]);
  assert.deepEqual(Array.from(s.ringIds), [10, 12]);
  newSchedState(SCHED_WLC, backends([1]), 1009, () => {
    throw new Error("wlc has no table");
  });
});

// Reference models of IPVS's schedulers, written from ipvsadm(8) and the
// kernel's ip_vs_*.c without the implementation's tricks: plain division
// (IEEE division rounds exactly, so equal ratios compare equal), list order
// for ties, no typed arrays.

/** A real server as the models see it, in the VIP's order. */
interface Server {
  id: number;
  weight: number;
  active: number;
  inactive: number;
}

/** The first server with the least `cost` among those with weight > 0. */
function firstMin(servers: Server[], cost: (s: Server) => number): Server | undefined {
  let best: Server | undefined;
  for (const s of servers) if (s.weight > 0 && (!best || cost(s) < cost(best))) best = s;
  return best;
}

/** sed: the least (active + 1) / weight. nq: the first idle server, else as sed. */
function modelSed(servers: Server[], neverQueue: boolean): number {
  const idle = servers.find((s) => s.weight > 0 && s.active === 0);
  if (neverQueue && idle) return idle.id;
  return firstMin(servers, (s) => (s.active + 1) / s.weight)?.id ?? -1;
}

/** fo: the first server of the highest weight. ovf: the same among those with active <= weight. */
function modelFo(servers: Server[], overflow: boolean): number {
  const open = servers.filter((s) => s.weight > 0 && (!overflow || s.active <= s.weight));
  const top = Math.max(0, ...open.map((s) => s.weight));
  return open.find((s) => s.weight === top)?.id ?? -1;
}

/** The unsigned xorshift32 sequence from `seed`. */
function xorshift(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    return x;
  };
}

/**
 * twos (ip_vs_twos.c): two draws r in [0, total weight], each the first
 * server whose running sum of weights reaches r; the second wins only with
 * a strictly lower (active * 256 + inactive) / weight.
 */
function modelTwos(servers: Server[], random: () => number): number {
  const live = servers.filter((s) => s.weight > 0);
  if (live.length === 0) return -1;
  const total = live.reduce((sum, s) => sum + s.weight, 0);
  const draw = (r: number) => {
    let sum = 0;
    return live.find((s) => (sum += s.weight) >= r)!;
  };
  const first = draw(random() % (total + 1));
  const second = draw(random() % (total + 1));
  const load = (s: Server) => (s.active * 256 + s.inactive) / s.weight;
  return load(second) < load(first) ? second.id : first.id;
}

/** Servers with ids 10… and the given weights, and a step's connection counts. */
const serverRows = fc.array(fc.tuple(fc.nat(12), fc.nat(12), fc.nat(12)), {
  minLength: 0,
  maxLength: 7,
});
/** Connection counts per server; small ones often, so ties and idle servers come up. */
const countRows = (n: number) =>
  fc.array(
    fc.array(fc.tuple(fc.oneof(fc.nat(2), fc.nat(20)), fc.oneof(fc.constant(0), fc.nat(300))), {
      minLength: n,
      maxLength: n,
    }),
    { minLength: 1, maxLength: 12 },
  );

/**
 * Runs `kind` over steps of connection counts and checks each pick against
 * `model` (given the servers and, for twos, the random sequence).
 */
function agreesWithModel(
  kind: number,
  model: (servers: Server[], random: () => number) => number,
): void {
  fc.assert(
    fc.property(
      serverRows.chain((rows) => fc.tuple(fc.constant(rows), countRows(rows.length))),
      ([rows, steps]) => {
        const s = newSchedState(kind, backends(rows.map(([w]) => w)), 1009);
        const random = xorshift(s.scratch[0]);
        const active = new Int32Array(64);
        const inactive = new Int32Array(64);
        for (const counts of steps) {
          const servers = rows.map(([weight], i) => ({
            id: 10 + i,
            weight,
            active: counts[i][0],
            inactive: counts[i][1],
          }));
          for (const x of servers) {
            active[x.id] = x.active;
            inactive[x.id] = x.inactive;
          }
          assert.equal(pick(s, 0, 0, active, inactive), model(servers, random));
        }
      },
    ),
    { numRuns: 300 },
  );
}

Deno.test("sed picks as the model: the least (active + 1) / weight", () => {
  agreesWithModel(SCHED_SED, (servers) => modelSed(servers, false));
});

Deno.test("nq picks as the model: an idle server first, else as sed", () => {
  agreesWithModel(SCHED_NQ, (servers) => modelSed(servers, true));
});

Deno.test("fo picks as the model: the highest weight, whatever the load", () => {
  agreesWithModel(SCHED_FO, (servers) => modelFo(servers, false));
});

Deno.test("ovf picks as the model: the highest weight until active exceeds it", () => {
  agreesWithModel(SCHED_OVF, (servers) => modelFo(servers, true));
});

Deno.test("twos picks as the model: two weighted draws, the less loaded wins", () => {
  agreesWithModel(SCHED_TWOS, modelTwos);
});

Deno.test("dh picks as the model: the Maglev table at the destination's hash", () => {
  fc.assert(
    fc.property(
      fc.array(fc.nat(4), { maxLength: 7 }),
      fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 20 }),
      (weights, vips) => {
        const list = backends(weights);
        const s = newSchedState(SCHED_DH, list, 1009);
        const table = buildMaglev(list, 1009);
        const none = new Int32Array(64);
        for (const vip of vips) {
          const h = hashAddr(vip);
          assert.equal(pick(s, 0, 0, none, none, h), table[h % 1009]);
        }
      },
    ),
  );
});

Deno.test("dh sends every flow to one VIP to the same server, and spreads VIPs evenly", () => {
  const s = newSchedState(SCHED_DH, backends([1, 1, 1, 1]));
  const none = new Int32Array(64);
  const counts = new Array<number>(64).fill(0);
  const vips = 8000;
  for (let v = 0; v < vips; v++) {
    const vip = 0xc6120000 + v;
    const id = pick(s, 0, 0, none, none, hashAddr(vip));
    for (let c = 0; c < 8; c++) {
      const client = 0x0a000000 + c * 7919;
      const flow = hashFlow(client, 1024 + c, vip, 80, 6);
      assert.equal(pick(s, flow, hashAddr(client), none, none, hashAddr(vip)), id);
    }
    counts[id]++;
  }
  for (let id = 10; id < 14; id++) {
    assert.ok(Math.abs(counts[id] - vips / 4) < vips / 4 * 0.1, `${counts.slice(10, 14)}`);
  }
});

/** Runs `n` flows that stay open: each pick adds an active connection to its server. */
function accumulate(kind: number, weights: number[], n: number): number[] {
  const s = newSchedState(kind, backends(weights), 1009);
  const active = new Int32Array(64);
  const none = new Int32Array(64);
  const counts = new Array<number>(weights.length).fill(0);
  for (let i = 0; i < n; i++) {
    const id = pick(s, 0, 0, active, none);
    if (id < 0) break;
    active[id]++;
    counts[id - 10]++;
  }
  return counts;
}

Deno.test("sed and nq share open connections in proportion to weight", () => {
  assert.deepEqual(accumulate(SCHED_SED, [1, 3, 4], 8000), [1000, 3000, 4000]);
  assert.deepEqual(accumulate(SCHED_NQ, [1, 3, 4], 8000), [1000, 3000, 4000]);
});

Deno.test("nq gives each idle server a connection before any server gets a second", () => {
  assert.deepEqual(accumulate(SCHED_NQ, [1, 9, 1, 1], 4), [1, 1, 1, 1]);
  // sed sends the first four to the weight-9 server: (0 + 1) / 9 < (0 + 1) / 1 until it holds 9.
  assert.deepEqual(accumulate(SCHED_SED, [1, 9, 1, 1], 4), [0, 4, 0, 0]);
});

Deno.test("fo sends everything to the highest weight and fails over when it leaves", () => {
  assert.deepEqual(accumulate(SCHED_FO, [2, 5, 3], 1000), [0, 1000, 0]);
  assert.deepEqual(accumulate(SCHED_FO, [2, 0, 3], 1000), [0, 0, 1000]);
});

Deno.test("ovf fills the highest weight to its weight, then overflows down the weights", () => {
  // Each server takes weight + 1 connections (it is skipped once active > weight), then none is left.
  assert.deepEqual(accumulate(SCHED_OVF, [2, 5, 3], 1000), [3, 6, 4]);
});

Deno.test("twos spreads new flows in proportion to weight when load is even", () => {
  const s = newSchedState(SCHED_TWOS, backends([1, 2, 5]));
  const none = new Int32Array(64);
  const counts = [0, 0, 0];
  const n = 80_000;
  for (let i = 0; i < n; i++) counts[pick(s, 0, 0, none, none) - 10]++;
  // Draws in [0, total] give the first server one unit more than its weight: 2/9, 2/9, 5/9.
  [2 / 9, 2 / 9, 5 / 9].forEach((share, i) => {
    assert.ok(Math.abs(counts[i] / n - share) < 0.01, `${counts}`);
  });
});

Deno.test("twos with open connections keeps load per weight close", () => {
  const c = accumulate(SCHED_TWOS, [1, 2, 5], 8000);
  [1, 2, 5].forEach((w, i) => {
    assert.ok(Math.abs(c[i] / 8000 - w / 8) < 0.02, `${c}`);
  });
});
