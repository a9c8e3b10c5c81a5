/**
 * The two header lines: where the data comes from and the node's role, then the totals
 * (packets/s and bit/s over every VIP, new connections/s, flows, drops by
 * reason).
 * @module
 */

import { Text } from "ink";
import type { Status } from "../control/status.ts";
import { fit, formatBits, formatPps, formatUptime, si, truncate } from "./format.ts";
import type { Rate } from "./rates.ts";
import { ALERT } from "./theme.ts";

/** Header props: the last document (null before the first), its totals, the terminal width. */
export interface HeaderProps {
  status: Status | null;
  total: Rate;
  label: string;
  width: number;
  /** Set while the daemon cannot be reached. */
  down: boolean;
}

/** Non-zero drop counters as `noService=3 malformed=1`, or `0`. */
export function dropsText(drops: Record<string, number>): string {
  const nonZero = Object.entries(drops).filter(([, n]) => n > 0);
  return nonZero.length === 0 ? "0" : nonZero.map(([k, n]) => `${k}=${si(n)}`).join(" ");
}

/** The node's HA role and announced VIPs, when it has any to tell (SPEC §11). */
export function roleText(status: Status): string {
  const role = status.ha?.role ?? "active";
  const announced = status.announced?.length ? ` announcing ${status.announced.length}` : "";
  return `${role}${announced}  `;
}

/** Two lines: title and totals. */
export function Header({ status, total, label, width, down }: HeaderProps) {
  const where = status
    ? `${status.iface} ${status.mac}  ${roleText(status)}up ${formatUptime(status.uptimeSeconds)}`
    : label;
  const title = fit(`dsr top  ${where}`, width);
  if (!status || down) {
    return (
      <>
        <Text bold wrap="truncate-end">{title}</Text>
        <Text>{" ".repeat(width)}</Text>
      </>
    );
  }
  const rates = `${formatPps(total.pps)}  ${formatBits(total.bps)}  ${si(total.cps)} new/s`;
  const flows = `  flows ${si(status.flows)}  drops `;
  const drops = dropsText(status.drops);
  const room = Math.max(0, width - rates.length - flows.length);
  return (
    <>
      <Text bold wrap="truncate-end">{title}</Text>
      <Text wrap="truncate-end">
        {truncate(rates + flows, width)}
        <Text color={drops === "0" ? undefined : ALERT}>{fit(drops, room)}</Text>
      </Text>
    </>
  );
}
