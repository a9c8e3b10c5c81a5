/**
 * The fuzzer's only source of randomness: a seeded generator (sfc32), so a
 * run is a function of its seed and any frame can be replayed. While the
 * forwarder under test is built, `crypto.getRandomValues` draws from one too
 * (its tables take random hash seeds), so the fragment table's collisions
 * happen at the same frames on every replay.
 * @module
 */

/** A small fast PRNG (Chris Doty-Humphrey's sfc32) seeded from one 32-bit number. */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d = 1;

  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = seed | 0;
    // Discard the first outputs: sfc32 mixes slowly from a near-zero state.
    for (let i = 0; i < 15; i++) this.u32();
  }

  /** The next unsigned 32-bit number. */
  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  /** An integer in [min, max]. */
  range(min: number, max: number): number {
    return min + this.below(max - min + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }

  /** A byte. */
  byte(): number {
    return this.u32() & 255;
  }
}

/**
 * Runs `fn` with `crypto.getRandomValues` drawing from `prng`, then puts the
 * real one back (even when `fn` throws).
 */
export function withSeededRandom<T>(prng: Prng, fn: () => T): T {
  const fill = <A extends ArrayBufferView | null>(array: A): A => {
    if (array === null) return array;
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    for (let i = 0; i < bytes.length; i++) bytes[i] = prng.byte();
    return array;
  };
  Object.defineProperty(crypto, "getRandomValues", {
    value: fill,
    configurable: true,
    writable: true,
  });
  try {
    return fn();
  } finally {
    delete (crypto as { getRandomValues?: unknown }).getRandomValues;
  }
}
