/**
 * The JSON shapes of SPEC §5, written out from the spec (not derived from
 * the code) so a renamed or retyped field fails the tests. Objects may carry
 * more keys than these (the spec says extend, do not rename).
 * @module
 */

import { SCHEDULER_NAMES } from "../dataplane/scheduler.ts";
import { z } from "zod";

const ip = z.string().regex(/^\d+\.\d+\.\d+\.\d+$/);
const mac = z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
const count = z.number().int().min(0);

const check = z.object({
  type: z.enum(["tcp", "http", "https", "udp", "dns", "ping", "exec", "dr", "none"]),
  port: z.number().int().nullable(),
  path: z.string(),
  expect: z.number().int(),
  interval: z.number(),
  timeout: z.number(),
  rise: z.number().int(),
  fall: z.number().int(),
});

/** `dsr config export`, `GET /v1/config`, the state file. */
export const ConfigShape = z.object({
  version: z.literal(1),
  hashSeed: z.string().regex(/^[0-9a-f]{32}$/).optional(),
  timeouts: z.object({ tcp: z.number(), tcpfin: z.number(), udp: z.number() }),
  // Loose: a field added later (need, ops, …) is kept, so comparing a shaped
  // document with the state file never loses it.
  vips: z.array(z.looseObject({
    vip: ip,
    port: z.number().int(),
    proto: z.enum(["tcp", "udp"]),
    scheduler: z.enum(SCHEDULER_NAMES),
    persist: z.number().int(),
    fallback: ip.nullable(),
    need: z.number().int().min(0),
    check: check.nullable(),
    rips: z.array(
      z.looseObject({ ip, weight: count, drain: z.boolean(), check: check.nullable() }),
    ),
  })),
});

/** `dsr vip list --json`: the vips without counters. */
export const VipListShape = ConfigShape.shape.vips;

/** `dsr status --json`, `GET /v1/status`. */
export const StatusShape = z.object({
  iface: z.string(),
  ifaces: z.array(z.string()).min(1),
  mac,
  uptimeSeconds: z.number().min(0),
  flows: count,
  drops: z.object({ noService: count, malformed: count, noBackend: count, evicted: count }),
  vips: z.array(z.object({
    vip: ip,
    port: z.number().int(),
    proto: z.enum(["tcp", "udp"]),
    scheduler: z.string(),
    packets: count,
    bytes: count,
    connections: count,
    rips: z.array(z.object({
      ip,
      mac: mac.nullable(),
      weight: count,
      state: z.enum(["up", "down", "drain", "unresolved"]),
      activeConns: count,
      inactiveConns: count,
      connections: count,
      packets: count,
      bytes: count,
      check: z.object({
        type: z.string(),
        ok: z.boolean().nullable(),
        latencyMs: z.number().nullable(),
        at: z.string().nullable(),
        error: z.string().nullable(),
      }),
    })),
  })),
});

/** Parses `value` with `shape`, failing with every issue listed. */
export function assertShape<T>(shape: z.ZodType<T>, value: unknown, what: string): T {
  const result = shape.safeParse(value);
  if (!result.success) {
    throw new Error(
      `${what} does not match SPEC §5: ${JSON.stringify(result.error.issues, null, 1)}`,
    );
  }
  return result.data;
}
