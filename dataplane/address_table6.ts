/**
 * A small map from IPv6 address to a number for the packet loop: open
 * addressing over typed arrays, an address as four words, built once per
 * program and never changed, so `get` allocates nothing. Its keys are the
 * configuration's (VIPs, real server addresses), not a sender's choice, so a
 * cheap hash of the words does.
 * @module
 */

import { mix32 } from "./hash.ts";

/** Immutable map from IPv6 address (four signed 32-bit words) to a value >= 0. */
export class AddressTable6 {
  readonly #keys: Int32Array;
  readonly #values: Int32Array;
  readonly #mask: number;

  /**
   * Holds each `[address, at, value]`: the address in `address[at, at + 4)`.
   * A later entry for the same address replaces the earlier one.
   * @throws {RangeError} when a value is negative.
   */
  constructor(entries: readonly (readonly [Int32Array, number, number])[] = []) {
    let capacity = 8;
    while (capacity < entries.length * 2) capacity *= 2;
    this.#keys = new Int32Array(capacity * 4);
    this.#values = new Int32Array(capacity).fill(-1);
    this.#mask = capacity - 1;
    for (const [address, at, value] of entries) {
      if (!(value >= 0)) throw new RangeError(`AddressTable6 values are >= 0, got ${value}`);
      let i = this.#find(address, at);
      if (i < 0) {
        i = home(address, at) & this.#mask;
        while (this.#values[i] !== -1) i = (i + 1) & this.#mask;
        for (let w = 0; w < 4; w++) this.#keys[i * 4 + w] = address[at + w];
      }
      this.#values[i] = value;
    }
  }

  /** Number of addresses held. */
  get size(): number {
    return this.#values.filter((v) => v >= 0).length;
  }

  #find(a: Int32Array, at: number): number {
    const keys = this.#keys, values = this.#values, mask = this.#mask;
    const a0 = a[at], a1 = a[at + 1], a2 = a[at + 2], a3 = a[at + 3];
    for (let i = home(a, at) & mask;; i = (i + 1) & mask) {
      if (values[i] === -1) return -1;
      const k = i << 2;
      if (keys[k] === a0 && keys[k + 1] === a1 && keys[k + 2] === a2 && keys[k + 3] === a3) {
        return i;
      }
    }
  }

  /** The value of the address in `address[at, at + 4)`, or -1. */
  get(address: Int32Array, at: number): number {
    const i = this.#find(address, at);
    return i < 0 ? -1 : this.#values[i];
  }
}

function home(a: Int32Array, at: number): number {
  return mix32(a[at] ^ a[at + 1] ^ a[at + 2] ^ a[at + 3]);
}
