import assert from "node:assert/strict";
import fc from "fast-check";
import {
  buildMaglev,
  buildMaglevIndexes,
  DEFAULT_RING_SIZE,
  isPrime,
  type MaglevBackend,
} from "./maglev.ts";

const SIZE = DEFAULT_RING_SIZE;

function backends(n: number, weight = 1, first = 0): MaglevBackend[] {
  return Array.from({ length: n }, (_, i) => ({
    id: first + i,
    key: `198.18.${(first + i) >> 8}.${(first + i) & 255}:80`,
    weight,
  }));
}

function counts(ring: Int32Array, ids: number): number[] {
  const c = new Array<number>(ids).fill(0);
  for (const id of ring) c[id]++;
  return c;
}

function movedFraction(a: Int32Array, b: Int32Array): number {
  let moved = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) moved++;
  return moved / a.length;
}

Deno.test("mh spreads slots evenly over 10 equal backends (each within 5% of size/N)", () => {
  const ring = buildMaglev(backends(10), SIZE);
  assert.equal(ring.length, SIZE);
  for (const c of counts(ring, 10)) assert.ok(Math.abs(c - SIZE / 10) <= SIZE / 10 * 0.05, `${c}`);
});

Deno.test("mh honours weights: weight 2 gets twice the slots of weight 1 (within 5%)", () => {
  const list = backends(10).map((b) => ({ ...b, weight: b.id < 5 ? 2 : 1 }));
  const c = counts(buildMaglev(list, SIZE), 10);
  for (let i = 0; i < 10; i++) {
    const expected = SIZE * (i < 5 ? 2 : 1) / 15;
    assert.ok(Math.abs(c[i] - expected) <= expected * 0.05, `backend ${i}: ${c[i]}`);
  }
  const pair = counts(
    buildMaglev([{ id: 0, key: "a", weight: 2 }, { id: 1, key: "b", weight: 1 }]),
    2,
  );
  assert.ok(Math.abs(pair[0] / pair[1] - 2) <= 0.1, `${pair}`);
});

Deno.test("mh gives weight-0 backends no slots and an all -1 table when none has weight", () => {
  const list = backends(4).map((b) => ({ ...b, weight: b.id === 2 ? 0 : 1 }));
  const ring = buildMaglev(list, SIZE);
  assert.equal(counts(ring, 4)[2], 0);
  assert.ok(ring.every((id) => id >= 0));
  assert.ok(buildMaglev(backends(3, 0), 13).every((id) => id === -1));
  assert.ok(buildMaglev([], 13).every((id) => id === -1));
  assert.ok(buildMaglev(backends(1, 5, 7), 13).every((id) => id === 7));
});

Deno.test("mh moves at most 1/N + 1% of slots when one of 10 backends leaves", () => {
  for (let seed = 0; seed < 5; seed++) {
    const all = backends(10, 1, seed * 10);
    const before = buildMaglev(all, SIZE);
    for (let leaving = 0; leaving < 10; leaving++) {
      const after = buildMaglev(all.filter((_, i) => i !== leaving), SIZE);
      assert.ok(after.every((id) => id !== all[leaving].id));
      const moved = movedFraction(before, after);
      assert.ok(moved <= 1 / 10 + 0.01, `seed ${seed}, leaving ${leaving}: moved ${moved}`);
    }
  }
});

Deno.test("mh moves at most 1/N + 1% of slots when an 11th backend joins", () => {
  for (let seed = 0; seed < 5; seed++) {
    const ten = backends(10, 1, seed * 11);
    const before = buildMaglev(ten, SIZE);
    const after = buildMaglev([...ten, ...backends(1, 1, seed * 11 + 10)], SIZE);
    assert.ok(movedFraction(before, after) <= 1 / 11 + 0.01, `seed ${seed}`);
  }
});

Deno.test("mh table does not depend on the order of the backends", () => {
  const list = backends(12).map((b) => ({ ...b, weight: 1 + (b.id % 3) }));
  const expected = buildMaglev(list, 1009);
  fc.assert(
    fc.property(fc.shuffledSubarray(list, { minLength: 12 }), (shuffled) => {
      assert.deepEqual(buildMaglev(shuffled, 1009), expected);
    }),
    { numRuns: 30 },
  );
});

Deno.test("mh builds a full table for 100 backends at 65537 slots", () => {
  const ring = buildMaglev(backends(100), SIZE);
  const c = counts(ring, 100);
  assert.ok(c.every((n) => n > 0));
  assert.equal(c.reduce((a, b) => a + b, 0), SIZE);
});

Deno.test("mh rejects a table size that is not prime and bad ids or weights", () => {
  assert.ok(isPrime(65537) && isPrime(2) && !isPrime(65536) && !isPrime(1) && !isPrime(9));
  assert.throws(() => buildMaglev(backends(3), 65536), RangeError);
  assert.throws(() => buildMaglev([{ id: -1, key: "x", weight: 1 }], 13), RangeError);
  assert.throws(() => buildMaglev([{ id: 1, key: "x", weight: 1.5 }], 13), RangeError);
});

Deno.test("a table of member indexes, built in place, is the table of ids with each id replaced by its index", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 12 }),
      (weights) => {
        const members = weights.map((weight, i) => ({ id: 500 + i, key: `rs${i}`, weight }));
        const out = new Uint16Array(1009);
        assert.equal(buildMaglevIndexes(members, out), out);
        const ids = buildMaglev(members, 1009);
        assert.deepEqual(
          Array.from(out, (i) => (i === 0xffff ? -1 : members[i].id)),
          Array.from(ids),
        );
      },
    ),
    { numRuns: 60 },
  );
  assert.throws(() => buildMaglevIndexes(backends(2), new Uint16Array(1000)), RangeError);
  assert.throws(() => buildMaglevIndexes(backends(65536), new Uint16Array(13)), /65535/);
});
