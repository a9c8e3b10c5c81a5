/**
 * Active/active announcement (SPEC §11, `dsr start --announce TABLE`): which
 * VIP addresses this node may announce, and the host effect that keeps
 * kernel routing table TABLE holding exactly one /32 route per such address.
 * A routing daemon (BIRD's kernel protocol with `learn`) picks the routes up
 * from netlink and announces them over BGP; dsr speaks no BGP itself.
 *
 * The routes are blackhole routes in a table no ip rule looks up: they exist
 * to be read by the routing daemon and never steer a packet on this host.
 * @module
 */

import { isIpv4, parseIpv4 } from "../dataplane/addr.ts";
import { type Config, serviceKey } from "./config.ts";
import { RuntimeError, UsageError } from "./errors.ts";
import { run as runProgram, type RunOptions, type RunResult } from "./run.ts";

/**
 * The VIP addresses to announce, sorted: those where every service on the
 * address has at least its `need` usable real servers. A fallback (sorry)
 * server does not count: a VIP that only a sorry server can answer is better
 * served by another node of the group. Only IPv4 VIPs are announced (the
 * table holds IPv4 /32 routes); IPv6 ones are left out.
 * @param usable whether a real server of a service (`serviceKey`, ip) takes new flows now
 */
export function announceable(
  config: Config,
  usable: (service: string, ip: string) => boolean,
): string[] {
  const ok = new Map<string, boolean>();
  for (const vip of config.vips) {
    if (!isIpv4(vip.vip)) continue;
    const key = serviceKey(vip);
    const count = vip.rips.filter((r) => usable(key, r.ip)).length;
    ok.set(vip.vip, (ok.get(vip.vip) ?? true) && count >= vip.need);
  }
  return [...ok].filter(([, yes]) => yes).map(([ip]) => ip)
    .sort((a, b) => parseIpv4(a) - parseIpv4(b));
}

/** What to add to and delete from a table holding `current` so that it holds `wanted`. */
export function routeChanges(
  current: readonly string[],
  wanted: readonly string[],
): { add: string[]; del: string[] } {
  const want = new Set(wanted.map(hostRoute));
  const have = new Set(current);
  return {
    add: [...want].filter((d) => !have.has(d)),
    del: current.filter((d) => !want.has(d)),
  };
}

/** `198.18.0.100/32`, the route for one VIP address. */
function hostRoute(ip: string): string {
  return `${ip}/32`;
}

/**
 * The routes of `ip -j -4 route show table N`, as destinations in the form
 * {@link routeChanges} compares: a host route's `dst` ("198.18.0.100") gets
 * its /32; anything else ("default", "10.0.0.0/8") stays as it is.
 */
export function parseRouteList(json: string): string[] {
  const text = json.trim();
  if (text === "") return [];
  const routes = JSON.parse(text) as { dst?: string }[];
  return routes.map((r) => r.dst ?? "").filter((d) => d !== "")
    .map((d) => /^\d+\.\d+\.\d+\.\d+$/.test(d) ? `${d}/32` : d);
}

/** Tables the kernel itself uses: unspec, default, main, local. */
const RESERVED_TABLES = new Set([0, 253, 254, 255]);

/**
 * Parses `--announce TABLE`: a kernel routing table number the kernel does
 * not use itself (1 to 252, or 256 to 4294967295).
 * @throws {UsageError} naming the option and the value
 */
export function parseTable(text: string, what = "--announce"): number {
  const n = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n > 0xffffffff || RESERVED_TABLES.has(n)) {
    throw new UsageError(
      `invalid ${what} "${text}": expected a routing table number from 1 to 252 or 256 to 4294967295 ` +
        `(0, 253 default, 254 main and 255 local belong to the kernel)`,
    );
  }
  return n;
}

/** Runs a program with a deadline; {@link run} of run.ts unless a test injects one. */
export type Runner = (argv: readonly string[], options?: RunOptions) => Promise<RunResult>;

/** Options of {@link AnnounceTable}. */
export interface AnnounceTableOptions {
  /** Deadline of each `ip` call in ms; default 2000. */
  timeoutMs?: number;
  /** How programs are run; default run.ts's `run`. */
  run?: Runner;
}

/** What one {@link AnnounceTable.sync} did. */
export interface SyncResult {
  /** VIP addresses whose route was added. */
  added: string[];
  /** Destinations whose route was removed (VIP addresses as plain addresses). */
  removed: string[];
  /** One line per failed command; empty when the table is in step. */
  errors: string[];
}

/**
 * The kernel routing table `--announce` keeps. Never touches an ip rule or
 * another table; each `ip` call has a deadline, so a wedged one cannot hold
 * up the daemon.
 */
export class AnnounceTable {
  readonly #run: Runner;
  readonly #timeoutMs: number;

  constructor(readonly table: number, options: AnnounceTableOptions = {}) {
    this.#run = options.run ?? runProgram;
    this.#timeoutMs = options.timeoutMs ?? 2_000;
  }

  /**
   * Refuses a table that an ip rule looks up: its blackhole routes would
   * then drop this host's own traffic to the VIPs.
   * @throws {RuntimeError} naming the rule's priority, or when `ip rule` fails
   */
  async check(): Promise<void> {
    const r = await this.#ip(["-j", "-4", "rule", "show"]);
    if (!r.ok) throw new RuntimeError(`ip rule show failed: ${r.stderr.trim()}`);
    const rules = JSON.parse(r.stdout.trim() || "[]") as { priority?: number; table?: string }[];
    const rule = rules.find((x) => x.table === String(this.table));
    if (rule) {
      throw new RuntimeError(
        `--announce ${this.table}: ip rule ${rule.priority} looks up table ${this.table}, so its ` +
          `routes would steer this host's traffic; choose a table no rule uses`,
      );
    }
  }

  /** The destinations the table holds now (VIP routes as `ip/32`). */
  async routes(): Promise<string[]> {
    const r = await this.#ip(["-j", "-4", "route", "show", "table", String(this.table)]);
    // A table nothing was ever put into does not exist yet: it is empty.
    if (!r.ok && /table does not exist/i.test(r.stderr)) return [];
    if (!r.ok) throw new RuntimeError(`ip route show table ${this.table} failed: ${r.stderr}`);
    return parseRouteList(r.stdout);
  }

  /**
   * Makes the table hold exactly one route per address of `vips`. Never
   * throws: failures come back as lines, and the next sync tries again.
   */
  async sync(vips: readonly string[]): Promise<SyncResult> {
    const result: SyncResult = { added: [], removed: [], errors: [] };
    let current: string[];
    try {
      current = await this.routes();
    } catch (error) {
      result.errors.push((error as Error).message);
      return result;
    }
    const { add, del } = routeChanges(current, vips);
    const t = String(this.table);
    for (const dst of del) {
      const r = await this.#ip(["route", "del", dst, "table", t]);
      if (r.ok) result.removed.push(dst.replace(/\/32$/, ""));
      else result.errors.push(`ip route del ${dst} table ${t}: ${r.stderr.trim()}`);
    }
    for (const dst of add) {
      const r = await this.#ip(["route", "replace", "blackhole", dst, "table", t]);
      if (r.ok) result.added.push(dst.replace(/\/32$/, ""));
      else result.errors.push(`ip route replace blackhole ${dst} table ${t}: ${r.stderr.trim()}`);
    }
    return result;
  }

  /** Withdraws every route (at stop). Never throws. */
  clear(): Promise<SyncResult> {
    return this.sync([]);
  }

  async #ip(args: string[]): Promise<RunResult> {
    try {
      return await this.#run(["ip", ...args], { timeoutMs: this.#timeoutMs });
    } catch (error) {
      return { ok: false, code: -1, stdout: "", stderr: (error as Error).message, timedOut: false };
    }
  }
}
