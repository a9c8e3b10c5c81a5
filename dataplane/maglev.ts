/**
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016) with weights, as
 * Katran's `MaglevHashV2`: a pure function from backends to a lookup table
 * the packet loop reads as `ring[hash % ring.length]`. Built in the control
 * plane and published whole.
 * @module
 */

import { hashString } from "./hash.ts";

/** A backend of a Maglev table: `id` goes into the table, `key` (a stable name such as `"198.18.0.11:80"`) seeds its permutation. */
export interface MaglevBackend {
  id: number;
  key: string;
  weight: number;
}

/** The default table size: the smallest prime >= 65537. */
export const DEFAULT_RING_SIZE = 65537;

const OFFSET_SEED = 0x6d61676c; // "magl"
const SKIP_SEED = 0x65763221; // "ev2!"

/** Whether `n` is a prime number. */
export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * Builds a Maglev lookup table of `size` entries, each the `id` of a backend.
 * A backend's share of entries follows its weight; weight 0 gets none; all
 * entries are -1 when no backend has weight > 0. The result depends only on
 * the set of backends, not on their order.
 * @throws {RangeError} when `size` is not prime, or an id is not an integer
 * >= 0, or a weight is not an integer >= 0.
 */
export function buildMaglev(
  backends: readonly MaglevBackend[],
  size: number = DEFAULT_RING_SIZE,
): Int32Array {
  checkBackends(backends, size);
  return fill(new Int32Array(size), -1, backends);
}

/**
 * Builds the Maglev table of {@link buildMaglev} into `out` (whose length is
 * the table size), each entry the index in `members` of a backend instead of
 * its id, without allocating a table of ids first. Entries are 0xffff when no
 * member has weight > 0.
 * @throws {RangeError} when `out.length` is not prime, there are more than
 * 0xffff members, or a weight is not an integer >= 0.
 */
export function buildMaglevIndexes(
  members: readonly MaglevBackend[],
  out: Uint16Array,
): Uint16Array {
  if (members.length > 0xffff) {
    throw new RangeError(
      `A Maglev table of indexes holds at most 65535 members, got ${members.length}`,
    );
  }
  const indexed = members.map((m, i) => ({ id: i, key: m.key, weight: m.weight }));
  checkBackends(indexed, out.length);
  return fill(out, 0xffff, indexed);
}

function checkBackends(backends: readonly MaglevBackend[], size: number): void {
  if (!isPrime(size)) throw new RangeError(`Maglev table size must be prime, got ${size}`);
  for (const b of backends) {
    if (!Number.isInteger(b.id) || b.id < 0) {
      throw new RangeError(`Maglev backend id must be an integer >= 0, got ${b.id} (${b.key})`);
    }
    if (!Number.isInteger(b.weight) || b.weight < 0) {
      throw new RangeError(
        `Maglev backend weight must be an integer >= 0, got ${b.weight} (${b.key})`,
      );
    }
  }
}

/** Fills `ring` (every entry becomes `empty` first) with the ids of `backends`. */
function fill<T extends Int32Array | Uint16Array>(
  ring: T,
  empty: number,
  backends: readonly MaglevBackend[],
): T {
  const size = ring.length;
  ring.fill(empty);
  const live = backends.filter((b) => b.weight > 0).sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : a.id - b.id
  );
  const n = live.length;
  if (n === 0) return ring;
  if (n === 1) {
    ring.fill(live[0].id);
    return ring;
  }

  const divisor = live.reduce((g, b) => gcd(g, b.weight), 0);
  const weight = Int32Array.from(live, (b) => b.weight / divisor);
  const maxWeight = weight.reduce((m, w) => (w > m ? w : m), 0);
  const ids = Int32Array.from(live, (b) => b.id);
  const skip = Uint32Array.from(live, (b) => (hashString(b.key, SKIP_SEED) % (size - 1)) + 1);
  const cursor = Uint32Array.from(live, (b) => hashString(b.key, OFFSET_SEED) % size);
  const credit = new Int32Array(n);

  // Each round, a backend earns its weight in credit and claims its next free
  // preferred entry per maxWeight of credit, so entries split in proportion.
  for (let filled = 0;;) {
    for (let i = 0; i < n; i++) {
      credit[i] += weight[i];
      if (credit[i] < maxWeight) continue;
      credit[i] -= maxWeight;
      let c = cursor[i];
      while (ring[c] !== empty) {
        c += skip[i];
        if (c >= size) c -= size;
      }
      ring[c] = ids[i];
      c += skip[i];
      cursor[i] = c >= size ? c - size : c;
      if (++filled === size) return ring;
    }
  }
}
