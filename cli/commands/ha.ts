/**
 * `dsr ha status|promote|demote|check|keepalived|bird` (SPEC §11): the
 * node's role as keepalived drives it, and the configs of keepalived and
 * BIRD that drive it.
 * @module
 */

import { RuntimeError, UsageError } from "../../control/errors.ts";
import type { HaStatus, Role } from "../../control/ha_role.ts";
import { parseInteger, parseIp } from "../../control/parse.ts";
import { type Paths, requireDaemon } from "../../client/mod.ts";
import { printJson } from "../print.ts";

/** `dsr ha status [--json]`. */
export async function haStatus(paths: Paths, opts: { json?: boolean }): Promise<void> {
  const client = await requireDaemon(paths);
  let ha: HaStatus;
  try {
    ha = await client.request<HaStatus>("GET", "/v1/ha");
  } finally {
    client.close();
  }
  if (opts.json) return printJson(ha);
  const n = ha.transitions;
  console.log(`${ha.role} since ${ha.since} (${n} transition${n === 1 ? "" : "s"})`);
}

/** `dsr ha promote` and `dsr ha demote`: PUT /v1/ha. */
export async function haSetRole(paths: Paths, role: Role): Promise<void> {
  const client = await requireDaemon(paths);
  try {
    // When this command started: see cli/fast_ha.ts.
    await client.request("PUT", "/v1/ha", { role, at: performance.timeOrigin });
  } finally {
    client.close();
  }
}

/**
 * `dsr ha check`: succeeds while the local daemon answers and its interface
 * is up, and, with `--min-uptime S`, once the daemon has run S seconds.
 * keepalived's config uses that: a dsr restarted under a MASTER keepalived
 * comes back standby, and only failed checks (a FAULT, then a new election
 * and notify) tell keepalived to promote it again. main.ts answers the plain
 * form before the command tree loads (cli/fast_ha.ts); this is the same
 * check for the forms it leaves here.
 * @throws {RuntimeError} saying which of them fails
 */
export async function haCheck(paths: Paths, opts: { minUptime?: string } = {}): Promise<void> {
  const minUptime = opts.minUptime === undefined
    ? 0
    : parseInteger(opts.minUptime, "--min-uptime", 0, 3600);
  const { check, FastHaError } = await import("../fast_ha.ts");
  try {
    await check(paths.socket, minUptime);
  } catch (error) {
    if (error instanceof FastHaError) throw new RuntimeError(error.message);
    throw error;
  }
}

/**
 * Splits `--dsr-command` into argv.
 * @throws {UsageError} when it is empty
 */
function commandArgv(text: string): string[] {
  const argv = text.trim().split(/\s+/).filter((w) => w !== "");
  if (argv.length === 0) throw new UsageError(`invalid --dsr-command "": expected a command`);
  return argv;
}

/** `dsr ha keepalived`: prints this node's keepalived.conf. */
export async function haKeepalived(
  paths: Paths,
  opts: { iface: string; peer: string; priority: string; vrid: string; dsrCommand?: string },
): Promise<void> {
  const peer = parseIp(opts.peer, "--peer");
  const priority = parseInteger(opts.priority, "--priority", 1, 254);
  const vrid = parseInteger(opts.vrid, "--vrid", 1, 255);
  const { ifaceInfo } = await import("../../control/netinfo.ts");
  const { keepalivedConfig } = await import("../../control/ha_keepalived.ts");
  const info = await ifaceInfo(opts.iface);
  if (info.addresses.includes(peer)) {
    throw new UsageError(`invalid --peer ${peer}: it is this node's own address on ${opts.iface}`);
  }
  const base = opts.dsrCommand === undefined
    ? (await import("../../lab/self.ts")).selfCommand()
    : commandArgv(opts.dsrCommand);
  console.log(
    keepalivedConfig({
      iface: opts.iface,
      srcIp: info.addresses[0],
      peer,
      priority,
      vrid,
      dsr: [...base, "--socket", paths.socket],
    }).trimEnd(),
  );
}

/** `dsr ha bird`: prints this node's BIRD 2 config. */
export async function haBird(
  opts: { table: string; asn: string; peer: string; peerAsn: string; routerId?: string },
): Promise<void> {
  const { parseTable } = await import("../../control/announce.ts");
  const { birdConfig, parseAsn } = await import("../../control/ha_bird.ts");
  const table = parseTable(opts.table, "--table");
  const asn = parseAsn(opts.asn, "--asn");
  const peerAsn = parseAsn(opts.peerAsn, "--peer-asn");
  const peer = parseIp(opts.peer, "--peer");
  const routerId = opts.routerId === undefined
    ? await sourceTowards(peer)
    : parseIp(opts.routerId, "--router-id");
  console.log(birdConfig({ table, asn, peer, peerAsn, routerId }).trimEnd());
}

/**
 * This host's address on the interface that reaches `peer`.
 * @throws {RuntimeError} when no route leads there
 */
async function sourceTowards(peer: string): Promise<string> {
  const { run } = await import("../../control/run.ts");
  const r = await run(["ip", "-j", "-4", "route", "get", peer], { timeoutMs: 2_000 });
  const src = r.ok ? (JSON.parse(r.stdout || "[]") as { prefsrc?: string }[])[0]?.prefsrc : null;
  if (!src) {
    throw new RuntimeError(
      `cannot tell this node's address towards ${peer} (${
        r.stderr.trim() || "no source address"
      }): give --router-id`,
    );
  }
  return src;
}
