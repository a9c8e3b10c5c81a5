/**
 * Units for the dashboard: counts and rates in SI steps (`1.2k`, `34M`),
 * bits per second (`3.4 Mbit/s`), durations (`3h04m`), check latency
 * (`0.8ms`) and text cut to a width. A missing value is `-`.
 * @module
 */

const PREFIXES = ["", "k", "M", "G", "T", "P"];

/** `value` as at most 3 significant digits and an SI prefix: `["3.4", "M"]`. */
function scale(value: number): [string, string] {
  let v = Math.abs(value);
  let i = 0;
  while (v >= 999.5 && i < PREFIXES.length - 1) {
    v /= 1000;
    i++;
  }
  const sign = value < 0 ? "-" : "";
  const text = v === 0
    ? "0"
    : v < 9.95 && !(i === 0 && Number.isInteger(v))
    ? v.toFixed(1)
    : String(Math.round(v));
  return [sign + text, PREFIXES[i]];
}

/**
 * A count or rate in at most 4 characters for positive values below 10^18:
 * `0`, `7`, `0.5`, `999`, `1.2k`, `12k`, `3.4M`.
 * @param value the number; null shows as `-`
 */
export function si(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return "-";
  const [text, prefix] = scale(value);
  return text + prefix;
}

/** Packets per second for the totals line: `1.2k pps`; null shows as `-`. */
export function formatPps(value: number | null): string {
  return value === null ? "- pps" : `${si(value)} pps`;
}

/** Bits per second: `3.4 Mbit/s`, `512 bit/s`; null shows as `- bit/s`. */
export function formatBits(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return "- bit/s";
  const [text, prefix] = scale(value);
  return `${text} ${prefix}bit/s`;
}

/** How long the daemon has run: `42s`, `12m05s`, `3h04m`, `2d03h`. */
export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const two = (n: number) => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${two(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d${two(Math.floor(s / 3600) % 24)}h`;
}

/** A check's latency in at most 6 characters: `0.8ms`, `12ms`, `1.5s`; null shows as `-`. */
export function formatLatency(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return "-";
  if (ms < 9.95) return `${ms.toFixed(1)}ms`;
  if (ms < 999.5) return `${Math.round(ms)}ms`;
  return `${si(ms / 1000)}s`;
}

/** `text` cut to `width` characters, ending in `…` when it was longer. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return "";
  const chars = [...text];
  return chars.length <= width ? text : chars.slice(0, width - 1).join("") + "…";
}

/** `text` cut or padded to exactly `width` characters. */
export function fit(text: string, width: number, align: "left" | "right" = "left"): string {
  const cut = truncate(text, width);
  const pad = " ".repeat(Math.max(0, width - [...cut].length));
  return align === "left" ? cut + pad : pad + cut;
}

/** `text` broken at spaces into lines of at most `width` characters (longer words are cut). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    const next = line ? `${line} ${word}` : word;
    if ([...next].length <= width) {
      line = next;
      continue;
    }
    if (line) lines.push(line);
    line = truncate(word, width);
  }
  if (line) lines.push(line);
  return lines;
}
