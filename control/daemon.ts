/**
 * The balancer daemon: checks the host (SPEC §1), starts the forwarding
 * worker, keeps the running program in step with the configuration and the
 * real servers' reachability, and applies every change through one queue.
 * @module
 */

import { formatIpv4, formatMac, formatNet, parseIpv4 } from "../dataplane/addr.ts";
import { type Compiled, Compiler } from "./compile.ts";
import { type Config, normalize, serviceKey } from "./config.ts";
import { diffConfig } from "./config_diff.ts";
import { DataplaneHost } from "./dataplane_host.ts";
import { HealthMonitor } from "./health.ts";
import { realProber } from "./probers.ts";
import { RuntimeError, UsageError } from "./errors.ts";
import { type IfaceInfo, ifaceInfo, ipForwarding, isAdjacent, localAddresses } from "./netinfo.ts";
import { IngressDrop } from "./ingress_drop.ts";
import { disableMergingOffloads, restoreOffloads } from "./offloads.ts";
import { loadState, removeStaleTemporaries, saveState, withStateLock } from "./state_file.ts";
import { buildStatus, type Status } from "./status.ts";

import type { Logger } from "./log.ts";

/** Options of {@link Daemon.start}. */
export interface DaemonOptions {
  iface: string;
  statePath: string;
  maxFlows: number;
  /** Drop frames to the VIPs at tc ingress after the capture (default true). */
  ingressDrop?: boolean;
  log: Logger;
  /** Receives every health check's latency (for metrics). */
  onCheck?: (service: string, ip: string, type: string, latencyMs: number) => void;
}

const WATCH_MS = 200;
/** After start, real servers count as resolved this long while ARP answers come in. */
const NEIGHBOR_GRACE_MS = 3_000;
/** A MAC not confirmed for this long is unresolved (the loop asks every 15 s). */
const NEIGHBOR_STALE_MS = 60_000;

/** A running balancer on one interface. */
export class Daemon {
  readonly startedAt = Date.now();
  #config!: Config;
  #compiled!: Compiled;
  #compiler: Compiler;
  #host = new DataplaneHost();
  #queue: Promise<unknown> = Promise.resolve();
  #reachable = "";
  #watch: ReturnType<typeof setInterval> | undefined;
  #offloads: string[] = [];
  #ingressDrop: IngressDrop | null;
  #failed: (reason: Error) => void = () => {};
  #health: HealthMonitor;
  #claimsLogged = new Map<string, number>();
  /** Settles when the data plane dies on its own. */
  readonly failure: Promise<never>;

  private constructor(readonly iface: IfaceInfo, readonly options: DaemonOptions) {
    this.#compiler = new Compiler(iface);
    this.#ingressDrop = options.ingressDrop === false ? null : new IngressDrop(iface.name);
    this.#health = new HealthMonitor({
      prober: realProber((neighbor, vip, port, ms) => {
        if (this.#host.shared.neighborSeen[neighbor] === 0) return Promise.resolve("unresolved");
        return this.#host.probe(neighbor, parseIpv4(vip), port, ms);
      }),
      neighbor: (ip) => this.#compiler.neighbor(ip),
      onResult: (service, ip, type, result) =>
        this.options.onCheck?.(service, ip, type, result.latencyMs),
      onTransition: (t) => {
        this.options.log(
          t.state === "up" ? "info" : "warn",
          `real server ${t.ip} of ${t.service} is ${t.state}: ${t.reason}`,
          { event: "health", service: t.service, rip: t.ip, state: t.state, reason: t.reason },
        );
        this.#queue = this.#queue.then(() => this.#publish());
      },
    });
    this.failure = new Promise<never>((_, reject) => this.#failed = reject);
    this.failure.catch(() => {});
  }

  /**
   * Checks the host, starts forwarding and returns the running daemon.
   * @throws {UsageError|RuntimeError} when the host or configuration forbids it.
   */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const iface = await ifaceInfo(options.iface);
    const config = await loadState(options.statePath);
    await withStateLock(options.statePath, () => removeStaleTemporaries(options.statePath));
    const local = await localVip(config);
    if (local) throw new RuntimeError(local.message);
    if (await ipForwarding()) {
      options.log(
        "warn",
        "net.ipv4.ip_forward=1: the kernel would forward a second copy of every packet to a VIP; set it to 0",
      );
    }
    const daemon = new Daemon(iface, options);
    daemon.#config = normalize(config);
    for (const line of daemon.#offSubnet(config)) options.log("warn", line);
    const offloads = await disableMergingOffloads(iface.name);
    if (offloads.warning) options.log("warn", offloads.warning);
    daemon.#offloads = offloads.changed;
    try {
      await daemon.#host.start(iface.name, options.maxFlows);
    } catch (error) {
      await restoreOffloads(iface.name, daemon.#offloads);
      throw error;
    }
    daemon.#host.onFailure = (message) =>
      daemon.#failed(new RuntimeError(`data plane stopped: ${message}`));
    daemon.#host.onVipClaim((vip, mac) => daemon.#claimed(vip, mac));
    daemon.#publish();
    await daemon.#syncIngressDrop();
    daemon.#health.sync(config);
    daemon.#watch = setInterval(() => daemon.#watchNeighbors(), WATCH_MS);
    return daemon;
  }

  /** The configuration in force. */
  get config(): Config {
    return this.#config;
  }

  /** The status document now. */
  status(): Status {
    return buildStatus({
      iface: this.iface.name,
      mac: this.iface.mac,
      startedAt: this.startedAt,
      config: this.#config,
      compiled: this.#compiled,
      shared: this.#host.shared,
      ripError: (_service, ip) =>
        isAdjacent(this.iface, ip)
          ? null
          : `not on a subnet of ${this.iface.name}: gets no traffic`,
      checkResult: (service, ip) => this.#health.result(service, ip),
    });
  }

  /**
   * Runs `fn` on the configuration in force, validates the result against
   * this host, saves it and runs it. Changes go through one queue, so
   * concurrent callers never lose one another's update; the promise settles
   * once the data plane runs the new program.
   * @param options.field maps a refused field's path in the document to the caller's terms
   * @returns the configuration now in force and the changes, one line each.
   * @throws {UsageError} from `fn`, or when a new real server is off the subnet or a VIP is local.
   */
  change(
    fn: (config: Config) => Config,
    options: { field?: (path: string) => string } = {},
  ): Promise<{ config: Config; changes: string[] }> {
    const run = this.#queue.then(async () => {
      const before = this.#config;
      const next = normalize(fn(before));
      const refused = this.#newOffSubnet(before, next) ?? await localVip(next);
      if (refused) {
        throw new UsageError(
          refused.message,
          "invalid",
          options.field?.(refused.field) ?? refused.field,
        );
      }
      const changes = diffConfig(before, next);
      if (changes.length === 0) return { config: before, changes };
      await withStateLock(this.options.statePath, () => saveState(this.options.statePath, next));
      this.#config = next;
      this.#health.sync(next);
      await this.#publishAndWait();
      await this.#syncIngressDrop();
      return { config: next, changes };
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Replaces the whole configuration (PUT /v1/config, config apply). */
  apply(next: Config): Promise<string[]> {
    return this.change(() => next).then((r) => r.changes);
  }

  /** Re-reads the state file (SIGHUP). */
  reload(): Promise<string[]> {
    const run = this.#queue.then(async () => {
      const config = normalize(await loadState(this.options.statePath));
      const local = await localVip(config);
      if (local) throw new UsageError(local.message, "invalid", local.field);
      const changes = diffConfig(this.#config, config);
      this.#config = config;
      this.#health.sync(config);
      for (const line of this.#offSubnet(config)) this.options.log("warn", line);
      await this.#publishAndWait();
      await this.#syncIngressDrop();
      return changes;
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * Sends a gratuitous ARP for a configured VIP.
   * @throws {UsageError} when `vip` is not configured.
   */
  garp(vip: string): void {
    if (!this.#config.vips.some((v) => v.vip === vip)) {
      throw new UsageError(`VIP ${vip} is not configured`, "missing");
    }
    this.#host.garp(parseIpv4(vip));
  }

  /** Stops forwarding and restores the interface. */
  async stop(): Promise<void> {
    clearInterval(this.#watch);
    this.#health.stop();
    await this.#host.stop();
    await this.#ingressDrop?.remove();
    await restoreOffloads(this.iface.name, this.#offloads);
  }

  /** Points the ingress drop at the VIPs in force (after the data plane took them over). */
  async #syncIngressDrop(): Promise<void> {
    const warning = await this.#ingressDrop?.sync(this.#config.vips.map((v) => v.vip));
    if (warning) this.options.log("warn", warning);
  }

  #resolved(neighbor: number): boolean {
    const seen = this.#host.shared.neighborSeen[neighbor];
    const now = Date.now();
    // Right after start nothing is resolved yet; scheduling as if it were keeps
    // Maglev's choices (and so established connections) the same as before.
    if (seen === 0) return now - this.startedAt < NEIGHBOR_GRACE_MS;
    return now - seen < NEIGHBOR_STALE_MS;
  }

  /** Which neighbours count as resolved now, as a string to compare. */
  #reachability(): string {
    let out = "";
    for (const rip of this.#compiled.rips.values()) out += this.#resolved(rip.neighbor) ? "1" : "0";
    return out;
  }

  #publish(): void {
    this.#compiled = this.#compiler.compile(this.#config, {
      resolved: (n) => this.#resolved(n),
      healthy: (service, ip) => this.#health.healthy(service, ip),
      adjacent: (ip) => isAdjacent(this.iface, ip),
    });
    this.#compiler.adopt(this.#compiled);
    this.#reachable = this.#reachability();
    this.#host.publish(this.#compiled.program);
  }

  /** Publishes and waits (500 ms at most) until the worker runs the program. */
  async #publishAndWait(): Promise<void> {
    this.#publish();
    const generation = this.#compiled.program.generation;
    const deadline = Date.now() + 500;
    while (this.#host.appliedGeneration < generation && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Another host answered ARP for a VIP: the ARP problem on a real server, or a second balancer. */
  #claimed(vip: number, mac: string): void {
    const key = `${vip}|${mac}`;
    const last = this.#claimsLogged.get(key) ?? 0;
    if (Date.now() - last < 60_000) return;
    this.#claimsLogged.set(key, Date.now());
    const ip = formatIpv4(vip);
    this.options.log(
      "warn",
      `host ${mac} answers ARP for VIP ${ip}: clients may bypass the balancer (run dsr doctor; on a real server: dsr realserver setup --vip ${ip})`,
    );
  }

  /** The data plane, for `dsr doctor`'s who-has and DR-path probes. */
  get dataplane(): DataplaneHost {
    return this.#host;
  }

  /** The neighbour slot of an address and its MAC when the balancer has resolved it. */
  neighbor(ip: string): { slot: number; mac: string | null } {
    const slot = this.#compiler.neighbor(ip);
    const shared = this.#host.shared;
    return {
      slot,
      mac: shared.neighborSeen[slot] > 0 ? formatMac(shared.neighborMacs, slot * 8) : null,
    };
  }

  #watchNeighbors(): void {
    if (this.#reachability() !== this.#reachable) this.#publish();
  }

  #offSubnet(config: Config): string[] {
    return config.vips.flatMap((vip) =>
      [...vip.rips.map((r) => r.ip), ...(vip.fallback ? [vip.fallback] : [])]
        .filter((ip) => !isAdjacent(this.iface, ip))
        .map((ip) =>
          `real server ${ip} of ${serviceKey(vip)} ${this.#notAdjacent()}: it gets no traffic`
        )
    );
  }

  #notAdjacent(): string {
    const nets = this.iface.subnets.map(formatNet).join(", ");
    return `is not on ${nets} of ${this.iface.name}`;
  }

  /** The first real server of `next` that is new and not on a connected subnet. */
  #newOffSubnet(before: Config, next: Config): Refusal | null {
    const known = new Set(before.vips.flatMap((v) => [...v.rips.map((r) => r.ip), v.fallback]));
    for (const [i, vip] of next.vips.entries()) {
      const servers = vip.rips.map((r, j) => [r.ip, `vips[${i}].rips[${j}].ip`]);
      if (vip.fallback) servers.push([vip.fallback, `vips[${i}].fallback`]);
      for (const [ip, field] of servers) {
        if (!known.has(ip) && !isAdjacent(this.iface, ip)) {
          return { message: `cannot add real server ${ip}: it ${this.#notAdjacent()}`, field };
        }
      }
    }
    return null;
  }
}

/** Why a configuration cannot run here, and the field to blame. */
interface Refusal {
  message: string;
  field: string;
}

/**
 * The host kernel must not own a VIP: it would answer for it and reset
 * connections meant for the real servers. Returns the first VIP found on a
 * local interface, or null.
 */
async function localVip(config: Config): Promise<Refusal | null> {
  const local = await localAddresses();
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
