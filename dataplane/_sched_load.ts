/**
 * The load-based picks of IPVS's schedulers beyond lc and wlc, each as the
 * Linux kernel's module does it (net/netfilter/ipvs/ip_vs_{sed,nq,fo,ovf,twos}.c;
 * ipvsadm(8) describes them). A real server is one index into a service's
 * `ids`/`weights`; connection counts are indexed by backend id. Weight 0
 * (quiesced, drained, down or unresolved) takes no new flow. IPVS's
 * upper/lower connection thresholds (`-x`/`-y`, its OVERLOAD flag) do not
 * exist in dsr, so no server is ever skipped for them. Ties go to the first
 * real server in the VIP's list, as IPVS's go to the first in its own list
 * (there the newest first). Nothing here allocates.
 * @module
 */

/**
 * IPVS's `ip_vs_dest_conn_overhead`: active connections weigh 256 times an
 * inactive one.
 */
export function overhead(id: number, active: Int32Array, inactive: Int32Array): number {
  return active[id] * 256 + inactive[id];
}

/**
 * Weighted least connections (the wlc step of lblc and lblcr): the index of
 * the real server with the least overhead / weight, the first on a tie; -1
 * when no weight is > 0. Compared by cross-multiplying, as the kernel does.
 */
export function weightedLeast(
  ids: Int32Array,
  weights: Int32Array,
  active: Int32Array,
  inactive: Int32Array,
): number {
  let least = -1;
  let leastLoad = 0;
  for (let i = 0; i < ids.length; i++) {
    const w = weights[i];
    if (w <= 0) continue;
    const load = overhead(ids[i], active, inactive);
    if (least < 0 || leastLoad * w > load * weights[least]) {
      least = i;
      leastLoad = load;
    }
  }
  return least;
}

/**
 * `sed`, shortest expected delay: the least (active + 1) / weight; only
 * active connections count. With `idleFirst` it is `nq`, never queue: the
 * first real server with no active connection is taken at once.
 * @returns an index, or -1 when no weight is > 0
 */
export function shortestDelay(
  ids: Int32Array,
  weights: Int32Array,
  active: Int32Array,
  idleFirst: boolean,
): number {
  let least = -1;
  let leastDelay = 0;
  for (let i = 0; i < ids.length; i++) {
    const w = weights[i];
    if (w <= 0) continue;
    const a = active[ids[i]];
    if (idleFirst && a === 0) return i;
    const delay = a + 1;
    if (least < 0 || leastDelay * w > delay * weights[least]) {
      least = i;
      leastDelay = delay;
    }
  }
  return least;
}

/**
 * `fo`, weighted failover: the real server of the highest weight. With
 * `overflow` it is `ovf`: a server whose active connections exceed its
 * weight is passed over for the next highest.
 * @returns an index, or -1 when none qualifies
 */
export function highestWeight(
  ids: Int32Array,
  weights: Int32Array,
  active: Int32Array,
  overflow: boolean,
): number {
  let best = -1;
  let bestWeight = 0;
  for (let i = 0; i < ids.length; i++) {
    const w = weights[i];
    if (w <= bestWeight) continue;
    if (overflow && active[ids[i]] > w) continue;
    best = i;
    bestWeight = w;
  }
  return best;
}

/**
 * One step of xorshift32 (Marsaglia 2003) on the state in `state[0]`, which
 * must not be 0; the next unsigned 32-bit number.
 */
export function xorshift32(state: Int32Array): number {
  let x = state[0];
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  state[0] = x;
  return x >>> 0;
}

/**
 * `twos`, weighted power of two choices (ip_vs_twos.c): two real servers
 * drawn at random in proportion to weight, and the one with the lower
 * overhead / weight wins (the first drawn on a tie). As the kernel does, each
 * draw is a number in [0, total weight] (inclusive, so the first server's
 * chance is one unit above its weight) walked down the list. The random
 * numbers come from the xorshift32 state in `rng[0]`.
 * @returns an index, or -1 when no weight is > 0
 */
export function twoChoices(
  ids: Int32Array,
  weights: Int32Array,
  active: Int32Array,
  inactive: Int32Array,
  rng: Int32Array,
): number {
  let total = 0;
  for (let i = 0; i < ids.length; i++) if (weights[i] > 0) total += weights[i];
  if (total === 0) return -1;
  let r1 = xorshift32(rng) % (total + 1);
  let r2 = xorshift32(rng) % (total + 1);
  let first = -1;
  let second = -1;
  for (let i = 0; i < ids.length && (first < 0 || second < 0); i++) {
    const w = weights[i];
    if (w <= 0) continue;
    r1 -= w;
    r2 -= w;
    if (r1 <= 0 && first < 0) first = i;
    if (r2 <= 0 && second < 0) second = i;
  }
  const load1 = overhead(ids[first], active, inactive);
  const load2 = overhead(ids[second], active, inactive);
  return weights[second] * load1 > weights[first] * load2 ? second : first;
}
