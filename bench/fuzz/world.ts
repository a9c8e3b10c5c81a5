/**
 * The fuzzer's configuration: the balancer, its real servers and services,
 * and the changes of program it goes through. Every IPVS scheduler runs a TCP
 * and a UDP service in both families; beside them persistence, one-packet
 * scheduling, a sorry server, a service whose servers all have weight 0 and
 * real servers whose MAC is unknown. Each program is one of a few variants of
 * one base (a server drained, one down and flushed, a VIP removed, standby,
 * routed, --ops turned off, a neighbour forgotten, other timeouts), drawn at
 * random by the run.
 * @module
 */

import { parseIpv4, parseMac } from "../../dataplane/addr.ts";
import {
  buildProgram,
  LB_IP,
  LB_IP6,
  LB_MAC,
  type TestRip,
  type TestService,
  words6,
} from "../../dataplane/_program_builder.ts";
import type { MaglevBackend } from "../../dataplane/maglev.ts";
import { PROTO_TCP, PROTO_UDP } from "../../dataplane/packet.ts";
import {
  buildRing,
  newSchedState,
  SCHED_LC,
  SCHED_MH,
  SCHED_RR,
  SCHED_SH,
  SCHED_WRR,
  SCHEDULER_NAMES,
} from "../../dataplane/scheduler.ts";
import { type LegProgram, MAX_NEIGHBORS, type Program } from "../../dataplane/tables.ts";

/** The balancer's MAC as bytes (its first leg's). */
export const LB_MAC_BYTES: Uint8Array = parseMac(LB_MAC);
/** The interface MTU of the first leg. */
export const MTU = 1500;
/**
 * The balancer's two legs (SPEC §1, `--iface` twice): the first as in every
 * test program, the second with its own MAC, addresses and a smaller MTU;
 * the fourth real server and the sorry server of each family are on it.
 */
export const LEGS: LegProgram[] = [
  { mac: LB_MAC_BYTES, ip: parseIpv4(LB_IP), ip6: words6(LB_IP6), mtu: MTU },
  {
    mac: parseMac("02:00:00:00:00:1a"),
    ip: parseIpv4("198.18.4.10"),
    ip6: words6("2001:2:4::10"),
    mtu: 1400,
  },
];
/** Maglev table size (the smallest prime the SPEC allows). */
export const RING_SIZE = 65537;
/** Timeouts (ms) of the base program: short, so flows expire often in a run. */
export const TIMEOUTS = { tcp: 60_000, tcpfin: 8_000, udp: 20_000 };
const SHORT_TIMEOUTS = { tcp: 30_000, tcpfin: 4_000, udp: 10_000 };

/**
 * One family's real servers: four usable ones (the fourth on the second leg),
 * one whose MAC is not resolved at first, a sorry server (on the second leg).
 */
export interface Family {
  v6: boolean;
  rips: string[];
  dark: string;
  sorry: string;
  /** VIP of the services of scheduler k (k = 0..13); `specialVip(i)` for the others. */
  vip(k: number): string;
  /** Addresses that are no VIP (the balancer's own, a neighbour's, one nearby). */
  notVips: string[];
  /** Client addresses the generator draws from. */
  clients: string[];
}

const clients4 = Array.from({ length: 48 }, (_, i) => `198.19.${i >> 4}.${(i & 15) + 1}`);
const clients6 = Array.from({ length: 48 }, (_, i) => `2001:2:ff::${(i + 1).toString(16)}`);

export const V4: Family = {
  v6: false,
  rips: ["198.18.0.11", "198.18.0.12", "198.18.0.13", "198.18.4.14"],
  dark: "198.18.0.16",
  sorry: "198.18.4.19",
  vip: (k) => `198.18.1.${k + 1}`,
  notVips: ["198.18.0.10", "198.18.4.10", "198.18.0.11", "198.18.1.99", "198.18.1.0"],
  clients: clients4,
};

export const V6: Family = {
  v6: true,
  rips: ["2001:2::11", "2001:2::12", "2001:2::13", "2001:2:4::14"],
  dark: "2001:2::16",
  sorry: "2001:2:4::19",
  vip: (k) => `2001:2::1:${(k + 1).toString(16)}`,
  notVips: ["2001:2::10", "2001:2:4::10", "2001:2::11", "2001:2::1:99", "2001:2::1:0"],
  clients: clients6,
};

/** The MAC a real server answers with at first (the generator may teach others). */
export function ripMac(ip: string): string {
  const last = ip.split(/[.:]/).pop()!;
  const n = parseInt(last, ip.includes(":") ? 16 : 10) & 255;
  return `02:00:00:00:${ip.includes(":") ? "06" : "04"}:${n.toString(16).padStart(2, "0")}`;
}

/** How the base program is changed; each drawn on its own for every new program. */
export interface Variant {
  /** The second real server has weight 0 everywhere (drain: flows continue). */
  drain: boolean;
  /** The third is down: weight 0, and its flows flushed when it goes down. */
  down: boolean;
  standby: boolean;
  routed: boolean;
  /** The VIPs of scheduler 5 (mh) are removed: their services flushed. */
  removeVip: boolean;
  /** One-packet scheduling turned off on the UDP service that has it. */
  opsOff: boolean;
  /** The first real server's neighbour slot forgotten (a new address took it). */
  forget: boolean;
  shortTimeouts: boolean;
  /** A longer persistence timeout on the persistent TCP service. */
  longPersist: boolean;
}

/** The base: nothing changed. */
export const BASE: Variant = {
  drain: false,
  down: false,
  standby: false,
  routed: false,
  removeVip: false,
  opsOff: false,
  forget: false,
  shortTimeouts: false,
  longPersist: false,
};

/** The changes a variant can make, in a fixed order. */
export const CHANGES = Object.keys(BASE) as (keyof Variant)[];

/** A variant with each change drawn with probability `p` (from `draw`, a number in [0, 1)). */
export function drawVariant(draw: () => number, p = 0.25): Variant {
  const v = { ...BASE };
  for (const key of CHANGES) v[key] = draw() < p;
  return v;
}

/** The services of one family; service ids start at `base`, backend ids at `base * 8`. */
function familyServices(f: Family, base: number, v: Variant): TestService[] {
  const out: TestService[] = [];
  let id = base;
  const rip = (service: number, i: number, ip: string, weight: number): TestRip => {
    const w = (ip === f.rips[1] && v.drain) || (ip === f.rips[2] && v.down) ? 0 : weight;
    return { id: service * 8 + i, ip, mac: ripMac(ip), weight: w };
  };
  const add = (s: Omit<TestService, "id" | "rips">, rips: [string, number][], sorry = false) => {
    const sid = id++;
    const service: TestService = {
      ...s,
      id: sid,
      rips: rips.map(([ip, w], i) => rip(sid, i, ip, w)),
    };
    if (sorry) service.fallback = { id: sid * 8 + 7, ip: f.sorry, mac: ripMac(f.sorry) };
    // Ids stay as they are when a VIP is removed, as the control plane keeps them.
    if (!(v.removeVip && s.vip === f.vip(SCHED_MH))) out.push(service);
  };
  const r = f.rips;
  SCHEDULER_NAMES.forEach((_, k) => {
    const three = [0, 1, 2].map((i) => r[(i + k) % 4]);
    add({ vip: f.vip(k), port: 80, proto: PROTO_TCP, sched: k }, [
      [three[0], 1 + (k % 3)],
      [three[1], 2],
      [three[2], 3 - (k % 3)],
    ]);
    add({ vip: f.vip(k), port: k % 2 ? 0 : 53, proto: PROTO_UDP, sched: k }, [
      [r[(k + 1) % 4], 2],
      [r[(k + 3) % 4], 1],
    ]);
  });
  const special = f.vip(20);
  const all: [string, number][] = [[r[0], 1], [r[1], 1], [r[2], 1]];
  add({ vip: special, port: 80, sched: SCHED_RR, persistMs: v.longPersist ? 45_000 : 20_000 }, all);
  add({ vip: special, port: 0, proto: PROTO_UDP, sched: SCHED_RR, ops: !v.opsOff }, all);
  add(
    { vip: special, port: 53, proto: PROTO_UDP, sched: SCHED_MH, ops: true, persistMs: 10_000 },
    [[r[3], 1], [r[0], 2]],
  );
  const sorry = f.vip(21);
  add({ vip: sorry, port: 80, sched: SCHED_MH }, [[r[0], 0], [r[1], 0]], true);
  add({ vip: sorry, port: 81, sched: SCHED_WRR }, [[r[2], 0], [r[3], 0]]);
  add({ vip: sorry, port: 0, proto: PROTO_UDP, sched: SCHED_SH }, [[f.dark, 1]]);
  add({ vip: sorry, port: 0, sched: SCHED_LC }, [[r[0], 1], [f.dark, 1]]);
  return out;
}

/** Every service of a variant, IPv4 first (ids from 0) then IPv6 (ids from 64). */
export function worldServices(v: Variant): TestService[] {
  return [...familyServices(V4, 0, v), ...familyServices(V6, 64, v)];
}

const rings = new Map<string, Uint16Array>();
const slots = new Map<string, number>();

/** Maglev tables are the costly part of a program: one per distinct member list, kept. */
function cachedRing(members: readonly MaglevBackend[], size: number): Uint16Array {
  const key = `${size}|${members.map((m) => `${m.key}/${m.weight}`).join(",")}`;
  let ring = rings.get(key);
  if (ring === undefined) rings.set(key, ring = buildRing(members, size));
  return ring;
}

/**
 * Builds the program of `v` after `previous` (null: the first): what went
 * down since is flushed, the VIP removed since has its services flushed, and
 * `forget` clears the first real server's neighbour slot; two legs, and the
 * run's scheduling `hashSeed`. Call it where `crypto.getRandomValues` is
 * seeded (twos draws its state from it).
 */
export function buildVariant(
  v: Variant,
  previous: Variant | null,
  o: { generation: number; hashSeed: number },
): Program {
  const services = worldServices(v);
  const program = buildProgram({
    generation: o.generation,
    mtu: MTU,
    timeouts: v.shortTimeouts ? SHORT_TIMEOUTS : TIMEOUTS,
    standby: v.standby,
    routed: v.routed,
    // The schedulers are made below, with the shared Maglev tables.
    services: services.map((s) => ({ ...s, sched: SCHED_RR })),
  });
  program.services.forEach((s, i) => {
    const t = services[i];
    const backends = t.rips.map((r) => ({ id: r.id, key: r.ip, weight: r.weight ?? 1 }));
    s.sched = newSchedState(t.sched ?? SCHED_MH, backends, RING_SIZE, cachedRing);
  });
  program.hashSeed = o.hashSeed;
  program.legs = LEGS;
  const legs = new Uint8Array(MAX_NEIGHBORS);
  for (const f of [V4, V6]) {
    for (const ip of [f.rips[3], f.sorry]) legs[slotOf(program, ip)] = 1;
  }
  program.neighborLeg = legs;
  if (previous !== null) {
    const before = worldServices(previous);
    const ids = new Set(services.map((s) => s.id));
    program.flushServices = before.filter((s) => !ids.has(s.id)).map((s) => s.id);
    if (v.down && !previous.down) {
      program.flushBackends = services.flatMap((s) =>
        s.rips.filter((r) => r.ip === V4.rips[2] || r.ip === V6.rips[2]).map((r) => r.id)
      );
    }
  }
  // Neighbour slots follow the order addresses first appear in, which no variant changes.
  for (const f of [V4, V6]) {
    for (const ip of [...f.rips, f.dark, f.sorry]) {
      const slot = slotOf(program, ip);
      const seen = slots.get(ip) ?? slot;
      if (slot !== seen) throw new Error(`fuzz world: ${ip} moved to another neighbour slot`);
      slots.set(ip, slot);
    }
  }
  if (v.forget) {
    program.forgetNeighbors = services.flatMap((s) =>
      s.rips.filter((r) => r.ip === V4.rips[0] || r.ip === V6.rips[0])
        .map((r) => program.backendNeighbor[r.id])
    ).filter((slot, i, all) => all.indexOf(slot) === i);
  }
  return program;
}

/** Every real server address whose MAC is known from the start (the dark ones are not). */
export function initialNeighbors(): string[] {
  return [V4, V6].flatMap((f) => [...f.rips, f.sorry]);
}

/** The neighbour slot of `ip` in `program`, or -1. */
export function slotOf(program: Program, ip: string): number {
  const services = worldServices(BASE);
  for (const s of services) {
    for (const r of [...s.rips, ...(s.fallback ? [s.fallback] : [])]) {
      if (r.ip === ip && program.backendNeighbor[r.id] >= 0) return program.backendNeighbor[r.id];
    }
  }
  return -1;
}

/** Every VIP of the world, by family. */
export function worldVips(f: Family): string[] {
  return [...new Set(familyServices(f, f.v6 ? 64 : 0, BASE).map((s) => s.vip))];
}

/** Backend ids the world uses (for comparing connection counts). */
export function worldBackendIds(): number[] {
  const ids = new Set<number>();
  for (const s of worldServices(BASE)) {
    for (const r of s.rips) ids.add(r.id);
    if (s.fallback) ids.add(s.fallback.id);
  }
  return [...ids].sort((a, b) => a - b);
}
