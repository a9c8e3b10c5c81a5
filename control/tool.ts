/**
 * Runs the host's network tools (ethtool, tc) where a failure is something
 * to report, not to throw: the daemon warns and goes on.
 * @module
 */

import { run } from "./run.ts";

/** What a tool run gave: whether it succeeded, and its stdout and stderr, trimmed. */
export interface ToolRun {
  ok: boolean;
  out: string;
}

/** Runs `cmd args…` with a 10 s deadline; never throws (a missing program is `ok: false` with the error's text). */
export async function runTool(cmd: string, args: string[]): Promise<ToolRun> {
  try {
    const r = await run([cmd, ...args]);
    return { ok: r.ok, out: (r.stdout + r.stderr).trim() };
  } catch (error) {
    return { ok: false, out: (error as Error).message };
  }
}
