/**
 * `dsr top --host A --host B`: one dashboard over several balancers (an HA
 * pair, a BGP group). The top lists every node with its role, rates, flows,
 * drops and VIPs; below it the selected node's full dashboard, whose keys
 * (drain, enable, weight) act on that node only. Every node is polled by a
 * poller of its own and reconnects on its own.
 * @module
 */

import { Box, Text, useInput } from "ink";
import { useMemo, useState } from "react";
import { App } from "./app.tsx";
import { type NodeFeed, overviewLines } from "./nodes.ts";
import type { StatusSource } from "./source.ts";
import { ACCENT, ALERT } from "./theme.ts";
import { useFeeds } from "./use_feeds.ts";
import { useTerminalSize } from "./use_size.ts";

/** A balancer of the view. */
export interface Node {
  /** A short name for the node's line (`lb1`, `198.19.1.2`). */
  name: string;
  source: StatusSource;
}

/** Multi-balancer dashboard props. */
export interface MultiAppProps {
  nodes: readonly Node[];
  /** Milliseconds between polls of each node; default 1000. */
  interval?: number;
  /** Terminal width; default the terminal's own. */
  columns?: number;
  /** Terminal height; default the terminal's own. */
  rows?: number;
}

/** Lines the selected node's dashboard keeps at least (header, titles, 5 rows, footer). */
const DETAIL_MIN = 9;

const ROLE_COLOR: Record<string, string> = { active: "green", standby: "yellow" };

/** The dashboard over several balancers. */
export function MultiApp({ nodes, interval = 1000, columns, rows }: MultiAppProps) {
  const size = useTerminalSize({ columns, rows });
  const sources = useMemo(() => nodes.map((n) => n.source), [nodes]);
  const feeds = useFeeds(sources, interval);
  const [selected, setSelected] = useState(0);
  const count = nodes.length;

  useInput((input, key) => {
    if (key.tab && key.shift) return setSelected((s) => (s + count - 1) % count);
    if (key.tab || key.rightArrow) return setSelected((s) => (s + 1) % count);
    if (key.leftArrow) return setSelected((s) => (s + count - 1) % count);
    const digit = Number(input);
    if (/^[1-9]$/.test(input) && digit <= count) setSelected(digit - 1);
  });

  const width = Math.max(20, size.columns);
  const height = Math.max(DETAIL_MIN + 2, size.rows);
  const named: NodeFeed[] = nodes.map((n, i) => ({ name: n.name, feed: feeds[i].feed }));
  const lines = overviewLines(named, { selected, width, budget: height - DETAIL_MIN });

  return (
    <Box flexDirection="column" width={width} height={height}>
      {lines.map((line, i) => {
        if (line.kind === "title") {
          return <Text key={i} bold wrap="truncate-end">{line.text}</Text>;
        }
        if (line.kind !== "node") {
          return (
            <Text key={i} color={ACCENT} dimColor={line.kind === "more"} wrap="truncate-end">
              {line.text}
            </Text>
          );
        }
        const role = line.role;
        return (
          <Text
            key={i}
            bold={line.node === selected}
            color={line.alert ? ALERT : undefined}
            wrap="truncate-end"
          >
            {role
              ? (
                <>
                  {line.text.slice(0, role.at)}
                  <Text color={ROLE_COLOR[role.text]}>{role.text}</Text>
                  {line.text.slice(role.at + role.text.length)}
                </>
              )
              : line.text}
          </Text>
        );
      })}
      <App
        key={selected}
        source={nodes[selected].source}
        feed={feeds[selected]}
        interval={interval}
        columns={width}
        rows={height - lines.length}
      />
    </Box>
  );
}
