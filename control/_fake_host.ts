/**
 * A recording {@link Host} for the daemon's unit tests: an in-memory state
 * file, a data plane that applies every program at once and marks every
 * neighbour resolved, probers answered from a table, fake time, and a log of
 * every effect in the order it happened. Switches make one effect fail.
 * @module
 */

import { parseIpv4 } from "../dataplane/addr.ts";
import { Forwarder } from "../dataplane/forwarder.ts";
import { createSharedTables, type Program, type SharedTables } from "../dataplane/tables.ts";
import { type TraceAnswer, traceFlow, type TraceQuery } from "../dataplane/trace.ts";
import { FakeClock } from "./_fake_clock.ts";
import { type Config, emptyConfig } from "./config.ts";
import { RuntimeError } from "./errors.ts";
import type { Dataplane, Host, LocalAddress } from "./host.ts";
import type { IfaceInfo } from "./netinfo.ts";
import type { Prober } from "./probers.ts";

/** The balancer's interface in every fake: 198.18.0.10/24 on eth0. */
export const FAKE_IFACE: IfaceInfo = {
  name: "eth0",
  mac: "02:00:00:00:00:0a",
  mtu: 1500,
  addresses: ["198.18.0.10"],
  subnets: [{ base: parseIpv4("198.18.0.0"), prefix: 24 }],
};

class FakeDataplane implements Dataplane {
  readonly shared: SharedTables = createSharedTables();
  programs: Program[] = [];
  readonly forwarder = new Forwarder(this.shared, { maxFlows: 1024 });
  onFailure: (message: string) => void = () => {};
  constructor(readonly host: FakeHost) {}

  get appliedGeneration(): number {
    return this.programs.at(-1)?.generation ?? 0;
  }

  start(ifaces: readonly string[]): Promise<void> {
    if (this.host.failCapture) return Promise.reject(new RuntimeError("cannot capture"));
    this.host.effects.push(`capture ${ifaces.join(",")}`);
    return Promise.resolve();
  }

  publish(program: Program): void {
    if (this.host.failPublish > 0) {
      this.host.failPublish--;
      throw new RuntimeError("the worker is gone");
    }
    this.host.effects.push(`publish ${program.generation}`);
    // First, as the worker does: loading clears the neighbour slots the program frees.
    this.forwarder.load(program);
    // Every neighbour of the program is resolved now (its MAC "answered").
    for (let slot = 0; slot < program.neighborIps.length; slot++) {
      const v6 = program.neighborIps6?.subarray(slot * 4, slot * 4 + 4).some((w) => w !== 0);
      if (program.neighborIps[slot] !== 0 || v6) {
        this.shared.neighborSeen[slot] = this.host.clock.now();
      }
    }
    this.programs.push(program);
  }

  garp(vip: string): void {
    this.host.effects.push(`garp ${vip}`);
  }

  probe(): Promise<"syn-ack"> {
    return Promise.resolve("syn-ack");
  }

  whoHas(): Promise<string[]> {
    return Promise.resolve([]);
  }

  /** Traces on a real forwarder running the programs published here (no packets pass). */
  trace(query: TraceQuery): Promise<TraceAnswer> {
    return Promise.resolve(traceFlow(this.forwarder.tracing, query, this.host.clock.now() | 0));
  }

  onVipClaim(): () => void {
    return () => {};
  }

  stop(): Promise<void> {
    this.host.effects.push("capture closed");
    return Promise.resolve();
  }
}

/** A host whose every effect is recorded; see the module doc. */
export class FakeHost implements Host {
  readonly clock = new FakeClock();
  /** Every effect, in order: `save`, `publish N`, `capture eth0`, `drop VIPS`, … */
  readonly effects: string[] = [];
  /** The state file's document; null when there is none. */
  stateFile: Config | null = null;
  local: LocalAddress[] = [{ ip: "198.18.0.10", iface: "eth0" }];
  /** What `ipv6Forwarding` answers (net.ipv6.conf.all.forwarding=1 when true). */
  ipv6Forward = false;
  /** Check result per real server IP: null passes, text fails; absent passes. */
  checks = new Map<string, string | null>();
  /** The next this many saves fail. */
  failSave = 0;
  /** The next this many publishes throw. */
  failPublish = 0;
  /** What the announce table holds; `announce VIPS` effects record each change. */
  announced: string[] = [];
  /** The next this many announce syncs fail (reported as error lines, as the real one does). */
  failAnnounce = 0;
  /** An ip rule looks up the announce table. */
  announceRuleClash = false;
  #dataplane: FakeDataplane | null = null;

  readonly state = {
    load: () => Promise.resolve(structuredClone(this.stateFile ?? emptyConfig())),
    save: (config: Config) => {
      if (this.failSave > 0) {
        this.failSave--;
        return Promise.reject(new RuntimeError("cannot write state file: No space left on device"));
      }
      this.effects.push("save");
      this.stateFile = structuredClone(config);
      return Promise.resolve();
    },
    cleanup: () => Promise.resolve(),
  };

  /** The data plane the daemon made. */
  get dataplaneMade(): FakeDataplane {
    if (!this.#dataplane) throw new Error("no data plane made yet");
    return this.#dataplane;
  }

  /** Whether the interface exists; a test deletes it by setting this false. */
  ifaceThere = true;

  ifaceExists(): Promise<boolean> {
    return Promise.resolve(this.ifaceThere);
  }

  /** Interfaces besides FAKE_IFACE, by name (the legs of a balancer with several). */
  ifaces = new Map<string, IfaceInfo>();
  /** The data plane cannot open its capture. */
  failCapture = false;

  ifaceInfo(name: string): Promise<IfaceInfo> {
    return Promise.resolve(this.ifaces.get(name) ?? FAKE_IFACE);
  }

  localAddresses(): Promise<LocalAddress[]> {
    return Promise.resolve(this.local);
  }

  ipForwarding(): Promise<boolean> {
    return Promise.resolve(false);
  }

  ipv6Forwarding(): Promise<boolean> {
    return Promise.resolve(this.ipv6Forward);
  }

  disableOffloads(iface: string): Promise<{ changed: string[]; warning: string | null }> {
    this.effects.push(`offloads off ${iface}`);
    return Promise.resolve({ changed: ["gro"], warning: null });
  }

  restoreOffloads(iface: string, changed: string[]): Promise<void> {
    this.effects.push(`offloads on ${iface} ${changed.join(",")}`);
    return Promise.resolve();
  }

  ingressDrop(iface: string) {
    // Named only on a leg besides eth0, so the one-leg effects read as before.
    const on = iface === FAKE_IFACE.name ? "" : ` on ${iface}`;
    return {
      sync: (vips: readonly string[]) => {
        this.effects.push(`drop ${vips.join(",")}${on}`);
        return Promise.resolve(null);
      },
      remove: () => {
        this.effects.push(`drop removed${on}`);
        return Promise.resolve();
      },
    };
  }

  announceTable(table: number) {
    return {
      table,
      check: () =>
        this.announceRuleClash
          ? Promise.reject(new RuntimeError(`--announce ${table}: ip rule 1000 looks up it`))
          : Promise.resolve(),
      sync: (vips: readonly string[]) => {
        if (this.failAnnounce > 0) {
          this.failAnnounce--;
          return Promise.resolve({ added: [], removed: [], errors: ["ip: timed out after 2 s"] });
        }
        const added = vips.filter((v) => !this.announced.includes(v));
        const removed = this.announced.filter((v) => !vips.includes(v));
        if (added.length > 0 || removed.length > 0) this.effects.push(`announce ${vips.join(",")}`);
        this.announced = [...vips];
        return Promise.resolve({ added, removed, errors: [] });
      },
    };
  }

  dataplane(): Dataplane {
    this.#dataplane = new FakeDataplane(this);
    return this.#dataplane;
  }

  prober(): Prober {
    return (target) => Promise.resolve(this.checks.get(target.ip) ?? null);
  }
}
