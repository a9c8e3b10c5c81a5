/**
 * Test-only builder of data-plane {@link Program}s, written without the
 * control plane's compiler: services, real servers and their neighbour slots
 * are spelled out, and `resolve` marks a real server's MAC as known in the
 * shared tables the way the worker would after an ARP reply. An address with
 * a colon is IPv6.
 * @module
 */

import { parseIpv4, parseMac } from "./addr.ts";
import { ipv6Words, parseIpv6 } from "./addr6.ts";
import { PROTO_TCP } from "./packet.ts";
import { newSchedState, SCHED_MH } from "./scheduler.ts";
import { MAX_BACKENDS, MAX_NEIGHBORS, type Program, type SharedTables } from "./tables.ts";

/** A real server: backend id, address, MAC and (default 1) weight. */
export interface TestRip {
  id: number;
  ip: string;
  mac: string;
  weight?: number;
}

/** A virtual service; `sched` defaults to mh, `proto` to TCP. */
export interface TestService {
  id: number;
  vip: string;
  port: number;
  proto?: number;
  sched?: number;
  rips: TestRip[];
  persistMs?: number;
  fallback?: TestRip;
  /** One-packet scheduling; default false. */
  ops?: boolean;
}

/** Everything else in a program; addresses as text. */
export interface TestProgram {
  services: TestService[];
  generation?: number;
  mac?: string;
  ip?: string;
  mtu?: number;
  timeouts?: Program["timeouts"];
  flushBackends?: number[];
  flushServices?: number[];
  forgetNeighbors?: number[];
  garp?: string[];
  /** The balancer's IPv6 address; default LB_IP6. */
  ip6?: string;
  /** IPv6 VIPs to announce with an unsolicited Neighbor Advertisement. */
  garp6?: string[];
  standby?: boolean;
  routed?: boolean;
}

/** The balancer's MAC and address in every test program unless overridden. */
export const LB_MAC = "02:00:00:00:00:0a";
export const LB_IP = "198.18.0.10";
export const LB_IP6 = "2001:2::10";

/** Builds a program; each distinct real server address gets the next neighbour slot. */
export function buildProgram(o: TestProgram): Program {
  const backendNeighbor = new Int32Array(MAX_BACKENDS).fill(-1);
  const neighborIps = new Uint32Array(MAX_NEIGHBORS);
  let neighborIps6: Int32Array | undefined;
  const slots = new Map<string, number>();
  const place = (rip: TestRip) => {
    let slot = slots.get(rip.ip);
    if (slot === undefined) {
      slot = slots.size;
      slots.set(rip.ip, slot);
      if (rip.ip.includes(":")) {
        neighborIps6 ??= new Int32Array(MAX_NEIGHBORS * 4);
        neighborIps6.set(words6(rip.ip), slot * 4);
      } else neighborIps[slot] = parseIpv4(rip.ip);
    }
    backendNeighbor[rip.id] = slot;
  };
  const services = o.services.map((s) => {
    s.rips.forEach(place);
    if (s.fallback) place(s.fallback);
    const backends = s.rips.map((r) => ({ id: r.id, key: r.ip, weight: r.weight ?? 1 }));
    return {
      id: s.id,
      vip: s.vip.includes(":") ? 0 : parseIpv4(s.vip),
      ...s.vip.includes(":") ? { vip6: words6(s.vip) } : {},
      port: s.port,
      proto: s.proto ?? PROTO_TCP,
      sched: newSchedState(s.sched ?? SCHED_MH, backends, 65537),
      persistMs: s.persistMs ?? 0,
      fallback: s.fallback?.id ?? -1,
      ops: s.ops ?? false,
    };
  });
  return {
    generation: o.generation ?? 1,
    mac: parseMac(o.mac ?? LB_MAC),
    ip: parseIpv4(o.ip ?? LB_IP),
    mtu: o.mtu ?? 1500,
    services,
    backendNeighbor,
    neighborIps,
    ...neighborIps6 ? { neighborIps6 } : {},
    timeouts: o.timeouts ?? { tcp: 900_000, tcpfin: 120_000, udp: 300_000 },
    flushBackends: o.flushBackends ?? [],
    flushServices: o.flushServices ?? [],
    forgetNeighbors: o.forgetNeighbors ?? [],
    garp: (o.garp ?? []).map(parseIpv4),
    ip6: words6(o.ip6 ?? LB_IP6),
    garp6: (o.garp6 ?? []).map(words6),
    standby: o.standby ?? false,
    routed: o.routed ?? false,
  };
}

/** The four words of IPv6 text. */
export function words6(text: string): Int32Array {
  return ipv6Words(parseIpv6(text));
}

/** Whether `program` has `rip` (its id, at its address). */
export function hasRip(program: Program, rip: TestRip): boolean {
  const slot = program.backendNeighbor[rip.id];
  if (slot < 0) return false;
  if (!rip.ip.includes(":")) return program.neighborIps[slot] === parseIpv4(rip.ip);
  const w = words6(rip.ip);
  const have = program.neighborIps6?.subarray(slot * 4, slot * 4 + 4);
  return have !== undefined && have.every((x, i) => x === w[i]);
}

/**
 * Marks `rip`'s neighbour slot in `program` as resolved to its MAC, confirmed at `seen`.
 * @throws {RangeError} when the program has no such real server.
 */
export function resolve(
  shared: SharedTables,
  program: Program,
  rip: TestRip,
  seen: number = Date.now(),
): void {
  if (!hasRip(program, rip)) throw new RangeError(`no real server ${rip.ip} as id ${rip.id}`);
  const slot = program.backendNeighbor[rip.id];
  shared.neighborMacs.set(parseMac(rip.mac), slot * 8);
  shared.neighborSeen[slot] = seen;
}
