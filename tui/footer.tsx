/**
 * The bottom line: the keys (or the note a change left), the sort, and
 * which body lines are on screen when they do not all fit.
 * @module
 */

import { Text } from "ink";
import { fit, truncate } from "./format.ts";
import type { SortMode } from "./rows.ts";
import { ALERT } from "./theme.ts";
import type { Note } from "./use_changes.ts";

const HINTS = "↑↓ select  d drain  e enable  +/- weight  s sort  ? help  q quit";

/** Footer props. */
export interface FooterProps {
  note: Note | null;
  sort: SortMode;
  /** Body lines shown, first and last (1-based), and how many there are. */
  range: { first: number; last: number; total: number } | null;
  width: number;
}

/** The footer line. */
export function Footer({ note, sort, range, width }: FooterProps) {
  const more = range ? ` ${range.first}-${range.last}/${range.total}` : "";
  const right = truncate(` sort ${sort}${more}`, width);
  const left = fit(note?.text ?? HINTS, width - right.length);
  return (
    <Text wrap="truncate-end">
      <Text color={note?.alert ? ALERT : undefined} dimColor={!note}>{left}</Text>
      {right}
    </Text>
  );
}
