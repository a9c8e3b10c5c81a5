/**
 * Locality-based schedulers, as IPVS's `lblc` and `lblcr` (Linux
 * net/netfilter/ipvs/ip_vs_lblc.c and ip_vs_lblcr.c; ipvsadm(8)): jobs for
 * one destination address go to the real server (lblc) or the set of
 * servers (lblcr) assigned to that address, until it is overloaded.
 *
 * - A server is overloaded when its active connections exceed its weight
 *   and some server of the service has fewer than half its weight in active
 *   connections (the kernel's `is_overloaded`).
 * - lblc: the assigned server is kept while its weight is > 0 and it is not
 *   overloaded; otherwise the weighted least-connection server (IPVS's
 *   overhead, active × 256 + inactive, over weight) takes its place.
 * - lblcr: the least loaded member of the set with weight > 0 is taken
 *   unless it is overloaded; then the weighted least-connection server of
 *   the service is taken and joins the set. A set of more than one that has
 *   not changed for the expiry time sheds its most loaded member.
 * - An assignment unused for the expiry time (IPVS's `lblc_expiration` and
 *   `lblcr_expiration`, 24 hours by default) is forgotten. IPVS collects
 *   them with a timer every half hour; here they are dropped when next met.
 *
 * In dsr a service has one VIP, so a table holds one address in practice;
 * it has room for {@linkcode LOCALITY_SLOTS} and reuses the least recently
 * used slot beyond that. Addresses are told apart by their 32-bit hash.
 * The table is an Int32Array the control plane allocates once per state;
 * picking allocates nothing.
 * @module
 */

import { overhead, weightedLeast } from "./_sched_load.ts";

/** Destination addresses one table remembers. */
export const LOCALITY_SLOTS = 16;
/** IPVS's default `lblc_expiration` and `lblcr_expiration`: 24 hours, in ms. */
export const LOCALITY_EXPIRE_MS = 24 * 60 * 60 * 1000;

// Words of a slot.
const USED = 0; // 1 when the slot holds an address
const KEY = 1; // the address's hash
const LAST_USE = 2; // ms (low 32 bits) the entry was last used
const DEST = 3; // lblc: index of the assigned server; lblcr: ms the set last changed
const SIZE = 4; // lblcr: members in the set
const MEMBERS = 5; // lblcr: member indexes, newest first (as IPVS adds at the list's head)

/** What a locality pick reads besides the table: the service's servers. */
interface LocalityState {
  ids: Int32Array;
  weights: Int32Array;
  locality: Int32Array;
  expireMs: number;
}

/** Words per slot of a table over `n` servers. */
function strideOf(replicated: boolean, n: number): number {
  return replicated ? MEMBERS + n : SIZE;
}

/** An empty table for `n` servers; `replicated` for lblcr. */
export function newLocalityTable(replicated: boolean, n: number): Int32Array {
  return new Int32Array(LOCALITY_SLOTS * strideOf(replicated, n));
}

/**
 * Whether `expireMs` have passed since `then` at `now` (the kernel removes an
 * entry once `now >= lastuse + expiration`). Times are ms in 32 bits, so an
 * age that wrapped negative counts as passed.
 */
function expired(now: number, then: number, expireMs: number): boolean {
  const age = (now - then) | 0;
  return age < 0 || age >= expireMs;
}

/** The offset of the live slot of `key`, or -1 (an expired one is freed). */
function find(s: LocalityState, stride: number, key: number, now: number): number {
  const t = s.locality;
  for (let b = 0; b < t.length; b += stride) {
    if (t[b + USED] !== 1 || t[b + KEY] !== key) continue;
    if (!expired(now, t[b + LAST_USE], s.expireMs)) return b;
    t[b + USED] = 0;
    return -1;
  }
  return -1;
}

/** A slot for a new key, empty: a free or expired one, else the least recently used. */
function claim(
  s: LocalityState,
  replicated: boolean,
  key: number,
  now: number,
): number {
  const stride = strideOf(replicated, s.ids.length);
  const t = s.locality;
  let victim = 0;
  let oldest = -1;
  for (let b = 0; b < t.length; b += stride) {
    if (t[b + USED] !== 1 || expired(now, t[b + LAST_USE], s.expireMs)) {
      victim = b;
      break;
    }
    const age = (now - t[b + LAST_USE]) | 0;
    if (age > oldest) {
      oldest = age;
      victim = b;
    }
  }
  t[victim + USED] = 1;
  t[victim + KEY] = key;
  t[victim + LAST_USE] = now;
  if (replicated) t[victim + SIZE] = 0;
  else t[victim + DEST] = -1;
  return victim;
}

/** The kernel's `is_overloaded`: over its weight while another server is under half of its own. */
function overloaded(s: LocalityState, active: Int32Array, i: number): boolean {
  const { ids, weights } = s;
  if (active[ids[i]] <= weights[i]) return false;
  for (let j = 0; j < ids.length; j++) if (active[ids[j]] * 2 < weights[j]) return true;
  return false;
}

/**
 * `lblc`: the server assigned to the destination whose hash is `dstHash`.
 * @returns a backend id, or -1 when no weight is > 0
 */
export function pickLblc(
  s: LocalityState,
  active: Int32Array,
  inactive: Int32Array,
  dstHash: number,
  now: number,
): number {
  const t = s.locality;
  const key = dstHash | 0;
  let b = find(s, SIZE, key, now);
  if (b >= 0) {
    t[b + LAST_USE] = now;
    const i = t[b + DEST];
    if (i >= 0 && s.weights[i] > 0 && !overloaded(s, active, i)) return s.ids[i];
  }
  const least = weightedLeast(s.ids, s.weights, active, inactive);
  if (least < 0) return -1;
  if (b < 0) b = claim(s, false, key, now);
  t[b + DEST] = least;
  return s.ids[least];
}

/** lblcr's `ip_vs_dest_set_min`: the member with the least overhead / weight (> 0), or -1. */
function setMin(s: LocalityState, b: number, active: Int32Array, inactive: Int32Array): number {
  const t = s.locality;
  let least = -1;
  let leastLoad = 0;
  for (let m = b + MEMBERS, end = m + t[b + SIZE]; m < end; m++) {
    const i = t[m];
    const w = s.weights[i];
    if (w <= 0) continue;
    const load = overhead(s.ids[i], active, inactive);
    if (least < 0 || leastLoad * w > load * s.weights[least]) {
      least = i;
      leastLoad = load;
    }
  }
  return least;
}

/** lblcr's `ip_vs_dest_set_max`: the member with the most overhead / weight (> 0), or -1. */
function setMax(s: LocalityState, b: number, active: Int32Array, inactive: Int32Array): number {
  const t = s.locality;
  let most = -1;
  let mostLoad = 0;
  for (let m = b + MEMBERS, end = m + t[b + SIZE]; m < end; m++) {
    const i = t[m];
    const w = s.weights[i];
    if (w <= 0) continue;
    const load = overhead(s.ids[i], active, inactive);
    if (most < 0 || mostLoad * w < load * s.weights[most]) {
      most = i;
      mostLoad = load;
    }
  }
  return most;
}

/** Adds server `i` at the head of the set unless it is a member; a change stamps the set. */
function setInsert(t: Int32Array, b: number, i: number, now: number): void {
  const first = b + MEMBERS;
  const end = first + t[b + SIZE];
  for (let m = first; m < end; m++) if (t[m] === i) return;
  t.copyWithin(first + 1, first, end);
  t[first] = i;
  t[b + SIZE]++;
  t[b + DEST] = now;
}

/** Removes server `i` from the set and stamps it. */
function setErase(t: Int32Array, b: number, i: number, now: number): void {
  const first = b + MEMBERS;
  const end = first + t[b + SIZE];
  for (let m = first; m < end; m++) {
    if (t[m] !== i) continue;
    t.copyWithin(m, m + 1, end);
    t[b + SIZE]--;
    t[b + DEST] = now;
    return;
  }
}

/**
 * `lblcr`: the least loaded server of the set assigned to the destination
 * whose hash is `dstHash`, growing and shrinking the set as IPVS does.
 * @returns a backend id, or -1 when no weight is > 0
 */
export function pickLblcr(
  s: LocalityState,
  active: Int32Array,
  inactive: Int32Array,
  dstHash: number,
  now: number,
): number {
  const t = s.locality;
  const stride = strideOf(true, s.ids.length);
  const key = dstHash | 0;
  let b = find(s, stride, key, now);
  if (b >= 0) {
    t[b + LAST_USE] = now;
    const dest = setMin(s, b, active, inactive);
    // The kernel takes the least loaded member before it sheds the most
    // loaded one, once `now > lastmod + expiration`.
    const unchanged = (now - t[b + DEST]) | 0;
    if (t[b + SIZE] > 1 && (unchanged < 0 || unchanged > s.expireMs)) {
      const most = setMax(s, b, active, inactive);
      if (most >= 0) setErase(t, b, most, now);
    }
    if (dest >= 0 && !overloaded(s, active, dest)) return s.ids[dest];
  }
  const least = weightedLeast(s.ids, s.weights, active, inactive);
  if (least < 0) return -1;
  if (b < 0) b = claim(s, true, key, now);
  setInsert(t, b, least, now);
  return s.ids[least];
}

/**
 * Carries the assignments of `from` into `to`, tables of the same kind
 * (`replicated` for lblcr) built for the same service by successive
 * programs, as IPVS's tables outlive a change of real servers: servers are
 * matched by backend id, and one gone leaves its assignments (an lblc entry
 * is rescheduled when next used, an lblcr set loses the member).
 */
export function inheritLocality(
  from: LocalityState,
  to: LocalityState,
  replicated: boolean,
): void {
  const before = strideOf(replicated, from.ids.length);
  const after = strideOf(replicated, to.ids.length);
  const index = new Map<number, number>();
  to.ids.forEach((id, i) => index.set(id, i));
  const moved = (i: number) => index.get(from.ids[i]) ?? -1;
  const src = from.locality;
  const dst = to.locality;
  dst.fill(0);
  for (let slot = 0; slot < LOCALITY_SLOTS; slot++) {
    const a = slot * before;
    const b = slot * after;
    dst.set(src.subarray(a, a + SIZE), b);
    if (!replicated) {
      if (src[a + USED] === 1) dst[b + DEST] = src[a + DEST] < 0 ? -1 : moved(src[a + DEST]);
      continue;
    }
    let size = 0;
    for (let m = a + MEMBERS, end = m + src[a + SIZE]; m < end; m++) {
      const i = moved(src[m]);
      if (i >= 0) dst[b + MEMBERS + size++] = i;
    }
    dst[b + SIZE] = size;
  }
}
