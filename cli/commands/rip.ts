/**
 * `dsr rip add|set|del`.
 * @module
 */

import type { Rip } from "../../control/config.ts";
import { addRip, delRip, setRip } from "../../control/config_ops.ts";
import { UsageError } from "../../control/errors.ts";
import {
  parseInteger,
  parseIp,
  parseRip,
  parseVipPort,
  refusePortTranslation,
} from "../../control/parse.ts";
import { makeChange, type Paths, readConfig, servicePath } from "../../client/mod.ts";
import { checkOf, hasCheckOptions, protoOf, type SharedOpts } from "../options.ts";

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
  const { ip, port } = parseRip(server);
  refusePortTranslation(ref.port, port);
  const rip = {
    ip,
    weight: parseInteger(opts.weight ?? "1", "--weight", 0, 65535),
    check: checkOf(opts, null, "tcp"),
  };
  await makeChange(paths, {
    request: { method: "POST", path: `${servicePath(ref)}/rips`, body: rip },
    offline: (c) => addRip(c, ref, rip),
  });
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
  const changes: Partial<Omit<Rip, "ip">> = {};
  if (opts.weight !== undefined) changes.weight = parseInteger(opts.weight, "--weight", 0, 65535);
  if (opts.drain) changes.drain = true;
  if (opts.enable) changes.drain = false;
  if (hasCheckOptions(opts)) {
    const current = (await readConfig(paths)).vips
      .find((v) => v.vip === ref.vip && v.port === ref.port && v.proto === ref.proto)?.rips.find((
        r,
      ) => r.ip === ip);
    changes.check = checkOf(opts, current?.check ?? null, "tcp");
  }
  await makeChange(paths, {
    request: { method: "PATCH", path: `${servicePath(ref)}/rips/${ip}`, body: changes },
    offline: (c) => setRip(c, ref, ip, changes),
  });
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
  await makeChange(paths, {
    request: { method: "DELETE", path: `${servicePath(ref)}/rips/${ip}` },
    offline: (c) => delRip(c, ref, ip),
  });
}
