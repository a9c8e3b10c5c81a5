/**
 * Runs every real server's health check on its own interval, keeps the
 * verdicts, and says when one changes so the daemon recompiles the data
 * plane. The settings of a check come from the real server, else its VIP,
 * else the default for the protocol (SPEC §3).
 * @module
 */

import { type Check, type Config, defaultCheck, serviceKey } from "./config.ts";
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

interface Target {
  service: string;
  ip: string;
  check: Check;
  probe: ProbeTarget;
  health: HealthState;
  result: CheckResult | null;
  timer?: TimerId;
  stopped: boolean;
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
  #targets = new Map<string, Target>();
  readonly #clock: Clock;
  constructor(readonly options: HealthOptions) {
    this.#clock = options.clock ?? realClock;
  }

  /** Starts, retunes and stops checks to match `config`; verdicts of unchanged servers stay. */
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
        const key = `${service}|${ip}`;
        if (check.type === "none") continue;
        keep.add(key);
        const probe: ProbeTarget = {
          type: check.type,
          ip,
          port: check.port ?? vip.port,
          path: check.path,
          expect: check.expect,
          vip: vip.vip,
          vipPort: vip.port,
          neighbor: this.options.neighbor(ip),
        };
        const target = this.#targets.get(key);
        if (!target) {
          const t: Target = {
            service,
            ip,
            check,
            probe,
            health: new HealthState(check),
            result: null,
            stopped: false,
          };
          this.#targets.set(key, t);
          this.#schedule(t, 0);
        } else if (JSON.stringify(target.check) !== JSON.stringify(check)) {
          target.check = check;
          target.probe = probe;
          target.health.retune(check);
        }
      }
    }
    for (const [key, t] of this.#targets) {
      if (keep.has(key)) continue;
      t.stopped = true;
      this.#clock.clearTimeout(t.timer);
      this.#targets.delete(key);
    }
  }

  /** Whether a real server passes its check (true when it has none). */
  healthy(service: string, ip: string): boolean {
    return this.#targets.get(`${service}|${ip}`)?.health.state !== "down";
  }

  /** The last result of a real server's check, or null before the first or without a check. */
  result(service: string, ip: string): CheckResult | null {
    return this.#targets.get(`${service}|${ip}`)?.result ?? null;
  }

  /** Stops every check. */
  stop(): void {
    this.sync({ version: 1, timeouts: { tcp: 900, tcpfin: 120, udp: 300 }, vips: [] });
  }

  #schedule(t: Target, ms: number): void {
    t.timer = this.#clock.setTimeout(() => this.#run(t), ms);
  }

  async #run(t: Target): Promise<void> {
    const started = performance.now();
    let error: string | null;
    try {
      const probe = { ...t.probe, neighbor: this.options.neighbor(t.ip) };
      error = await this.options.prober(probe, t.check.timeout * 1000);
    } catch (e) {
      error = `check failed: ${(e as Error).message}`;
    }
    if (t.stopped) return;
    const latencyMs = Math.round((performance.now() - started) * 100) / 100;
    t.result = {
      ok: error === null,
      latencyMs,
      at: new Date(this.#clock.now()).toISOString(),
      error,
    };
    // The next check is due whatever the listeners do: one that throws must not stop the checks.
    this.#schedule(t, t.check.interval * 1000);
    const changed = t.health.record(error === null);
    try {
      this.options.onResult?.(t.service, t.ip, t.check.type, t.result);
      if (changed) {
        const reason = error ?? `${t.check.type} check passed ${t.check.rise} times`;
        this.options.onTransition({ service: t.service, ip: t.ip, state: changed, reason });
      }
    } catch (e) {
      this.options.onError?.(e as Error);
    }
  }
}
