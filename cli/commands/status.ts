/**
 * `dsr status`.
 * @module
 */

import type { Status } from "../../control/status.ts";
import { type Paths, requireDaemon } from "../../client/mod.ts";
import { printJson, printTable } from "../print.ts";

/** `dsr status [--json]`. */
export async function status(paths: Paths, opts: { json?: boolean }): Promise<void> {
  const client = await requireDaemon(paths);
  let s: Status;
  try {
    s = await client.request<Status>("GET", "/v1/status");
  } finally {
    client.close();
  }
  if (opts.json) return printJson(s);
  const drops = Object.entries(s.drops).filter(([, n]) => n > 0).map(([k, n]) => `${k}=${n}`).join(
    " ",
  );
  const announced = s.announced.length > 0 ? `  announced ${s.announced.join(" ")}` : "";
  console.log(
    `${s.iface} ${s.mac}  ${s.ha.role}  up ${s.uptimeSeconds}s  flows ${s.flows}  drops ${
      drops || "none"
    }${announced}`,
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
