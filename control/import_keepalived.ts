/**
 * `dsr config import --from keepalived`: a configuration document from the
 * `virtual_server` blocks of a keepalived.conf, read as keepalived.conf(5)
 * of keepalived 2.2 describes them. Everything else in the file (global_defs,
 * vrrp_instance, …) is keepalived's own business and is skipped.
 *
 * - `lb_algo`/`lvs_sched` is the scheduler; `lb_kind`/`lvs_method` must be DR
 *   (keepalived's default is NAT, so a block without it is refused too);
 *   `persistence_timeout` is persist (360 s when given without a value);
 *   `protocol`, `sorry_server` (the fallback) and each `real_server`'s weight carry over.
 * - Checkers: TCP_CHECK → tcp, HTTP_GET → http, SSL_GET → https with
 *   `--check-insecure` (SSL_GET does not verify certificates), MISC_CHECK →
 *   exec (misc_path split into argv), UDP_CHECK → udp, DNS_CHECK → dns,
 *   PING_CHECK → ping. connect_port, connect_timeout (default 5 s), delay_loop
 *   (the interval, default 60 s), the first url's path and status_code, and
 *   virtualhost carry over; `retry` (default 1; DNS 3, MISC 0) failed retries
 *   take a server down, so fall = retry + 1, and one pass brings it back (rise 1),
 *   as keepalived does. A real server without a checker is always up (check none).
 * - NAT and TUN, fwmark and group services, SCTP and checkers dsr has no
 *   equivalent for are refused naming the line; options without effect in
 *   dsr (digest, quorum, inhibit_on_failure, …) are left out with a warning.
 * @module
 */

import {
  type Check,
  ConfigError,
  defaultCheck,
  parseConfig,
  type Proto,
  type Rip,
  serviceKey,
  type Vip,
} from "./config.ts";
import { CHECKERS, readChecker, UNSUPPORTED_CHECKERS } from "./_keepalived_checks.ts";
import { Reader, type Timing } from "./_keepalived_reader.ts";
import { parseKeepalived, type Statement } from "./_keepalived_parse.ts";
import { ImportError, type ImportResult } from "./import_result.ts";
import { SCHEDULER_NAMES } from "../dataplane/scheduler.ts";

/** Reads virtual_server and real_server blocks. */
class ServerReader extends Reader {
  virtualServer(vs: Statement): Vip {
    if (vs.args[0] === "fwmark" || vs.args[0] === "group") {
      throw new ImportError(
        vs.line,
        `virtual_server ${vs.args.join(" ")}: dsr balances VIP:PORT services, not ${vs.args[0]}s`,
      );
    }
    const block = vs.block ?? [];
    const vip = vs.args[0];
    if (!vip) throw new ImportError(vs.line, "virtual_server needs an address");
    const port = this.port(vs, vs.args[1]);
    const timing = this.timing(block, {
      delayLoop: 60,
      connectTimeout: 5,
      retry: null,
      virtualhost: null,
    });
    let proto: Proto = "tcp";
    let scheduler = "wlc"; // ipvsadm's and so keepalived's default
    let persist = 0;
    let methodSeen = false;
    let fallback: string | null = null;
    let ops: Statement | null = null;
    const rips: Rip[] = [];
    const checks: (Check | null)[] = [];
    for (const s of block) {
      switch (s.key) {
        case "lb_algo":
        case "lvs_sched":
          scheduler = s.args[0] ?? "";
          if (!(SCHEDULER_NAMES as readonly string[]).includes(scheduler)) {
            throw new ImportError(
              s.line,
              `scheduler ${scheduler} is not one dsr has (${SCHEDULER_NAMES.join(" ")})`,
            );
          }
          break;
        case "lb_kind":
        case "lvs_method":
          this.method(s);
          methodSeen = true;
          break;
        case "persistence_timeout":
          persist = s.args.length === 0 ? 360 : this.number(s);
          break;
        case "protocol": {
          const p = (s.args[0] ?? "").toUpperCase();
          if (p !== "TCP" && p !== "UDP") {
            throw new ImportError(s.line, `protocol ${s.args[0]}: dsr balances TCP and UDP`);
          }
          proto = p === "TCP" ? "tcp" : "udp";
          break;
        }
        case "sorry_server":
          fallback = s.args[0] ?? null;
          this.samePort(s, port, this.port(s, s.args[1]), "sorry server");
          break;
        case "sorry_server_lvs_method":
          this.method(s);
          break;
        case "real_server": {
          const [rip, check] = this.realServer(s, port, timing);
          rips.push(rip);
          checks.push(check);
          break;
        }
        case "persistence_granularity":
          throw new ImportError(
            s.line,
            `persistence_granularity ${s.args[0]}: dsr keeps affinity per client address only`,
          );
        case "persistence_engine":
          throw new ImportError(s.line, `persistence_engine ${s.args[0]} is not supported`);
        case "ops":
          ops = s;
          break;
        case "delay_loop":
        case "connect_timeout":
        case "retry":
        case "nb_get_retry":
        case "virtualhost":
          break;
        default:
          this.other(s);
      }
    }
    if (!methodSeen) {
      throw new ImportError(
        vs.line,
        "no lb_kind (lvs_method): keepalived's default is NAT, and dsr forwards DR only; add lb_kind DR",
      );
    }
    // IPVS schedules a TCP service's packets by connection whatever ops says.
    if (ops && proto !== "udp") this.warn(ops, "ops ignored: IPVS applies it to UDP only");
    return {
      vip,
      port,
      proto,
      scheduler: scheduler as Vip["scheduler"],
      persist,
      fallback,
      need: 1,
      ops: ops !== null && proto === "udp",
      ...hoist(rips, checks),
    };
  }

  samePort(s: Statement, vipPort: number, port: number, what: string): void {
    if (port !== vipPort && port !== 0 && vipPort !== 0) {
      throw new ImportError(
        s.line,
        `port translation is not possible in DR mode (VIP port ${vipPort}, ${what} port ${port})`,
      );
    }
  }

  realServer(rs: Statement, vipPort: number, base: Timing): [Rip, Check | null] {
    const ip = rs.args[0];
    if (!ip) throw new ImportError(rs.line, "real_server needs an address");
    const port = rs.args[1] === undefined ? vipPort : this.port(rs, rs.args[1]);
    this.samePort(rs, vipPort, port, "real server");
    const block = rs.block ?? [];
    const timing = this.timing(block, base);
    let weight = 1;
    let check: Check | null = null;
    for (const s of block) {
      if (s.key === "weight") {
        weight = this.number(s);
        if (!Number.isInteger(weight) || weight > 65535) {
          throw new ImportError(s.line, `weight ${weight} is not 0 to 65535`);
        }
      } else if (s.key === "lvs_method" || s.key === "lb_kind") {
        this.method(s);
      } else if (s.key in CHECKERS) {
        if (check) {
          this.warn(
            s,
            `${s.key} left out: dsr runs one check per real server, the first one (keepalived needs all to pass)`,
          );
        } else check = readChecker(this, s, { rsPort: port, base: timing });
      } else if (UNSUPPORTED_CHECKERS.has(s.key)) {
        throw new ImportError(
          s.line,
          `${s.key} has no dsr equivalent (use an exec check with a script of yours)`,
        );
      } else if (
        !["delay_loop", "connect_timeout", "retry", "nb_get_retry", "virtualhost"].includes(s.key)
      ) {
        this.other(s);
      }
    }
    // keepalived keeps a real server without a checker up: so does check none.
    return [
      { ip, weight, drain: false, check: null },
      check ?? { ...defaultCheck("tcp"), type: "none" },
    ];
  }
}

/** One check for the VIP when every real server has the same, else each its own. */
function hoist(rips: Rip[], checks: (Check | null)[]): { check: Check | null; rips: Rip[] } {
  const first = JSON.stringify(checks[0] ?? null);
  if (checks.length > 0 && checks.every((c) => JSON.stringify(c) === first)) {
    return { check: checks[0], rips };
  }
  return { check: null, rips: rips.map((r, i) => ({ ...r, check: checks[i] })) };
}

/**
 * Reads the virtual servers of a keepalived.conf.
 * @throws {ImportError} naming the line of what dsr cannot do (NAT, TUN, fwmark, …)
 * @throws {ConfigError} when the result is not a valid document (a bad address, …)
 */
export function importKeepalived(text: string): ImportResult {
  const reader = new ServerReader();
  const vips: Vip[] = [];
  const seen = new Map<string, number>();
  for (const s of parseKeepalived(text)) {
    if (s.key === "virtual_server_group") {
      throw new ImportError(
        s.line,
        "virtual_server_group: dsr has no groups; write one virtual_server per address",
      );
    }
    if (s.key !== "virtual_server") continue;
    const vip = reader.virtualServer(s);
    const key = serviceKey(vip);
    if (seen.has(key)) {
      throw new ImportError(s.line, `${key} is defined twice (first on line ${seen.get(key)})`);
    }
    seen.set(key, s.line);
    vips.push(vip);
  }
  try {
    return { config: parseConfig({ version: 1, vips }), warnings: reader.warnings };
  } catch (error) {
    // Name the virtual_server the invalid field came from.
    const i = error instanceof ConfigError ? /^vips\[(\d+)\]/.exec(error.field ?? "") : null;
    if (!i) throw error;
    const key = serviceKey(vips[Number(i[1])]);
    throw new ImportError(seen.get(key)!, `virtual_server ${key}: ${(error as Error).message}`);
  }
}
