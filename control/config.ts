/**
 * The configuration document of SPEC §5: what `dsr config export` prints,
 * `dsr config apply` and `PUT /v1/config` take, and the state file holds.
 * Validated with zod; an invalid document is rejected whole with one message
 * naming the field.
 * @module
 */

import { z } from "zod";
import {
  canonicalIp,
  compareIp,
  familyName,
  hostPort,
  ipFamily,
  notUnicastIp,
} from "../dataplane/ip.ts";
import { SCHEDULER_NAMES } from "../dataplane/scheduler.ts";
import { badCommand } from "./command_line.ts";
import { badDnsName } from "./dns_message.ts";
import { UsageError } from "./errors.ts";

/** Health check types (SPEC §3). */
export const CHECK_TYPES = [
  "tcp",
  "http",
  "https",
  "udp",
  "dns",
  "ping",
  "exec",
  "dr",
  "none",
] as const;

/** A VIP or real server: IPv4, or IPv6 (kept in RFC 5952 form, whatever form it came in). */
const hostIp = z.string()
  .refine((text) => ipFamily(text) !== null, {
    error: (issue) =>
      String(issue.input).includes(":") ? "not an IPv6 address" : "not an IPv4 address",
    abort: true,
  })
  .refine((text) => notUnicastIp(text) === null, { message: "not a unicast host address" })
  .transform(canonicalIp);
const port = z.number().int().min(0).max(65535);
/**
 * The longest time a setting may name: flow and persistence timeouts are
 * kept in 32-bit milliseconds, and so are timers (a longer one fires at once).
 */
export const MAX_SECONDS = Math.floor((2 ** 31 - 1) / 1000);
const TOO_LONG = `at most ${MAX_SECONDS} s (24.8 days): times are kept in 32-bit milliseconds`;
const seconds = z.number().positive().max(MAX_SECONDS, { message: TOO_LONG });

/** A DNS name for SNI, Host headers and DNS queries. */
const dnsName = z.string().min(1).max(254).refine((name) => badDnsName(name) === null, {
  message: "not a DNS name",
});

/**
 * Health check settings (SPEC §3). The fields of one type are absent unless
 * set, so a check of another type exports as it did before they existed:
 * `host` and `insecure` (https, and `host` as http's Host header), `send`
 * and `receive` (udp), `query` (dns), `command` (exec: argv, run without a shell).
 */
export const CheckSchema = z.strictObject({
  type: z.enum(CHECK_TYPES),
  port: port.nullable().default(null),
  path: z.string().startsWith("/").default("/"),
  expect: z.number().int().min(100).max(599).default(200),
  interval: seconds.default(2),
  timeout: seconds.default(1),
  rise: z.number().int().min(1).max(100).default(2),
  fall: z.number().int().min(1).max(100).default(3),
  host: dnsName.optional(),
  insecure: z.boolean().optional(),
  send: z.string().max(1024).optional(),
  receive: z.string().min(1).max(1024).optional(),
  query: dnsName.optional(),
  command: z.array(z.string()).min(1).max(64).refine((argv) => badCommand(argv) === null, {
    error: (issue) => badCommand(issue.input as string[]) ?? "invalid command",
  }).optional(),
});

const weight = z.number().int().min(0).max(65535);
const persist = z.number().int().min(0).max(MAX_SECONDS, { message: TOO_LONG });
const scheduler = z.enum(SCHEDULER_NAMES);
/** Usable real servers a VIP needs to be announced (SPEC §11); 0 announces it always. */
const need = z.number().int().min(0).max(65535);

export const RipSchema = z.strictObject({
  ip: hostIp,
  weight: weight.default(1),
  drain: z.boolean().default(false),
  check: CheckSchema.nullable().default(null),
});

/** A VIP as `POST /v1/vips` takes it: no real servers. */
export const NewVipSchema = z.strictObject({
  vip: hostIp,
  port,
  proto: z.enum(["tcp", "udp"]).default("tcp"),
  scheduler: scheduler.default("mh"),
  persist: persist.default(0),
  fallback: hostIp.nullable().default(null),
  need: need.default(1),
  check: CheckSchema.nullable().default(null),
  /** One-packet scheduling (`ipvsadm -o`), UDP only: every datagram scheduled alone, no flow kept. */
  ops: z.boolean().default(false),
});

export const VipSchema = NewVipSchema.extend({ rips: z.array(RipSchema).default([]) });

/** The fields `PATCH /v1/vips/…` may change; absent ones stay. */
export const VipPatchSchema = z.strictObject({
  scheduler: scheduler.optional(),
  persist: persist.optional(),
  fallback: hostIp.nullable().optional(),
  need: need.optional(),
  check: CheckSchema.nullable().optional(),
  ops: z.boolean().optional(),
});

/** The fields `PATCH …/rips/{ip}` may change; absent ones stay. */
export const RipPatchSchema = z.strictObject({
  weight: weight.optional(),
  drain: z.boolean().optional(),
  check: CheckSchema.nullable().optional(),
});

export const TimeoutsSchema = z.strictObject({
  tcp: seconds.default(900),
  tcpfin: seconds.default(120),
  udp: seconds.default(300),
});

/** The timeouts `PATCH /v1/timeouts` may change. */
export const TimeoutsPatchSchema = z.strictObject({
  tcp: seconds.optional(),
  tcpfin: seconds.optional(),
  udp: seconds.optional(),
});

/**
 * The scheduling hashes' seed (SPEC §2): 32 hexadecimal digits, made at
 * random at first start (or first offline edit) and kept in the state file;
 * a document without one keeps the seed in force.
 */
const hashSeed = z.string().regex(/^[0-9a-fA-F]{32}$/, {
  message: "expected 32 hexadecimal digits",
}).transform((text) => text.toLowerCase());

export const ConfigSchema = z.strictObject({
  version: z.literal(1),
  hashSeed: hashSeed.optional(),
  timeouts: TimeoutsSchema.default({ tcp: 900, tcpfin: 120, udp: 300 }),
  vips: z.array(VipSchema).default([]),
});

export type Check = z.infer<typeof CheckSchema>;
export type Rip = z.infer<typeof RipSchema>;
export type Vip = z.infer<typeof VipSchema>;
export type Timeouts = z.infer<typeof TimeoutsSchema>;
export type Config = z.infer<typeof ConfigSchema>;
export type Proto = Vip["proto"];

/** A configuration document that does not validate; `field` is its path. */
export class ConfigError extends UsageError {
  declare readonly field: string;
  constructor(field: string, readonly reason: string) {
    super(field ? `${field}: ${reason}` : reason, "invalid", field);
    this.name = "ConfigError";
  }
}

/** A new random hash seed: 32 hexadecimal digits. */
export function newHashSeed(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(16)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

/**
 * `config` with a hash seed: its own, else `current`'s (a document without
 * one keeps the seed in force), else a new one.
 */
export function withHashSeed(config: Config, current?: string): Config {
  if (config.hashSeed !== undefined) return config;
  return { ...config, hashSeed: current ?? newHashSeed() };
}

/** An empty configuration with the default timeouts. */
export function emptyConfig(): Config {
  return { version: 1, timeouts: { tcp: 900, tcpfin: 120, udp: 300 }, vips: [] };
}

/** `vips[0].rips[1].ip` from a zod path. */
function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) =>
    typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`
  )
    .join("");
}

/**
 * Validates a parsed JSON value as a configuration document, filling defaults.
 * @throws {ConfigError} naming the first invalid field.
 */
export function parseConfig(value: unknown): Config {
  const config = validate(ConfigSchema, value);
  checkConsistency(config);
  return config;
}

/**
 * Validates `value` against one of this module's schemas, filling defaults.
 * @param prefix path of `value` inside the whole document, for messages
 * @throws {ConfigError} naming the first invalid field.
 */
export function validate<S extends z.ZodType>(schema: S, value: unknown, prefix = ""): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  let path = [...issue.path];
  let reason = issue.message;
  // Name the unknown field itself, not the object holding it.
  if (issue.code === "unrecognized_keys") {
    path = [...path, issue.keys[0]];
    reason = "unknown field";
  }
  const field = fieldPath(path);
  throw new ConfigError(prefix && field ? `${prefix}.${field}` : prefix || field, reason);
}

/** The checks a schema cannot express: duplicates and references. */
function checkConsistency(config: Config): void {
  const services = new Set<string>();
  config.vips.forEach((vip, i) => {
    const key = serviceKey(vip);
    if (services.has(key)) throw new ConfigError(`vips[${i}]`, `duplicate service ${key}`);
    services.add(key);
    checkComplete(vip.check, `vips[${i}].check`, key);
    const rips = new Set<string>();
    checkFamily(vip, vip.fallback, `vips[${i}].fallback`);
    vip.rips.forEach((rip, j) => {
      checkFamily(vip, rip.ip, `vips[${i}].rips[${j}].ip`);
      checkComplete(rip.check, `vips[${i}].rips[${j}].check`, `${rip.ip} in ${key}`);
      if (rips.has(rip.ip)) {
        throw new ConfigError(
          `vips[${i}].rips[${j}].ip`,
          `duplicate real server ${rip.ip} in ${key}`,
        );
      }
      rips.add(rip.ip);
    });
    if (vip.port === 0) checkPortZero(vip, i);
    if (vip.ops && vip.proto !== "udp") {
      throw new ConfigError(
        `vips[${i}].ops`,
        `one-packet scheduling (--ops) is for UDP: ${key} is TCP, whose packets must follow ` +
          "their connection; drop --ops, or make the service --proto udp",
      );
    }
  });
}

/**
 * DR forwards frames unchanged, so it cannot carry a packet from one family
 * to the other: a VIP and its real servers (and fallback) are one family.
 * @throws {ConfigError} when `ip` is of the other family than the VIP.
 */
export function checkFamily(
  vip: Pick<Vip, "vip" | "port" | "proto">,
  ip: string | null,
  field = "",
): void {
  const want = ipFamily(vip.vip), have = ip === null ? want : ipFamily(ip);
  if (want === null || have === null || have === want) return;
  throw new ConfigError(
    field,
    `real server ${ip} is ${familyName(have)} but ${serviceKey(vip)} is ${familyName(want)}: ` +
      "DR forwards frames unchanged, so a VIP and its real servers are one family",
  );
}

/** Check types that connect to a port of the real server. */
const PORT_CHECKS = new Set<Check["type"]>(["tcp", "http", "https", "udp", "dns", "dr"]);

/** The field each check type cannot do without, and the option that sets it. */
const REQUIRED: Partial<Record<Check["type"], [keyof Check, string]>> = {
  dns: ["query", "--check-query NAME"],
  exec: ["command", "--check-command CMD"],
};

/** Which check types take each optional field. */
export const CHECK_FIELDS = {
  host: ["http", "https"],
  insecure: ["https"],
  send: ["udp"],
  receive: ["udp"],
  query: ["dns"],
  command: ["exec"],
} as const satisfies Record<string, readonly Check["type"][]>;

/** A check with a field its type does not take, or without one it needs (a dns check's query). */
function checkComplete(check: Check | null, field: string, owner: string): void {
  if (!check) return;
  for (const [name, types] of Object.entries(CHECK_FIELDS)) {
    if (check[name as keyof typeof CHECK_FIELDS] === undefined) continue;
    if (!(types as readonly string[]).includes(check.type)) {
      throw new ConfigError(
        `${field}.${name}`,
        `a ${check.type} check takes no ${name} (only ${types.join(" and ")} checks do)`,
      );
    }
  }
  const need = REQUIRED[check.type];
  if (need && check[need[0]] === undefined) {
    throw new ConfigError(
      `${field}.${need[0]}`,
      `the ${check.type} check of ${owner} needs ${need[0]}: set ${need[1]}`,
    );
  }
}

/**
 * A port-0 VIP (every port) gives its checks no port to try: without one of
 * their own they would probe port 0 and mark every real server down (SPEC §3).
 */
function checkPortZero(vip: Vip, i: number): void {
  const fix = "set a check port (--check-port N) or --check none";
  const vipCheck = vip.check ?? defaultCheck(vip.proto);
  if (PORT_CHECKS.has(vipCheck.type) && vipCheck.port === null) {
    throw new ConfigError(
      `vips[${i}].check.port`,
      `${serviceKey(vip)} covers every port, so its ${vipCheck.type} check needs a port: ${fix}`,
    );
  }
  vip.rips.forEach((rip, j) => {
    if (rip.check && PORT_CHECKS.has(rip.check.type) && rip.check.port === null) {
      throw new ConfigError(
        `vips[${i}].rips[${j}].check.port`,
        `${
          serviceKey(vip)
        } covers every port, so the ${rip.check.type} check of ${rip.ip} needs a port: ${fix}`,
      );
    }
  });
}

/** `198.18.0.100:80/tcp` or `[2001:2::100]:80/tcp`, the name of a service in messages and keys. */
export function serviceKey(vip: Pick<Vip, "vip" | "port" | "proto">): string {
  return `${hostPort(vip.vip, vip.port)}/${vip.proto}`;
}

/** The check a VIP runs when it sets none: tcp for TCP, none for UDP (SPEC §3). */
export function defaultCheck(proto: Proto): Check {
  return {
    type: proto === "tcp" ? "tcp" : "none",
    port: null,
    path: "/",
    expect: 200,
    interval: 2,
    timeout: 1,
    rise: 2,
    fall: 3,
  };
}

/** Sorts VIPs by address, port and protocol so exports are stable. */
export function normalize(config: Config): Config {
  const vips = [...config.vips].sort((a, b) =>
    compareIp(a.vip, b.vip) || a.port - b.port || a.proto.localeCompare(b.proto)
  );
  return { ...config, vips };
}
