/**
 * Output helpers: JSON for scripts, aligned columns for people.
 * @module
 */

/** Prints a value as indented JSON. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/** Prints rows as left-aligned columns under a header. */
export function printTable(header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  for (const row of cells) console.log(row.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd());
}

/** Prints the lines of a change, or "no change". */
export function printChanges(changes: string[]): void {
  console.log(changes.length === 0 ? "no change" : changes.join("\n"));
}
