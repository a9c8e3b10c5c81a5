/**
 * Rates from the deltas of consecutive status documents, over the daemon's
 * clock (`uptimeSeconds`), never the local one: a slow poll or a paused
 * terminal does not distort them. The first document gives no rate; a clock
 * or counter that went backwards (a restarted daemon) starts over.
 * @module
 */

import type { Status } from "../control/status.ts";

/** Per second; null while there is no earlier sample to compare with. */
export interface Rate {
  /** Packets per second. */
  pps: number | null;
  /** Bits per second. */
  bps: number | null;
  /** New connections per second. */
  cps: number | null;
}

/** What the dashboard knows about rates after some documents. */
export interface Rates {
  /** The document the next one is compared with. */
  last: Status | null;
  /** Sum over the VIPs. */
  total: Rate;
  /** By {@linkcode vipKey}. */
  vips: Map<string, Rate>;
  /** By {@linkcode ripKey}. */
  rips: Map<string, Rate>;
  /** Packets per second of each VIP, oldest first, at most `historyLength` samples. */
  history: Map<string, number[]>;
}

/** `198.18.0.100:80/tcp`, how a VIP is named on screen and in the maps. */
export function vipKey(v: { vip: string; port: number; proto: string }): string {
  return `${v.vip}:${v.port}/${v.proto}`;
}

/** `198.18.0.100:80/tcp 198.18.0.11`, a real server of a VIP. */
export function ripKey(v: { vip: string; port: number; proto: string }, ip: string): string {
  return `${vipKey(v)} ${ip}`;
}

const NONE: Rate = { pps: null, bps: null, cps: null };

/** Rates before any document. */
export function emptyRates(): Rates {
  return { last: null, total: NONE, vips: new Map(), rips: new Map(), history: new Map() };
}

interface Counters {
  packets: number;
  bytes: number;
  connections: number;
}

function counterMap(doc: Status): Map<string, Counters> {
  const out = new Map<string, Counters>();
  for (const v of doc.vips) {
    out.set(vipKey(v), v);
    for (const r of v.rips) out.set(ripKey(v, r.ip), r);
  }
  return out;
}

function wentBackwards(before: Map<string, Counters>, after: Map<string, Counters>): boolean {
  for (const [key, a] of after) {
    const b = before.get(key);
    if (b && (a.packets < b.packets || a.bytes < b.bytes || a.connections < b.connections)) {
      return true;
    }
  }
  return false;
}

function rateOf(before: Counters | undefined, after: Counters, dt: number): Rate {
  if (!before) return NONE;
  return {
    pps: (after.packets - before.packets) / dt,
    bps: (after.bytes - before.bytes) * 8 / dt,
    cps: (after.connections - before.connections) / dt,
  };
}

function sum(rates: Rate[], field: keyof Rate): number | null {
  const known = rates.map((r) => r[field]).filter((n): n is number => n !== null);
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0);
}

/**
 * Folds the next status document into the rates.
 * @param options.historyLength samples kept per VIP for the sparkline; default 30
 * @returns new rates; `rates` is not changed
 */
export function advanceRates(
  rates: Rates,
  next: Status,
  options: { historyLength?: number } = {},
): Rates {
  const { historyLength = 30 } = options;
  const last = rates.last;
  if (last === null) return { ...emptyRates(), last: next };
  const dt = next.uptimeSeconds - last.uptimeSeconds;
  // The same instant again (a poll faster than the daemon's clock): nothing new to say.
  if (dt === 0) return rates;
  const before = counterMap(last);
  const after = counterMap(next);
  if (dt < 0 || wentBackwards(before, after)) return { ...emptyRates(), last: next };
  const vips = new Map<string, Rate>();
  const rips = new Map<string, Rate>();
  const history = new Map<string, number[]>();
  for (const v of next.vips) {
    const key = vipKey(v);
    const rate = rateOf(before.get(key), v, dt);
    vips.set(key, rate);
    const samples = [...(rates.history.get(key) ?? [])];
    if (rate.pps !== null) samples.push(rate.pps);
    history.set(key, samples.slice(-historyLength));
    for (const r of v.rips) {
      const rk = ripKey(v, r.ip);
      rips.set(rk, rateOf(before.get(rk), r, dt));
    }
  }
  const all = [...vips.values()];
  const total = { pps: sum(all, "pps"), bps: sum(all, "bps"), cps: sum(all, "cps") };
  return { last: next, total, vips, rips, history };
}
