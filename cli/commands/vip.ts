/**
 * `dsr vip add|set|del|list|garp`.
 * @module
 */

import { defaultCheck, serviceKey } from "../../control/config.ts";
import { addVip, delVip, setVip } from "../../control/config_ops.ts";
import { parseIp, parseVipPort } from "../../control/parse.ts";
import { changeConfig, type Paths, readConfig, requireDaemon } from "../client.ts";
import { checkOf, protoOf, type SharedOpts, vipFieldsOf } from "../options.ts";
import { printChanges, printJson, printTable } from "../print.ts";

/** `dsr vip add VIP:PORT`. */
export async function vipAdd(paths: Paths, target: string, opts: SharedOpts): Promise<void> {
  const ref = { ...parseVipPort(target), proto: protoOf(opts) };
  const fields = vipFieldsOf(opts);
  const check = checkOf(opts, null, defaultCheck(ref.proto).type);
  printChanges(await changeConfig(paths, (c) => addVip(c, { ...ref, ...fields, check })));
}

/** `dsr vip set VIP:PORT`. */
export async function vipSet(paths: Paths, target: string, opts: SharedOpts): Promise<void> {
  const ref = { ...parseVipPort(target), proto: protoOf(opts) };
  const fields = vipFieldsOf(opts);
  printChanges(
    await changeConfig(paths, (c) => {
      const current = c.vips.find((v) => serviceKey(v) === serviceKey(ref));
      const check = checkOf(opts, current?.check ?? null, defaultCheck(ref.proto).type);
      return setVip(c, ref, { ...fields, check });
    }),
  );
}

/** `dsr vip del VIP:PORT`. */
export async function vipDel(paths: Paths, target: string, opts: SharedOpts): Promise<void> {
  const ref = { ...parseVipPort(target), proto: protoOf(opts) };
  printChanges(await changeConfig(paths, (c) => delVip(c, ref)));
}

/** `dsr vip list`. */
export async function vipList(paths: Paths, opts: { json?: boolean }): Promise<void> {
  const config = await readConfig(paths);
  if (opts.json) return printJson(config.vips);
  printTable(
    ["SERVICE", "SCHEDULER", "PERSIST", "FALLBACK", "REAL SERVERS"],
    config.vips.map((v) => [
      serviceKey(v),
      v.scheduler,
      v.persist,
      v.fallback ?? "-",
      v.rips.map((r) => `${r.ip}${r.weight !== 1 ? `*${r.weight}` : ""}${r.drain ? "(drain)" : ""}`)
        .join(" ") || "-",
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
