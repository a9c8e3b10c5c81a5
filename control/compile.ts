/**
 * Compiles a configuration into the data plane's {@link Program}. Service,
 * backend and neighbour ids stay stable across compiles (they key flows and
 * counters), and the difference from the previous compile says which flows to
 * flush and which VIPs to announce.
 * @module
 */

import { parseIpv4, parseMac } from "../dataplane/addr.ts";
import { PROTO_TCP, PROTO_UDP } from "../dataplane/packet.ts";
import { newSchedState, schedulerCode } from "../dataplane/scheduler.ts";
import {
  MAX_BACKENDS,
  MAX_NEIGHBORS,
  MAX_SERVICES,
  type Program,
  type ServiceProgram,
} from "../dataplane/tables.ts";
import { type Config, serviceKey } from "./config.ts";
import { RuntimeError } from "./errors.ts";
import type { IfaceInfo } from "./netinfo.ts";

/** Why a real server takes no new flows, or "up". */
export type RipState = "up" | "down" | "drain" | "unresolved";

/** What the compiler asks about each real server's health and reachability. */
export interface RipConditions {
  /** The neighbour slot's MAC is known (or the grace period after start runs). */
  resolved(neighbor: number): boolean;
  /** The health check's verdict; true until checks exist for it. */
  healthy(service: string, ip: string): boolean;
  /** The RIP lies on a subnet of the interface. */
  adjacent(ip: string): boolean;
}

/** A compiled real server, for status. */
export interface CompiledRip {
  id: number;
  neighbor: number;
  state: RipState;
  /** Weight the scheduler uses: 0 unless the state is "up". */
  effectiveWeight: number;
}

/** A compile's result: the program and the per-RIP view status needs. */
export interface Compiled {
  program: Program;
  /** `serviceKey|ip` → compiled real server; fallbacks under `serviceKey|fallback`. */
  rips: Map<string, CompiledRip>;
  /** serviceKey → service id. */
  services: Map<string, number>;
}

/** Hands out small integer ids and takes them back. */
class IdPool {
  #ids = new Map<string, number>();
  #free: number[] = [];
  #next = 0;
  constructor(readonly max: number, readonly what: string) {}

  get(key: string): number {
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.#free.pop() ?? this.#next++;
      if (id >= this.max) throw new RuntimeError(`too many ${this.what} (at most ${this.max})`);
      this.#ids.set(key, id);
    }
    return id;
  }

  /** Releases every key not in `keep`; returns the released ids. */
  retain(keep: Set<string>): number[] {
    const released: number[] = [];
    for (const [key, id] of this.#ids) {
      if (keep.has(key)) continue;
      this.#ids.delete(key);
      released.push(id);
    }
    // Reuse only after the program that flushes them is posted.
    this.#free.push(...released);
    return released;
  }
}

/** Compiles configurations one after another, keeping ids stable. */
export class Compiler {
  #services = new IdPool(MAX_SERVICES, "virtual services");
  #backends = new IdPool(MAX_BACKENDS, "real servers");
  // Neighbour slots are never released: a MAC learned stays useful if the RIP comes back.
  #neighbors = new IdPool(MAX_NEIGHBORS, "distinct real server addresses");
  #generation = 0;
  #announced = new Set<number>();
  #previous = new Map<string, RipState>();

  constructor(readonly iface: IfaceInfo) {}

  /** The neighbour slot of an address (allocating one). */
  neighbor(ip: string): number {
    return this.#neighbors.get(ip);
  }

  /** Compiles `config`; `conditions` decide each real server's state. */
  compile(config: Config, conditions: RipConditions): Compiled {
    const services: ServiceProgram[] = [];
    const rips = new Map<string, CompiledRip>();
    const serviceIds = new Map<string, number>();
    const backendNeighbor = new Int32Array(MAX_BACKENDS).fill(-1);
    const neighborIps = new Uint32Array(MAX_NEIGHBORS);
    const flushBackends: number[] = [];

    for (const vip of config.vips) {
      const key = serviceKey(vip);
      const id = this.#services.get(key);
      serviceIds.set(key, id);
      const backends = vip.rips.map((rip) => {
        const compiled = this.#rip(
          `${key}|${rip.ip}`,
          rip.ip,
          conditions,
          rip.drain ? "drain" : null,
          rip.weight,
        );
        rips.set(`${key}|${rip.ip}`, compiled);
        backendNeighbor[compiled.id] = compiled.neighbor;
        neighborIps[compiled.neighbor] = parseIpv4(rip.ip);
        return { id: compiled.id, key: rip.ip, weight: compiled.effectiveWeight };
      });
      let fallback = -1;
      if (vip.fallback !== null) {
        const compiled = this.#rip(`${key}|fallback`, vip.fallback, conditions, null, 1);
        rips.set(`${key}|fallback`, compiled);
        backendNeighbor[compiled.id] = compiled.neighbor;
        neighborIps[compiled.neighbor] = parseIpv4(vip.fallback);
        fallback = compiled.effectiveWeight > 0 ? compiled.id : -1;
      }
      services.push({
        id,
        vip: parseIpv4(vip.vip),
        port: vip.port,
        proto: vip.proto === "tcp" ? PROTO_TCP : PROTO_UDP,
        sched: newSchedState(schedulerCode(vip.scheduler), backends),
        persistMs: vip.persist * 1000,
        fallback,
      });
    }

    for (const [key, rip] of rips) {
      const before = this.#previous.get(key);
      // A server that went down loses its flows, so clients get a fast reset.
      if (rip.state === "down" && before !== undefined && before !== "down") {
        flushBackends.push(rip.id);
      }
    }
    const flushServices = this.#services.retain(new Set(serviceIds.keys()));
    flushBackends.push(...this.#backends.retain(new Set([...rips.keys()])));
    const vips = new Set(services.map((s) => s.vip));
    const garp = [...vips].filter((v) => !this.#announced.has(v));
    this.#announced = vips;
    this.#previous = new Map([...rips].map(([k, r]) => [k, r.state]));

    return {
      program: {
        generation: ++this.#generation,
        mac: parseMac(this.iface.mac),
        ip: parseIpv4(this.iface.addresses[0]),
        mtu: this.iface.mtu,
        services,
        backendNeighbor,
        neighborIps,
        timeouts: {
          tcp: config.timeouts.tcp * 1000,
          tcpfin: config.timeouts.tcpfin * 1000,
          udp: config.timeouts.udp * 1000,
        },
        flushBackends,
        flushServices,
        garp,
      },
      rips,
      services: serviceIds,
    };
  }

  /** `ripKey` is `serviceKey|ip` (or `serviceKey|fallback`): it keys the backend id. */
  #rip(
    ripKey: string,
    ip: string,
    conditions: RipConditions,
    forced: RipState | null,
    weight: number,
  ): CompiledRip {
    const id = this.#backends.get(ripKey);
    const neighbor = this.#neighbors.get(ip);
    let state: RipState;
    if (!conditions.adjacent(ip) || !conditions.resolved(neighbor)) state = "unresolved";
    else if (!conditions.healthy(ripKey.slice(0, ripKey.lastIndexOf("|")), ip)) state = "down";
    else state = forced ?? "up";
    return { id, neighbor, state, effectiveWeight: state === "up" ? weight : 0 };
  }
}
