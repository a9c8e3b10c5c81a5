/**
 * Keeps the fragments of one IP datagram together. Only the first fragment
 * carries ports, so it is scheduled like any packet and its choice is
 * remembered under (source, destination, IP id, protocol) for the fragments
 * that follow; an IPv6 datagram under (source, destination, the fragment
 * header's 32-bit identification), which RFC 8200 makes unique per pair. A
 * direct-mapped table of typed arrays: a collision simply replaces the older
 * datagram, which is then dropped as an orphan.
 * @module
 */

import { foldAddr6, mix32 } from "./hash.ts";

/** How long a datagram's fragments are followed, as Linux's ipfrag_time. */
export const FRAGMENT_TIMEOUT_MS = 30_000;

/** Fixed-size map from datagram identity to its backend. */
export class FragmentTable {
  readonly #src: Uint32Array;
  readonly #dst: Uint32Array;
  readonly #idProto: Uint32Array;
  readonly #service: Int32Array;
  readonly #backend: Int32Array;
  /** ms, low 32 bits (the loop's clock wraps; compared wrap-safe). */
  readonly #expires: Int32Array;
  readonly #mask: number;

  /** `size` is rounded up to a power of two; default 4096. */
  constructor(size = 4096) {
    let capacity = 1;
    while (capacity < size) capacity *= 2;
    this.#src = new Uint32Array(capacity);
    this.#dst = new Uint32Array(capacity);
    this.#idProto = new Uint32Array(capacity);
    this.#service = new Int32Array(capacity);
    this.#backend = new Int32Array(capacity).fill(-1);
    this.#expires = new Int32Array(capacity);
    this.#mask = capacity - 1;
  }

  /** Random per table: nobody outside can choose fragments that share a slot. */
  readonly #seed = crypto.getRandomValues(new Uint32Array(1))[0] | 0;

  #index(src: number, dst: number, idProto: number): number {
    return mix32(
      (src ^ Math.imul(dst ^ this.#seed, 0x9e3779b1) ^ Math.imul(idProto, 0x85ebca6b)) >>> 0,
    ) & this.#mask;
  }

  /** Records the backend chosen for a datagram's first fragment. */
  remember(
    src: number,
    dst: number,
    id: number,
    proto: number,
    service: number,
    backend: number,
    now: number,
  ): void {
    const idProto = ((id << 8) | proto) >>> 0;
    const i = this.#index(src, dst, idProto);
    this.#src[i] = src;
    this.#dst[i] = dst;
    this.#idProto[i] = idProto;
    this.#service[i] = service;
    this.#backend[i] = backend;
    this.#expires[i] = now + FRAGMENT_TIMEOUT_MS;
  }

  /** The slot of a remembered datagram, or -1. */
  lookup(src: number, dst: number, id: number, proto: number, now: number): number {
    const idProto = ((id << 8) | proto) >>> 0;
    const i = this.#index(src, dst, idProto);
    if (
      this.#backend[i] < 0 || this.#src[i] !== src || this.#dst[i] !== dst ||
      this.#idProto[i] !== idProto || ((now - this.#expires[i]) | 0) > 0
    ) return -1;
    return i;
  }

  /** Backend id at a slot from `lookup`. */
  backend(slot: number): number {
    return this.#backend[slot];
  }

  /** Service id at a slot from `lookup`. */
  service(slot: number): number {
    return this.#service[slot];
  }
}

/** {@link FragmentTable} for IPv6 datagrams: addresses as four words each. */
export class FragmentTable6 {
  readonly #src: Int32Array;
  readonly #dst: Int32Array;
  readonly #id: Int32Array;
  readonly #service: Int32Array;
  readonly #backend: Int32Array;
  readonly #expires: Int32Array;
  readonly #mask: number;

  /** `size` is rounded up to a power of two; default 4096. */
  constructor(size = 4096) {
    let capacity = 1;
    while (capacity < size) capacity *= 2;
    this.#src = new Int32Array(capacity * 4);
    this.#dst = new Int32Array(capacity * 4);
    this.#id = new Int32Array(capacity);
    this.#service = new Int32Array(capacity);
    this.#backend = new Int32Array(capacity).fill(-1);
    this.#expires = new Int32Array(capacity);
    this.#mask = capacity - 1;
  }

  /** Random per table: nobody outside can choose fragments that share a slot. */
  readonly #seed = crypto.getRandomValues(new Uint32Array(1))[0] | 0;

  #index(src: Int32Array, dst: Int32Array, id: number): number {
    return mix32(
      (foldAddr6(src, 0, this.#seed) ^ Math.imul(foldAddr6(dst, 0, this.#seed), 0x9e3779b1) ^
        Math.imul(id, 0x85ebca6b)) >>> 0,
    ) & this.#mask;
  }

  #same(slot: number, src: Int32Array, dst: Int32Array, id: number): boolean {
    const w = slot << 2;
    const s = this.#src, d = this.#dst;
    return this.#id[slot] === (id | 0) &&
      s[w] === src[0] && s[w + 1] === src[1] && s[w + 2] === src[2] && s[w + 3] === src[3] &&
      d[w] === dst[0] && d[w + 1] === dst[1] && d[w + 2] === dst[2] && d[w + 3] === dst[3];
  }

  /** Records the backend chosen for the first fragment of datagram `id` from `src` to `dst` (four words each). */
  remember(
    src: Int32Array,
    dst: Int32Array,
    id: number,
    service: number,
    backend: number,
    now: number,
  ): void {
    const i = this.#index(src, dst, id);
    const w = i << 2;
    for (let k = 0; k < 4; k++) {
      this.#src[w + k] = src[k];
      this.#dst[w + k] = dst[k];
    }
    this.#id[i] = id;
    this.#service[i] = service;
    this.#backend[i] = backend;
    this.#expires[i] = now + FRAGMENT_TIMEOUT_MS;
  }

  /** The slot of a remembered datagram, or -1. */
  lookup(src: Int32Array, dst: Int32Array, id: number, now: number): number {
    const i = this.#index(src, dst, id);
    if (
      this.#backend[i] < 0 || !this.#same(i, src, dst, id) || ((now - this.#expires[i]) | 0) > 0
    ) return -1;
    return i;
  }

  /** Backend id at a slot from `lookup`. */
  backend(slot: number): number {
    return this.#backend[slot];
  }

  /** Service id at a slot from `lookup`. */
  service(slot: number): number {
    return this.#service[slot];
  }
}
