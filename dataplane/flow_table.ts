/**
 * The bounded flow table of the packet loop. Flows live in a pool of rows; a
 * slot returned by `lookup` or `insert` is the flow's row and stays valid
 * until that flow is removed. A linear-probing index (power-of-two size)
 * finds rows. Deletion shifts later index cells back, so there are no
 * tombstones and the table never degrades. A doubly linked list over the rows
 * keeps LRU order for eviction.
 *
 * The index starts at 4096 cells and doubles at half full up to 65,536 cells
 * (1 MiB), so a few thousand flows sit in a few hundred kilobytes (in the
 * CPU's caches and a few TLB entries) rather than spread over tens of
 * megabytes. The next growth goes straight to the full size (load <= 0.75
 * with `maxFlows` flows), made and paged in by the constructor: every growth
 * re-places all flows while the packet loop waits, so the old doubling all the
 * way up stopped it for 150 ms at 524,288 flows, and first touching 32 MiB of
 * fresh pages costs 20-40 ms on its own. The worst growth is now 32,768 flows
 * re-placed into memory already there.
 *
 * The layout is chosen for the cache, which decides the forwarding rate once
 * the kernel's packet work has evicted everything between two batches:
 * - an index cell holds the whole key beside the row number, so a lookup reads
 *   one cache line;
 * - a row holds what each packet reads and writes (backend, state, expiry)
 *   in 16 bytes, one more line;
 * - the LRU links sit apart and are only written when a flow moves, at most
 *   once per `lruGrainMs` per flow (a move costs the cache lines of both
 *   neighbours).
 *
 * Each backend's flows form a doubly linked list of rows, so flushing a real
 * server (`removeBackend`) visits only its own flows, not the whole table
 * (a scan of 1M rows held the packet loop for milliseconds per flushed
 * server). The links cost 6 bytes a flow, kept under the 64-byte bar by
 * packing: a list's previous row is an Int32Array beside the LRU links; its
 * next row + 1 (28 bits) is split into 16 low bits in a Uint16Array and 12
 * high bits in the row's backend word, above the state (3 bits) and the
 * backend (16 bits). Per-packet reads (backend, state, expiry) stay in the
 * row's 16 bytes; only inserts and removals touch the links.
 *
 * An IPv6 flow has the same cell: its 128-bit client address is folded into
 * the address word, and the whole address sits beside the row (16 bytes per
 * row, made when the first IPv6 flow comes), so a lookup compares it there on
 * a match: one more cache line for an IPv6 flow, none for an IPv4 one. A
 * service is one family, so the two kinds of key never meet.
 *
 * About 63.6 bytes per flow at 1,000,000 flows (79.6 once an IPv6 flow came).
 * Nothing is allocated per call but the first with a backend id past the
 * list heads' size (they double, at most 10 times) or the first IPv6 one.
 * @module
 */

import { foldAddr6, hashKey } from "./hash.ts";

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
  /**
   * A touched flow moves to the young end of the LRU list only when its last
   * move is at least this old (ms), so eviction order is exact to within this
   * grain. Default 0: every touch moves.
   */
  lruGrainMs?: number;
  /** Seed of the index's key hash; default random, so nobody outside can choose colliding keys. */
  seed?: number;
}

const MAX_TIMEOUT = 0x7fffffff; // wrap-safe comparison of 32-bit ms holds up to 2^31 - 1
const MAX_FLOWS = 1 << 27; // keeps index offsets (cell << 2) within 31 bits
const MIN_CELLS = 4096; // 64 KiB
/** The largest index that doubles; the next growth goes to full size. */
const MAX_DOUBLING_CELLS = 65536; // 1 MiB
const PAGE_WORDS = 1024; // 4 KiB
const noop = (_backend: number, _state: number) => {};

// index cell: 4 words
// word 0: the row + 1, 0 when empty (so a new index needs no fill)
const C_SRC = 1;
const C_PORTS = 2;
const C_SERVICE = 3;
// row: 4 words
const R_CELL = 0;
// next + 1 in the backend's list, high bits << 19 | backend << 3 | state; state 0 marks a free row
const R_BACKEND_STATE = 1;
const R_EXPIRES = 2; // ms, low 32 bits
const R_MOVED = 3; // ms of the last LRU move, low 32 bits
const STATE_MASK = 7;
const BACKEND_SHIFT = 3;
/** Backend ids are 16 bits (the data plane's are below `MAX_BACKENDS`, 32768). */
const BACKEND_MASK = 0xffff;
const LINK_SHIFT = 19; // the high bits of next + 1 (row + 1 <= 2^27 needs 28 bits: 12 here)
const LOW_WORD = (1 << LINK_SHIFT) - 1; // backend and state
const MIN_HEADS = 64;

/** Bounded flow table: open addressing over typed arrays, LRU eviction when full. */
export class FlowTable {
  /** Most flows held at once. */
  readonly maxFlows: number;
  #timeouts: FlowTimeouts = { tcp: 900_000, tcpfin: 120_000, udp: 300_000 };
  /** The timeout of each state, clamped, so a touch reads one number. */
  readonly #timeoutOf = new Int32Array(STATE_MASK + 1);

  #mask: number;
  readonly #maxCells: number;
  #cells: Int32Array<ArrayBuffer>;
  /** The full-size index, paged in, until the index grows into it. */
  #full: Int32Array<ArrayBuffer> | null = null;
  #rows: Int32Array<ArrayBuffer>;
  #prev: Int32Array;
  #next: Int32Array; // LRU successor, or next free row
  #head = -1; // least recently used
  #tail = -1; // most recently used
  #free = -1;
  #used = 0; // rows ever handed out since the last clear
  #size = 0;
  #evicted = 0;
  #cursor = 0;
  #grain: number;
  readonly #seed: number;
  #onRemove: (backend: number, state: number) => void;
  /** IPv6 client addresses, four words per row; null until the first `insert6`. */
  #addr6: Int32Array | null = null;
  /** Each backend's first row, -1 for none; grows (doubling) to the largest id seen. */
  #heads: Int32Array = new Int32Array(MIN_HEADS).fill(-1);
  /** The previous row in the backend's list, -1 for its first. */
  #bprev: Int32Array;
  /** The low 16 bits of the next row + 1 in the backend's list (0: none). */
  #bnextLow: Uint16Array;

  /**
   * Creates an empty table holding up to `maxFlows` flows.
   * @throws {RangeError} when `maxFlows` is not an integer from 1 to 2^27.
   */
  constructor(maxFlows: number, options: FlowTableOptions = {}) {
    if (!Number.isInteger(maxFlows) || maxFlows < 1 || maxFlows > MAX_FLOWS) {
      throw new RangeError(`maxFlows must be an integer from 1 to ${MAX_FLOWS}, got ${maxFlows}`);
    }
    this.maxFlows = maxFlows;
    this.timeouts = this.#timeouts;
    this.#onRemove = options.onRemove ?? noop;
    this.#seed = options.seed ?? crypto.getRandomValues(new Uint32Array(1))[0];
    this.#grain = Math.max(0, Math.min(MAX_TIMEOUT, options.lruGrainMs ?? 0));
    let cells = 16;
    while (cells * 3 < maxFlows * 4) cells *= 2;
    this.#maxCells = cells;
    this.#cells = new Int32Array(Math.min(cells, MIN_CELLS) * 4);
    this.#mask = this.#cells.length / 4 - 1;
    if (cells > MAX_DOUBLING_CELLS) {
      const full = new Int32Array(cells * 4);
      // A write to each page makes the kernel back it now, not in the growth.
      for (let at = 0; at < full.length; at += PAGE_WORDS) full[at] = 0;
      this.#full = full;
    }
    this.#rows = new Int32Array(maxFlows * 4);
    this.#prev = new Int32Array(maxFlows);
    this.#next = new Int32Array(maxFlows);
    this.#bprev = new Int32Array(maxFlows);
    this.#bnextLow = new Uint16Array(maxFlows);
  }

  /**
   * Timeouts in ms; a new object may be assigned at any time and is used from
   * the next `insert` or `touch` of a flow.
   */
  get timeouts(): FlowTimeouts {
    return this.#timeouts;
  }

  set timeouts(timeouts: FlowTimeouts) {
    this.#timeouts = timeouts;
    for (let state = 0; state <= STATE_MASK; state++) {
      const t = state === FLOW_ESTABLISHED
        ? timeouts.tcp
        : state === FLOW_UDP
        ? timeouts.udp
        : timeouts.tcpfin;
      this.#timeoutOf[state] = t > MAX_TIMEOUT ? MAX_TIMEOUT : t > 0 ? t : 0;
    }
  }

  /** Flows in the table. */
  get size(): number {
    return this.#size;
  }

  /** Flows evicted because the table was full, since construction. */
  get evicted(): number {
    return this.#evicted;
  }

  /** Cells in the index now (it grows as flows come, up to the size for `maxFlows`). */
  get indexCells(): number {
    return this.#mask + 1;
  }

  /** Bytes held by the table's typed arrays, the full-size index included from the start. */
  get byteLength(): number {
    return this.#cells.byteLength + (this.#full?.byteLength ?? 0) + this.#rows.byteLength +
      this.#prev.byteLength + this.#next.byteLength + this.#bprev.byteLength +
      this.#bnextLow.byteLength + this.#heads.byteLength + (this.#addr6?.byteLength ?? 0);
  }

  /** Finds a flow by client IP, `(clientPort << 16 | vipPort) >>> 0` and service id; its slot or -1. */
  lookup(srcIp: number, ports: number, service: number): number {
    const cells = this.#cells;
    const mask = this.#mask;
    const a = srcIp | 0;
    const b = ports | 0;
    const c = service | 0;
    for (let i = hashKey(srcIp, ports, service, this.#seed) & mask;; i = (i + 1) & mask) {
      const at = i << 2;
      const row1 = cells[at];
      if (row1 === 0) return -1;
      if (cells[at + C_SRC] === a && cells[at + C_PORTS] === b && cells[at + C_SERVICE] === c) {
        return row1 - 1;
      }
    }
  }

  /**
   * Finds an IPv6 flow by the client address in `addr[at, at + 4)` (words as
   * `PacketView.src6` holds them), ports and service id; its slot or -1.
   */
  lookup6(addr: Int32Array, at: number, ports: number, service: number): number {
    const words = this.#addr6;
    if (words === null) return -1;
    const a0 = addr[at], a1 = addr[at + 1], a2 = addr[at + 2], a3 = addr[at + 3];
    const f = foldAddr6(addr, at, this.#seed);
    const cells = this.#cells;
    const mask = this.#mask;
    const b = ports | 0;
    const c = service | 0;
    for (let i = hashKey(f, ports, service, this.#seed) & mask;; i = (i + 1) & mask) {
      const cell = i << 2;
      const row1 = cells[cell];
      if (row1 === 0) return -1;
      if (
        cells[cell + C_SRC] === f && cells[cell + C_PORTS] === b && cells[cell + C_SERVICE] === c
      ) {
        // Another address with the same fold is another flow: probe on.
        const w = (row1 - 1) << 2;
        if (words[w] === a0 && words[w + 1] === a1 && words[w + 2] === a2 && words[w + 3] === a3) {
          return row1 - 1;
        }
      }
    }
  }

  /** Inserts a new IPv6 flow (the caller has checked it is absent), as `insert` does; its slot. */
  insert6(
    addr: Int32Array,
    at: number,
    ports: number,
    service: number,
    backend: number,
    state: number,
    now: number,
  ): number {
    const words = this.#addr6 ??= new Int32Array(this.maxFlows * 4);
    const row = this.insert(foldAddr6(addr, at, this.#seed), ports, service, backend, state, now);
    const w = row << 2;
    words[w] = addr[at];
    words[w + 1] = addr[at + 1];
    words[w + 2] = addr[at + 2];
    words[w + 3] = addr[at + 3];
    return row;
  }

  /**
   * Inserts a new flow (the caller has checked it is absent), evicting the
   * least recently used flow first when full; its slot.
   * @throws {RangeError} when `backend` is not an integer from 0 to 65535.
   */
  insert(
    srcIp: number,
    ports: number,
    service: number,
    backend: number,
    state: number,
    now: number,
  ): number {
    // checked first, so a bad id throws before a row is taken
    if (backend >>> 0 !== backend || backend >= this.#heads.length) this.#growHeads(backend);
    let row = this.#free;
    if (row >= 0) this.#free = this.#next[row];
    else if (this.#used < this.maxFlows) row = this.#used++;
    else {
      row = this.#head;
      this.#evicted++;
      this.remove(row);
      this.#free = this.#next[row];
    }
    if (this.#size * 2 >= this.#mask && this.#mask + 1 < this.#maxCells) this.#grow();
    const r = row << 2;
    const rows = this.#rows;
    rows[r + R_CELL] = place(this.#cells, this.#mask, row, srcIp, ports, service, this.#seed);
    // first in its backend's list
    const heads = this.#heads;
    const first = heads[backend];
    const next1 = first + 1;
    rows[r + R_BACKEND_STATE] = ((next1 >>> 16) << LINK_SHIFT) | (backend << BACKEND_SHIFT) | state;
    this.#bnextLow[row] = next1;
    this.#bprev[row] = -1;
    if (first >= 0) this.#bprev[first] = row;
    heads[backend] = row;
    rows[r + R_EXPIRES] = now + this.#timeoutOf[state];
    rows[r + R_MOVED] = now;
    this.#prev[row] = this.#tail;
    this.#next[row] = -1;
    if (this.#tail >= 0) this.#next[this.#tail] = row;
    else this.#head = row;
    this.#tail = row;
    this.#size++;
    return row;
  }

  /** The backend id of the flow in `slot`. */
  backend(slot: number): number {
    return (this.#rows[(slot << 2) + R_BACKEND_STATE] >>> BACKEND_SHIFT) & BACKEND_MASK;
  }

  /** When the flow in `slot` expires (ms, low 32 bits, as given to `touch`). */
  expires(slot: number): number {
    return this.#rows[(slot << 2) + R_EXPIRES];
  }

  /** The state (`FLOW_*`) of the flow in `slot`; 0 for a free slot. */
  state(slot: number): number {
    return this.#rows[(slot << 2) + R_BACKEND_STATE] & STATE_MASK;
  }

  /**
   * Marks the flow used at `now` (ms) with `state`: expiry from the timeout of
   * `state`, and the young end of the LRU list unless it moved there less
   * than `lruGrainMs` ago.
   */
  touch(slot: number, state: number, now: number): void {
    const rows = this.#rows;
    const r = slot << 2;
    rows[r + R_BACKEND_STATE] = (rows[r + R_BACKEND_STATE] & ~STATE_MASK) | state;
    rows[r + R_EXPIRES] = now + this.#timeoutOf[state];
    if (slot === this.#tail || (((now | 0) - rows[r + R_MOVED]) | 0) < this.#grain) return;
    rows[r + R_MOVED] = now;
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
    const rows = this.#rows;
    const r = slot << 2;
    const word = rows[r + R_BACKEND_STATE];
    const state = word & STATE_MASK;
    if (state === 0) return;
    const cells = this.#cells;
    const mask = this.#mask;
    let hole = rows[r + R_CELL];
    // backward-shift: pull later cells of the probe run into the hole when their home allows
    for (let j = (hole + 1) & mask;; j = (j + 1) & mask) {
      const at = j << 2;
      const row1 = cells[at];
      if (row1 === 0) break;
      const home =
        hashKey(cells[at + C_SRC], cells[at + C_PORTS], cells[at + C_SERVICE], this.#seed) &
        mask;
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        cells.copyWithin(hole << 2, at, at + 4);
        rows[((row1 - 1) << 2) + R_CELL] = hole;
        hole = j;
      }
    }
    cells[hole << 2] = 0;
    const prev = this.#prev[slot];
    const next = this.#next[slot];
    if (prev >= 0) this.#next[prev] = next;
    else this.#head = next;
    if (next >= 0) this.#prev[next] = prev;
    else this.#tail = prev;
    // out of its backend's list
    const backend = (word >>> BACKEND_SHIFT) & BACKEND_MASK;
    const bnext1 = ((word >>> LINK_SHIFT) << 16) | this.#bnextLow[slot];
    const bprev = this.#bprev[slot];
    if (bprev >= 0) {
      const p = (bprev << 2) + R_BACKEND_STATE;
      rows[p] = (rows[p] & LOW_WORD) | ((bnext1 >>> 16) << LINK_SHIFT);
      this.#bnextLow[bprev] = bnext1;
    } else this.#heads[backend] = bnext1 - 1;
    if (bnext1 !== 0) this.#bprev[bnext1 - 1] = bprev;
    rows[r + R_BACKEND_STATE] = 0;
    this.#next[slot] = this.#free;
    this.#free = slot;
    this.#size--;
    this.#onRemove(backend, state);
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
    const rows = this.#rows;
    const t = now | 0;
    let removed = 0;
    let c = this.#cursor;
    for (let n = Math.min(budget, used); n > 0; n--) {
      if (c >= used) c = 0;
      const r = c << 2;
      if ((rows[r + R_BACKEND_STATE] & STATE_MASK) !== 0 && ((t - rows[r + R_EXPIRES]) | 0) >= 0) {
        this.remove(c);
        removed++;
      }
      c++;
    }
    this.#cursor = c;
    return removed;
  }

  /**
   * Removes every flow of `backend`; the count. Visits only that backend's
   * flows, through its list: each removal takes the list's first row.
   */
  removeBackend(backend: number): number {
    if (!Number.isInteger(backend) || backend < 0 || backend >= this.#heads.length) return 0;
    const heads = this.#heads;
    let removed = 0;
    // At most the flows there were: an `onRemove` that inserts flows of this
    // backend cannot keep the loop going.
    for (let n = this.#size; n > 0 && heads[backend] >= 0; n--) {
      this.remove(heads[backend]);
      removed++;
    }
    return removed;
  }

  /**
   * The slots of `backend`'s flows, newest first (walks its list; for tests
   * and cold paths: it allocates).
   * @throws {Error} when the list is inconsistent (a link or a row's backend disagrees).
   */
  slotsOf(backend: number): number[] {
    const slots: number[] = [];
    if (!Number.isInteger(backend) || backend < 0 || backend >= this.#heads.length) return slots;
    const rows = this.#rows;
    let prev = -1;
    for (let row = this.#heads[backend]; row >= 0;) {
      const word = rows[(row << 2) + R_BACKEND_STATE];
      if (
        (word & STATE_MASK) === 0 || ((word >>> BACKEND_SHIFT) & BACKEND_MASK) !== backend ||
        this.#bprev[row] !== prev || slots.length >= this.#size
      ) throw new Error(`flow table: backend ${backend}'s list is broken at row ${row}`);
      slots.push(row);
      prev = row;
      row = (((word >>> LINK_SHIFT) << 16) | this.#bnextLow[row]) - 1;
    }
    return slots;
  }

  /** Removes every flow of `service`; the count. */
  removeService(service: number): number {
    const rows = this.#rows;
    const cells = this.#cells;
    let removed = 0;
    for (let row = 0; row < this.#used; row++) {
      const r = row << 2;
      if (
        (rows[r + R_BACKEND_STATE] & STATE_MASK) !== 0 &&
        cells[(rows[r + R_CELL] << 2) + C_SERVICE] === (service | 0)
      ) {
        this.remove(row);
        removed++;
      }
    }
    return removed;
  }

  /** Makes room in the list heads for `backend` (doubling; once per new largest id). */
  #growHeads(backend: number): void {
    if (!Number.isInteger(backend) || backend < 0 || backend > BACKEND_MASK) {
      throw new RangeError(`backend must be an integer from 0 to ${BACKEND_MASK}, got ${backend}`);
    }
    let length = this.#heads.length;
    while (length <= backend) length *= 2;
    const heads = new Int32Array(length).fill(-1);
    heads.set(this.#heads);
    this.#heads = heads;
  }

  /** Moves every flow into a bigger index: twice the size while small, else the full size. */
  #grow(): void {
    const old = this.#cells;
    const count = old.length / 4;
    const cells = this.#full !== null && count >= MAX_DOUBLING_CELLS
      ? this.#full
      : new Int32Array(count * 8);
    if (cells === this.#full) this.#full = null;
    const mask = cells.length / 4 - 1;
    const rows = this.#rows;
    for (let from = 0; from < old.length; from += 4) {
      const row1 = old[from];
      if (row1 === 0) continue;
      rows[((row1 - 1) << 2) + R_CELL] = place(
        cells,
        mask,
        row1 - 1,
        old[from + C_SRC],
        old[from + C_PORTS],
        old[from + C_SERVICE],
        this.#seed,
      );
    }
    this.#cells = cells;
    this.#mask = mask;
  }

  /** Removes all flows (each is reported to `onRemove`). */
  clear(): void {
    const rows = this.#rows;
    for (let row = this.#head; row >= 0; row = this.#next[row]) {
      const word = rows[(row << 2) + R_BACKEND_STATE];
      this.#onRemove((word >>> BACKEND_SHIFT) & BACKEND_MASK, word & STATE_MASK);
    }
    const cells = this.#cells;
    for (let row = 0; row < this.#used; row++) {
      const r = row << 2;
      // Zero the cells of flows only, not the whole index.
      if ((rows[r + R_BACKEND_STATE] & STATE_MASK) !== 0) cells[rows[r + R_CELL] << 2] = 0;
      rows[r + R_BACKEND_STATE] = 0;
    }
    this.#heads.fill(-1);
    this.#head = this.#tail = this.#free = -1;
    this.#used = this.#size = this.#cursor = 0;
  }
}

/** Writes a flow's key and row into the first free cell of its probe run; the cell's index. */
function place(
  cells: Int32Array,
  mask: number,
  row: number,
  srcIp: number,
  ports: number,
  service: number,
  seed: number,
): number {
  let i = hashKey(srcIp, ports, service, seed) & mask;
  while (cells[i << 2] !== 0) i = (i + 1) & mask;
  const at = i << 2;
  cells[at] = row + 1;
  cells[at + C_SRC] = srcIp;
  cells[at + C_PORTS] = ports;
  cells[at + C_SERVICE] = service;
  return i;
}
