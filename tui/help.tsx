/**
 * The help overlay (`?`): keys, columns, colours.
 * @module
 */

import { Text } from "ink";
import { fit } from "./format.ts";

const HELP = [
  "Keys",
  "  ↑ ↓  j k     select a real server (PgUp PgDn: a page)",
  "  d            drain: no new flows, existing flows carry on",
  "  e            enable: take new flows again",
  "  + -          weight up or down by 1 (0 takes no new flows)",
  "  s            sort: config order, pps, connections, state",
  "  ?  Esc       this help          q  quit",
  "",
  "Columns",
  "  WGT weight   ACT INACT active, inactive connections",
  "  NEW/S new connections/s   PPS packets/s   BIT/S bits/s",
  "  CHECK health-check latency   LAST ERROR of the check",
  "",
  "States  up: green  down: red  drain: yellow  unresolved: magenta",
  "Rates use the daemon's clock; '-' until the second sample.",
];

/** The help text, in `height` lines of `width` characters at most. */
export function Help({ width, height }: { width: number; height: number }) {
  return (
    <>
      {HELP.slice(0, height).map((line, i) => (
        <Text key={i} bold={i === 0 || line === "Columns"} wrap="truncate-end">
          {fit(line, width)}
        </Text>
      ))}
    </>
  );
}
