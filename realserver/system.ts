/**
 * The thin part of `dsr realserver` that touches the host: reads the facts
 * with `ip -j addr show` and `sysctl`, and runs the planned commands. Always
 * through those two programs: Deno opens /proc/sys only with every
 * permission, and the declared permission set runs only `ip`, `ethtool` and
 * `sysctl`.
 * @module
 */

import { RuntimeError } from "../control/errors.ts";
import { readSysctl } from "../control/netinfo.ts";
import { run as runProcess } from "../control/run.ts";
import {
  ARP_NAMES,
  arpKey,
  arpScopes,
  type Cmd,
  type Facts,
  formatCmd,
  type IpLink,
  parseLinks,
} from "./linux.ts";

/**
 * Reads the facts of this host (network namespace).
 * @param extraKeys more sysctls to read (a record's); one that cannot be read
 *   is left out, as its interface may be gone
 * @throws {RuntimeError} when `ip` or `sysctl` cannot run or the ARP sysctls cannot be read
 */
export async function inspect(extraKeys: string[] = []): Promise<Facts> {
  const { stdout } = await run(["ip", "-j", "addr", "show"]);
  const links = parseLinks(JSON.parse(stdout || "[]") as IpLink[]);
  const keys = arpScopes(links).flatMap((scope) => ARP_NAMES.map((name) => arpKey(scope, name)));
  const read = async (key: string, optional: boolean) => {
    try {
      return [key, Number(await readSysctl(key))] as const;
    } catch (error) {
      if (optional) return null;
      throw error;
    }
  };
  const values = await Promise.all([
    ...keys.map((k) => read(k, false)),
    ...extraKeys.filter((k) => !keys.includes(k)).map((k) => read(k, true)),
  ]);
  return { ...links, sysctls: Object.fromEntries(values.filter((v) => v !== null)) };
}

/**
 * Runs one command (10 s deadline) and returns its output.
 * @throws {RuntimeError} naming the command and its error when it fails
 */
export async function run(cmd: Cmd): Promise<{ stdout: string }> {
  const r = await runProcess(cmd);
  if (!r.ok) throw new RuntimeError(`${formatCmd(cmd)} failed: ${r.stderr.trim()}`);
  return { stdout: r.stdout };
}
