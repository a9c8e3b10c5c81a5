import assert from "node:assert/strict";
import fc from "fast-check";
import { hashAddr, hashFlow } from "./hash.ts";
import { buildMaglev, type MaglevBackend } from "./maglev.ts";
import {
  buildRing,
  newSchedState,
  pick,
  ringMembers,
  SCHED_LC,
  SCHED_MH,
  SCHED_RR,
  SCHED_SH,
  SCHED_WLC,
  SCHED_WRR,
  SCHEDULER_NAMES,
  schedulerCode,
} from "./scheduler.ts";

const KINDS = [SCHED_RR, SCHED_WRR, SCHED_LC, SCHED_WLC, SCHED_SH, SCHED_MH];
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
  assert.throws(() => newSchedState(9, backends([1])), RangeError);
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
    assert.equal(c[10] + c[12], 5000, `kind ${kind}`);
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
