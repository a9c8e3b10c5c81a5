/**
 * Runs the host's network tools (ethtool, tc) where a failure is something
 * to report, not to throw: the daemon warns and goes on.
 * @module
 */

/** What a tool run gave: whether it succeeded, and its stdout and stderr, trimmed. */
export interface ToolRun {
  ok: boolean;
  out: string;
}

/** Runs `cmd args…`; never throws (a missing program is `ok: false` with the error's text). */
export async function runTool(cmd: string, args: string[]): Promise<ToolRun> {
  try {
    const o = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
      .output();
    const text = new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr);
    return { ok: o.success, out: text.trim() };
  } catch (error) {
    return { ok: false, out: (error as Error).message };
  }
}
