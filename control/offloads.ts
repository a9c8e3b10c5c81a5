/**
 * Receive offloads that merge frames (GRO, LRO) hand the capture 64 KB
 * super-frames that cannot be re-sent as they are, so the daemon turns them
 * off on its interface and restores what it changed when it stops.
 * @module
 */

import { runTool, type ToolRun } from "./tool.ts";

const FEATURES = [
  ["generic-receive-offload", "gro"],
  ["large-receive-offload", "lro"],
] as const;

function ethtool(args: string[]): Promise<ToolRun> {
  return runTool("ethtool", args);
}

/**
 * Turns GRO and LRO off on `iface`; returns the short names of the features
 * it changed (to hand to {@link restoreOffloads}) and a warning when it could not.
 */
export async function disableMergingOffloads(
  iface: string,
): Promise<{ changed: string[]; warning: string | null }> {
  const shown = await ethtool(["-k", iface]);
  if (!shown.ok) {
    return {
      changed: [],
      warning: `cannot read offloads of ${iface} (is ethtool installed?): ${shown.out}`,
    };
  }
  const changed = FEATURES.filter(([long]) =>
    new RegExp(`^${long}: on(?! \\[fixed\\])`, "m").test(shown.out)
  )
    .map(([, short]) => short);
  if (changed.length === 0) return { changed, warning: null };
  const off = await ethtool(["-K", iface, ...changed.flatMap((f) => [f, "off"])]);
  return off.ok ? { changed, warning: null } : {
    changed: [],
    warning: `cannot turn ${changed.join(" and ")} off on ${iface}: ${off.out}`,
  };
}

/** Turns back on the features {@link disableMergingOffloads} turned off. */
export async function restoreOffloads(iface: string, changed: string[]): Promise<void> {
  if (changed.length > 0) await ethtool(["-K", iface, ...changed.flatMap((f) => [f, "on"])]);
}
