/**
 * Builds the status document of SPEC §5 from the configuration, the last
 * compile and the shared counters.
 * @module
 */

import { formatMac } from "../dataplane/addr.ts";
import { MALFORMED_REASONS } from "../dataplane/packet.ts";
import {
  B_BYTES,
  B_CONNECTIONS,
  B_PACKETS,
  B_STRIDE,
  G_BATCH_MAX_MS,
  G_DROP_EVICTED,
  G_DROP_FRAGMENT,
  G_DROP_ICMP_NO_FLOW,
  G_DROP_MALFORMED,
  G_DROP_NO_BACKEND,
  G_DROP_NO_SERVICE,
  G_DROP_OVERSIZE,
  G_DROP_SEND,
  G_DROP_STANDBY,
  G_FLOWS,
  G_HEAP_USED,
  G_KERNEL_DROPS,
  G_MALFORMED_BASE,
  G_OTHER_MAC,
  G_RX,
  G_TX,
  S_BYTES,
  S_CONNECTIONS,
  S_PACKETS,
  S_STRIDE,
  type SharedTables,
} from "../dataplane/tables.ts";
import type { Compiled, RipState } from "./compile.ts";
import type { HaStatus } from "./ha_role.ts";
import { type Config, defaultCheck, serviceKey } from "./config.ts";

/** One real server in `dsr status --json`. */
export interface RipStatus {
  ip: string;
  mac: string | null;
  weight: number;
  state: RipState;
  activeConns: number;
  inactiveConns: number;
  connections: number;
  packets: number;
  bytes: number;
  check: {
    type: string;
    ok: boolean | null;
    latencyMs: number | null;
    at: string | null;
    error: string | null;
  };
}

/** One virtual service in `dsr status --json`. */
export interface VipStatus {
  vip: string;
  port: number;
  proto: string;
  scheduler: string;
  packets: number;
  bytes: number;
  connections: number;
  rips: RipStatus[];
}

/** The document of `GET /v1/status`. */
export interface Status {
  /** The interface; of a balancer with several legs, the first. */
  iface: string;
  /**
   * Every interface the balancer runs on, in `--iface` order (one for most
   * balancers); absent from the status of a daemon older than legs.
   */
  ifaces?: string[];
  /** The MAC of `iface`. */
  mac: string;
  uptimeSeconds: number;
  flows: number;
  packets: { rx: number; tx: number; kernelDrops: number };
  /**
   * The forwarding worker's JS heap in use, sampled each second (no growth
   * under steady load), and the longest the loop stayed away from the capture
   * ring in the last second (a batch with its periodic work, or applying a
   * program): how long a frame arriving meanwhile waited.
   */
  dataplane: { heapUsedBytes: number; batchMaxMs: number };
  drops: Record<string, number>;
  malformed: Record<string, number>;
  /** The node's role in an HA pair (SPEC §11). */
  ha: HaStatus;
  /** VIP addresses whose route `--announce` keeps in its table now; empty without it. */
  announced: string[];
  vips: VipStatus[];
}

/** What status needs from the daemon. */
export interface StatusInput {
  iface: string;
  ifaces: string[];
  mac: string;
  startedAt: number;
  config: Config;
  compiled: Compiled;
  shared: SharedTables;
  ha: HaStatus;
  announced: string[];
  /** Extra text for a real server's check column (e.g. "not on 198.18.0.0/24 of eth0"). */
  ripError(service: string, ip: string): string | null;
  /** The last health check result of a real server, or null. */
  checkResult(
    service: string,
    ip: string,
  ): { ok: boolean; latencyMs: number; at: string; error: string | null } | null;
}

function checkStatus(
  type: string,
  result: ReturnType<StatusInput["checkResult"]>,
  problem: string | null,
): RipStatus["check"] {
  return {
    type,
    ok: result?.ok ?? null,
    latencyMs: result?.latencyMs ?? null,
    at: result?.at ?? null,
    error: problem ?? result?.error ?? null,
  };
}

/** Builds the status document now. */
export function buildStatus(input: StatusInput): Status {
  const { shared, compiled } = input;
  const g = shared.global;
  const malformed: Record<string, number> = {};
  MALFORMED_REASONS.forEach((name, code) => {
    if (name) malformed[name] = g[G_MALFORMED_BASE + code];
  });
  return {
    iface: input.iface,
    ifaces: input.ifaces,
    mac: input.mac,
    uptimeSeconds: Math.round((Date.now() - input.startedAt) / 100) / 10,
    flows: g[G_FLOWS],
    packets: { rx: g[G_RX], tx: g[G_TX], kernelDrops: g[G_KERNEL_DROPS] },
    dataplane: { heapUsedBytes: g[G_HEAP_USED], batchMaxMs: g[G_BATCH_MAX_MS] },
    drops: {
      noService: g[G_DROP_NO_SERVICE],
      malformed: g[G_DROP_MALFORMED],
      noBackend: g[G_DROP_NO_BACKEND],
      evicted: g[G_DROP_EVICTED],
      oversize: g[G_DROP_OVERSIZE],
      fragment: g[G_DROP_FRAGMENT],
      sendFailed: g[G_DROP_SEND],
      standby: g[G_DROP_STANDBY],
      otherMac: g[G_OTHER_MAC],
      icmpNoFlow: g[G_DROP_ICMP_NO_FLOW],
    },
    malformed,
    ha: input.ha,
    announced: input.announced,
    vips: input.config.vips.map((vip) => {
      const key = serviceKey(vip);
      const sid = compiled.services.get(key) ?? -1;
      const s = shared.services;
      const check = vip.check ?? defaultCheck(vip.proto);
      return {
        vip: vip.vip,
        port: vip.port,
        proto: vip.proto,
        scheduler: vip.scheduler,
        packets: sid < 0 ? 0 : s[sid * S_STRIDE + S_PACKETS],
        bytes: sid < 0 ? 0 : s[sid * S_STRIDE + S_BYTES],
        connections: sid < 0 ? 0 : s[sid * S_STRIDE + S_CONNECTIONS],
        rips: vip.rips.map((rip) => {
          const c = compiled.rips.get(`${key}|${rip.ip}`);
          const id = c?.id ?? -1;
          const b = shared.backends;
          const seen = c ? shared.neighborSeen[c.neighbor] : 0;
          return {
            ip: rip.ip,
            mac: c && seen > 0 ? formatMac(shared.neighborMacs, c.neighbor * 8) : null,
            weight: rip.weight,
            state: c?.state ?? "unresolved",
            activeConns: id < 0 ? 0 : shared.active[id],
            inactiveConns: id < 0 ? 0 : shared.inactive[id],
            connections: id < 0 ? 0 : b[id * B_STRIDE + B_CONNECTIONS],
            packets: id < 0 ? 0 : b[id * B_STRIDE + B_PACKETS],
            bytes: id < 0 ? 0 : b[id * B_STRIDE + B_BYTES],
            check: checkStatus(
              (rip.check ?? check).type,
              input.checkResult(key, rip.ip),
              input.ripError(key, rip.ip),
            ),
          };
        }),
      };
    }),
  };
}
