/**
 * Describes the difference between two configurations as lines an operator
 * reads (`config apply` prints them; `PUT /v1/config` answers them).
 * @module
 */

import { type Config, serviceKey, type Vip } from "./config.ts";

function fields<T extends object>(a: T, b: T, skip: readonly string[] = []): string[] {
  const out: string[] = [];
  for (const key of Object.keys(b) as (keyof T & string)[]) {
    if (skip.includes(key)) continue;
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) {
      out.push(`${key}=${JSON.stringify(b[key])}`);
    }
  }
  return out;
}

/** One line per change from `before` to `after`; empty when they are the same. */
export function diffConfig(before: Config, after: Config): string[] {
  const changes: string[] = [];
  // The seed is a secret: say that it changed, not what it is.
  if (after.hashSeed !== undefined && after.hashSeed !== before.hashSeed) {
    changes.push(before.hashSeed === undefined ? "set hash seed" : "change hash seed");
  }
  const timeouts = fields(before.timeouts, after.timeouts);
  if (timeouts.length > 0) changes.push(`set timeouts ${timeouts.join(" ")}`);
  const old = new Map<string, Vip>(before.vips.map((v) => [serviceKey(v), v]));
  const now = new Map<string, Vip>(after.vips.map((v) => [serviceKey(v), v]));
  for (const key of old.keys()) if (!now.has(key)) changes.push(`delete vip ${key}`);
  for (const [key, vip] of now) {
    const was = old.get(key);
    if (!was) {
      changes.push(`add vip ${key}`);
      for (const rip of vip.rips) changes.push(`add rip ${rip.ip} to ${key}`);
      continue;
    }
    const changed = fields(was, vip, ["rips"]);
    if (changed.length > 0) changes.push(`set vip ${key} ${changed.join(" ")}`);
    const oldRips = new Map(was.rips.map((r) => [r.ip, r]));
    const newRips = new Map(vip.rips.map((r) => [r.ip, r]));
    for (const ip of oldRips.keys()) {
      if (!newRips.has(ip)) changes.push(`delete rip ${ip} from ${key}`);
    }
    for (const [ip, rip] of newRips) {
      const r = oldRips.get(ip);
      if (!r) changes.push(`add rip ${ip} to ${key}`);
      else {
        const c = fields(r, rip);
        if (c.length > 0) changes.push(`set rip ${ip} in ${key} ${c.join(" ")}`);
      }
    }
  }
  return changes;
}
