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
  const ring = new Int32Array(size).fill(-1);
  const live = backends.filter((b) => b.weight > 0).sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : a.id - b.id
  );
  const n = live.length;
  if (n === 0) return ring;
  if (n === 1) return ring.fill(live[0].id);

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
      while (ring[c] >= 0) {
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
