/**
 * `dsr timeout set`.
 * @module
 */

import { setTimeouts } from "../../control/config_ops.ts";
import { UsageError } from "../../control/errors.ts";
import { parseSeconds } from "../../control/parse.ts";
import { makeChange, type Paths } from "../../client/mod.ts";

/** `dsr timeout set [--tcp S] [--tcpfin S] [--udp S]`. */
export async function timeoutSet(
  paths: Paths,
  opts: { tcp?: string; tcpfin?: string; udp?: string },
): Promise<void> {
  const changes: { tcp?: number; tcpfin?: number; udp?: number } = {};
  if (opts.tcp !== undefined) changes.tcp = parseSeconds(opts.tcp, "--tcp");
  if (opts.tcpfin !== undefined) changes.tcpfin = parseSeconds(opts.tcpfin, "--tcpfin");
  if (opts.udp !== undefined) changes.udp = parseSeconds(opts.udp, "--udp");
  if (Object.keys(changes).length === 0) {
    throw new UsageError("give at least one of --tcp, --tcpfin, --udp");
  }
  await makeChange(paths, {
    request: { method: "PATCH", path: "/v1/timeouts", body: changes },
    offline: (c) => setTimeouts(c, changes),
  });
}
