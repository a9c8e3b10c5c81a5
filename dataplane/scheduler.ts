/**
 * Schedulers for new flows, named as IPVS names them. The control plane
 * builds one {@linkcode SchedState} per service; the packet loop calls
 * {@linkcode pick} on a flow-table miss. `pick` allocates nothing and never throws.
 * @module
 */

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

/** Scheduler names, indexed by their `SCHED_*` code. */
export const SCHEDULER_NAMES = ["rr", "wrr", "lc", "wlc", "sh", "mh"] as const;
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
  /** rr cursor at [0]; smooth-wrr current weights at [1 + i]. */
  scratch: Int32Array;
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
 * the Maglev table of `ringSize` entries is made for `sh` and `mh` only, by
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
  if (!Number.isInteger(kind) || kind < SCHED_RR || kind > SCHED_MH) {
    throw new RangeError(`Unknown scheduler code ${kind}: expected ${SCHED_RR} to ${SCHED_MH}`);
  }
  for (const b of backends) {
    if (!Number.isInteger(b.id) || b.id < 0 || !Number.isInteger(b.weight) || b.weight < 0) {
      throw new RangeError(
        `Backend ${b.key} needs an integer id and weight >= 0, got id ${b.id}, weight ${b.weight}`,
      );
    }
  }
  const hashed = kind === SCHED_SH || kind === SCHED_MH;
  const members = hashed ? ringMembers(backends) : [];
  return {
    kind,
    ids: Int32Array.from(backends, (b) => b.id),
    weights: Int32Array.from(backends, (b) => b.weight),
    ring: hashed ? rings(members, ringSize) : new Uint16Array(0),
    ringIds: Int32Array.from(members, (b) => b.id),
    scratch: new Int32Array(1 + backends.length),
  };
}

/**
 * Picks the backend id for a new flow, or -1 when no backend has weight > 0.
 * `flowHash` is `hashFlow` of the packet (mh), `srcHash` `hashAddr` of the
 * client (sh), both from `hash.ts`; `active` and `inactive` are
 * connection counts indexed by backend id (lc, wlc), as IPVS keeps them.
 */
export function pick(
  s: SchedState,
  flowHash: number,
  srcHash: number,
  active: Int32Array,
  inactive: Int32Array,
): number {
  const { ids, weights } = s;
  const n = ids.length;
  switch (s.kind) {
    case SCHED_MH:
      return s.ring.length === 0 ? -1 : s.ringIds[s.ring[(flowHash >>> 0) % s.ring.length]];
    case SCHED_SH:
      return s.ring.length === 0 ? -1 : s.ringIds[s.ring[(srcHash >>> 0) % s.ring.length]];
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
    default:
      return -1;
  }
}
