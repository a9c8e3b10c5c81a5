/**
 * `dsr status`, of this machine's daemon or of several balancers (`--host`
 * more than once, SPEC §13).
 * @module
 */

import type { Status } from "../../control/status.ts";
import { labelOf, type Paths, requireDaemon } from "../../client/mod.ts";
import { RuntimeError, UsageError } from "../../control/errors.ts";
import { printJson, printTable } from "../print.ts";

/** One balancer's answer in `dsr status --json` over several hosts. */
export type HostStatus = { host: string; status: Status } | { host: string; error: string };

/** The status document of the daemon at `paths`. */
async function statusOf(paths: Paths): Promise<Status> {
  const client = await requireDaemon(paths);
  try {
    return await client.request<Status>("GET", "/v1/status");
  } finally {
    client.close();
  }
}

/**
 * `dsr status [--json]`: one daemon's status as it always was; with several
 * hosts, every host's in order, asked at once. A host that does not answer
 * is an entry with its error (in JSON) or a `dsr: error:` line on stderr.
 * @returns 0, or 1 when a host did not answer
 */
export async function status(all: Paths[], opts: { json?: boolean }): Promise<number> {
  if (all.length === 1) {
    const s = await statusOf(all[0]);
    if (opts.json) printJson(s);
    else printStatus(s);
    return 0;
  }
  const answers: HostStatus[] = await Promise.all(all.map(async (paths) => {
    const host = labelOf(paths);
    try {
      return { host, status: await statusOf(paths) };
    } catch (error) {
      if (error instanceof RuntimeError || error instanceof UsageError) {
        return { host, error: error.message };
      }
      throw error;
    }
  }));
  if (opts.json) printJson(answers);
  let first = true;
  for (const answer of answers) {
    if ("error" in answer) {
      console.error(`dsr: error: ${answer.error}`);
      continue;
    }
    if (!opts.json) {
      console.log(`${first ? "" : "\n"}== ${answer.host} ==`);
      printStatus(answer.status);
      first = false;
    }
  }
  return answers.some((a) => "error" in a) ? 1 : 0;
}

/** The status document for people: a summary line, then a table per VIP. */
function printStatus(s: Status): void {
  const drops = Object.entries(s.drops).filter(([, n]) => n > 0).map(([k, n]) => `${k}=${n}`).join(
    " ",
  );
  const announced = s.announced?.length ? `  announced ${s.announced.join(" ")}` : "";
  // A balancer with several legs names them all; the MAC is the first leg's.
  const legs = s.ifaces && s.ifaces.length > 1 ? `  legs ${s.ifaces.join(" ")}` : "";
  console.log(
    `${s.iface} ${s.mac}${legs}  ${
      s.ha?.role ?? "active"
    }  up ${s.uptimeSeconds}s  flows ${s.flows}  drops ${drops || "none"}${announced}`,
  );
  for (const v of s.vips) {
    console.log(
      `\n${v.vip}:${v.port}/${v.proto} ${v.scheduler}  packets ${v.packets}  bytes ${v.bytes}  conns ${v.connections}`,
    );
    printTable(
      [
        "REAL SERVER",
        "MAC",
        "STATE",
        "WEIGHT",
        "ACTIVE",
        "INACTIVE",
        "CONNS",
        "PACKETS",
        "BYTES",
        "NOTE",
      ],
      v.rips.map((r) => [
        r.ip,
        r.mac ?? "-",
        r.state,
        r.weight,
        r.activeConns,
        r.inactiveConns,
        r.connections,
        r.packets,
        r.bytes,
        r.check.error ?? "",
      ]),
    );
  }
}
