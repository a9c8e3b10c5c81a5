/**
 * Keeps the fragments of one IP datagram together. Only the first fragment
 * carries ports, so it is scheduled like any packet and its choice is
 * remembered under (source, destination, IP id, protocol) for the fragments
 * that follow. A direct-mapped table of typed arrays: a collision simply
 * replaces the older datagram, which is then dropped as an orphan.
 * @module
 */

import { mix32 } from "./hash.ts";

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

  #index(src: number, dst: number, idProto: number): number {
    return mix32((src ^ Math.imul(dst, 0x9e3779b1) ^ Math.imul(idProto, 0x85ebca6b)) >>> 0) &
      this.#mask;
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
