/**
 * Schedulers for new flows, named as IPVS names them and with IPVS's meaning
 * (ipvsadm(8), and the Linux kernel's net/netfilter/ipvs/ip_vs_*.c for the
 * details each code's comment names). The control plane builds one
 * {@linkcode SchedState} per service; the packet loop calls {@linkcode pick}
 * on a flow-table miss. `pick` allocates nothing and never throws.
 * @module
 */

import { highestWeight, shortestDelay, twoChoices } from "./_sched_load.ts";
import {
  inheritLocality,
  LOCALITY_EXPIRE_MS,
  newLocalityTable,
  pickLblc,
  pickLblcr,
} from "./locality.ts";
import { buildMaglevIndexes, DEFAULT_RING_SIZE, type MaglevBackend } from "./maglev.ts";

/** Round robin. */
export const SCHED_RR = 0;
/** Smooth weighted round robin. */
export const SCHED_WRR = 1;
/** Least connections. */
export const SCHED_LC = 2;
/** Weighted least connections. */
export const SCHED_WLC = 3;
/** Source hashing: the client address only. */
export const SCHED_SH = 4;
/** Maglev hashing over the flow's 5-tuple. */
export const SCHED_MH = 5;
/**
 * Destination hashing (ip_vs_dh.c): the destination address, which for a
 * dsr service is always its VIP, so one VIP's flows all go to one server.
 * Over the Maglev table, as `sh`: IPVS's 256-bucket table gives no server
 * when the bucket's one is quiesced, dsr's table has no entry for it.
 */
export const SCHED_DH = 6;
/** Locality-based least connections (ip_vs_lblc.c; see `locality.ts`). */
export const SCHED_LBLC = 7;
/** Locality-based least connections with replication (ip_vs_lblcr.c; see `locality.ts`). */
export const SCHED_LBLCR = 8;
/** Shortest expected delay (ip_vs_sed.c): the least (active + 1) / weight. */
export const SCHED_SED = 9;
/** Never queue (ip_vs_nq.c): a server with no active connection first, else as sed. */
export const SCHED_NQ = 10;
/** Weighted failover (ip_vs_fo.c): the available server of the highest weight. */
export const SCHED_FO = 11;
/** Weighted overflow (ip_vs_ovf.c): the highest weight until its active connections exceed it. */
export const SCHED_OVF = 12;
/** Weighted power of two choices (ip_vs_twos.c): two weighted random picks, the less loaded wins. */
export const SCHED_TWOS = 13;

/** Scheduler names, indexed by their `SCHED_*` code. */
export const SCHEDULER_NAMES = [
  "rr",
  "wrr",
  "lc",
  "wlc",
  "sh",
  "mh",
  "dh",
  "lblc",
  "lblcr",
  "sed",
  "nq",
  "fo",
  "ovf",
  "twos",
] as const;
/** A scheduler name as IPVS spells it. */
export type SchedulerName = typeof SCHEDULER_NAMES[number];

/**
 * The `SCHED_*` code of a scheduler name.
 * @throws {RangeError} when `name` is not a scheduler name.
 */
export function schedulerCode(name: SchedulerName): number {
  const code = SCHEDULER_NAMES.indexOf(name);
  if (code < 0) {
    throw new RangeError(
      `Unknown scheduler "${name}": expected one of ${SCHEDULER_NAMES.join(", ")}`,
    );
  }
  return code;
}

/** One service's scheduling state, built by the control plane, mutated only by {@linkcode pick}. */
export interface SchedState {
  /** `SCHED_*` code. */
  kind: number;
  /** Backend ids of the service. */
  ids: Int32Array;
  /** Effective weight per backend (same index as `ids`); 0 takes no new flows. */
  weights: Int32Array;
  /**
   * Maglev table (`sh` and `mh`) over the backends with weight > 0: each
   * entry an index into `ringIds`. Empty for other schedulers and when no
   * backend takes new flows. Never written once built: services with the same
   * members share one, in shared memory, so posting a program shares it with
   * the worker instead of copying it.
   */
  ring: Uint16Array;
  /** Backend id of each ring index: the backends with weight > 0, in key order. */
  ringIds: Int32Array;
  /**
   * rr cursor at [0]; smooth-wrr current weights at [1 + i]; twos: the
   * xorshift32 state at [0] (never 0).
   */
  scratch: Int32Array;
  /** lblc and lblcr: assignments per destination address (`locality.ts`); empty otherwise. */
  locality: Int32Array;
  /**
   * lblc and lblcr: ms an assignment is kept unused, and an lblcr set
   * unchanged before it sheds its most loaded server (IPVS's
   * `lblc_expiration` and `lblcr_expiration`, default 24 h).
   */
  expireMs: number;
}

/** The most backends one Maglev table indexes (its entries are 16-bit). */
export const MAX_RING_MEMBERS = 0xffff;

/** The backends a Maglev table is built over: weight > 0, in key order (then id). */
export function ringMembers(backends: readonly MaglevBackend[]): MaglevBackend[] {
  return backends.filter((b) => b.weight > 0).sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : a.id - b.id
  );
}

/**
 * Makes the Maglev table of `size` entries over `members` (from
 * {@linkcode ringMembers}), each entry an index into `members`.
 */
export type RingSource = (members: readonly MaglevBackend[], size: number) => Uint16Array;

/**
 * Builds a Maglev table of member indexes in a SharedArrayBuffer, so a
 * program posted to the worker shares it. It depends only on the members'
 * keys and weights, not on their ids: services over the same servers with
 * the same weights can share one.
 * @throws {RangeError} from {@linkcode buildMaglevIndexes} (bad weight or size), or
 * with more than {@linkcode MAX_RING_MEMBERS} members.
 */
export function buildRing(members: readonly MaglevBackend[], size: number): Uint16Array {
  if (members.length > MAX_RING_MEMBERS) {
    throw new RangeError(`A Maglev table indexes at most ${MAX_RING_MEMBERS} backends`);
  }
  if (members.length === 0) return new Uint16Array(0);
  // Built in place: a table of ids first would be 4 bytes an entry of garbage.
  return buildMaglevIndexes(members, new Uint16Array(new SharedArrayBuffer(size * 2)));
}

/**
 * Builds the scheduling state of a service over `backends` (in that order);
 * the Maglev table of `ringSize` entries is made for `sh`, `mh` and `dh` only, by
 * `rings` (default {@linkcode buildRing}; the compiler passes its cache).
 * Make a new state whenever backends or weights change.
 * @throws {RangeError} when `kind` is not a `SCHED_*` code, or from
 * {@linkcode buildRing} (bad id, weight or ring size).
 */
export function newSchedState(
  kind: number,
  backends: readonly MaglevBackend[],
  ringSize: number = DEFAULT_RING_SIZE,
  rings: RingSource = buildRing,
): SchedState {
  if (!Number.isInteger(kind) || kind < SCHED_RR || kind > SCHED_TWOS) {
    throw new RangeError(`Unknown scheduler code ${kind}: expected ${SCHED_RR} to ${SCHED_TWOS}`);
  }
  for (const b of backends) {
    if (!Number.isInteger(b.id) || b.id < 0 || !Number.isInteger(b.weight) || b.weight < 0) {
      throw new RangeError(
        `Backend ${b.key} needs an integer id and weight >= 0, got id ${b.id}, weight ${b.weight}`,
      );
    }
  }
  const hashed = kind === SCHED_SH || kind === SCHED_MH || kind === SCHED_DH;
  const members = hashed ? ringMembers(backends) : [];
  const scratch = new Int32Array(1 + backends.length);
  if (kind === SCHED_TWOS) {
    while (scratch[0] === 0) crypto.getRandomValues(scratch.subarray(0, 1));
  }
  const local = kind === SCHED_LBLC || kind === SCHED_LBLCR;
  return {
    kind,
    ids: Int32Array.from(backends, (b) => b.id),
    weights: Int32Array.from(backends, (b) => b.weight),
    ring: hashed ? rings(members, ringSize) : new Uint16Array(0),
    ringIds: Int32Array.from(members, (b) => b.id),
    scratch,
    locality: local ? newLocalityTable(kind === SCHED_LBLCR, backends.length) : new Int32Array(0),
    expireMs: LOCALITY_EXPIRE_MS,
  };
}

/**
 * Carries what a scheduler learnt into the state a new program built for the
 * same service: lblc and lblcr assignments (matched by backend id), as IPVS
 * keeps them across changes of real servers. Other schedulers start afresh.
 * Does nothing when the kinds differ or both are the same state.
 */
export function inheritSchedState(from: SchedState, to: SchedState): void {
  if (from === to || from.kind !== to.kind) return;
  if (from.kind === SCHED_LBLC || from.kind === SCHED_LBLCR) {
    inheritLocality(from, to, from.kind === SCHED_LBLCR);
  }
}

/**
 * Picks the backend id for a new flow, or -1 when no backend has weight > 0.
 * `flowHash` is `hashFlow` of the packet (mh), `srcHash` `hashAddr` of the
 * client (sh), `dstHash` `hashAddr` of its destination address (dh, lblc,
 * lblcr), all from `hash.ts`; `active` and `inactive` are connection counts
 * indexed by backend id, as IPVS keeps them; `now` is ms (low 32 bits), for
 * lblc and lblcr expiry.
 */
export function pick(
  s: SchedState,
  flowHash: number,
  srcHash: number,
  active: Int32Array,
  inactive: Int32Array,
  dstHash = 0,
  now = 0,
): number {
  const { ids, weights } = s;
  const n = ids.length;
  switch (s.kind) {
    case SCHED_MH:
      return s.ring.length === 0 ? -1 : s.ringIds[s.ring[(flowHash >>> 0) % s.ring.length]];
    case SCHED_SH:
      return s.ring.length === 0 ? -1 : s.ringIds[s.ring[(srcHash >>> 0) % s.ring.length]];
    case SCHED_DH:
      return s.ring.length === 0 ? -1 : s.ringIds[s.ring[(dstHash >>> 0) % s.ring.length]];
    case SCHED_RR: {
      const scratch = s.scratch;
      for (let tries = 0; tries < n; tries++) {
        const i = scratch[0] >= n ? 0 : scratch[0];
        scratch[0] = i + 1;
        if (weights[i] > 0) return ids[i];
      }
      return -1;
    }
    case SCHED_WRR: {
      // nginx smooth weighted round robin: everyone earns its weight, the richest pays the total
      const current = s.scratch;
      let total = 0;
      let best = -1;
      for (let i = 0; i < n; i++) {
        const w = weights[i];
        if (w <= 0) continue;
        current[1 + i] += w;
        total += w;
        if (best < 0 || current[1 + i] > current[1 + best]) best = i;
      }
      if (best < 0) return -1;
      current[1 + best] -= total;
      return ids[best];
    }
    case SCHED_LC:
    case SCHED_WLC: {
      // IPVS overhead: active * 256 + inactive; wlc compares overhead / weight by cross-multiplying
      const weighted = s.kind === SCHED_WLC;
      let best = -1;
      let bestLoad = 0;
      let bestWeight = 1;
      for (let i = 0; i < n; i++) {
        const w = weights[i];
        if (w <= 0) continue;
        const id = ids[i];
        const load = active[id] * 256 + inactive[id];
        const lw = weighted ? w : 1;
        if (best < 0 || load * bestWeight < bestLoad * lw) {
          best = i;
          bestLoad = load;
          bestWeight = lw;
        }
      }
      return best < 0 ? -1 : ids[best];
    }
    case SCHED_LBLC:
      return pickLblc(s, active, inactive, dstHash, now);
    case SCHED_LBLCR:
      return pickLblcr(s, active, inactive, dstHash, now);
    case SCHED_SED:
    case SCHED_NQ:
      return idOf(ids, shortestDelay(ids, weights, active, s.kind === SCHED_NQ));
    case SCHED_FO:
    case SCHED_OVF:
      return idOf(ids, highestWeight(ids, weights, active, s.kind === SCHED_OVF));
    case SCHED_TWOS:
      return idOf(ids, twoChoices(ids, weights, active, inactive, s.scratch));
    default:
      return -1;
  }
}

function idOf(ids: Int32Array, i: number): number {
  return i < 0 ? -1 : ids[i];
}
