/**
 * The record of what `dsr realserver setup` changed: the VIPs it added to
 * `lo` and the original value of every sysctl it set, so `--remove` puts back
 * exactly what was there. Kept beside the state file, written atomically.
 * @module
 */

import { dirname } from "node:path";
import { z } from "zod";
import { ipFamily, notUnicastIp } from "../dataplane/ip.ts";
import { RuntimeError } from "../control/errors.ts";

const RecordSchema = z.strictObject({
  version: z.literal(1),
  /** VIPs that were absent from `lo` and setup added. */
  vips: z.array(
    z.string()
      .refine((ip) => ipFamily(ip) !== null, {
        error: (issue) =>
          String(issue.input).includes(":") ? "not an IPv6 address" : "not an IPv4 address",
        abort: true,
      })
      .refine((ip) => notUnicastIp(ip) === null, { message: "not a unicast host address" }),
  ),
  /** Original values of the sysctls setup changed, by full key. */
  sysctls: z.record(z.string(), z.number().int()),
});

/** What setup changed on this host. */
export type SetupRecord = z.infer<typeof RecordSchema>;

/** `realserver.json` in the state file's directory. */
export function recordPath(statePath: string): string {
  return `${dirname(statePath)}/realserver.json`;
}

/**
 * Reads the record; null when there is none.
 * @throws {RuntimeError} when it cannot be read or is not a record.
 */
export async function readRecord(path: string): Promise<SetupRecord | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw new RuntimeError(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return RecordSchema.parse(JSON.parse(text));
  } catch (error) {
    const why = error instanceof z.ZodError ? error.issues[0]?.message : (error as Error).message;
    throw new RuntimeError(`${path} is not a dsr real server record (${why}); move it away`);
  }
}

/**
 * Writes the record atomically (temporary file, fsync, rename): a crash
 * leaves the old record or the new one, and remove can always trust it.
 * @throws {RuntimeError} when it cannot be written.
 */
export async function writeRecord(path: string, record: SetupRecord): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}`;
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    {
      using file = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
      await file.write(new TextEncoder().encode(JSON.stringify(record, null, 2) + "\n"));
      await file.sync();
    }
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw new RuntimeError(`cannot write ${path}: ${(error as Error).message}`);
  }
}

/** Deletes the record; no error when it is already gone. */
export async function deleteRecord(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw new RuntimeError(`cannot delete ${path}: ${(error as Error).message}`);
  }
}
