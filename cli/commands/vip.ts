/**
 * `dsr vip add|set|del|list|garp`.
 * @module
 */

import { defaultCheck, serviceKey } from "../../control/config.ts";
import { addVip, delVip, setVip } from "../../control/config_ops.ts";
import { parseIp, parseVipPort } from "../../control/parse.ts";
import {
  makeChange,
  type Paths,
  readConfig,
  requireDaemon,
  servicePath,
} from "../../client/mod.ts";
import { checkOf, hasCheckOptions, protoOf, type SharedOpts, vipFieldsOf } from "../options.ts";
import { printJson, printTable } from "../print.ts";

/** `dsr vip add VIP:PORT`. */
export async function vipAdd(paths: Paths, target: string, opts: SharedOpts): Promise<void> {
  const ref = { ...parseVipPort(target), proto: protoOf(opts) };
  const vip = {
    ...ref,
    ...vipFieldsOf(opts),
    check: checkOf(opts, null, defaultCheck(ref.proto).type),
  };
  await makeChange(paths, {
    request: { method: "POST", path: "/v1/vips", body: vip },
    offline: (c) => addVip(c, vip),
  });
}

/** `dsr vip set VIP:PORT`. */
export async function vipSet(paths: Paths, target: string, opts: SharedOpts): Promise<void> {
  const ref = { ...parseVipPort(target), proto: protoOf(opts) };
  const changes: Record<string, unknown> = vipFieldsOf(opts);
  if (hasCheckOptions(opts)) {
    // Check options given one by one change only those fields of the check in force.
    const current = (await readConfig(paths)).vips.find((v) => serviceKey(v) === serviceKey(ref));
    changes.check = checkOf(opts, current?.check ?? null, defaultCheck(ref.proto).type);
  }
  await makeChange(paths, {
    request: { method: "PATCH", path: servicePath(ref), body: changes },
    offline: (c) => setVip(c, ref, changes),
  });
}

/** `dsr vip del VIP:PORT`. */
export async function vipDel(paths: Paths, target: string, opts: SharedOpts): Promise<void> {
  const ref = { ...parseVipPort(target), proto: protoOf(opts) };
  await makeChange(paths, {
    request: { method: "DELETE", path: servicePath(ref) },
    offline: (c) => delVip(c, ref),
  });
}

/** `dsr vip list`. */
export async function vipList(paths: Paths, opts: { json?: boolean }): Promise<void> {
  const config = await readConfig(paths);
  if (opts.json) return printJson(config.vips);
  printTable(
    ["SERVICE", "SCHEDULER", "PERSIST", "FALLBACK", "REAL SERVERS"],
    config.vips.map((v) => [
      serviceKey(v),
      v.ops ? `${v.scheduler} (ops)` : v.scheduler,
      v.persist,
      v.fallback ?? "-",
      v.rips.map((r) => `${r.ip}${r.weight !== 1 ? `*${r.weight}` : ""}${r.drain ? "(drain)" : ""}`)
        .join(" ") ||
      "-",
    ]),
  );
}

/** `dsr vip garp VIP`. */
export async function vipGarp(paths: Paths, vip: string): Promise<void> {
  parseIp(vip, "VIP");
  const client = await requireDaemon(paths);
  try {
    await client.request("POST", "/v1/garp", { vip });
  } finally {
    client.close();
  }
}
