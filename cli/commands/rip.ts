/**
 * `dsr rip add|set|del`.
 * @module
 */

import { addRip, delRip, setRip } from "../../control/config_ops.ts";
import { UsageError } from "../../control/errors.ts";
import {
  parseInteger,
  parseIp,
  parseRip,
  parseVipPort,
  refusePortTranslation,
} from "../../control/parse.ts";
import { changeConfig, type Paths } from "../client.ts";
import { checkOf, protoOf, type SharedOpts } from "../options.ts";
import { printChanges } from "../print.ts";

interface RipOpts extends SharedOpts {
  weight?: string;
  drain?: boolean;
  enable?: boolean;
}

/** `dsr rip add VIP:PORT RIP[:PORT]`. */
export async function ripAdd(
  paths: Paths,
  target: string,
  server: string,
  opts: RipOpts,
): Promise<void> {
  const ref = { ...parseVipPort(target), proto: protoOf(opts) };
  const rip = parseRip(server);
  refusePortTranslation(ref.port, rip.port);
  const weight = parseInteger(opts.weight ?? "1", "--weight", 0, 65535);
  const check = checkOf(opts, null, "tcp");
  printChanges(await changeConfig(paths, (c) => addRip(c, ref, { ip: rip.ip, weight, check })));
}

/** `dsr rip set VIP:PORT RIP`. */
export async function ripSet(
  paths: Paths,
  target: string,
  server: string,
  opts: RipOpts,
): Promise<void> {
  const ref = { ...parseVipPort(target), proto: protoOf(opts) };
  const ip = parseIp(server, "real server");
  if (opts.drain && opts.enable) {
    throw new UsageError("--drain and --enable contradict each other: give one");
  }
  const changes: { weight?: number; drain?: boolean } = {};
  if (opts.weight !== undefined) changes.weight = parseInteger(opts.weight, "--weight", 0, 65535);
  if (opts.drain) changes.drain = true;
  if (opts.enable) changes.drain = false;
  printChanges(
    await changeConfig(paths, (c) => {
      const current = c.vips.find((v) =>
        v.vip === ref.vip && v.port === ref.port && v.proto === ref.proto
      )
        ?.rips.find((r) => r.ip === ip);
      const check = checkOf(opts, current?.check ?? null, "tcp");
      return setRip(c, ref, ip, { ...changes, check });
    }),
  );
}

/** `dsr rip del VIP:PORT RIP`. */
export async function ripDel(
  paths: Paths,
  target: string,
  server: string,
  opts: RipOpts,
): Promise<void> {
  const ref = { ...parseVipPort(target), proto: protoOf(opts) };
  const ip = parseIp(server, "real server");
  printChanges(await changeConfig(paths, (c) => delRip(c, ref, ip)));
}
