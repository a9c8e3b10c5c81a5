/**
 * `dsr top`: the live dashboard of SPEC §7, drawn by Ink on the terminal's
 * alternate screen from the daemon's socket.
 * @module
 */

import { RuntimeError } from "../../control/errors.ts";
import { parseInteger } from "../../control/parse.ts";
import { DaemonSource } from "../../tui/daemon_source.ts";
import type { Paths } from "../../client/mod.ts";

/**
 * `dsr top [--interval MS]`: runs the dashboard until `q` (or Ctrl-C), then
 * gives the terminal back as it was.
 * @param opts.interval milliseconds between polls of `GET /v1/status`
 * @returns the exit status, 0
 * @throws {UsageError} for a bad interval; {RuntimeError} when stdin or stdout is not a terminal
 */
export async function top(paths: Paths, opts: { interval: string }): Promise<number> {
  const interval = parseInteger(opts.interval, "--interval", 100, 3_600_000);
  if (!Deno.stdout.isTerminal() || !Deno.stdin.isTerminal()) {
    throw new RuntimeError("dsr top needs a terminal");
  }
  // React and Ink's reconciler choose their production builds from NODE_ENV as they load:
  // a third of the CPU and two thirds of the memory of the development builds.
  if (!Deno.env.has("NODE_ENV")) Deno.env.set("NODE_ENV", "production");
  const [{ render }, { createElement }, { App }] = await Promise.all([
    import("ink"),
    import("react"),
    import("../../tui/app.tsx"),
  ]);
  const source = new DaemonSource(paths);
  try {
    // Ink turns itself non-interactive when CI is set; an explicit `dsr top` on a terminal is not.
    const app = render(createElement(App, { source, interval }), {
      interactive: true,
      alternateScreen: true,
      exitOnCtrlC: true,
    });
    await app.waitUntilExit();
  } finally {
    source.close();
  }
  return 0;
}
