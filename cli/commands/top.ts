/**
 * `dsr top`: the live dashboard of SPEC §7, drawn by Ink on the terminal's
 * alternate screen from the daemon's socket; with `--host` more than once,
 * one dashboard over every balancer named (SPEC §13).
 * @module
 */

import type { Paths } from "../../client/mod.ts";
import { RuntimeError } from "../../control/errors.ts";
import { parseInteger } from "../../control/parse.ts";
import { DaemonSource } from "../../tui/daemon_source.ts";

/** A node's short name: its host, and its port when one is given. */
function nodeName(paths: Paths): string {
  const h = paths.host;
  if (!h) return paths.socket;
  const host = h.host.includes(":") ? `[${h.host}]` : h.host;
  return h.port === null ? host : `${host}:${h.port}`;
}

/**
 * `dsr top [--interval MS]`: runs the dashboard until `q` (or Ctrl-C), then
 * gives the terminal back as it was.
 * @param where the daemon, or one entry per balancer
 * @param opts.interval milliseconds between polls of `GET /v1/status`
 * @returns the exit status, 0
 * @throws {UsageError} for a bad interval; {RuntimeError} when stdin or stdout is not a terminal
 */
export async function top(where: Paths | Paths[], opts: { interval: string }): Promise<number> {
  const all = Array.isArray(where) ? where : [where];
  const interval = parseInteger(opts.interval, "--interval", 100, 3_600_000);
  if (!Deno.stdout.isTerminal() || !Deno.stdin.isTerminal()) {
    throw new RuntimeError("dsr top needs a terminal");
  }
  // React and Ink's reconciler choose their production builds from NODE_ENV as they load:
  // a third of the CPU and two thirds of the memory of the development builds.
  if (!Deno.env.has("NODE_ENV")) Deno.env.set("NODE_ENV", "production");
  const [{ render }, { createElement }, { App }, { MultiApp }] = await Promise.all([
    import("ink"),
    import("react"),
    import("../../tui/app.tsx"),
    import("../../tui/multi_app.tsx"),
  ]);
  const sources = all.map((paths) => new DaemonSource(paths));
  const nodes = sources.map((source, i) => ({ name: nodeName(all[i]), source }));
  try {
    // Ink turns itself non-interactive when CI is set; an explicit `dsr top` on a terminal is not.
    const view = nodes.length === 1
      ? createElement(App, { source: sources[0], interval })
      : createElement(MultiApp, { nodes, interval });
    const app = render(view, { interactive: true, alternateScreen: true, exitOnCtrlC: true });
    await app.waitUntilExit();
  } finally {
    for (const source of sources) source.close();
  }
  return 0;
}
