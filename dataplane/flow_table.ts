/**
 * The bounded flow table of the packet loop. Flows live in a pool of entries
 * (one row per flow across typed arrays); a slot returned by `lookup` or
 * `insert` is the entry's row and stays valid until that flow is removed.
 * A linear-probing index (power-of-two size, load <= 0.75, hash kept beside
 * each row number) finds entries; deletion shifts later index cells back, so
 * there are no tombstones and the table never degrades. A doubly linked list
 * over the rows keeps LRU order for eviction. About 46 bytes per flow at
 * 1,000,000 flows; nothing is allocated per call.
 * @module
 */

import { hashKey } from "./hash.ts";

/** Flow state: TCP SYN seen, not yet established. */
export const FLOW_SYN = 1;
/** Flow state: TCP established (counted as active). */
export const FLOW_ESTABLISHED = 2;
/** Flow state: TCP FIN seen. */
export const FLOW_FIN = 3;
/** Flow state: TCP RST seen or closed. */
export const FLOW_CLOSE = 4;
/** Flow state: UDP. */
export const FLOW_UDP = 5;

/** Timeouts in ms: established TCP, TCP after FIN/RST and not-yet-established (SYN), UDP. */
export interface FlowTimeouts {
  tcp: number;
  tcpfin: number;
  udp: number;
}

/** Options of a {@linkcode FlowTable}. */
export interface FlowTableOptions {
  /** Called when a flow leaves the table (expiry, eviction, removal), so callers can keep per-backend counts. Default no-op. */
  onRemove?: (backend: number, state: number) => void;
}

const MAX_TIMEOUT = 0x7fffffff; // wrap-safe comparison of Uint32 ms holds up to 2^31 - 1
const MAX_FLOWS = 1 << 28;
const noop = (_backend: number, _state: number) => {};

/** Bounded flow table: open addressing over typed arrays, LRU eviction when full. */
export class FlowTable {
  /** Most flows held at once. */
  readonly maxFlows: number;
  /** Timeouts in ms; settable at any time, used from the next `insert` or `touch` of a flow. */
  timeouts: FlowTimeouts = { tcp: 900_000, tcpfin: 120_000, udp: 300_000 };

  // index: cell -> row (-1 empty) and the row's key hash
  #mask: number;
  #cellRow: Int32Array;
  #cellHash: Uint32Array;
  // rows: one per flow; state 0 marks a free row
  #srcIp: Uint32Array;
  #ports: Uint32Array;
  #service: Uint32Array;
  #backend: Int32Array;
  #state: Uint8Array;
  #expires: Uint32Array;
  #prev: Int32Array;
  #next: Int32Array; // LRU successor, or next free row
  #head = -1; // least recently used
  #tail = -1; // most recently used
  #free = -1;
  #used = 0; // rows ever handed out since the last clear
  #size = 0;
  #evicted = 0;
  #cursor = 0;
  #onRemove: (backend: number, state: number) => void;

  /**
   * Creates an empty table holding up to `maxFlows` flows.
   * @throws {RangeError} when `maxFlows` is not an integer from 1 to 2^28.
   */
  constructor(maxFlows: number, options: FlowTableOptions = {}) {
    if (!Number.isInteger(maxFlows) || maxFlows < 1 || maxFlows > MAX_FLOWS) {
      throw new RangeError(`maxFlows must be an integer from 1 to ${MAX_FLOWS}, got ${maxFlows}`);
    }
    this.maxFlows = maxFlows;
    this.#onRemove = options.onRemove ?? noop;
    let cells = 16;
    while (cells * 3 < maxFlows * 4) cells *= 2;
    this.#mask = cells - 1;
    this.#cellRow = new Int32Array(cells).fill(-1);
    this.#cellHash = new Uint32Array(cells);
    this.#srcIp = new Uint32Array(maxFlows);
    this.#ports = new Uint32Array(maxFlows);
    this.#service = new Uint32Array(maxFlows);
    this.#backend = new Int32Array(maxFlows);
    this.#state = new Uint8Array(maxFlows);
    this.#expires = new Uint32Array(maxFlows);
    this.#prev = new Int32Array(maxFlows);
    this.#next = new Int32Array(maxFlows);
  }

  /** Flows in the table. */
  get size(): number {
    return this.#size;
  }

  /** Flows evicted because the table was full, since construction. */
  get evicted(): number {
    return this.#evicted;
  }

  /** Bytes held by the table's typed arrays. */
  get byteLength(): number {
    return [
      this.#cellRow,
      this.#cellHash,
      this.#srcIp,
      this.#ports,
      this.#service,
      this.#backend,
      this.#state,
      this.#expires,
      this.#prev,
      this.#next,
    ].reduce((sum, a) => sum + a.byteLength, 0);
  }

  /** Finds a flow by client IP, `(clientPort << 16 | vipPort) >>> 0` and service id; its slot or -1. */
  lookup(srcIp: number, ports: number, service: number): number {
    const h = hashKey(srcIp, ports, service);
    const mask = this.#mask;
    for (let i = h & mask;; i = (i + 1) & mask) {
      const row = this.#cellRow[i];
      if (row < 0) return -1;
      if (
        this.#cellHash[i] === h && this.#srcIp[row] === srcIp >>> 0 &&
        this.#ports[row] === ports >>> 0 && this.#service[row] === service >>> 0
      ) return row;
    }
  }

  /** Inserts a new flow (the caller has checked it is absent), evicting the least recently used flow first when full; its slot. */
  insert(
    srcIp: number,
    ports: number,
    service: number,
    backend: number,
    state: number,
    now: number,
  ): number {
    let row = this.#free;
    if (row >= 0) this.#free = this.#next[row];
    else if (this.#used < this.maxFlows) row = this.#used++;
    else {
      row = this.#head;
      this.#evicted++;
      this.remove(row);
      this.#free = this.#next[row];
    }
    this.#srcIp[row] = srcIp;
    this.#ports[row] = ports;
    this.#service[row] = service;
    this.#backend[row] = backend;
    this.#state[row] = state;
    const h = hashKey(srcIp, ports, service);
    const mask = this.#mask;
    let i = h & mask;
    while (this.#cellRow[i] >= 0) i = (i + 1) & mask;
    this.#cellRow[i] = row;
    this.#cellHash[i] = h;
    this.#prev[row] = this.#tail;
    this.#next[row] = -1;
    if (this.#tail >= 0) this.#next[this.#tail] = row;
    else this.#head = row;
    this.#tail = row;
    this.#size++;
    this.#expires[row] = (now + this.#timeout(state)) >>> 0;
    return row;
  }

  /** The backend id of the flow in `slot`. */
  backend(slot: number): number {
    return this.#backend[slot];
  }

  /** The state (`FLOW_*`) of the flow in `slot`; 0 for a free slot. */
  state(slot: number): number {
    return this.#state[slot];
  }

  /** Marks the flow used at `now` (ms) with `state`: young end of the LRU list, expiry from the timeout of `state`. */
  touch(slot: number, state: number, now: number): void {
    this.#state[slot] = state;
    this.#expires[slot] = (now + this.#timeout(state)) >>> 0;
    if (slot === this.#tail) return;
    const prev = this.#prev[slot];
    const next = this.#next[slot];
    if (prev >= 0) this.#next[prev] = next;
    else this.#head = next;
    this.#prev[next] = prev;
    this.#prev[slot] = this.#tail;
    this.#next[slot] = -1;
    this.#next[this.#tail] = slot;
    this.#tail = slot;
  }

  /** Removes the flow in `slot` (a free slot is left alone). */
  remove(slot: number): void {
    const state = this.#state[slot];
    if (state === 0) return;
    const mask = this.#mask;
    let hole = hashKey(this.#srcIp[slot], this.#ports[slot], this.#service[slot]) & mask;
    while (this.#cellRow[hole] !== slot) hole = (hole + 1) & mask;
    // backward-shift: pull later cells of the probe run into the hole when their home allows
    for (let j = (hole + 1) & mask;; j = (j + 1) & mask) {
      const row = this.#cellRow[j];
      if (row < 0) break;
      const h = this.#cellHash[j];
      if (((j - (h & mask)) & mask) >= ((j - hole) & mask)) {
        this.#cellRow[hole] = row;
        this.#cellHash[hole] = h;
        hole = j;
      }
    }
    this.#cellRow[hole] = -1;
    const prev = this.#prev[slot];
    const next = this.#next[slot];
    if (prev >= 0) this.#next[prev] = next;
    else this.#head = next;
    if (next >= 0) this.#prev[next] = prev;
    else this.#tail = prev;
    this.#state[slot] = 0;
    this.#next[slot] = this.#free;
    this.#free = slot;
    this.#size--;
    this.#onRemove(this.#backend[slot], state);
  }

  /**
   * Removes expired flows, visiting at most `budget` slots from where the last
   * call stopped (the cursor wraps); how many were removed. A full pass visits
   * at most `maxFlows` slots (only slots used since the last `clear`), so a
   * loop that calls this often with `budget * calls per second >= maxFlows`
   * visits every flow at least once a second.
   */
  expire(now: number, budget: number): number {
    const used = this.#used;
    if (used === 0) return 0;
    const t = now >>> 0;
    let removed = 0;
    let c = this.#cursor;
    for (let n = Math.min(budget, used); n > 0; n--) {
      if (c >= used) c = 0;
      if (this.#state[c] !== 0 && ((t - this.#expires[c]) | 0) >= 0) {
        this.remove(c);
        removed++;
      }
      c++;
    }
    this.#cursor = c;
    return removed;
  }

  /** Removes every flow of `backend`; the count. */
  removeBackend(backend: number): number {
    let removed = 0;
    for (let row = 0; row < this.#used; row++) {
      if (this.#state[row] !== 0 && this.#backend[row] === backend) {
        this.remove(row);
        removed++;
      }
    }
    return removed;
  }

  /** Removes every flow of `service`; the count. */
  removeService(service: number): number {
    let removed = 0;
    for (let row = 0; row < this.#used; row++) {
      if (this.#state[row] !== 0 && this.#service[row] === service >>> 0) {
        this.remove(row);
        removed++;
      }
    }
    return removed;
  }

  /** Removes all flows (each is reported to `onRemove`). */
  clear(): void {
    for (let row = this.#head; row >= 0; row = this.#next[row]) {
      this.#onRemove(this.#backend[row], this.#state[row]);
    }
    this.#cellRow.fill(-1);
    this.#state.fill(0, 0, this.#used);
    this.#head = this.#tail = this.#free = -1;
    this.#used = this.#size = this.#cursor = 0;
  }

  #timeout(state: number): number {
    const timeouts = this.timeouts;
    const t = state === FLOW_ESTABLISHED
      ? timeouts.tcp
      : state === FLOW_UDP
      ? timeouts.udp
      : timeouts.tcpfin;
    return t > MAX_TIMEOUT ? MAX_TIMEOUT : t > 0 ? t : 0;
  }
}
