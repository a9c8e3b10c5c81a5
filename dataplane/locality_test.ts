import assert from "node:assert/strict";
import fc from "fast-check";
import { LOCALITY_SLOTS } from "./locality.ts";
import type { MaglevBackend } from "./maglev.ts";
import {
  inheritSchedState,
  newSchedState,
  pick,
  SCHED_LBLC,
  SCHED_LBLCR,
  type SchedState,
} from "./scheduler.ts";

const EXPIRE = 1000;
const T0 = 5_000_000;

// A reference model of IPVS's lblc and lblcr, written from ipvsadm(8) and the
// pseudo code atop the kernel's ip_vs_lblc.c and ip_vs_lblcr.c: a Map per
// destination, servers by id, plain division for load.

interface Server {
  id: number;
  weight: number;
  active: number;
  inactive: number;
}

const load = (s: Server) => (s.active * 256 + s.inactive) / s.weight;

/** Weighted least connections over the servers with weight > 0, the first on a tie. */
function leastConn(servers: Server[]): Server | undefined {
  let best: Server | undefined;
  for (const s of servers) if (s.weight > 0 && (!best || load(s) < load(best))) best = s;
  return best;
}

/** Over its weight while some server has fewer than half of its own in active connections. */
function overloaded(s: Server, servers: Server[]): boolean {
  return s.active > s.weight && servers.some((d) => d.active * 2 < d.weight);
}

/** lblc: one server per destination, kept while usable and not overloaded. */
class LblcModel {
  #entries = new Map<number, { dest: number; lastUse: number }>();

  pick(servers: Server[], dst: number, now: number): number {
    let en = this.#entries.get(dst);
    if (en && now - en.lastUse >= EXPIRE) {
      this.#entries.delete(dst);
      en = undefined;
    }
    if (en) {
      en.lastUse = now;
      const d = servers.find((s) => s.id === en!.dest);
      if (d && d.weight > 0 && !overloaded(d, servers)) return d.id;
    }
    const least = leastConn(servers);
    if (!least) return -1;
    if (en) en.dest = least.id;
    else this.#entries.set(dst, { dest: least.id, lastUse: now });
    return least.id;
  }

  /**
   * dsr's rule: an entry whose server left the service is scheduled afresh
   * when next used (a server added back is a new backend to dsr).
   */
  rebuild(servers: Server[]): void {
    for (const en of this.#entries.values()) {
      if (!servers.some((s) => s.id === en.dest)) en.dest = -1;
    }
  }
}

/** lblcr: a set per destination (newest first), grown under overload, shrunk when unchanged. */
class LblcrModel {
  #entries = new Map<number, { set: number[]; lastMod: number; lastUse: number }>();

  pick(servers: Server[], dst: number, now: number): number {
    let en = this.#entries.get(dst);
    if (en && now - en.lastUse >= EXPIRE) {
      this.#entries.delete(dst);
      en = undefined;
    }
    if (en) {
      en.lastUse = now;
      const members = en.set.map((id) => servers.find((s) => s.id === id)!);
      const dest = leastConn(members);
      if (en.set.length > 1 && now - en.lastMod > EXPIRE) {
        // The most loaded member with weight > 0, the first on a tie.
        let most: Server | undefined;
        for (const m of members) if (m.weight > 0 && (!most || load(m) > load(most))) most = m;
        if (most) {
          en.set.splice(en.set.indexOf(most.id), 1);
          en.lastMod = now;
        }
      }
      if (dest && !overloaded(dest, servers)) return dest.id;
    }
    const least = leastConn(servers);
    if (!least) return -1;
    if (!en) {
      en = { set: [], lastMod: now, lastUse: now };
      this.#entries.set(dst, en);
    }
    if (!en.set.includes(least.id)) {
      en.set.unshift(least.id);
      en.lastMod = now;
    }
    return least.id;
  }

  /** dsr's rule: a server that left the service leaves every set. */
  rebuild(servers: Server[]): void {
    for (const en of this.#entries.values()) {
      en.set = en.set.filter((id) => servers.some((s) => s.id === id));
    }
  }
}

/** A step: connection counts for servers 10…, a destination, time passed; or new weights. */
type Step =
  | { counts: [number, number][]; dst: number; dt: number }
  | { weights: number[] };

const SERVERS = 5;
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      counts: fc.array(
        fc.tuple(fc.oneof(fc.nat(3), fc.nat(14)), fc.oneof(fc.constant(0), fc.nat(50))),
        { minLength: SERVERS, maxLength: SERVERS },
      ),
      dst: fc.nat(3),
      dt: fc.oneof(fc.nat(50), fc.nat(EXPIRE * 2)),
    }),
  },
  // A new program: weights change and a weight below 0 takes the server out of the service.
  {
    weight: 1,
    arbitrary: fc.record({
      weights: fc.array(fc.integer({ min: -1, max: 8 }), {
        minLength: SERVERS,
        maxLength: SERVERS,
      }),
    }),
  },
);

function stateFor(kind: number, weights: number[]): SchedState {
  const list: MaglevBackend[] = [];
  weights.forEach((weight, i) => {
    if (weight >= 0) list.push({ id: 10 + i, key: `198.18.0.${10 + i}:80`, weight });
  });
  const s = newSchedState(kind, list, 1009);
  s.expireMs = EXPIRE;
  return s;
}

function agreesWithModel(kind: number, model: () => LblcModel | LblcrModel): void {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 8 }), { minLength: SERVERS, maxLength: SERVERS }),
      fc.array(step, { minLength: 1, maxLength: 40 }),
      (first, steps) => {
        const m = model();
        let weights = first;
        let s = stateFor(kind, weights);
        const active = new Int32Array(64);
        const inactive = new Int32Array(64);
        let now = T0;
        for (const st of steps) {
          if ("weights" in st) {
            const next = stateFor(kind, st.weights);
            inheritSchedState(s, next);
            s = next;
            weights = st.weights;
            m.rebuild(servers(weights, []));
            continue;
          }
          now += st.dt;
          const list = servers(weights, st.counts);
          for (const x of list) {
            active[x.id] = x.active;
            inactive[x.id] = x.inactive;
          }
          const dst = 0x2f000000 + st.dst * 0x01010101;
          assert.equal(pick(s, 0, 0, active, inactive, dst, now), m.pick(list, dst, now));
        }
      },
    ),
    { numRuns: 400 },
  );
}

/** The servers of the service (weight >= 0) with their counts. */
function servers(weights: number[], counts: [number, number][]): Server[] {
  const out: Server[] = [];
  weights.forEach((weight, i) => {
    if (weight >= 0) {
      out.push({ id: 10 + i, weight, active: counts[i]?.[0] ?? 0, inactive: counts[i]?.[1] ?? 0 });
    }
  });
  return out;
}

Deno.test("lblc picks as the model over connection counts, time and new programs", () => {
  agreesWithModel(SCHED_LBLC, () => new LblcModel());
});

Deno.test("lblcr picks as the model over connection counts, time and new programs", () => {
  agreesWithModel(SCHED_LBLCR, () => new LblcrModel());
});

/** Picks for destination `dst` at `now` with the given active counts (ids 10…). */
function pickWith(s: SchedState, counts: number[], dst: number, now: number): number {
  const active = new Int32Array(64);
  counts.forEach((c, i) => active[10 + i] = c);
  return pick(s, 0, 0, active, new Int32Array(64), dst, now);
}

Deno.test("lblc keeps a destination on its server until it is overloaded", () => {
  const s = stateFor(SCHED_LBLC, [4, 4, 4]);
  assert.equal(pickWith(s, [0, 0, 0], 1, T0), 10);
  // The least loaded server now is 11, but the destination stays where it was.
  assert.equal(pickWith(s, [4, 0, 0], 1, T0 + 1), 10);
  // Over its weight (5 > 4) while 11 is under half of its own (0 * 2 < 4): moved.
  assert.equal(pickWith(s, [5, 0, 3], 1, T0 + 2), 11);
  assert.equal(pickWith(s, [5, 0, 3], 1, T0 + 3), 11);
  // Over its weight, but nobody is under half: it stays (the kernel's 2x rule).
  const t = stateFor(SCHED_LBLC, [4, 4]);
  assert.equal(pickWith(t, [0, 0], 1, T0), 10);
  assert.equal(pickWith(t, [9, 2], 1, T0 + 1), 10);
});

Deno.test("lblc forgets a destination unused for the expiry time", () => {
  const s = stateFor(SCHED_LBLC, [4, 4]);
  assert.equal(pickWith(s, [0, 0], 1, T0), 10);
  assert.equal(pickWith(s, [3, 0], 1, T0 + EXPIRE - 1), 10, "used again just in time");
  assert.equal(pickWith(s, [3, 0], 1, T0 + 2 * EXPIRE - 1), 11, "unused for the expiry time");
});

Deno.test("lblcr replicates an overloaded destination and sheds a member once the set is unchanged", () => {
  const s = stateFor(SCHED_LBLCR, [2, 2, 2]);
  assert.equal(pickWith(s, [0, 0, 0], 1, T0), 10);
  // 10 overloaded while 11 is idle: 11 joins the set {11, 10}.
  assert.equal(pickWith(s, [3, 0, 0], 1, T0 + 10), 11);
  // The set's least loaded member serves; 12, idle but outside the set, does not.
  assert.equal(pickWith(s, [1, 2, 0], 1, T0 + 20), 10);
  assert.equal(pickWith(s, [2, 1, 0], 1, T0 + 600), 11);
  // The set last changed at T0 + 10: once that is longer ago than the expiry
  // time, the most loaded member (10) leaves.
  assert.equal(pickWith(s, [0, 1, 0], 1, T0 + 10 + EXPIRE), 10, "not yet: 10 still serves");
  assert.equal(pickWith(s, [2, 1, 0], 1, T0 + 11 + EXPIRE), 11);
  assert.equal(pickWith(s, [0, 1, 0], 1, T0 + 30 + EXPIRE), 11, "10 is no longer in the set");
});

Deno.test("lblcr breaks ties towards the newest member, as IPVS's list puts it first", () => {
  const s = stateFor(SCHED_LBLCR, [2, 2, 2]);
  assert.equal(pickWith(s, [0, 0, 0], 1, T0), 10);
  assert.equal(pickWith(s, [3, 0, 0], 1, T0 + 10), 11, "11 joins: the set is {11, 10}");
  assert.equal(pickWith(s, [1, 1, 0], 1, T0 + 500), 11, "equally loaded: the newest serves");
  // Equally loaded when the set sheds: the newest (11) goes.
  assert.equal(pickWith(s, [1, 1, 0], 1, T0 + 11 + EXPIRE), 11);
  assert.equal(pickWith(s, [1, 0, 0], 1, T0 + 20 + EXPIRE), 10, "the set is {10}");
});

Deno.test("a locality table holds 16 destinations and drops the least recently used", () => {
  for (const kind of [SCHED_LBLC, SCHED_LBLCR]) {
    const s = stateFor(kind, [100, 100]);
    s.expireMs = 1e9;
    // Destination d goes to 10 while 10 is the least loaded, then stays there.
    for (let d = 0; d < LOCALITY_SLOTS; d++) assert.equal(pickWith(s, [0, 1], d, T0 + d), 10);
    for (let d = 1; d < LOCALITY_SLOTS; d++) assert.equal(pickWith(s, [5, 0], d, T0 + 100 + d), 10);
    // A 17th takes destination 0's slot (least recently used); 0 is then scheduled afresh.
    assert.equal(pickWith(s, [5, 0], 99, T0 + 200), 11);
    assert.equal(pickWith(s, [5, 0], 0, T0 + 201), 11, `kind ${kind}`);
    assert.equal(pickWith(s, [0, 5], 1, T0 + 202), 10, `kind ${kind}: 1 kept`);
  }
});

Deno.test("lblc and lblcr assignments survive a new program and follow backend ids", () => {
  for (const kind of [SCHED_LBLC, SCHED_LBLCR]) {
    const before = stateFor(kind, [3, 3, 3]);
    assert.equal(pickWith(before, [1, 1, 0], 7, T0), 12);
    // Server 10 leaves: the ids left are at other indexes in the new state.
    const after = stateFor(kind, [-1, 3, 3]);
    inheritSchedState(before, after);
    assert.equal(pickWith(after, [0, 0, 2], 7, T0 + 1), 12, `kind ${kind}`);
    const fresh = stateFor(kind, [-1, 3, 3]);
    assert.equal(pickWith(fresh, [0, 0, 2], 7, T0 + 1), 11, `kind ${kind}: without it`);
  }
});

Deno.test("lblc and lblcr return -1 without a usable server and allocate no table for others", () => {
  for (const kind of [SCHED_LBLC, SCHED_LBLCR]) {
    assert.equal(pickWith(stateFor(kind, [0, 0]), [0, 0], 1, T0), -1);
    assert.equal(pickWith(stateFor(kind, []), [], 1, T0), -1);
  }
  assert.equal(newSchedState(0, [{ id: 1, key: "a", weight: 1 }]).locality.length, 0);
});
