/**
 * The top of the multi-balancer view as lines of text: a title with the
 * totals over every node, then per node a line with its role, rates, flows
 * and drops (or why it does not answer) and a line per VIP. Pure, so the
 * layout is tested without a terminal.
 * @module
 */

import { fit, formatBits, formatPps, si, truncate } from "./format.ts";
import { dropsText } from "./header.tsx";
import type { Feed } from "./poller.ts";
import { vipKey } from "./rates.ts";

/** A balancer of the view: a short name and its feed. */
export interface NodeFeed {
  name: string;
  feed: Feed;
}

/** One line and how to draw it. */
export interface OverviewLine {
  text: string;
  kind: "title" | "node" | "vip" | "more";
  /** The node it belongs to (-1 for the title). */
  node: number;
  /** `active` or `standby` on node lines that have one, and where in `text` it starts. */
  role?: { text: string; at: number };
  /** Set on a node line whose daemon does not answer. */
  alert?: boolean;
}

/** The keys of the view, shown in the title when room is left. */
export const NODE_KEYS = "←→ tab: node";

/** A node's role: the daemon's `ha.role`, `active` for a daemon that reports none. */
export function roleOf(feed: Feed): string | null {
  if (!feed.status) return null;
  return (feed.status as { ha?: { role?: string } }).ha?.role ?? "active";
}

function sum(values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0);
}

/**
 * The overview's lines, at most `budget` of them: the title and every node
 * line always (when they fit), VIP lines shared out between the nodes, with
 * `… N more` where a node's VIPs do not all fit.
 * @param o.selected the node the keys act on (marked `›`); o.width the terminal's columns;
 *   o.budget the most lines to return
 */
export function overviewLines(
  nodes: readonly NodeFeed[],
  o: { selected: number; width: number; budget: number },
): OverviewLine[] {
  const { selected, width, budget } = o;
  const up = nodes.filter((n) => n.feed.status && n.feed.error === null);
  const totals = up.map((n) => n.feed.rates.total);
  const rates = `${formatPps(sum(totals.map((t) => t.pps)))}  ${
    formatBits(sum(totals.map((t) => t.bps)))
  }  ${si(sum(totals.map((t) => t.cps)))} new/s`;
  const head = `dsr top  ${up.length}/${nodes.length} balancers up  ${rates}`;
  const title = head.length + 2 + NODE_KEYS.length <= width
    ? head + " ".repeat(width - head.length - NODE_KEYS.length) + NODE_KEYS
    : head;
  const lines: OverviewLine[] = [{ text: fit(title, width), kind: "title", node: -1 }];
  // Wide enough that a VIP line's name (`198.18.0.100:80/tcp mh`) lines up its rates with the nodes'.
  const nameWidth = 16;
  const vipRoom = Math.max(0, budget - 1 - nodes.length);
  const vipCounts = nodes.map((n) => n.feed.error === null ? n.feed.status?.vips.length ?? 0 : 0);
  const perNode = fairShares(vipCounts, vipRoom);
  nodes.forEach((node, i) => {
    const mark = i === selected ? "› " : "  ";
    const name = fit(node.name, nameWidth);
    const { feed } = node;
    const role = roleOf(feed);
    if (feed.error !== null) {
      lines.push({
        text: fit(`${mark}${name} ${fit("down", 7)} ${feed.error}`, width),
        kind: "node",
        node: i,
        alert: true,
      });
      return;
    }
    if (!feed.status || role === null) {
      lines.push({
        text: fit(`${mark}${name} ${fit("", 7)} connecting…`, width),
        kind: "node",
        node: i,
      });
      return;
    }
    const s = feed.status;
    const t = feed.rates.total;
    const stats = `${fit(formatPps(t.pps), 9)} ${fit(formatBits(t.bps), 11)} ${
      fit(`${si(t.cps)} new/s`, 10)
    } flows ${si(s.flows)}  drops ${dropsText(s.drops)}`;
    lines.push({
      text: fit(`${mark}${name} ${fit(role, 7)} ${stats}`, width),
      kind: "node",
      node: i,
      role: { text: role, at: mark.length + nameWidth + 1 },
    });
    const shown = perNode[i];
    const more = s.vips.length - shown;
    const vips = more > 0 ? s.vips.slice(0, Math.max(0, shown - 1)) : s.vips;
    for (const v of vips) {
      const r = feed.rates.vips.get(vipKey(v));
      const usable = v.rips.filter((x) => x.state === "up").length;
      const text = `    ${fit(`${vipKey(v)} ${v.scheduler}`, nameWidth + 6)} ${
        fit(formatPps(r?.pps ?? null), 9)
      } ${fit(formatBits(r?.bps ?? null), 11)} ${
        fit(`${si(r?.cps ?? null)} new/s`, 10)
      } ${usable}/${v.rips.length} up`;
      lines.push({ text: fit(text, width), kind: "vip", node: i });
    }
    if (more > 0 && shown > 0) {
      lines.push({
        text: fit(
          truncate(`    … ${more + 1} more VIPs (select the node to see them)`, width),
          width,
        ),
        kind: "more",
        node: i,
      });
    }
  });
  return lines.slice(0, Math.max(1, budget));
}

/**
 * Shares `room` lines between nodes wanting `wants` lines each: everyone
 * gets what they want when it fits, else equal shares with what a small
 * node leaves going to the others.
 */
export function fairShares(wants: readonly number[], room: number): number[] {
  const shares = wants.map(() => 0);
  let left = room;
  let open = wants.map((_, i) => i).filter((i) => wants[i] > 0);
  while (left > 0 && open.length > 0) {
    const each = Math.max(1, Math.floor(left / open.length));
    for (const i of open) {
      const give = Math.min(each, wants[i] - shares[i], left);
      shares[i] += give;
      left -= give;
    }
    open = open.filter((i) => shares[i] < wants[i]);
  }
  return shares;
}
