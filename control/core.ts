/**
 * The daemon's functional core: given the configuration in force, a
 * candidate and the facts of the host, it answers with a plan (the next
 * configuration, its changes and the compiled program) or a refusal naming
 * the reason: a real server off the subnet, a VIP the kernel owns, a limit
 * of the data plane. It reads no file, runs no program and keeps no timer,
 * so every decision is made, and every refusal found, before anything is
 * written; the daemon applies a plan only after the state file holds it.
 * @module
 */

import { type Compiled, Compiler, type RipConditions } from "./compile.ts";
import { type Config, normalize, serviceKey, withHashSeed } from "./config.ts";
import { diffConfig } from "./config_diff.ts";
import { UsageError } from "./errors.ts";
import type { LocalAddress } from "./host.ts";
import { type IfaceInfo, isAdjacent, notAdjacentText } from "./netinfo.ts";

/** A change the core accepted, not yet in force. */
export interface Plan {
  config: Config;
  /** One line per change; empty when the candidate equals the configuration in force. */
  changes: string[];
  /** The program of `config`; null when nothing changed. */
  compiled: Compiled | null;
}

/** Why a configuration cannot run here, and the field to blame. */
export interface Refusal {
  message: string;
  field: string;
}

/** What {@link Core.plan} checks besides the document. */
export interface PlanOptions {
  /** Addresses this host owns now: a VIP among them is refused. */
  local: readonly LocalAddress[];
  /** Refuse a new real server off the interface's subnets (true for live changes; a reload only warns). */
  refuseOffSubnet: boolean;
  /** Maps a refused field's path in the document to the caller's terms. */
  field?: (path: string) => string;
}

/** The configuration in force and its compiler; changes only through {@link Core.commit}. */
export class Core {
  #config: Config;
  #compiled: Compiled | null = null;
  readonly #compiler: Compiler;

  /** The balancer's interfaces: one, or each leg of a balancer with several. */
  readonly legs: readonly IfaceInfo[];

  /** @param iface the interface, or every leg in `--iface` order */
  constructor(iface: IfaceInfo | readonly IfaceInfo[], config: Config) {
    this.legs = "name" in iface ? [iface] : [...iface];
    this.#config = normalize(config);
    this.#compiler = new Compiler(this.legs);
  }

  /** The first (or only) interface. */
  get iface(): IfaceInfo {
    return this.legs[0];
  }

  /** The configuration in force. */
  get config(): Config {
    return this.#config;
  }

  /** The program in force; null before the first {@link Core.recompile}. */
  get compiled(): Compiled | null {
    return this.#compiled;
  }

  /** The neighbour slot of an address in the program in force, or -1. */
  neighbor(ip: string): number {
    return this.#compiler.neighbor(ip);
  }

  /**
   * Judges `candidate` against the configuration in force and this host.
   * Changes nothing.
   * @throws {UsageError} when it cannot run here (exit 2)
   * @throws {CapacityError} when it exceeds a limit of the data plane (exit 1)
   */
  plan(candidate: Config, conditions: RipConditions, options: PlanOptions): Plan {
    // A document without a hash seed keeps the one in force (SPEC §2).
    const next = normalize(withHashSeed(candidate, this.#config.hashSeed));
    const refused =
      (options.refuseOffSubnet ? newOffSubnet(this.legs, this.#config, next) : null) ??
        localVip(next, options.local);
    if (refused) {
      throw new UsageError(
        refused.message,
        "invalid",
        options.field?.(refused.field) ?? refused.field,
      );
    }
    const changes = diffConfig(this.#config, next);
    if (changes.length === 0 && this.#compiled !== null) {
      return { config: this.#config, changes, compiled: null };
    }
    return { config: next, changes, compiled: this.#compiler.compile(next, conditions) };
  }

  /** Puts a plan in force (after the state file holds it). */
  commit(plan: Plan): void {
    this.#config = plan.config;
    if (plan.compiled) {
      this.#compiler.adopt(plan.compiled);
      this.#compiled = plan.compiled;
    }
  }

  /**
   * Compiles the configuration in force again, for new health or
   * reachability, and puts the program in force.
   * @throws {CapacityError} only if the limits changed under a configuration already accepted
   */
  recompile(conditions: RipConditions): Compiled {
    const compiled = this.#compiler.compile(this.#config, conditions);
    this.#compiler.adopt(compiled);
    this.#compiled = compiled;
    return compiled;
  }

  /** One warning per real server of `config` that is off the interface's subnets. */
  offSubnetWarnings(config: Config = this.#config): string[] {
    return config.vips.flatMap((vip) =>
      [...vip.rips.map((r) => r.ip), ...(vip.fallback ? [vip.fallback] : [])]
        .filter((ip) => !isAdjacent(this.legs, ip))
        .map((ip) =>
          `real server ${ip} of ${serviceKey(vip)} ${
            notAdjacentText(this.legs, ip)
          }: it gets no traffic`
        )
    );
  }
}

/** The first real server of `next` that is new and on no subnet of the interface (or of any leg). */
export function newOffSubnet(
  iface: IfaceInfo | readonly IfaceInfo[],
  before: Config,
  next: Config,
): Refusal | null {
  const known = new Set(before.vips.flatMap((v) => [...v.rips.map((r) => r.ip), v.fallback]));
  for (const [i, vip] of next.vips.entries()) {
    const servers = vip.rips.map((r, j) => [r.ip, `vips[${i}].rips[${j}].ip`]);
    if (vip.fallback) servers.push([vip.fallback, `vips[${i}].fallback`]);
    for (const [ip, field] of servers) {
      if (!known.has(ip) && !isAdjacent(iface, ip)) {
        return { message: `cannot add real server ${ip}: it ${notAdjacentText(iface, ip)}`, field };
      }
    }
  }
  return null;
}

/**
 * The host kernel must not own a VIP: it would answer for it and reset
 * connections meant for the real servers. Returns the first VIP found among
 * `local`, or null.
 */
export function localVip(config: Config, local: readonly LocalAddress[]): Refusal | null {
  for (const [i, vip] of config.vips.entries()) {
    const owner = local.find((a) => a.ip === vip.vip);
    if (owner) {
      return {
        message:
          `VIP ${vip.vip} is configured on interface ${owner.iface} of this host; the kernel would reset ` +
          `connections to it: remove it (ip addr del ${vip.vip}/32 dev ${owner.iface})`,
        field: `vips[${i}].vip`,
      };
    }
  }
  return null;
}
