/**
 * The balancer daemon: the loop around the functional core (`core.ts`). It
 * feeds the core events (a change, a health transition, a real server's MAC
 * going stale), applies its decisions through the {@link Host}, and runs
 * every one of them through one queue that never breaks: a failed effect is
 * logged and the program in force keeps running.
 * @module
 */

import { formatMac } from "../dataplane/addr.ts";
import { announceable } from "./announce.ts";
import type { Compiled, RipConditions } from "./compile.ts";
import { type Config, withHashSeed } from "./config.ts";
import { Core, localVip } from "./core.ts";
import { RuntimeError, UsageError } from "./errors.ts";
import { HaRole, type HaStatus, haStatus, type Role } from "./ha_role.ts";
import { HealthMonitor } from "./health.ts";
import { OncePer } from "./rate_limit.ts";
import {
  type AnnouncePort,
  type Dataplane,
  type Host,
  type IngressDropPort,
  linuxHost,
} from "./host.ts";
import { type IfaceInfo, isAdjacent } from "./netinfo.ts";
import { buildStatus, type Status } from "./status.ts";
import type { TraceAnswer } from "../dataplane/trace.ts";
import { traceQuery, type TraceSubject } from "./trace_query.ts";

import type { TimerId } from "./clock.ts";
import type { Logger } from "./log.ts";

/** Options of {@link Daemon.start}. */
export interface DaemonOptions {
  /**
   * The interface, or every leg of a balancer with several (`--iface` more
   * than once, SPEC §1): VIP traffic is taken on each, and real servers are
   * reached by the one whose subnet holds them.
   */
  iface: string | readonly string[];
  statePath: string;
  maxFlows: number;
  /** Drop frames to the VIPs at tc ingress after the capture (default true). */
  ingressDrop?: boolean;
  log: Logger;
  /** Receives every health check's latency (for metrics). */
  onCheck?: (service: string, ip: string, type: string, latencyMs: number) => void;
  /** The host's effects (default: this Linux host, the state file at `statePath`). */
  host?: Host;
  /** Role at start (SPEC §11); default "active". Under keepalived start as "standby". */
  role?: Role;
  /** Keep announceable VIPs as /32 routes in this kernel table (`--announce TABLE`). */
  announce?: number;
  /**
   * Sends a gratuitous ARP (an unsolicited NA for IPv6) for every VIP this
   * often, in seconds (`--garp-interval`, keepalived's garp_master_refresh);
   * absent or 0: only when a VIP is added, at start and on promotion.
   */
  garpInterval?: number;
}

const WATCH_MS = 200;
/** After start, real servers count as resolved this long while ARP answers come in. */
const NEIGHBOR_GRACE_MS = 3_000;
/** A MAC not confirmed for this long is unresolved (the loop asks every 15 s). */
const NEIGHBOR_STALE_MS = 60_000;
/** The interface's existence is checked every this many watches (1 s). */
const IFACE_CHECK_EVERY = 5;
/** How long a program may take to reach the worker before a change answers anyway. */
const APPLY_WAIT_MS = 500;
/** A claim on a VIP by another host is logged once per this period. */
const CLAIM_LOG_MS = 60_000;
/** A failed announce sync is tried again this soon. */
const ANNOUNCE_RETRY_MS = 1_000;
/** The announce table is read and repaired this often even when nothing changed. */
const ANNOUNCE_REPAIR_MS = 10_000;
/** On stop, forwarding goes on this long after the routes are withdrawn, while BGP spreads it. */
const WITHDRAW_WAIT_MS = 2_000;

/** A running balancer on one interface, or on several legs. */
export class Daemon {
  readonly startedAt: number;
  /** Every interface the balancer runs on, in `--iface` order; `iface` is the first. */
  readonly legs: readonly IfaceInfo[];
  readonly #host: Host;
  readonly #dataplane: Dataplane;
  readonly #core: Core;
  readonly #health: HealthMonitor;
  /** The tc ingress drop of each leg; empty with `--no-ingress-drop`. */
  readonly #ingressDrops: IngressDropPort[];
  readonly #ha: HaRole;
  /** When the last applied role request was asked (its command's start), ms since the epoch. */
  #roleAskedAt = 0;
  readonly #announce: AnnouncePort | null;
  /** The VIP addresses that should be announced now, and what the table holds. */
  #wantAnnounced: string[] = [];
  #announced: string[] = [];
  #announcing: Promise<void> | null = null;
  #announceAgain = false;
  #announceRetry: TimerId | undefined;
  #announceRepairAt = 0;
  #queue: Promise<void> = Promise.resolve();
  #reachable = "";
  #watch: TimerId | undefined;
  #garpRefresh: TimerId | undefined;
  #watches = 0;
  #stopped = false;
  /** The offloads turned off on each leg, to restore on stop. */
  #offloads: string[][] = [];
  #failed: (reason: Error) => void = () => {};
  /** When each claim (`vip|mac`) was last logged; entries older than the period are dropped. */
  #claimsLogged = new OncePer(CLAIM_LOG_MS);
  /** Settles when the data plane dies on its own. */
  readonly failure: Promise<never>;

  private constructor(
    legs: readonly IfaceInfo[],
    config: Config,
    readonly options: DaemonOptions,
    host: Host,
  ) {
    this.#host = host;
    this.legs = legs;
    this.startedAt = host.clock.now();
    this.#core = new Core(legs, config);
    this.#dataplane = host.dataplane();
    this.#ingressDrops = options.ingressDrop === false
      ? []
      : legs.map((leg) => host.ingressDrop(leg.name));
    this.#announce = options.announce === undefined ? null : host.announceTable(options.announce);
    this.#ha = new HaRole({
      role: options.role ?? "active",
      clock: host.clock,
      garp: () => this.#garpAll(),
    });
    this.#health = new HealthMonitor({
      clock: host.clock,
      prober: host.prober((neighbor, vip, port, ms) => {
        if (this.#dataplane.shared.neighborSeen[neighbor] === 0) {
          return Promise.resolve("unresolved");
        }
        return this.#dataplane.probe(neighbor, vip, port, ms);
      }),
      neighbor: (ip) => this.#core.neighbor(ip),
      onResult: (service, ip, type, result) =>
        this.options.onCheck?.(service, ip, type, result.latencyMs),
      onTransition: (t) => {
        this.options.log(
          t.state === "up" ? "info" : "warn",
          `real server ${t.ip} of ${t.service} is ${t.state}: ${t.reason}`,
          { event: "health", service: t.service, rip: t.ip, state: t.state, reason: t.reason },
        );
        this.#enqueue("recompile after a health transition", () => this.#publish());
      },
      onError: (error) => this.#logFailure("health check listener", error),
    });
    this.failure = new Promise<never>((_, reject) => this.#failed = reject);
    this.failure.catch(() => {});
  }

  /**
   * Checks the host, starts forwarding and returns the running daemon.
   * Nothing on the host is changed before every check passed.
   * @throws {UsageError|RuntimeError} when the host or configuration forbids it.
   */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const host = options.host ?? linuxHost(options.statePath);
    const names = typeof options.iface === "string" ? [options.iface] : [...options.iface];
    const legs = await legsOf(host, names);
    const loaded = await host.state.load();
    const local = localVip(loaded, await host.localAddresses());
    if (local) throw new RuntimeError(local.message);
    await host.state.cleanup();
    const config = withHashSeed(loaded);
    if (await host.ipForwarding()) {
      options.log(
        "warn",
        "net.ipv4.ip_forward=1: the kernel would forward a second copy of every packet to a VIP; set it to 0",
      );
    }
    if (await host.ipv6Forwarding()) {
      options.log(
        "warn",
        "net.ipv6.conf.all.forwarding=1: the kernel would forward a second copy of every packet to an IPv6 VIP; set it to 0",
      );
    }
    const daemon = new Daemon(legs, config, options, host);
    await daemon.#announce?.check();
    // The first program is compiled before the interface is touched: a state
    // file beyond the data plane's limits stops the start with nothing changed.
    const first = daemon.#core.recompile(daemon.#conditions());
    // The hash seed is made at first start and kept (SPEC §2): saved before
    // anything is forwarded, so a restart schedules every flow as before.
    if (loaded.hashSeed === undefined) await host.state.save(config);
    for (const line of daemon.#core.offSubnetWarnings()) options.log("warn", line);
    try {
      for (const leg of legs) {
        const offloads = await host.disableOffloads(leg.name);
        if (offloads.warning) options.log("warn", offloads.warning);
        daemon.#offloads.push(offloads.changed);
      }
      await daemon.#dataplane.start(names, options.maxFlows);
    } catch (error) {
      await daemon.#restoreOffloads();
      throw error;
    }
    daemon.#dataplane.onFailure = (message) =>
      daemon.#failed(new RuntimeError(`data plane stopped: ${message}`));
    daemon.#dataplane.onVipClaim((vip, mac) => daemon.#claimed(vip, mac));
    daemon.#run(first);
    options.log("info", `role ${daemon.#ha.state.role}`, {
      event: "ha",
      role: daemon.#ha.state.role,
    });
    await daemon.#syncIngressDrop();
    daemon.#health.sync(config);
    daemon.#scheduleWatch();
    daemon.#scheduleGarpRefresh();
    return daemon;
  }

  /** The first (or only) interface. */
  get iface(): IfaceInfo {
    return this.legs[0];
  }

  /** The configuration in force. */
  get config(): Config {
    return this.#core.config;
  }

  /** The status document now. */
  status(): Status {
    return buildStatus({
      iface: this.iface.name,
      ifaces: this.legs.map((leg) => leg.name),
      mac: this.iface.mac,
      startedAt: this.startedAt,
      config: this.#core.config,
      compiled: this.#core.compiled!,
      shared: this.#dataplane.shared,
      ripError: (_service, ip) =>
        isAdjacent(this.legs, ip)
          ? null
          : `not on a subnet of ${this.legs.map((leg) => leg.name).join(" or ")}: gets no traffic`,
      checkResult: (service, ip) => this.#health.result(service, ip),
      ha: this.ha,
      announced: this.#announced,
    });
  }

  /** The node's role (`GET /v1/ha`). */
  get ha(): HaStatus {
    return haStatus(this.#ha.state);
  }

  /**
   * Takes `role` (`PUT /v1/ha`, `dsr ha promote|demote`). The data plane
   * runs the new role before the promise settles; a promotion then sends
   * gratuitous ARP for every VIP at once and after 1, 2 and 5 s, a demotion
   * stops ARP answers and forwarding at once. Taking the role in force
   * changes nothing.
   * @param at when the asking command started (ms since the epoch):
   *   keepalived runs its notify scripts without waiting for one another,
   *   so under load a demote started before a promote can arrive after it;
   *   a request asked before the last one applied is ignored.
   */
  setRole(role: Role, at?: number): Promise<HaStatus> {
    return this.#enqueue(null, async () => {
      const before = this.#ha.state.role;
      if (at !== undefined) {
        if (at < this.#roleAskedAt) {
          this.options.log(
            "warn",
            `ignored a request for role ${role} asked ${this.#roleAskedAt - at} ms before the ` +
              `one in force (keepalived's notify scripts finished out of order)`,
            { event: "ha", role, ignored: true },
          );
          return this.ha;
        }
        this.#roleAskedAt = at;
      }
      if (before === role) return this.ha;
      const compiled = this.#core.recompile(this.#conditions());
      // The program first: the worker takes messages in order, so the first
      // GARP leaves after forwarding started, and none after a demotion.
      this.#run(compiled, role === "standby");
      this.#ha.set(role);
      this.options.log("info", `role ${before} → ${role}`, { event: "ha", role });
      await this.#waitApplied(compiled.program.generation);
      return this.ha;
    });
  }

  /**
   * Runs `fn` on the configuration in force; the core judges the result
   * against this host and compiles it, the state file takes it, then the
   * data plane runs it. A refusal or a failed save changes nothing. Changes
   * go through one queue, so concurrent callers never lose one another's
   * update; the promise settles once the data plane runs the new program.
   * @param options.field maps a refused field's path in the document to the caller's terms
   * @param options.dryRun judge and describe the change, and make none of it
   * @returns the configuration now in force and the changes, one line each.
   * @throws {UsageError} from `fn`, or when a new real server is off the subnet or a VIP is local.
   * @throws {CapacityError} when the result exceeds a limit of the data plane.
   * @throws {RuntimeError} when the state file cannot be written.
   */
  change(
    fn: (config: Config) => Config,
    options: { field?: (path: string) => string; dryRun?: boolean } = {},
  ): Promise<{ config: Config; changes: string[] }> {
    return this.#enqueue(null, async () => {
      const local = await this.#host.localAddresses();
      const plan = this.#core.plan(fn(this.#core.config), this.#conditions(), {
        local,
        refuseOffSubnet: true,
        field: options.field,
      });
      if (plan.changes.length === 0 || options.dryRun) {
        return { config: options.dryRun ? this.#core.config : plan.config, changes: plan.changes };
      }
      await this.#host.state.save(plan.config);
      await this.#put(plan);
      return { config: plan.config, changes: plan.changes };
    });
  }

  /**
   * Replaces the whole configuration (PUT /v1/config, config apply); with
   * `dryRun`, only says what it would change (`config apply --dry-run`).
   */
  apply(next: Config, options: { dryRun?: boolean } = {}): Promise<string[]> {
    return this.change(() => next, options).then((r) => r.changes);
  }

  /**
   * Re-reads the state file (SIGHUP). A file this host cannot run is refused
   * whole; real servers off the subnet only warn, as at start.
   */
  reload(): Promise<string[]> {
    return this.#enqueue(null, async () => {
      const config = await this.#host.state.load();
      const local = await this.#host.localAddresses();
      const plan = this.#core.plan(config, this.#conditions(), { local, refuseOffSubnet: false });
      for (const line of this.#core.offSubnetWarnings(plan.config)) this.options.log("warn", line);
      await this.#put(plan);
      return plan.changes;
    });
  }

  /**
   * Where a flow goes now and why (`dsr trace`), asked of the forwarding
   * worker, which holds the flow table; no packet is sent and nothing changes.
   * @throws {RuntimeError} when the worker does not answer
   */
  async trace(subject: TraceSubject): Promise<TraceSubject & TraceAnswer> {
    return { ...subject, ...await this.#dataplane.trace(traceQuery(subject)) };
  }

  /**
   * Sends a gratuitous ARP for a configured VIP.
   * @throws {UsageError} when `vip` is not configured.
   */
  garp(vip: string): void {
    if (!this.#core.config.vips.some((v) => v.vip === vip)) {
      throw new UsageError(`VIP ${vip} is not configured`, "missing");
    }
    this.#dataplane.garp(vip);
  }

  /**
   * Stops forwarding and restores the interface. With `--announce`, the
   * routes are withdrawn first and forwarding goes on for 2 s more, while
   * the withdrawal reaches the routers: flows move to the other nodes
   * before this one stops.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#host.clock.clearTimeout(this.#watch);
    this.#host.clock.clearTimeout(this.#announceRetry);
    this.#host.clock.clearTimeout(this.#garpRefresh);
    this.#health.stop();
    this.#ha.dispose();
    await this.#queue;
    await this.#withdraw();
    await this.#dataplane.stop();
    for (const drop of this.#ingressDrops) await drop.remove();
    await this.#restoreOffloads();
  }

  /** Gives every leg back the offloads start turned off. */
  async #restoreOffloads(): Promise<void> {
    for (const [i, changed] of this.#offloads.entries()) {
      await this.#host.restoreOffloads(this.legs[i].name, changed);
    }
  }

  /**
   * Re-announces every VIP each `garpInterval` seconds, as keepalived's
   * garp_master_refresh: switches and routers that forgot the VIP's MAC
   * (or a peer's stale GARP) learn it again. The worker sends nothing while
   * the node is a standby or routed, so the timer need not know the role.
   */
  #scheduleGarpRefresh(): void {
    const seconds = this.options.garpInterval ?? 0;
    if (seconds <= 0 || this.#stopped) return;
    this.#garpRefresh = this.#host.clock.setTimeout(() => {
      try {
        for (const vip of new Set(this.#core.config.vips.map((v) => v.vip))) {
          this.#dataplane.garp(vip);
        }
      } catch (error) {
        this.options.log("error", `GARP refresh failed: ${(error as Error).message}`);
      }
      this.#scheduleGarpRefresh();
    }, seconds * 1000);
  }

  /** The data plane, for `dsr doctor`'s who-has and DR-path probes. */
  get dataplane(): Dataplane {
    return this.#dataplane;
  }

  /** The neighbour slot of an address and its MAC when the balancer has resolved it. */
  neighbor(ip: string): { slot: number; mac: string | null } {
    const slot = this.#core.neighbor(ip);
    const shared = this.#dataplane.shared;
    const known = slot >= 0 && shared.neighborSeen[slot] > 0;
    return { slot, mac: known ? formatMac(shared.neighborMacs, slot * 8) : null };
  }

  /**
   * Runs `work` after everything queued before it. The queue itself never
   * rejects: a caller (`label` null) gets the error; background work (a
   * label) has it logged, so a failure can neither kill the daemon as an
   * unhandled rejection nor stall the changes queued behind it.
   */
  #enqueue<T>(label: string | null, work: () => Promise<T> | T): Promise<T> {
    const run = this.#queue.then(work);
    this.#queue = run.then(() => {}, (error) => {
      if (label !== null) this.#logFailure(label, error);
    });
    return run;
  }

  #logFailure(what: string, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.options.log("error", `${what} failed, the program in force keeps running: ${message}`);
  }

  /** Puts an accepted plan in force: core, data plane, health checks, ingress drop. */
  async #put(plan: ReturnType<Core["plan"]>): Promise<void> {
    this.#core.commit(plan);
    this.#health.sync(plan.config);
    if (plan.compiled) {
      this.#run(plan.compiled);
      await this.#waitApplied(plan.compiled.program.generation);
    }
    await this.#syncIngressDrop();
  }

  /** Compiles the configuration in force for the health and reachability now, and runs it. */
  #publish(): void {
    if (this.#stopped) return;
    this.#run(this.#core.recompile(this.#conditions()));
  }

  /** Publishes `compiled` in the role given (default: the one in force). */
  #run(compiled: Compiled, standby = this.#ha.standby): void {
    this.#reachable = this.#reachability(compiled);
    this.#dataplane.publish({ ...compiled.program, standby, routed: this.#announce !== null });
    this.#updateAnnounce(standby);
  }

  /** Gratuitous ARP for every VIP address (the promotion schedule calls it). */
  #garpAll(): void {
    for (const vip of new Set(this.#core.config.vips.map((v) => v.vip))) {
      this.#dataplane.garp(vip);
    }
  }

  /**
   * Works out which VIP addresses to announce now (none on a standby) and
   * starts a sync of the table when that changed or a repair is due.
   */
  #updateAnnounce(standby = this.#ha.standby): void {
    if (!this.#announce || this.#stopped) return;
    const compiled = this.#core.compiled;
    const shared = this.#dataplane.shared;
    let want: string[];
    try {
      want = standby || !compiled ? [] : announceable(this.#core.config, (service, ip) => {
        const rip = compiled.rips.get(`${service}|${ip}`);
        // Up, with weight, and its MAC actually known: the node can serve a new flow now.
        return rip !== undefined && rip.effectiveWeight > 0 &&
          shared.neighborSeen[rip.neighbor] > 0;
      });
    } catch (error) {
      // Called from timers: a bug here must not take the daemon down.
      this.#logFailure("working out the VIPs to announce", error);
      return;
    }
    const now = this.#host.clock.now();
    if (want.join() === this.#wantAnnounced.join() && now < this.#announceRepairAt) return;
    this.#wantAnnounced = want;
    this.#requestAnnounce();
  }

  /** Runs syncs of the announce table one at a time, the last one with the newest wish. */
  #requestAnnounce(): void {
    const table = this.#announce;
    if (!table) return;
    if (this.#announcing) {
      this.#announceAgain = true;
      return;
    }
    this.#announcing = (async () => {
      do {
        this.#announceAgain = false;
        const want = this.#wantAnnounced;
        const r = await table.sync(want);
        this.#announceRepairAt = this.#host.clock.now() + ANNOUNCE_REPAIR_MS;
        for (const ip of r.added) {
          this.options.log("info", `announce ${ip} in table ${table.table}`, {
            event: "announce",
            vip: ip,
          });
        }
        for (const ip of r.removed) {
          this.options.log("info", `withdraw ${ip} from table ${table.table}`, {
            event: "withdraw",
            vip: ip,
          });
        }
        if (r.errors.length === 0) {
          this.#announced = want;
        } else {
          this.options.log(
            "warn",
            `announce table ${table.table} not in step: ${r.errors.join("; ")}`,
          );
          // Try again soon: a repair pass is due at once.
          this.#announceRepairAt = 0;
          this.#host.clock.clearTimeout(this.#announceRetry);
          this.#announceRetry = this.#host.clock.setTimeout(
            () => this.#updateAnnounce(),
            ANNOUNCE_RETRY_MS,
          );
        }
      } while (this.#announceAgain && !this.#stopped);
    })().catch((error) => this.#logFailure("announce table sync", error))
      .finally(() => this.#announcing = null);
  }

  /** Empties the announce table at stop and gives the withdrawal time to spread. */
  async #withdraw(): Promise<void> {
    const table = this.#announce;
    if (!table) return;
    await this.#announcing;
    const r = await table.sync([]);
    const was = this.#announced;
    this.#announced = [];
    if (r.errors.length > 0) {
      this.options.log(
        "warn",
        `could not empty announce table ${table.table}: ${r.errors.join("; ")}`,
      );
    }
    if (was.length === 0 && r.removed.length === 0) return;
    this.options.log(
      "info",
      `withdrew ${[...new Set([...was, ...r.removed])].join(", ")} from table ${table.table}; ` +
        `forwarding ${WITHDRAW_WAIT_MS / 1000} s more while routers take it in`,
    );
    await new Promise<void>((resolve) => this.#host.clock.setTimeout(resolve, WITHDRAW_WAIT_MS));
  }

  async #waitApplied(generation: number): Promise<void> {
    const deadline = Date.now() + APPLY_WAIT_MS;
    while (this.#dataplane.appliedGeneration < generation && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Points each leg's ingress drop at the VIPs in force (after the data plane took them over). */
  async #syncIngressDrop(): Promise<void> {
    for (const drop of this.#ingressDrops) {
      const warning = await drop.sync(this.#core.config.vips.map((v) => v.vip));
      if (warning) this.options.log("warn", warning);
    }
  }

  #conditions(): RipConditions {
    return {
      resolved: (n) => this.#resolved(n),
      healthy: (service, ip) => this.#health.healthy(service, ip),
      adjacent: (ip) => isAdjacent(this.legs, ip),
    };
  }

  #resolved(neighbor: number): boolean {
    const now = this.#host.clock.now();
    const seen = neighbor >= 0 ? this.#dataplane.shared.neighborSeen[neighbor] : 0;
    // Right after start nothing is resolved yet; scheduling as if it were keeps
    // Maglev's choices (and so established connections) the same as before.
    if (seen === 0) return now - this.startedAt < NEIGHBOR_GRACE_MS;
    return now - seen < NEIGHBOR_STALE_MS;
  }

  /** Which neighbours count as resolved now, as a string to compare. */
  #reachability(compiled: Compiled): string {
    let out = "";
    for (const rip of compiled.rips.values()) out += this.#resolved(rip.neighbor) ? "1" : "0";
    return out;
  }

  #scheduleWatch(): void {
    this.#watch = this.#host.clock.setTimeout(() => {
      if (this.#stopped) return;
      const compiled = this.#core.compiled;
      if (compiled && this.#reachability(compiled) !== this.#reachable) {
        this.#enqueue("recompile after a reachability change", () => this.#publish());
      }
      // A MAC first learned, or a repair due: the announce table follows within a tick.
      this.#updateAnnounce();
      if (++this.#watches % IFACE_CHECK_EVERY === 0) this.#checkIface();
      this.#scheduleWatch();
    }, WATCH_MS);
  }

  /**
   * A deleted interface leaves the capture silent forever: the daemon stops
   * (see `failure`) instead of answering on its socket as if it forwarded.
   */
  #checkIface(): void {
    for (const leg of this.legs) {
      this.#host.ifaceExists(leg.name).then((there) => {
        if (!there && !this.#stopped) {
          this.#failed(new RuntimeError(`interface ${leg.name} is gone: stopped forwarding`));
        }
      }, () => {});
    }
  }

  /**
   * Another host answered ARP or Neighbor Discovery for a VIP: the ARP
   * problem on a real server, or a second balancer.
   */
  #claimed(ip: string, mac: string): void {
    if (!this.#claimsLogged.take(`${ip}|${mac}`, this.#host.clock.now())) return;
    const how = ip.includes(":") ? "Neighbor Solicitations" : "ARP";
    this.options.log(
      "warn",
      `host ${mac} answers ${how} for VIP ${ip}: clients may bypass the balancer (run dsr doctor; on a real server: dsr realserver setup --vip ${ip})`,
    );
  }
}

/**
 * Describes each interface named (`--iface` once per leg).
 * @throws {UsageError} when none is named, one is named twice, or one does not exist
 */
async function legsOf(host: Host, names: readonly string[]): Promise<IfaceInfo[]> {
  if (names.length === 0) throw new UsageError("--iface: name the interface to run on");
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) {
    throw new UsageError(`--iface ${twice} is given twice: name each leg once`);
  }
  const legs: IfaceInfo[] = [];
  for (const name of names) legs.push(await host.ifaceInfo(name));
  return legs;
}
