/**
 * The lines of the body: a VIP's title with its rates and sparkline, and
 * a real server's row with its state in colour.
 * @module
 */

import { Text } from "ink";
import type { RipStatus } from "../control/status.ts";
import { hostPort } from "../dataplane/ip.ts";
import { fit, formatBits, formatLatency, si } from "./format.ts";
import { type Column, type ColumnId, formatCells } from "./layout.ts";
import type { BodyLine } from "./rows.ts";
import { sparkline } from "./sparkline.ts";
import { ACCENT, ALERT, STATE_COLOR } from "./theme.ts";

/** The column titles. */
export function ColumnTitles({ columns, width }: { columns: Column[]; width: number }) {
  const titles = Object.fromEntries(columns.map((c) => [c.id, c.title])) as Record<
    ColumnId,
    string
  >;
  return (
    <Text bold wrap="truncate-end">
      {fit(`  ${formatCells(columns, titles).join(" ")}`, width)}
    </Text>
  );
}

function ripValues(line: BodyLine & { kind: "rip" }, weight: number): Record<ColumnId, string> {
  const r: RipStatus = line.rip;
  return {
    ip: r.ip,
    mac: r.mac ?? "-",
    state: r.state,
    weight: weight > 9999 ? si(weight) : String(weight),
    active: si(r.activeConns),
    inactive: si(r.inactiveConns),
    connections: si(r.connections),
    cps: si(line.rate?.cps ?? null),
    pps: si(line.rate?.pps ?? null),
    bps: si(line.rate?.bps ?? null),
    check: r.check.type,
    latency: formatLatency(r.check.latencyMs),
    error: r.check.error ?? "",
  };
}

/** Props of one body line. */
export interface LineProps {
  line: BodyLine;
  columns: Column[];
  width: number;
  selected: boolean;
  /** The weight to show (a change not yet confirmed by the daemon shows at once). */
  weight?: number;
}

/** One body line. */
export function Line({ line, columns, width, selected, weight }: LineProps) {
  if (line.kind === "empty") {
    return <Text dimColor wrap="truncate-end">{fit("  no real servers", width)}</Text>;
  }
  if (line.kind === "vip") {
    const v = line.vip;
    const name = `${hostPort(v.vip, v.port)}/${v.proto} ${v.scheduler}`;
    const r = line.rate;
    const stats = `  ${si(r?.pps ?? null)} pps  ${formatBits(r?.bps ?? null)}  ${
      si(r?.cps ?? null)
    } new/s  `;
    const room = width - name.length - stats.length;
    const spark = sparkline(line.history, Math.min(30, Math.max(0, room)));
    return (
      <Text wrap="truncate-end">
        <Text bold color={ACCENT}>{fit(name, Math.min(name.length, width))}</Text>
        {fit(stats, Math.max(0, Math.min(stats.length, width - name.length)))}
        <Text color={ACCENT}>{spark}</Text>
        {" ".repeat(Math.max(0, room - spark.length))}
      </Text>
    );
  }
  const values = ripValues(line, weight ?? line.rip.weight);
  const cells = formatCells(columns, values);
  const pad = Math.max(0, width - 2 - cells.join(" ").length);
  return (
    <Text wrap="truncate-end" bold={selected}>
      {selected ? "› " : "  "}
      {cells.map((cell, i) => {
        const id = columns[i].id;
        const color = id === "state"
          ? STATE_COLOR[line.rip.state]
          : id === "error" && values.error
          ? ALERT
          : undefined;
        return (
          <Text key={id}>
            {i > 0 ? " " : ""}
            <Text color={color}>{cell}</Text>
          </Text>
        );
      })}
      {" ".repeat(pad)}
    </Text>
  );
}
