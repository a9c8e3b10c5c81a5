/**
 * `dsr top`: the live dashboard. Header with totals, one block per VIP with
 * a row per real server, a footer with the keys. Polls its data source,
 * scrolls to keep the selected row in view, and sends drain, enable and
 * weight changes for the selected real server.
 * @module
 */

import { Box, Text, useApp, useInput } from "ink";
import { useRef, useState } from "react";
import { ColumnTitles, Line } from "./body.tsx";
import { Footer } from "./footer.tsx";
import { fit, wrap } from "./format.ts";
import { Header } from "./header.tsx";
import { Help } from "./help.tsx";
import { fitColumns, scrollWindow } from "./layout.ts";
import { type BodyLine, bodyLines, moveSelection, nextSort, type SortMode } from "./rows.ts";
import type { StatusSource } from "./source.ts";
import { ALERT } from "./theme.ts";
import { type Change, useChanges } from "./use_changes.ts";
import { type ExternalFeed, useStatusFeed } from "./use_status.ts";
import { useTerminalSize } from "./use_size.ts";

/** Dashboard props. */
export interface AppProps {
  source: StatusSource;
  /** Milliseconds between polls; default 1000. */
  interval?: number;
  /** Terminal width; default the terminal's own. */
  columns?: number;
  /** Terminal height; default the terminal's own. */
  rows?: number;
  /** A feed polled elsewhere (the multi-balancer view); default: the dashboard polls `source`. */
  feed?: ExternalFeed;
}

/** Lines around the body: two of header, the column titles, the footer. */
const CHROME = 4;

/** How many real-server lines come before line `at`. */
function ripIndex(lines: readonly BodyLine[], at: number): number {
  return lines.slice(0, at).filter((l) => l.kind === "rip").length;
}

/** The dashboard. */
export function App({ source, interval = 1000, columns, rows, feed: external }: AppProps) {
  const { exit } = useApp();
  const size = useTerminalSize({ columns, rows });
  const [feed, refresh] = useStatusFeed(source, interval, { external });
  const [sort, setSort] = useState<SortMode>("config");
  const [help, setHelp] = useState(false);
  // The selected row: a ref, so keys pressed faster than renders each move it.
  const selected = useRef<{ key: string | null; index: number }>({ key: null, index: 0 });
  const [, setMoves] = useState(0);
  const offset = useRef(0);
  const { change, note, sentWeight } = useChanges(source, refresh, feed.received);

  const width = Math.max(20, size.columns);
  const height = Math.max(CHROME + 1, size.rows);
  const bodyHeight = height - CHROME;
  const down = feed.error !== null;
  const lines: BodyLine[] = feed.status && !down ? bodyLines(feed.status, feed.rates, sort) : [];
  const at = moveSelection(lines, selected.current.key, 0, selected.current.index);
  // Keep the selection on the same row across refreshes and sorts.
  if (at >= 0) selected.current = { key: lines[at].key, index: ripIndex(lines, at) };
  const ipWidth = Math.max(0, ...lines.map((l) => l.kind === "rip" ? l.rip.ip.length : 0));
  const columnsShown = fitColumns(width, { ipWidth });
  offset.current = scrollWindow({
    offset: offset.current,
    total: lines.length,
    visible: bodyHeight,
    from: at > 0 && lines[at - 1].kind === "vip" ? at - 1 : Math.max(at, 0),
    to: Math.max(at, 0),
  });

  const act = (what: Change) => {
    const line = lines[moveSelection(lines, selected.current.key, 0, selected.current.index)];
    if (line?.kind === "rip") change(line.vip, line.rip, what);
  };

  const select = (step: number) => {
    const index = moveSelection(lines, selected.current.key, step, selected.current.index);
    if (index < 0) return;
    selected.current = { key: lines[index].key, index: ripIndex(lines, index) };
    setMoves((n) => n + 1);
  };

  useInput((input, key) => {
    if (input === "q") return exit();
    if (input === "?" || (key.escape && help)) return setHelp((h) => !h);
    if (key.upArrow || input === "k") return select(-1);
    if (key.downArrow || input === "j") return select(1);
    if (key.pageUp) return select(-bodyHeight);
    if (key.pageDown) return select(bodyHeight);
    if (input === "s") return setSort(nextSort);
    if (input === "d") return act("drain");
    if (input === "e") return act("enable");
    if (input === "+" || input === "=") return act("weight+");
    if (input === "-" || input === "_") return act("weight-");
  });

  let body: { text: string; alert?: boolean }[] | null = null;
  if (down) {
    body = wrap(
      `dsr daemon not reachable on ${source.label}: ${feed.error} — retrying`,
      width,
    ).map((text) => ({ text, alert: true }));
  } else if (!feed.status) {
    body = [{ text: `connecting to ${source.label}…` }];
  } else if (lines.length === 0) {
    body = [{ text: "no virtual services (add one with: dsr vip add VIP:PORT)" }];
  }
  const shown = lines.slice(offset.current, offset.current + bodyHeight);
  const range = lines.length > bodyHeight
    ? { first: offset.current + 1, last: offset.current + shown.length, total: lines.length }
    : null;

  return (
    <Box flexDirection="column" width={width} height={height}>
      <Header
        status={feed.status}
        total={feed.rates.total}
        label={source.label}
        width={width}
        down={down}
      />
      {help || body ? <Text></Text> : <ColumnTitles columns={columnsShown} width={width} />}
      <Box flexDirection="column" height={bodyHeight} overflow="hidden">
        {help
          ? <Help width={width} height={bodyHeight} />
          : body
          ? body.slice(0, bodyHeight).map((l, i) => (
            <Text key={i} color={l.alert ? ALERT : undefined} wrap="truncate-end">
              {fit(l.text, width)}
            </Text>
          ))
          : shown.map((line) => (
            <Line
              key={line.key}
              line={line}
              columns={columnsShown}
              width={width}
              selected={line === lines[at]}
              weight={sentWeight(line.key)}
            />
          ))}
      </Box>
      <Footer note={note} sort={sort} range={range} width={width} />
    </Box>
  );
}
