/**
 * The reading helpers the keepalived importer shares between its blocks:
 * numbers and ports with the line they came from, the timing settings a
 * block inherits from the one around it, and the warnings for what dsr
 * leaves out.
 * @module
 */

import type { Statement } from "./_keepalived_parse.ts";
import { ImportError } from "./import_result.ts";

/** Options that change nothing dsr does, left out with a warning. */
const NO_EFFECT = new Set([
  "quorum",
  "hysteresis",
  "quorum_up",
  "quorum_down",
  "alpha",
  "omega",
  "ha_suspend",
  "inhibit_on_failure",
  "notify_up",
  "notify_down",
  "uthreshold",
  "lthreshold",
  "warmup",
  "delay_before_retry",
  "sorry_server_inhibit",
  "fast_recovery",
  "http_protocol",
  "misc_dynamic",
  "user",
  "bindto",
  "bind_port",
  "bind_if",
  "fwmark",
  "log_all_failures",
  "enable_sni",
]);

/** Options that say nothing about traffic: skipped silently. */
const SILENT = new Set(["smtp_alert", "snmp_name", "ip_family", "nat_mask"]);

/** Timing and retry settings, inherited from virtual server to real server to checker. */
export interface Timing {
  delayLoop: number;
  connectTimeout: number;
  retry: number | null;
  virtualhost: string | null;
}

/** Reads values with the line they came from, and collects the warnings. */
export class Reader {
  warnings: string[] = [];

  warn(s: Statement, what: string): void {
    this.warnings.push(`line ${s.line}: ${what}`);
  }

  number(s: Statement, min = 0): number {
    const n = Number(s.args[0]);
    if (s.args.length === 0 || !Number.isFinite(n) || n < min) {
      throw new ImportError(
        s.line,
        `${s.key} needs a number${min > 0 ? ` ≥ ${min}` : ""}, not "${s.args.join(" ")}"`,
      );
    }
    return n;
  }

  port(s: Statement, text: string | undefined): number {
    if (text === undefined) return 0;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      throw new ImportError(s.line, `"${text}" is not a port`);
    }
    return n;
  }

  /** The timing fields a block sets, over `base`. */
  timing(statements: Statement[], base: Timing): Timing {
    const t = { ...base };
    for (const s of statements) {
      if (s.key === "delay_loop") t.delayLoop = this.number(s, 0.001);
      else if (s.key === "connect_timeout") t.connectTimeout = this.number(s, 0.001);
      else if (s.key === "retry" || s.key === "nb_get_retry") t.retry = this.number(s);
      else if (s.key === "virtualhost") t.virtualhost = s.args[0] ?? null;
    }
    return t;
  }

  method(s: Statement): void {
    const kind = (s.args[0] ?? "").toUpperCase();
    if (kind !== "DR") {
      throw new ImportError(
        s.line,
        `${s.key} ${s.args.join(" ")} is not direct routing: dsr forwards DR only`,
      );
    }
  }

  other(s: Statement): void {
    if (NO_EFFECT.has(s.key)) this.warn(s, `${s.key} left out: it has no effect in dsr`);
    else if (!SILENT.has(s.key)) this.warn(s, `${s.key} left out: dsr does not know it`);
  }
}
