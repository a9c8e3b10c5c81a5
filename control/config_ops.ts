/**
 * Changes to a configuration, as pure functions from one document to the
 * next. The CLI's offline mode and the daemon's socket API both call these,
 * so a change means the same thing whichever path it takes.
 * @module
 */

import {
  type Config,
  parseConfig,
  type Proto,
  type Rip,
  RipSchema,
  serviceKey,
  type Timeouts,
  validate,
  type Vip,
  VipSchema,
} from "./config.ts";
import { UsageError } from "./errors.ts";

/** Names one service. */
export interface ServiceRef {
  vip: string;
  port: number;
  proto: Proto;
}

function indexOf(config: Config, ref: ServiceRef): number {
  return config.vips.findIndex((v) =>
    v.vip === ref.vip && v.port === ref.port && v.proto === ref.proto
  );
}

function mustFind(config: Config, ref: ServiceRef): number {
  const i = indexOf(config, ref);
  if (i < 0) throw new UsageError(`virtual service ${serviceKey(ref)} does not exist`, "missing");
  return i;
}

function withVip(config: Config, i: number, vip: Vip): Config {
  const vips = [...config.vips];
  vips[i] = vip;
  return parseConfig({ ...config, vips });
}

/**
 * Adds a virtual service.
 * @throws {UsageError} when it exists already or a field is invalid.
 */
export function addVip(config: Config, vip: Partial<Vip> & ServiceRef): Config {
  if (indexOf(config, vip) >= 0) {
    throw new UsageError(`virtual service ${serviceKey(vip)} already exists`, "conflict");
  }
  const parsed = validate(VipSchema, { ...vip, rips: vip.rips ?? [] });
  return parseConfig({ ...config, vips: [...config.vips, parsed] });
}

/**
 * Changes fields of a virtual service; real servers stay.
 * @throws {UsageError} when it does not exist.
 */
export function setVip(
  config: Config,
  ref: ServiceRef,
  changes: Partial<Omit<Vip, "rips">>,
): Config {
  const i = mustFind(config, ref);
  return withVip(config, i, { ...config.vips[i], ...changes, rips: config.vips[i].rips });
}

/**
 * Deletes a virtual service and its real servers.
 * @throws {UsageError} when it does not exist.
 */
export function delVip(config: Config, ref: ServiceRef): Config {
  const i = mustFind(config, ref);
  return { ...config, vips: config.vips.filter((_, j) => j !== i) };
}

/**
 * Adds a real server to a virtual service.
 * @throws {UsageError} when the service is missing or the server exists.
 */
export function addRip(
  config: Config,
  ref: ServiceRef,
  rip: Partial<Rip> & { ip: string },
): Config {
  const i = mustFind(config, ref);
  const vip = config.vips[i];
  if (vip.rips.some((r) => r.ip === rip.ip)) {
    throw new UsageError(`real server ${rip.ip} already exists in ${serviceKey(ref)}`, "conflict");
  }
  return withVip(config, i, { ...vip, rips: [...vip.rips, validate(RipSchema, rip)] });
}

function mustFindRip(config: Config, ref: ServiceRef, ip: string): [number, number] {
  const i = mustFind(config, ref);
  const j = config.vips[i].rips.findIndex((r) => r.ip === ip);
  if (j < 0) {
    throw new UsageError(`real server ${ip} does not exist in ${serviceKey(ref)}`, "missing");
  }
  return [i, j];
}

/**
 * Changes fields of a real server.
 * @throws {UsageError} when it does not exist.
 */
export function setRip(
  config: Config,
  ref: ServiceRef,
  ip: string,
  changes: Partial<Omit<Rip, "ip">>,
): Config {
  const [i, j] = mustFindRip(config, ref, ip);
  const vip = config.vips[i];
  const rips = [...vip.rips];
  rips[j] = { ...rips[j], ...changes };
  return withVip(config, i, { ...vip, rips });
}

/**
 * Removes a real server.
 * @throws {UsageError} when it does not exist.
 */
export function delRip(config: Config, ref: ServiceRef, ip: string): Config {
  const [i, j] = mustFindRip(config, ref, ip);
  const vip = config.vips[i];
  return withVip(config, i, { ...vip, rips: vip.rips.filter((_, k) => k !== j) });
}

/** Changes flow timeouts (seconds); unnamed ones stay. */
export function setTimeouts(config: Config, changes: Partial<Timeouts>): Config {
  return parseConfig({ ...config, timeouts: { ...config.timeouts, ...changes } });
}
