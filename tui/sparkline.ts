/**
 * A rate history as block characters, `▁▂▃▄▅▆▇█`, scaled to its own peak.
 * @module
 */

const BLOCKS = "▁▂▃▄▅▆▇█";

/**
 * One block per sample, the newest last, at most `width` of them.
 * A zero is `▁`, the peak is `█`; with no traffic at all every block is `▁`.
 * @param values samples, oldest first (negative values count as 0)
 * @param width the most characters to return
 */
export function sparkline(values: readonly number[], width: number): string {
  const shown = width > 0 ? values.slice(-width) : [];
  const peak = Math.max(0, ...shown);
  return shown.map((v) => {
    if (peak === 0 || !(v > 0)) return BLOCKS[0];
    return BLOCKS[Math.min(7, Math.max(1, Math.round((v / peak) * 7)))];
  }).join("");
}
