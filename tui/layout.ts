/**
 * Which columns of the real-server table fit a terminal width, and which
 * lines of the body are on screen. Narrow terminals lose the least useful
 * columns first; wide ones gain the MAC, total connections and check type,
 * and give the rest of the line to the last error.
 * @module
 */

import { fit } from "./format.ts";

/** A column of the real-server table. */
export type ColumnId =
  | "ip"
  | "mac"
  | "state"
  | "weight"
  | "active"
  | "inactive"
  | "connections"
  | "cps"
  | "pps"
  | "bps"
  | "check"
  | "latency"
  | "error";

/** A column as laid out: its title and its width in characters. */
export interface Column {
  id: ColumnId;
  title: string;
  width: number;
  align: "left" | "right";
}

interface Spec extends Column {
  /** Lower comes first when space is short. */
  priority: number;
  /** Takes the width left over: `width` is its least, `want` what later columns leave it. */
  flex?: { want: number };
}

/** In display order. */
const SPECS: readonly Spec[] = [
  { id: "ip", title: "REAL SERVER", width: 15, align: "left", priority: 0 },
  { id: "mac", title: "MAC", width: 17, align: "left", priority: 8 },
  { id: "state", title: "STATE", width: 10, align: "left", priority: 0 },
  { id: "weight", title: "WGT", width: 4, align: "right", priority: 2 },
  { id: "active", title: "ACT", width: 4, align: "right", priority: 3 },
  { id: "inactive", title: "INACT", width: 5, align: "right", priority: 3 },
  { id: "connections", title: "CONNS", width: 5, align: "right", priority: 6 },
  { id: "cps", title: "NEW/S", width: 5, align: "right", priority: 2 },
  { id: "pps", title: "PPS", width: 4, align: "right", priority: 1 },
  { id: "bps", title: "BIT/S", width: 5, align: "right", priority: 1 },
  { id: "check", title: "TYPE", width: 4, align: "left", priority: 7 },
  { id: "latency", title: "CHECK", width: 5, align: "right", priority: 4 },
  { id: "error", title: "LAST ERROR", width: 8, align: "left", priority: 5, flex: { want: 20 } },
];

/** What comes before the cells of a row: the selection mark and a space. */
export const MARK_WIDTH = 2;

/** Characters a row with these columns takes. */
export function rowWidth(columns: readonly Column[]): number {
  return MARK_WIDTH + columns.reduce((a, c) => a + c.width, 0) + Math.max(0, columns.length - 1);
}

/**
 * The columns that fit `width` characters, in display order.
 * @param options.ipWidth the longest address shown (default 15); the column is at least as wide
 *   as its title, and as wide as an IPv6 address needs (up to 39) while the state still fits
 */
export function fitColumns(width: number, options: { ipWidth?: number } = {}): Column[] {
  const room = width - MARK_WIDTH - 1 - 10; // what the state column leaves
  const ipWidth = Math.max(11, Math.min(39, options.ipWidth ?? 15, room));
  const specs = SPECS.map((s) => s.id === "ip" ? { ...s, width: ipWidth } : s);
  const chosen = new Set<Spec>();
  for (const spec of [...specs].sort((a, b) => a.priority - b.priority)) {
    const trial = specs.filter((s) => chosen.has(s) || s === spec)
      .map((s) => s.flex && s !== spec ? { ...s, width: s.flex.want } : s);
    if (rowWidth(trial) <= width) chosen.add(spec);
  }
  const columns = specs.filter((s) => chosen.has(s));
  const spare = width - rowWidth(columns);
  return columns.map(({ id, title, width, align, flex }) => ({
    id,
    title,
    align,
    width: flex ? width + spare : width,
  }));
}

/** One table line: each value cut or padded to its column, one space apart. */
export function formatCells(
  columns: readonly Column[],
  values: Record<ColumnId, string>,
): string[] {
  return columns.map((c) => fit(values[c.id], c.width, c.align));
}

/**
 * The first body line to show so that lines `from`…`to` (the selected row,
 * and its VIP's title when possible) are visible, moving as little as
 * possible from `offset`.
 * @param o.total lines in the body; o.visible lines that fit on screen
 * @returns the new offset, from 0 to `total - visible`
 */
export function scrollWindow(
  o: { offset: number; total: number; visible: number; from: number; to: number },
): number {
  const visible = Math.max(1, o.visible);
  let offset = o.offset;
  if (o.to >= offset + visible) offset = o.to - visible + 1;
  if (o.from < offset) offset = Math.min(o.from, o.to);
  if (o.to - o.from + 1 > visible) offset = o.to - visible + 1;
  return Math.max(0, Math.min(offset, o.total - visible));
}
