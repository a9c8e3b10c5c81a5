/**
 * Compiles a configuration into the data plane's {@link Program}. Service,
 * backend and neighbour ids stay stable across compiles (they key flows and
 * counters), and the difference from the adopted compile says which flows to
 * flush, which neighbour slots to forget and which VIPs to announce. A
 * compile changes nothing until it is adopted, and refuses a configuration
 * beyond a capacity before it allocates anything.
 * @module
 */

import { parseMac } from "../dataplane/addr.ts";
import { PROTO_TCP, PROTO_UDP } from "../dataplane/packet.ts";
import { DEFAULT_RING_SIZE, type MaglevBackend } from "../dataplane/maglev.ts";
import {
  buildRing,
  newSchedState,
  type RingSource,
  schedulerCode,
} from "../dataplane/scheduler.ts";
import {
  type LegProgram,
  MAX_BACKENDS,
  MAX_NEIGHBORS,
  MAX_SERVICES,
  type Program,
  type ServiceProgram,
} from "../dataplane/tables.ts";
import { type Config, serviceKey } from "./config.ts";
import { announcements, NeighborAddresses, ownAddresses, vipFields } from "./compile_addresses.ts";
import { CapacityError } from "./errors.ts";
import { type IfaceInfo, legOf } from "./netinfo.ts";

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

/**
 * Small integer ids handed out for keys. A value is never changed once built:
 * a compile plans a new one and {@link Compiler.adopt} swaps it in.
 */
interface PoolState {
  ids: ReadonlyMap<string, number>;
  /** Ids free for reuse, taken from the end. */
  free: readonly number[];
  /** Every id from here up is unused. */
  next: number;
}

const EMPTY_POOL: PoolState = { ids: new Map(), free: [], next: 0 };

/** A pool's ids for the next program. */
interface Assignment {
  state: PoolState;
  /** Ids that lost their key (their flows or MACs must go). */
  released: number[];
  /** Ids newly given to a key. */
  added: number[];
}

/**
 * Gives each of `keys` (distinct, at most `max` of them: the caller checks)
 * an id, keeping the ids of keys `pool` has. New keys take free ids first,
 * then unused ones, and only then an id this very program releases: the
 * data plane flushes a released id before it runs the program, so reusing it
 * at once is safe, and keeping it for later when others are left makes a
 * flushed id and a new one less easily confused in counters read meanwhile.
 * With that last resort, `max` keys always fit whatever the pool held.
 */
function assign(pool: PoolState, keys: Iterable<string>, max: number): Assignment {
  const ids = new Map<string, number>();
  for (const key of keys) ids.set(key, -1);
  const released: number[] = [];
  for (const [key, id] of pool.ids) if (!ids.has(key)) released.push(id);
  const free = [...pool.free];
  const spare = [...released];
  let next = pool.next;
  const added: number[] = [];
  for (const key of ids.keys()) {
    let id = pool.ids.get(key);
    if (id === undefined) {
      id = free.pop() ?? (next < max ? next++ : spare.pop());
      if (id === undefined) throw new Error(`id pool overflow at ${max}: capacity not checked`);
      added.push(id);
    }
    ids.set(key, id);
  }
  return { state: { ids, free: free.concat(spare), next }, released, added };
}

/** Everything a compile reads and {@link Compiler.adopt} replaces. */
interface CompilerState {
  services: PoolState;
  /** Keyed `serviceKey|ip` (or `serviceKey|fallback`). */
  backends: PoolState;
  /** Keyed by address. */
  neighbors: PoolState;
  generation: number;
  /** VIPs (text) announced by gratuitous ARP or unsolicited NA. */
  announced: ReadonlySet<string>;
  previous: ReadonlyMap<string, RipState>;
  /** Maglev tables in use, by {@link ringKey}: unchanged ones are not built again. */
  rings: ReadonlyMap<string, Uint16Array>;
}

/** What a Maglev table of member indexes depends on: size, members' keys and weights in order. */
function ringKey(members: readonly MaglevBackend[], size: number): string {
  let key = `${size}`;
  for (const m of members) key += ` ${m.key}*${m.weight}`;
  return key;
}

/** Options of a {@link Compiler}. */
export interface CompilerOptions {
  /** Builds a Maglev table; default {@link buildRing}. Tests and benchmarks count its calls. */
  buildRing?: RingSource;
  /** Entries of each Maglev table (a prime); default 65537. */
  ringSize?: number;
}

/** One interface as the data plane's leg. */
function legProgram(iface: IfaceInfo): LegProgram {
  return { mac: parseMac(iface.mac), ...ownAddresses(iface), mtu: iface.mtu };
}

/** What a config asks of each capacity. */
function demand(config: Config): { services: number; backends: number; addresses: number } {
  const addresses = new Set<string>();
  let backends = 0;
  for (const vip of config.vips) {
    for (const rip of vip.rips) addresses.add(rip.ip);
    backends += vip.rips.length;
    if (vip.fallback !== null) {
      addresses.add(vip.fallback);
      backends++;
    }
  }
  const services = new Set(config.vips.map(serviceKey)).size;
  return { services, backends, addresses: addresses.size };
}

/**
 * The data plane's 32-bit scheduling seed from the configuration's 128-bit
 * `hashSeed` (its four words xored); 0, the built-in seed, without one.
 */
export function foldHashSeed(hex: string | undefined): number {
  if (hex === undefined) return 0;
  let seed = 0;
  for (let i = 0; i < 32; i += 8) seed ^= parseInt(hex.slice(i, i + 8), 16);
  return seed | 0;
}

/**
 * Refuses a configuration that asks for more than the data plane holds. The
 * compiler checks it first, and so does an offline edit of the state file,
 * so a document that could never run is not written either.
 * @throws {CapacityError} naming the first limit gone beyond
 */
export function checkCapacity(config: Config): void {
  const asked = demand(config);
  if (asked.services > MAX_SERVICES) {
    throw new CapacityError("virtual services", asked.services, MAX_SERVICES);
  }
  if (asked.backends > MAX_BACKENDS) {
    throw new CapacityError("real server entries", asked.backends, MAX_BACKENDS);
  }
  if (asked.addresses > MAX_NEIGHBORS) {
    throw new CapacityError("distinct real server addresses", asked.addresses, MAX_NEIGHBORS);
  }
}

/**
 * Compiles configurations into programs, keeping ids stable. Transactional:
 * {@link Compiler.compile} only reads the compiler's state, and
 * {@link Compiler.adopt} makes a compile the current one. The daemon compiles,
 * saves the state file, then adopts and publishes; a refusal or a failed save
 * leaves the compiler as it was.
 */
export class Compiler {
  #state: CompilerState = {
    services: EMPTY_POOL,
    backends: EMPTY_POOL,
    neighbors: EMPTY_POOL,
    generation: 0,
    announced: new Set(),
    previous: new Map(),
    rings: new Map(),
  };
  /** Each compile's base state and the state adopting it installs. */
  #plans = new WeakMap<Compiled, { base: CompilerState; next: CompilerState }>();

  #buildRing: RingSource;
  #ringSize: number;

  /** The balancer's interfaces: one, or each leg of a balancer with several. */
  readonly legs: readonly IfaceInfo[];

  /** @param iface the interface, or every leg in `--iface` order */
  constructor(iface: IfaceInfo | readonly IfaceInfo[], options: CompilerOptions = {}) {
    this.legs = "name" in iface ? [iface] : [...iface];
    this.#buildRing = options.buildRing ?? buildRing;
    this.#ringSize = options.ringSize ?? DEFAULT_RING_SIZE;
  }

  /**
   * The neighbour slot of an address in the adopted compile, or -1 when no
   * real server of it has one yet. Never allocates: a slot belongs to an
   * address only while a compile in force uses it (the worker learns MACs only
   * for those), so a health check of a real server not yet compiled sees -1
   * and reports it unresolved until the program that adds it is adopted.
   */
  neighbor(ip: string): number {
    return this.#state.neighbors.ids.get(ip) ?? -1;
  }

  /**
   * Compiles `config`; `conditions` decide each real server's state. Changes
   * nothing: compiling again before {@link adopt} gives the same ids and
   * generation.
   * @throws {CapacityError} when `config` asks for more services, real server
   * entries (fallbacks included) or distinct real server addresses than the
   * data plane holds; checked before anything else.
   */
  compile(config: Config, conditions: RipConditions): Compiled {
    checkCapacity(config);
    const base = this.#state;

    const serviceKeys: string[] = [];
    const backendKeys: string[] = [];
    const addresses: string[] = [];
    for (const vip of config.vips) {
      const key = serviceKey(vip);
      serviceKeys.push(key);
      for (const rip of vip.rips) {
        backendKeys.push(`${key}|${rip.ip}`);
        addresses.push(rip.ip);
      }
      if (vip.fallback !== null) {
        backendKeys.push(`${key}|fallback`);
        addresses.push(vip.fallback);
      }
    }
    const serviceIds = assign(base.services, serviceKeys, MAX_SERVICES);
    const backendIds = assign(base.backends, backendKeys, MAX_BACKENDS);
    const neighborIds = assign(base.neighbors, addresses, MAX_NEIGHBORS);

    const services: ServiceProgram[] = [];
    const rips = new Map<string, CompiledRip>();
    const serviceMap = new Map<string, number>();
    const backendNeighbor = new Int32Array(MAX_BACKENDS).fill(-1);
    const neighborIps = new NeighborAddresses();
    // With several legs, each real server is reached by the leg whose subnet holds it.
    const neighborLeg = this.legs.length > 1 ? new Uint8Array(MAX_NEIGHBORS) : null;
    // A health flap changes one service's weights: only that table is built;
    // every other is the adopted compile's, shared memory and all.
    const rings = new Map<string, Uint16Array>();
    const ringOf: RingSource = (members, size) => {
      const key = ringKey(members, size);
      let ring = rings.get(key) ?? base.rings.get(key);
      if (ring === undefined) ring = this.#buildRing(members, size);
      rings.set(key, ring);
      return ring;
    };
    const compileRip = (
      ripKey: string,
      ip: string,
      forced: RipState | null,
      weight: number,
    ): CompiledRip => {
      const id = backendIds.state.ids.get(ripKey)!;
      const neighbor = neighborIds.state.ids.get(ip)!;
      let state: RipState;
      if (!conditions.adjacent(ip) || !conditions.resolved(neighbor)) state = "unresolved";
      else if (!conditions.healthy(ripKey.slice(0, ripKey.lastIndexOf("|")), ip)) state = "down";
      else state = forced ?? "up";
      const compiled = { id, neighbor, state, effectiveWeight: state === "up" ? weight : 0 };
      rips.set(ripKey, compiled);
      backendNeighbor[id] = neighbor;
      neighborIps.set(neighbor, ip);
      if (neighborLeg !== null) neighborLeg[neighbor] = Math.max(0, legOf(this.legs, ip));
      return compiled;
    };

    for (const vip of config.vips) {
      const key = serviceKey(vip);
      const id = serviceIds.state.ids.get(key)!;
      serviceMap.set(key, id);
      const backends = vip.rips.map((r) => {
        const c = compileRip(`${key}|${r.ip}`, r.ip, r.drain ? "drain" : null, r.weight);
        return { id: c.id, key: r.ip, weight: c.effectiveWeight };
      });
      let fallback = -1;
      if (vip.fallback !== null) {
        const c = compileRip(`${key}|fallback`, vip.fallback, null, 1);
        fallback = c.effectiveWeight > 0 ? c.id : -1;
      }
      services.push({
        id,
        ...vipFields(vip.vip),
        port: vip.port,
        proto: vip.proto === "tcp" ? PROTO_TCP : PROTO_UDP,
        sched: newSchedState(schedulerCode(vip.scheduler), backends, this.#ringSize, ringOf),
        persistMs: vip.persist * 1000,
        fallback,
        ops: vip.ops,
      });
    }

    const flushBackends: number[] = [];
    for (const [key, r] of rips) {
      const before = base.previous.get(key);
      // A server that went down loses its flows, so clients get a fast reset.
      if (r.state === "down" && before !== undefined && before !== "down") {
        flushBackends.push(r.id);
      }
    }
    flushBackends.push(...backendIds.released);
    const vips = new Set(config.vips.map((v) => v.vip));
    // A slot another address used may still hold that address's MAC.
    const forgetNeighbors = [...new Set([...neighborIds.released, ...neighborIds.added])];
    const generation = base.generation + 1;

    const compiled: Compiled = {
      program: {
        generation,
        hashSeed: foldHashSeed(config.hashSeed),
        mac: parseMac(this.legs[0].mac),
        ...ownAddresses(this.legs[0]),
        mtu: this.legs[0].mtu,
        ...neighborLeg !== null ? { legs: this.legs.map(legProgram), neighborLeg } : {},
        services,
        backendNeighbor,
        neighborIps: neighborIps.ips,
        ...neighborIps.ips6 ? { neighborIps6: neighborIps.ips6 } : {},
        timeouts: {
          tcp: config.timeouts.tcp * 1000,
          tcpfin: config.timeouts.tcpfin * 1000,
          udp: config.timeouts.udp * 1000,
        },
        flushBackends,
        flushServices: serviceIds.released,
        forgetNeighbors,
        ...announcements(vips, base.announced),
      },
      rips,
      services: serviceMap,
    };
    this.#plans.set(compiled, {
      base,
      next: {
        services: serviceIds.state,
        backends: backendIds.state,
        neighbors: neighborIds.state,
        generation,
        announced: vips,
        previous: new Map([...rips].map(([k, r]) => [k, r.state])),
        rings,
      },
    });
    return compiled;
  }

  /**
   * Makes `compiled` the compile in force: the ids it gave become owned, the
   * ids it released free, and the next compile follows its generation, VIPs
   * announced and real server states.
   * @throws {Error} when `compiled` is not this compiler's, or another compile
   * was adopted since it was made (a programming error: compile again).
   */
  adopt(compiled: Compiled): void {
    const plan = this.#plans.get(compiled);
    if (!plan) throw new Error("adopt: not a compile of this compiler");
    if (plan.base !== this.#state) {
      throw new Error(
        `adopt: compile of generation ${compiled.program.generation} is stale (generation ${this.#state.generation} was adopted since)`,
      );
    }
    this.#state = plan.next;
  }
}
