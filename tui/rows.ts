/**
 * The body of the dashboard as a list of lines: per VIP a title line, then
 * its real servers in the chosen order. Only real-server lines can be
 * selected.
 * @module
 */

import type { RipStatus, Status, VipStatus } from "../control/status.ts";
import { type Rate, type Rates, ripKey, vipKey } from "./rates.ts";

/** How real servers are ordered inside each VIP; `s` cycles through them. */
export type SortMode = "config" | "pps" | "connections" | "state";

/** In the order `s` cycles through. */
export const SORT_MODES: readonly SortMode[] = ["config", "pps", "connections", "state"];

/** The sort after `mode`. */
export function nextSort(mode: SortMode): SortMode {
  return SORT_MODES[(SORT_MODES.indexOf(mode) + 1) % SORT_MODES.length];
}

/** One line of the body. */
export type BodyLine =
  | { kind: "vip"; key: string; vip: VipStatus; rate: Rate | null; history: number[] }
  | { kind: "rip"; key: string; vip: VipStatus; rip: RipStatus; rate: Rate | null }
  | { kind: "empty"; key: string; vip: VipStatus };

/** Problems first. */
const STATE_ORDER: Record<string, number> = { down: 0, unresolved: 1, drain: 2, up: 3 };

function compare(sort: SortMode, rate: (r: RipStatus) => Rate | null) {
  return (a: RipStatus, b: RipStatus): number => {
    switch (sort) {
      case "pps":
        return (rate(b)?.pps ?? -1) - (rate(a)?.pps ?? -1);
      case "connections":
        return b.activeConns - a.activeConns || b.inactiveConns - a.inactiveConns;
      case "state":
        return (STATE_ORDER[a.state] ?? 9) - (STATE_ORDER[b.state] ?? 9);
      default:
        return 0;
    }
  };
}

/**
 * The body lines for a status document.
 * @param rates from {@linkcode advanceRates}, for the rates and the sparklines
 * @param sort the order of real servers within each VIP (stable: ties keep the configured order)
 */
export function bodyLines(status: Status, rates: Rates, sort: SortMode): BodyLine[] {
  const lines: BodyLine[] = [];
  for (const vip of status.vips) {
    const key = vipKey(vip);
    lines.push({
      kind: "vip",
      key,
      vip,
      rate: rates.vips.get(key) ?? null,
      history: rates.history.get(key) ?? [],
    });
    if (vip.rips.length === 0) lines.push({ kind: "empty", key: `${key} -`, vip });
    const rate = (r: RipStatus) => rates.rips.get(ripKey(vip, r.ip)) ?? null;
    // Array.prototype.sort is stable: equal real servers keep the configured order.
    for (const rip of [...vip.rips].sort(compare(sort, rate))) {
      lines.push({ kind: "rip", key: ripKey(vip, rip.ip), vip, rip, rate: rate(rip) });
    }
  }
  return lines;
}

/**
 * The selected real-server line after moving `step` rows from `selected`
 * (kept when it still exists; else the row now at `fallback`, clamped).
 * @returns the index into `lines`, or -1 when there is no real server
 */
export function moveSelection(
  lines: readonly BodyLine[],
  selected: string | null,
  step: number,
  fallback = 0,
): number {
  const rips = lines.flatMap((l, i) => l.kind === "rip" ? [i] : []);
  if (rips.length === 0) return -1;
  const found = rips.findIndex((i) => lines[i].key === selected);
  const at = found >= 0 ? found : Math.min(Math.max(0, fallback), rips.length - 1);
  return rips[Math.min(Math.max(0, at + step), rips.length - 1)];
}
