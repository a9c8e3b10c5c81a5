/**
 * Option groups several commands share, and their conversion into the
 * fields of a configuration document.
 * @module
 */

import { type Command, Option } from "@commander-js/extra-typings";
import { badCommand, splitCommand } from "../control/command_line.ts";
import {
  type Check,
  CHECK_FIELDS,
  CHECK_TYPES,
  defaultCheck,
  MAX_SECONDS,
} from "../control/config.ts";
import { badDnsName } from "../control/dns_message.ts";
import { UsageError } from "../control/errors.ts";
import { parseInteger, parseIp, parseProto, parseSeconds } from "../control/parse.ts";
import { SCHEDULER_NAMES } from "../dataplane/scheduler.ts";

/** Raw values of the shared options, as commander hands them over. */
export interface SharedOpts {
  proto?: string;
  scheduler?: string;
  persist?: string;
  fallback?: string;
  need?: string;
  ops?: boolean;
  check?: string;
  checkPort?: string;
  checkPath?: string;
  checkExpect?: string;
  checkInterval?: string;
  checkTimeout?: string;
  rise?: string;
  fall?: string;
  checkHost?: string;
  checkInsecure?: boolean;
  checkSend?: string;
  checkReceive?: string;
  checkQuery?: string;
  checkCommand?: string;
}

// deno-lint-ignore no-explicit-any
type AnyCommand = Command<any, any, any>;

/** --proto, --scheduler, --persist, --fallback, --need, --ops. */
export function addVipOptions<C extends AnyCommand>(cmd: C): C {
  cmd.option("--proto <proto>", "tcp or udp (default tcp)")
    .addOption(
      new Option("--scheduler <name>", "IPVS's schedulers (default mh)").choices(
        SCHEDULER_NAMES,
      ),
    )
    .option("--persist <seconds>", "client affinity per VIP, as ipvsadm -p (0: off)")
    .option(
      "--fallback <rip>",
      "sorry server used while no real server is usable ('none' to clear)",
    )
    .option(
      "--need <n>",
      "usable real servers the VIP needs to be announced with --announce (default 1; 0: always)",
    )
    .option(
      "--ops",
      "UDP: one-packet scheduling, as ipvsadm -o (each datagram on its own, no flow)",
    )
    .option("--no-ops", "UDP: datagrams of one client port follow one flow (the default)");
  return cmd;
}

/** The health check options of SPEC §3. */
export function addCheckOptions<C extends AnyCommand>(cmd: C): C {
  cmd.addOption(new Option("--check <type>", "health check").choices(CHECK_TYPES))
    .option("--check-port <port>", "port to check (default: the service's)")
    .option("--check-path <path>", "HTTP path (default /)")
    .option("--check-expect <status>", "expected HTTP status (default 200)")
    .option("--check-interval <s>", "seconds between checks (default 2)")
    .option("--check-timeout <s>", "seconds before a check fails (default 1)")
    .option("--rise <n>", "passes before up (default 2)")
    .option("--fall <n>", "failures before down (default 3)")
    .option("--check-host <name>", "https: SNI name, certificate name and Host header (http: Host)")
    .option("--check-insecure", "https: do not verify the certificate")
    .option("--no-check-insecure", "https: verify the certificate (the default)")
    .option("--check-send <text>", "udp: the datagram to send (default empty)")
    .option("--check-receive <text>", "udp: text the answer must contain (default any answer)")
    .option("--check-query <name>", "dns: the name to ask for (type A); up on NOERROR")
    .option(
      "--check-command <cmd>",
      "exec: absolute path and arguments, split like a shell's words but run without a shell",
    );
  return cmd;
}

/** The protocol option, tcp when absent. */
export function protoOf(opts: SharedOpts) {
  return parseProto(opts.proto ?? "tcp");
}

/** Whether any check option was given. */
export function hasCheckOptions(opts: SharedOpts): boolean {
  return [
    opts.check,
    opts.checkPort,
    opts.checkPath,
    opts.checkExpect,
    opts.checkInterval,
    opts.checkTimeout,
    opts.rise,
    opts.fall,
    opts.checkHost,
    opts.checkInsecure,
    opts.checkSend,
    opts.checkReceive,
    opts.checkQuery,
    opts.checkCommand,
  ]
    .some((v) => v !== undefined);
}

/** Check fields given on the command line, merged over `base`; null when none was given and base is null. */
export function checkOf(
  opts: SharedOpts,
  base: Check | null,
  fallbackType: Check["type"],
): Check | null {
  if (!hasCheckOptions(opts)) return base;
  const b = base ?? { ...defaultCheck("tcp"), type: fallbackType };
  if (opts.checkPath !== undefined && !opts.checkPath.startsWith("/")) {
    throw new UsageError(
      `invalid --check-path "${opts.checkPath}": expected a path starting with /`,
    );
  }
  const merged: Check = {
    type: (opts.check as Check["type"] | undefined) ?? b.type,
    port: opts.checkPort === undefined
      ? b.port
      : parseInteger(opts.checkPort, "--check-port", 1, 65535),
    path: opts.checkPath ?? b.path,
    expect: opts.checkExpect === undefined
      ? b.expect
      : parseInteger(opts.checkExpect, "--check-expect", 100, 599),
    interval: opts.checkInterval === undefined
      ? b.interval
      : parseSeconds(opts.checkInterval, "--check-interval"),
    timeout: opts.checkTimeout === undefined
      ? b.timeout
      : parseSeconds(opts.checkTimeout, "--check-timeout"),
    rise: opts.rise === undefined ? b.rise : parseInteger(opts.rise, "--rise", 1, 100),
    fall: opts.fall === undefined ? b.fall : parseInteger(opts.fall, "--fall", 1, 100),
    host: opts.checkHost === undefined ? b.host : dnsNameOf(opts.checkHost, "--check-host"),
    insecure: opts.checkInsecure ?? b.insecure,
    send: opts.checkSend ?? b.send,
    receive: opts.checkReceive ?? b.receive,
    query: opts.checkQuery === undefined ? b.query : dnsNameOf(opts.checkQuery, "--check-query"),
    command: opts.checkCommand === undefined ? b.command : commandOf(opts.checkCommand),
  };
  return onlyFieldsOf(merged);
}

/** The check without the fields its type does not take (left from a type it had before), or unset. */
function onlyFieldsOf(check: Check): Check {
  const out = { ...check };
  for (const [name, types] of Object.entries(CHECK_FIELDS)) {
    const key = name as keyof typeof CHECK_FIELDS;
    if (out[key] === undefined || !(types as readonly string[]).includes(check.type)) {
      delete out[key];
    }
  }
  // --no-check-insecure is the default: stored as absent, like a check that never had it.
  if (out.insecure === false) delete out.insecure;
  return out;
}

function dnsNameOf(text: string, what: string): string {
  const why = text === "" ? "empty" : badDnsName(text);
  if (why) throw new UsageError(`invalid ${what} "${text}": ${why}`);
  return text;
}

function commandOf(text: string): string[] {
  let argv: string[];
  try {
    argv = splitCommand(text);
  } catch (error) {
    throw new UsageError(`invalid --check-command: ${(error as Error).message}`);
  }
  const why = badCommand(argv);
  if (why) throw new UsageError(`invalid --check-command: ${why}`);
  return argv;
}

/** The VIP fields given on the command line (absent ones left out). */
export function vipFieldsOf(opts: SharedOpts) {
  const fields: {
    scheduler?: (typeof SCHEDULER_NAMES)[number];
    persist?: number;
    fallback?: string | null;
    need?: number;
    ops?: boolean;
  } = {};
  if (opts.scheduler !== undefined) {
    fields.scheduler = opts.scheduler as (typeof SCHEDULER_NAMES)[number];
  }
  if (opts.persist !== undefined) {
    fields.persist = parseInteger(opts.persist, "--persist", 0, MAX_SECONDS);
  }
  if (opts.fallback !== undefined) {
    fields.fallback = opts.fallback === "none" ? null : parseIp(opts.fallback, "--fallback");
  }
  if (opts.need !== undefined) fields.need = parseInteger(opts.need, "--need", 0, 65535);
  if (opts.ops !== undefined) fields.ops = opts.ops;
  return fields;
}
