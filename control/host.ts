/**
 * Everything the daemon does to or learns from its host, behind one
 * interface: the interface's facts, offloads, the tc ingress drop, the state
 * file, the forwarding worker, health probes and time. {@link linuxHost} is
 * the real adapter; tests hand the daemon a recording fake
 * (`_fake_host.ts`), as the data plane's tests hand the loop a
 * `MemoryPacketIo`.
 * @module
 */

import type { TraceAnswer, TraceQuery } from "../dataplane/trace.ts";
import { AnnounceTable, type SyncResult } from "./announce.ts";
import type { Clock } from "./clock.ts";
import { run } from "./run.ts";
import { realClock } from "./clock.ts";
import type { Config } from "./config.ts";
import { DataplaneHost, type ProbeResult } from "./dataplane_host.ts";
import { IngressDrop } from "./ingress_drop.ts";
import {
  type IfaceInfo,
  ifaceInfo,
  ipForwarding,
  ipv6Forwarding,
  localAddresses,
} from "./netinfo.ts";
import { disableMergingOffloads, restoreOffloads } from "./offloads.ts";
import { type Prober, realProber } from "./probers.ts";
import { loadState, removeStaleTemporaries, saveState, withStateLock } from "./state_file.ts";
import type { Program, SharedTables } from "../dataplane/tables.ts";

/** An address owned by this host, and the interface that holds it. */
export interface LocalAddress {
  ip: string;
  iface: string;
}

/** The forwarding worker as the daemon drives it (see {@link DataplaneHost}). */
export interface Dataplane {
  readonly shared: SharedTables;
  /** Generation of the program the worker runs. */
  readonly appliedGeneration: number;
  /** Called when the worker dies on its own. */
  onFailure: (message: string) => void;
  /**
   * Opens the capture on every interface (the legs, in order).
   * @throws {RuntimeError} when a capture cannot be opened
   */
  start(ifaces: readonly string[], maxFlows: number): Promise<void>;
  publish(program: Program): void;
  /** Announces a VIP (either family): gratuitous ARP, or an unsolicited Neighbor Advertisement. */
  garp(vip: string): void;
  probe(neighbor: number, vip: string, port: number, timeoutMs: number): Promise<ProbeResult>;
  whoHas(vip: string, windowMs: number): Promise<string[]>;
  /** Where a flow goes now, from the worker's tables (`dsr trace`). */
  trace(query: TraceQuery): Promise<TraceAnswer>;
  onVipClaim(listener: (vip: string, mac: string) => void): () => void;
  stop(): Promise<void>;
}

/** The tc ingress drop of one interface (see {@link IngressDrop}). */
export interface IngressDropPort {
  /** Points the drop at `vips`; returns a warning when it could not. */
  sync(vips: readonly string[]): Promise<string | null>;
  remove(): Promise<void>;
}

/** The kernel routing table of `dsr start --announce` (see {@link AnnounceTable}). */
export interface AnnouncePort {
  readonly table: number;
  /** @throws {RuntimeError} when an ip rule looks up the table */
  check(): Promise<void>;
  /** Makes the table hold exactly `vips`' routes; failures come back as lines, never thrown. */
  sync(vips: readonly string[]): Promise<SyncResult>;
}

/** The state file (see `state_file.ts`). */
export interface StateStore {
  /** @throws {UsageError|RuntimeError} when it is unreadable or invalid */
  load(): Promise<Config>;
  /** Writes atomically under the lock. @throws {RuntimeError} when it cannot */
  save(config: Config): Promise<void>;
  /** Removes temporaries a killed writer left behind. */
  cleanup(): Promise<void>;
}

/** What the daemon needs of its host. */
export interface Host {
  readonly clock: Clock;
  readonly state: StateStore;
  /** @throws {UsageError} when the interface does not exist or has no IPv4 address */
  ifaceInfo(name: string): Promise<IfaceInfo>;
  /** Whether the interface still exists (it may be deleted under a running daemon). */
  ifaceExists(name: string): Promise<boolean>;
  localAddresses(): Promise<LocalAddress[]>;
  /** Whether the kernel forwards IPv4 (a second copy of every VIP packet). */
  ipForwarding(): Promise<boolean>;
  /** Whether the kernel forwards IPv6 (net.ipv6.conf.all.forwarding). */
  ipv6Forwarding(): Promise<boolean>;
  /** Turns GRO/LRO off; returns what it changed, for {@link Host.restoreOffloads}. */
  disableOffloads(iface: string): Promise<{ changed: string[]; warning: string | null }>;
  restoreOffloads(iface: string, changed: string[]): Promise<void>;
  ingressDrop(iface: string): IngressDropPort;
  /** The routing table VIPs are announced in (`--announce TABLE`). */
  announceTable(table: number): AnnouncePort;
  dataplane(): Dataplane;
  /** The health probers; `dr` goes through `probe` (the data plane's DR-path probe). */
  prober(probe: Parameters<typeof realProber>[0]): Prober;
}

/** The real host: `ip`, `sysctl`, `ethtool`, `tc`, libpcap in a worker, and the state file at `statePath`. */
export function linuxHost(statePath: string, clock: Clock = realClock): Host {
  return {
    clock,
    state: {
      load: () => loadState(statePath),
      save: (config) => withStateLock(statePath, () => saveState(statePath, config)),
      cleanup: () => withStateLock(statePath, () => removeStaleTemporaries(statePath)),
    },
    ifaceInfo,
    // Through `ip`: Deno opens /sys only with every permission granted.
    ifaceExists: async (name) => {
      const r = await run(["ip", "-j", "link", "show", "dev", name], { timeoutMs: 2_000 });
      return r.ok || !/does not exist/.test(r.stderr);
    },
    localAddresses,
    ipForwarding,
    ipv6Forwarding,
    disableOffloads: disableMergingOffloads,
    restoreOffloads,
    ingressDrop: (iface) => new IngressDrop(iface),
    announceTable: (table) => new AnnounceTable(table),
    dataplane: () => new DataplaneHost(),
    prober: realProber,
  };
}
