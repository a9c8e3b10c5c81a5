/**
 * Runs every real server's health check on its own interval, keeps the
 * verdicts, and says when one changes so the daemon recompiles the data
 * plane. The settings of a check come from the real server, else its VIP,
 * else the default for the protocol (SPEC §3).
 * @module
 */

import { type Check, CHECK_FIELDS, type Config, defaultCheck, serviceKey } from "./config.ts";
import { type Health, HealthState } from "./health_state.ts";
import type { Prober, ProbeTarget } from "./probers.ts";
import { type Clock, realClock, type TimerId } from "./clock.ts";

/** The last result of a check, as status shows it. */
export interface CheckResult {
  ok: boolean;
  latencyMs: number;
  at: string;
  error: string | null;
}

/** One transition, for the log. */
export interface Transition {
  service: string;
  ip: string;
  state: Health;
  reason: string;
}

/** One real server of one service: its own verdict, fed by a probe it may share. */
interface Subscriber {
  service: string;
  ip: string;
  check: Check;
  health: HealthState;
  result: CheckResult | null;
  probe: SharedProbe | null;
}

/**
 * One check of one address, run once per interval for every service whose
 * check of that address is identical (SPEC §3): the same real server behind
 * several VIPs is probed once, and each service applies its own rise and fall.
 */
interface SharedProbe {
  key: string;
  target: ProbeTarget;
  intervalMs: number;
  timeoutMs: number;
  type: string;
  subscribers: Set<Subscriber>;
  timer?: TimerId;
  stopped: boolean;
}

/** The fields a check's type has of its own (`host`, `command`, …), those set. */
function typeFields(check: Check): Partial<Check> {
  const keys = Object.keys(CHECK_FIELDS) as (keyof typeof CHECK_FIELDS)[];
  return Object.fromEntries(keys.filter((k) => check[k] !== undefined).map((k) => [k, check[k]]));
}

/**
 * What makes two checks the same probe: what the prober uses of its target
 * for that type, and the timing. The VIP counts only for checks that use it
 * (`dr` probes VIP:port, `exec` gets it in its environment).
 */
function probeKey(t: ProbeTarget, check: Check): string {
  const used: Record<ProbeTarget["type"], unknown[]> = {
    tcp: [t.port],
    http: [t.port, t.path, t.expect, t.host],
    https: [t.port, t.path, t.expect, t.host, t.insecure],
    udp: [t.port, t.send, t.receive],
    dns: [t.port, t.query],
    ping: [],
    exec: [t.command, t.vip, t.vipPort, t.proto],
    dr: [t.vip, t.vipPort],
  };
  return JSON.stringify([t.type, t.ip, check.interval, check.timeout, ...used[t.type]]);
}

/** Options of a {@link HealthMonitor}. */
export interface HealthOptions {
  prober: Prober;
  /**
   * The neighbour slot of a real server's address (for the DR-path probe), or
   * -1 while it has none; asked before every check, as slots are freed and reused.
   */
  neighbor: (ip: string) => number;
  /** Called on every up/down transition. */
  onTransition: (t: Transition) => void;
  /** Called with every check's result (for the latency histogram). */
  onResult?: (service: string, ip: string, type: string, result: CheckResult) => void;
  /** Timers and the time results are stamped with (default the real clock). */
  clock?: Clock;
  /** Receives what a listener threw; the checks go on. */
  onError?: (error: Error) => void;
}

/** The checks of every real server (and fallback) of a configuration. */
export class HealthMonitor {
  #subscribers = new Map<string, Subscriber>();
  #probes = new Map<string, SharedProbe>();
  readonly #clock: Clock;
  constructor(readonly options: HealthOptions) {
    this.#clock = options.clock ?? realClock;
  }

  /** Starts, retunes, shares and stops checks to match `config`; verdicts of unchanged servers stay. */
  sync(config: Config): void {
    const keep = new Set<string>();
    for (const vip of config.vips) {
      const service = serviceKey(vip);
      const servers = vip.rips.map((r) => ({
        ip: r.ip,
        check: r.check ?? vip.check ?? defaultCheck(vip.proto),
      }));
      if (vip.fallback) {
        servers.push({ ip: vip.fallback, check: vip.check ?? defaultCheck(vip.proto) });
      }
      for (const { ip, check } of servers) {
        if (check.type === "none") continue;
        const key = `${service}|${ip}`;
        keep.add(key);
        let sub = this.#subscribers.get(key);
        if (!sub) {
          sub = { service, ip, check, health: new HealthState(check), result: null, probe: null };
          this.#subscribers.set(key, sub);
        } else if (JSON.stringify(sub.check) !== JSON.stringify(check)) {
          // The state stands until the new check's results cross rise or fall.
          sub.check = check;
          sub.health.retune(check);
        }
        const target: ProbeTarget = {
          type: check.type,
          ip,
          port: check.port ?? vip.port,
          path: check.path,
          expect: check.expect,
          vip: vip.vip,
          vipPort: vip.port,
          proto: vip.proto,
          neighbor: this.options.neighbor(ip),
        };
        Object.assign(target, typeFields(check));
        this.#join(sub, target);
      }
    }
    for (const [key, sub] of this.#subscribers) {
      if (keep.has(key)) continue;
      this.#leave(sub);
      this.#subscribers.delete(key);
    }
  }

  /** Whether a real server passes its check (true when it has none). */
  healthy(service: string, ip: string): boolean {
    return this.#subscribers.get(`${service}|${ip}`)?.health.state !== "down";
  }

  /** The last result of a real server's check, or null before the first or without a check. */
  result(service: string, ip: string): CheckResult | null {
    return this.#subscribers.get(`${service}|${ip}`)?.result ?? null;
  }

  /** How many distinct probes run (identical checks of one address count once). */
  get probes(): number {
    return this.#probes.size;
  }

  /** Stops every check. */
  stop(): void {
    this.sync({ version: 1, timeouts: { tcp: 900, tcpfin: 120, udp: 300 }, vips: [] });
  }

  /** Moves `sub` to the probe for `target`, starting that probe when it is new. */
  #join(sub: Subscriber, target: ProbeTarget): void {
    const key = probeKey(target, sub.check);
    if (sub.probe?.key === key) return;
    this.#leave(sub);
    let probe = this.#probes.get(key);
    if (!probe) {
      probe = {
        key,
        target,
        intervalMs: sub.check.interval * 1000,
        timeoutMs: sub.check.timeout * 1000,
        type: sub.check.type,
        subscribers: new Set(),
        stopped: false,
      };
      this.#probes.set(key, probe);
      this.#schedule(probe, 0);
    }
    probe.subscribers.add(sub);
    sub.probe = probe;
  }

  #leave(sub: Subscriber): void {
    const probe = sub.probe;
    if (!probe) return;
    sub.probe = null;
    probe.subscribers.delete(sub);
    if (probe.subscribers.size > 0) return;
    probe.stopped = true;
    this.#clock.clearTimeout(probe.timer);
    this.#probes.delete(probe.key);
  }

  #schedule(p: SharedProbe, ms: number): void {
    p.timer = this.#clock.setTimeout(() => this.#run(p), ms);
  }

  async #run(p: SharedProbe): Promise<void> {
    const started = performance.now();
    let error: string | null;
    try {
      const target = { ...p.target, neighbor: this.options.neighbor(p.target.ip) };
      error = await this.options.prober(target, p.timeoutMs);
    } catch (e) {
      error = `check failed: ${(e as Error).message}`;
    }
    if (p.stopped) return;
    const latencyMs = Math.round((performance.now() - started) * 100) / 100;
    const result: CheckResult = {
      ok: error === null,
      latencyMs,
      at: new Date(this.#clock.now()).toISOString(),
      error,
    };
    // The next check is due whatever the listeners do: one that throws must not stop the checks.
    this.#schedule(p, p.intervalMs);
    for (const sub of p.subscribers) {
      sub.result = result;
      const changed = sub.health.record(error === null);
      try {
        this.options.onResult?.(sub.service, sub.ip, p.type, result);
        if (changed) {
          const reason = error ?? `${p.type} check passed ${sub.check.rise} times`;
          this.options.onTransition({ service: sub.service, ip: sub.ip, state: changed, reason });
        }
      } catch (e) {
        this.options.onError?.(e as Error);
      }
    }
  }
}
