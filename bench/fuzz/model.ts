/**
 * The reference model of the data plane: given the program in force, the
 * frames so far and one frame, what the balancer must do with it: forward it
 * to which real server, answer it (ARP, NDP, echo), drop it (and why) or
 * leave it alone. Written from SPEC §1, §2 and §12 and the README's choices
 * where the SPEC is silent, in plain code over Maps, independent of the
 * forwarder's parser, flow table and fragment table. It shares with the data
 * plane only what defines the chosen server: the scheduler state the program
 * carries (cloned, so the model's picks move its own copy), `pick` and the
 * hash functions. When a flow is new, sticky, persistent, a fragment of a
 * known datagram or expired, the model decides on its own.
 *
 * What it does not model, the fuzzer keeps clear of: a full flow table or
 * persistence table (eviction of the least recently used), checked by
 * {@link ReferenceModel.assertRoom}, and DR-path probes (none is pending, so
 * a probe's answer is just a frame for no VIP). The fragment table is
 * direct-mapped (a datagram may be overwritten by another that hashes to its
 * slot): the harness tolerates a later fragment dropped for that, and only that.
 * @module
 */

import { hashAddr, hashAddr6, hashFlow, hashFlow6 } from "../../dataplane/hash.ts";
import {
  inheritSchedState,
  pick,
  SCHED_MH,
  SCHED_SH,
  type SchedState,
} from "../../dataplane/scheduler.ts";
import type { LegProgram, Program, ServiceProgram } from "../../dataplane/tables.ts";
import {
  checksum,
  type FrameFacts,
  hex16,
  icmp6Checksum,
  type IpFacts,
  readFrame,
} from "./model_frame.ts";

/** How long a datagram's later fragments follow its first (README: 30 s, Linux's ipfrag_time). */
export const FRAGMENT_FOLLOW_MS = 30_000;
/** Persistence entries one service holds before evicting (the model stays below). */
export const PERSIST_ROOM = 65_536;

/** What the balancer must do with one frame. */
export type Verdict = "forward" | "reply" | "drop" | "ignore";

/** The model's decision. */
export interface Outcome {
  verdict: Verdict;
  /**
   * forward: how the server was found (`flow`, `new`, `fragment`, `pmtu`);
   * reply: `arp`, `na`, `echo`, `echo6`;
   * drop: the counter (`malformed`, `noService`, `noBackend`, `fragment`, `oversize`,
   * `standby`, `icmpNoFlow`); ignore: `otherMac` or `notOurs`.
   */
  reason: string;
  /** The malformed reason (README names) when reason is `malformed`. */
  malformed: string | null;
  /** forward: backend id, service id, the MAC the frame must go to, the leg it leaves by and its MAC. */
  backend: number;
  service: number;
  mac: Uint8Array | null;
  leg: number;
  from: Uint8Array | null;
  /** reply: why the frame in tx is not the right answer, or null. */
  checkReply: ((reply: Uint8Array) => string | null) | null;
  /** Claims of a VIP by another MAC this frame shows (ARP or NA). */
  claims: number;
  /** The fragment entry a later fragment followed, for the harness's one tolerance. */
  followed: FragmentEntry | null;
}

/** A remembered first fragment. */
export interface FragmentEntry {
  key: string;
  v6: boolean;
  service: number;
  backend: number;
  /** When it was remembered (ms) and its place in the order of remembering. */
  at: number;
  order: number;
}

interface Flow {
  service: number;
  backend: number;
  state: State;
  expires: number;
}

interface Persisted {
  backend: number;
  expires: number;
}

type State = "syn" | "established" | "fin" | "close" | "udp";

interface Service {
  p: ServiceProgram;
  v6: boolean;
  /** IPv4 number or IPv6 hex. */
  vip: number | string;
  /** The model's own copy of the scheduler state. */
  sched: SchedState;
}

const TCP = 6;
const UDP = 17;
const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;

const NONE: Omit<Outcome, "verdict" | "reason"> = {
  malformed: null,
  backend: -1,
  service: -1,
  mac: null,
  leg: -1,
  from: null,
  checkReply: null,
  claims: 0,
  followed: null,
};

function outcome(verdict: Verdict, reason: string, more: Partial<Outcome> = {}): Outcome {
  return { ...NONE, verdict, reason, ...more };
}

/** A copy of a scheduler state whose mutable parts (cursor, weights, random state, locality) are its own. */
function cloneSched(s: SchedState): SchedState {
  return { ...s, scratch: s.scratch.slice(), locality: s.locality.slice() };
}

/** The TCP state a flow starts in (README: a flow first seen mid-stream is established). */
function firstState(flags: number): State {
  if (flags & RST) return "close";
  if (flags & FIN) return "fin";
  if ((flags & SYN) && !(flags & ACK)) return "syn";
  return "established";
}

/** The client side of TCP as IPVS tracks it in DR mode. */
function nextState(state: State, flags: number): State {
  if (flags & RST) return "close";
  if (flags & FIN) return "fin";
  if ((flags & SYN) && !(flags & ACK)) {
    // A new SYN on a closing connection starts it again.
    return state === "fin" || state === "close" ? "syn" : state;
  }
  if (state === "syn" && (flags & ACK)) return "established";
  return state;
}

const sameBytes = (a: Uint8Array, at: number, b: Uint8Array) =>
  [0, 1, 2, 3, 4, 5].every((i) => a[at + i] === b[i]);

/** The reference model; feed it programs with `load` and frames with `decide`, in order. */
export class ReferenceModel {
  program: Program | null = null;
  /** Established flows per backend id, and the rest (IPVS ActiveConn / InActConn). */
  readonly active: Int32Array;
  readonly inactive: Int32Array;
  readonly flows = new Map<string, Flow>();
  readonly persist = new Map<number, Map<string, Persisted>>();
  readonly fragments = new Map<string, FragmentEntry>();
  /** The order number of the last first fragment remembered, per family. */
  readonly lastRemembered = { v4: -1, v6: -1 };
  #order = 0;
  #services: Service[] = [];
  #byId = new Map<number, Service>();
  #vips4 = new Set<number>();
  #vips6 = new Set<string>();
  /** Neighbour slot → the MAC learnt for it (null: unknown); address → slot. */
  #macs = new Map<number, Uint8Array | null>();
  #slot4 = new Map<number, number>();
  #slot6 = new Map<string, number>();
  #usable = new Set<number>();
  /** The balancer's legs (one unless the program has several), and each neighbour slot's. */
  #legs: LegProgram[] = [];
  #legOf: (slot: number) => number = () => 0;
  /** The scheduling hash seed of the program. */
  #seed = 0;

  constructor(backends: number) {
    this.active = new Int32Array(backends);
    this.inactive = new Int32Array(backends);
  }

  /** The MAC of neighbour `slot` is known to be `mac` (the worker's ARP resolution). */
  learn(slot: number, mac: Uint8Array): void {
    this.#macs.set(slot, mac.slice());
  }

  /** Whether the MAC of the neighbour slot is known. */
  resolved(slot: number): boolean {
    return (this.#macs.get(slot) ?? null) !== null;
  }

  /**
   * Takes a new program, as SPEC §2 and the README say a change acts: a
   * flushed real server loses its flows and persistence, a flushed service
   * its flows, a forgotten neighbour its MAC; turning --ops on drops the
   * service's flows; lblc/lblcr keep what they learnt unless the service was
   * flushed. Call it before the forwarder loads the same program.
   */
  load(program: Program): void {
    for (const slot of program.forgetNeighbors) this.#macs.set(slot, null);
    const flushedBackends = new Set(program.flushBackends);
    const flushedServices = new Set(program.flushServices);
    for (const [key, flow] of this.flows) {
      if (flushedBackends.has(flow.backend) || flushedServices.has(flow.service)) {
        this.#dropFlow(key, flow);
      }
    }
    for (const table of this.persist.values()) {
      for (const [client, p] of table) if (flushedBackends.has(p.backend)) table.delete(client);
    }
    for (const id of flushedBackends) this.active[id] = this.inactive[id] = 0;
    for (const id of flushedServices) this.persist.delete(id);
    const services: Service[] = program.services.map((p) => ({
      p,
      v6: p.vip6 !== undefined,
      vip: p.vip6 !== undefined ? wordsHex(p.vip6) : p.vip >>> 0,
      sched: cloneSched(p.sched),
    }));
    for (const s of services) {
      const before = this.#byId.get(s.p.id);
      if (before === undefined || flushedServices.has(s.p.id)) continue;
      inheritSchedState(before.sched, s.sched);
      if (s.p.ops && !before.p.ops) {
        for (const [key, flow] of this.flows) {
          if (flow.service === s.p.id) this.#dropFlow(key, flow);
        }
      }
    }
    for (const s of services) {
      if (s.p.persistMs > 0 && !this.persist.has(s.p.id)) this.persist.set(s.p.id, new Map());
      if (s.p.persistMs === 0) this.persist.delete(s.p.id);
    }
    this.#services = services;
    this.#byId = new Map(services.map((s) => [s.p.id, s]));
    this.#vips4 = new Set(services.filter((s) => !s.v6).map((s) => s.vip as number));
    this.#vips6 = new Set(services.filter((s) => s.v6).map((s) => s.vip as string));
    this.#slot4 = new Map();
    this.#slot6 = new Map();
    program.neighborIps.forEach((ip, slot) => {
      if (ip !== 0) this.#slot4.set(ip >>> 0, slot);
    });
    const ips6 = program.neighborIps6;
    for (let slot = 0; ips6 !== undefined && slot * 4 < ips6.length; slot++) {
      const w = ips6.subarray(slot * 4, slot * 4 + 4);
      if (w.some((x) => x !== 0)) this.#slot6.set(wordsHex(w), slot);
    }
    this.#usable = new Set();
    for (const s of services) {
      s.p.sched.ids.forEach((id, i) => {
        if (s.p.sched.weights[i] > 0) this.#usable.add(id);
      });
    }
    this.#legs = program.legs !== undefined && program.legs.length > 0
      ? program.legs
      : [{ mac: program.mac, ip: program.ip, mtu: program.mtu }];
    const legOf = program.neighborLeg;
    this.#legOf = legOf === undefined ? () => 0 : (slot) => legOf[slot];
    this.#seed = (program.hashSeed ?? 0) | 0;
    this.program = program;
  }

  /** Removes the flows and persistence entries that expired by `now` (the once-a-second sweep). */
  sweep(now: number): void {
    for (const [key, flow] of this.flows) if (now >= flow.expires) this.#dropFlow(key, flow);
    for (const table of this.persist.values()) {
      for (const [client, p] of table) if (now >= p.expires) table.delete(client);
    }
  }

  /**
   * Throws when the tables reach a size where the data plane would evict:
   * the model does not decide eviction, so the fuzzer must stay below.
   */
  assertRoom(maxFlows: number): void {
    if (this.flows.size >= maxFlows) {
      throw new Error(`fuzz configuration: ${this.flows.size} flows reach maxFlows ${maxFlows}`);
    }
    for (const [id, table] of this.persist) {
      if (table.size >= PERSIST_ROOM) {
        throw new Error(`fuzz configuration: service ${id} persists ${table.size} clients`);
      }
    }
  }

  /**
   * Decides what happens to `frame` (exactly its bytes) received on `leg` at
   * `now` (ms), and updates the model's state. SPEC §1: a frame is the
   * balancer's when addressed to the MAC of the leg it came in on; answers
   * leave from that MAC.
   */
  decide(frame: Uint8Array, now: number, leg = 0): Outcome {
    const program = this.program;
    if (program === null) throw new Error("the model has no program");
    const inMac = (this.#legs[leg] ?? this.#legs[0]).mac;
    const facts = readFrame(frame, inMac);
    if (facts.short) return outcome("drop", "malformed", { malformed: "truncated" });
    // SPEC §1: only the balancer's MAC, broadcast for ARP and the NDP multicasts for IPv6.
    if (
      facts.to === "other" ||
      (facts.to === "broadcast" && facts.etherType !== 0x0806) ||
      (facts.to === "ndpMulticast" && facts.etherType !== 0x86dd)
    ) return outcome("ignore", "otherMac");
    if (facts.malformed !== null) {
      return outcome("drop", "malformed", { malformed: facts.malformed });
    }
    if (facts.kind === "arp") return this.#arp(frame, facts, program, leg, inMac);
    const ip = facts.ip;
    if (ip === null) return outcome("ignore", "notOurs");
    if (ip.v6 && ip.proto === 58 && ip.icmp && (ip.icmp.type === 135 || ip.icmp.type === 136)) {
      return this.#ndp(frame, ip, program, leg, inMac);
    }
    if (facts.to === "ndpMulticast") return outcome("ignore", "otherMac");
    if (!(ip.v6 ? this.#vips6.has(ip.dst as string) : this.#vips4.has(ip.dst as number))) {
      return outcome("ignore", "notOurs");
    }
    if (program.standby) return outcome("drop", "standby");
    const echo = ip.icmp !== null && ip.icmp.type === (ip.v6 ? 128 : 8);
    if (echo && !ip.fragment) return this.#echo(frame, ip, inMac);
    const tooBig = ip.icmp !== null &&
      (ip.v6 ? ip.icmp.type === 2 : ip.icmp.type === 3 && ip.icmp.code === 4);
    if (tooBig && !ip.fragment) return this.#pathMtu(frame, ip, program);
    // A fragment without ports (a later one, or the first of a protocol without any) can
    // only follow a datagram whose first fragment was seen.
    if (ip.fragment && ip.ports === null) return this.#laterFragment(frame, ip, program, now);
    const service = ip.ports === null ? null : this.#find(ip, ip.ports.dst);
    if (service === null) return outcome("drop", "noService");
    const found = this.#backendOf(service, ip, now);
    if (found.backend < 0) return outcome("drop", "noBackend");
    if (ip.fragment) this.#remember(ip, service.p.id, found.backend, now);
    return this.#send(frame, program, service.p.id, found.backend, found.how);
  }

  /** The forward of a frame to `backend`, unless its MAC is unknown or the frame is above the MTU. */
  #send(
    frame: Uint8Array,
    program: Program,
    service: number,
    backend: number,
    how: string,
  ): Outcome {
    const slot = program.backendNeighbor[backend];
    const mac = slot >= 0 ? this.#macs.get(slot) ?? null : null;
    if (mac === null) return outcome("drop", how === "pmtu" ? "icmpNoFlow" : "noBackend");
    // It leaves by the leg of the real server's subnet, from that leg's MAC, within its MTU.
    const leg = this.#legOf(slot);
    const out = this.#legs[leg];
    if (frame.length - 14 > out.mtu) return outcome("drop", "oversize");
    return outcome("forward", how, { backend, service, mac, leg, from: out.mac });
  }

  /** The service of a packet to its VIP, port and protocol: the exact port first, then the VIP's all-ports one. */
  #find(ip: IpFacts, port: number): Service | null {
    let wildcard: Service | null = null;
    for (const s of this.#services) {
      if (s.v6 !== ip.v6 || s.vip !== ip.dst || s.p.proto !== ip.proto) continue;
      if (s.p.port === port) return s;
      if (s.p.port === 0) wildcard ??= s;
    }
    return wildcard;
  }

  /** The backend of the packet's flow: the flow's, or a new flow's (scheduled), or -1. */
  #backendOf(service: Service, ip: IpFacts, now: number): { backend: number; how: string } {
    const ports = ip.ports!;
    if (service.p.ops) return { backend: this.#schedule(service, ip, now), how: "new" };
    const key = `${service.p.id}|${ip.src}|${ports.src}|${ports.dst}`;
    const tcp = ip.proto === TCP;
    const flow = this.flows.get(key);
    if (flow !== undefined) {
      const state = tcp ? nextState(flow.state, ports.flags) : "udp";
      this.#count(flow.backend, flow.state, -1);
      this.#count(flow.backend, state, +1);
      flow.state = state;
      flow.expires = now + this.#timeout(state);
      return { backend: flow.backend, how: "flow" };
    }
    const backend = this.#schedule(service, ip, now);
    if (backend < 0) return { backend, how: "new" };
    const state = tcp ? firstState(ports.flags) : "udp";
    this.flows.set(key, {
      service: service.p.id,
      backend,
      state,
      expires: now + this.#timeout(state),
    });
    this.#count(backend, state, +1);
    return { backend, how: "new" };
  }

  /** SPEC §2: the client's persistent server if it may take flows, else the scheduler, else the fallback. */
  #schedule(service: Service, ip: IpFacts, now: number): number {
    const table = service.p.persistMs > 0 ? this.persist.get(service.p.id) : undefined;
    const client = String(ip.src);
    if (table !== undefined) {
      const held = table.get(client);
      if (held !== undefined && this.#usable.has(held.backend)) {
        held.expires = now + service.p.persistMs;
        return held.backend;
      }
      table.delete(client);
    }
    const ports = ip.ports!;
    let backend = pick(
      service.sched,
      this.#flowHash(ip, ports.src, ports.dst, ip.proto, ip.src, ip.dst),
      ip.v6 ? hashAddr6(ip.srcWords, 0, this.#seed) : hashAddr(ip.src as number, this.#seed),
      this.active,
      this.inactive,
      ip.v6 ? hashAddr6(ip.dstWords, 0, this.#seed) : hashAddr(ip.dst as number, this.#seed),
      now | 0,
    );
    if (backend < 0) backend = service.p.fallback;
    if (backend >= 0 && table !== undefined) {
      table.set(client, { backend, expires: now + service.p.persistMs });
    }
    return backend;
  }

  #flowHash(
    ip: IpFacts,
    srcPort: number,
    dstPort: number,
    proto: number,
    src: number | string,
    dst: number | string,
  ): number {
    if (!ip.v6) return hashFlow(src as number, srcPort, dst as number, dstPort, proto, this.#seed);
    return hashFlow6({
      src6: hexWords(src as string),
      dst6: hexWords(dst as string),
      srcPort,
      dstPort,
      protocol: proto,
    }, this.#seed);
  }

  /** Idle timeout of a flow in `state`: established `tcp`, UDP `udp`, any other TCP state `tcpfin`. */
  #timeout(state: State): number {
    const t = this.program!.timeouts;
    return state === "established" ? t.tcp : state === "udp" ? t.udp : t.tcpfin;
  }

  #count(backend: number, state: State, by: number): void {
    if (state === "established") this.active[backend] += by;
    else this.inactive[backend] += by;
  }

  #dropFlow(key: string, flow: Flow): void {
    this.flows.delete(key);
    this.#count(flow.backend, flow.state, -1);
  }

  #fragmentKey(ip: IpFacts): string {
    // IPv6 identifies a datagram by addresses and identification (RFC 8200); IPv4 adds the protocol.
    return ip.v6 ? `6|${ip.src}|${ip.dst}|${ip.id}` : `4|${ip.src}|${ip.dst}|${ip.id}|${ip.proto}`;
  }

  #remember(ip: IpFacts, service: number, backend: number, now: number): void {
    const key = this.#fragmentKey(ip);
    const order = this.#order++;
    this.fragments.set(key, { key, v6: ip.v6, service, backend, at: now, order });
    if (ip.v6) this.lastRemembered.v6 = order;
    else this.lastRemembered.v4 = order;
  }

  /** SPEC §1: all fragments of a datagram reach one real server: the first fragment's. */
  #laterFragment(frame: Uint8Array, ip: IpFacts, program: Program, now: number): Outcome {
    const entry = this.fragments.get(this.#fragmentKey(ip));
    if (entry === undefined || now - entry.at > FRAGMENT_FOLLOW_MS) {
      return outcome("drop", "fragment");
    }
    // The datagram's service must still exist; its server is the one the first fragment got.
    if (!this.#byId.has(entry.service)) return outcome("drop", "fragment", { followed: entry });
    const sent = this.#send(frame, program, entry.service, entry.backend, "fragment");
    sent.followed = entry;
    return sent;
  }

  /** Whether the six bytes at `b[at]` are the MAC of one of the balancer's legs (then no claim). */
  #ownMac(b: Uint8Array, at: number): boolean {
    return this.#legs.some((leg) => sameBytes(b, at, leg.mac));
  }

  /** Forgets a remembered datagram (the harness saw the data plane's table lose it). */
  forgetFragment(entry: FragmentEntry): void {
    if (this.fragments.get(entry.key) === entry) this.fragments.delete(entry.key);
  }

  /**
   * Path MTU discovery (README): an ICMP "fragmentation needed" or ICMPv6
   * "packet too big" to a VIP embeds a reply VIP:port → client:port; it goes
   * to that flow's server, or, for a flow not held, to where mh or sh would
   * place it; anything else is icmpNoFlow. The flow is not touched.
   */
  #pathMtu(frame: Uint8Array, ip: IpFacts, program: Program): Outcome {
    const inner = ip.l4 + 8;
    const end = ip.end;
    let proto: number, client: number | string, vip: number | string, at: number;
    if (!ip.v6) {
      if (inner + 20 > end || frame[inner] >> 4 !== 4) return outcome("drop", "icmpNoFlow");
      const ihl = (frame[inner] & 15) * 4;
      at = inner + ihl;
      if (ihl < 20 || at + 8 > end) return outcome("drop", "icmpNoFlow");
      proto = frame[inner + 9];
      vip = u32(frame, inner + 12);
      client = u32(frame, inner + 16);
    } else {
      at = inner + 40;
      if (at + 8 > end || frame[inner] >> 4 !== 6) return outcome("drop", "icmpNoFlow");
      proto = frame[inner + 6];
      vip = hex16(frame, inner + 8);
      client = hex16(frame, inner + 24);
    }
    // The reply left from the VIP the error came back to.
    if (vip !== ip.dst) return outcome("drop", "icmpNoFlow");
    const vipPort = u16(frame, at);
    const clientPort = u16(frame, at + 2);
    const probe: IpFacts = { ...ip, proto, src: client, dst: vip };
    const service = proto === TCP || proto === UDP ? this.#find(probe, vipPort) : null;
    if (service === null) return outcome("drop", "icmpNoFlow");
    const flow = this.flows.get(`${service.p.id}|${client}|${clientPort}|${vipPort}`);
    let backend = flow?.backend ?? -1;
    const kind = service.sched.kind;
    if (flow === undefined && (kind === SCHED_MH || kind === SCHED_SH)) {
      const srcWords = ip.v6 ? hexWords(client as string) : new Int32Array(0);
      backend = pick(
        service.sched,
        this.#flowHash(ip, clientPort, vipPort, proto, client, vip),
        ip.v6 ? hashAddr6(srcWords, 0, this.#seed) : hashAddr(client as number, this.#seed),
        this.active,
        this.inactive,
      );
    }
    if (backend < 0) return outcome("drop", "icmpNoFlow");
    return this.#send(frame, program, service.p.id, backend, "pmtu");
  }

  /** SPEC §1/§12: ARP teaches real servers' MACs, shows claims, and a request for a VIP is answered. */
  #arp(
    frame: Uint8Array,
    facts: FrameFacts,
    program: Program,
    leg: number,
    inMac: Uint8Array,
  ): Outcome {
    const arp = facts.arp!;
    const claims = this.#vips4.has(arp.senderIp) && !this.#ownMac(arp.senderMac, 0) ? 1 : 0;
    // A real server's MAC counts only as heard on its own leg (README: two legs).
    const slot = this.#slot4.get(arp.senderIp);
    if (slot !== undefined && arp.senderIp !== 0 && this.#legOf(slot) === leg) {
      this.#macs.set(slot, arp.senderMac.slice());
    }
    // SPEC §11: a standby owns no VIP, and a routed node is reached by routes, not ARP.
    const answer = arp.op === 1 && !program.standby && !program.routed &&
      this.#vips4.has(arp.targetIp) && arp.senderIp !== arp.targetIp;
    if (!answer) return outcome("ignore", "notOurs", { claims });
    const expected = new Uint8Array(60);
    expected.set(arp.senderMac, 0);
    expected.set(inMac, 6);
    expected.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2], 12);
    expected.set(inMac, 22);
    expected.set(frame.subarray(38, 42), 28);
    expected.set(arp.senderMac, 32);
    expected.set(frame.subarray(28, 32), 38);
    return outcome("reply", "arp", { claims, checkReply: exactly(expected) });
  }

  /**
   * SPEC §12 and RFC 4861 §7.1: a Neighbor Solicitation or Advertisement is
   * valid with hop limit 255, code 0, at least 24 bytes, a right checksum,
   * not fragmented, and options of non-zero length within the message;
   * anything else is left alone. Both teach a real server's MAC; an NS for a
   * VIP is answered, an NA for one from another MAC is a claim.
   */
  #ndp(frame: Uint8Array, ip: IpFacts, program: Program, leg: number, inMac: Uint8Array): Outcome {
    const l4 = ip.l4;
    const end = ip.end;
    const ignore = outcome("ignore", "notOurs");
    if (ip.hops !== 255 || ip.icmp!.code !== 0 || end - l4 < 24 || ip.fragment) return ignore;
    if (icmp6Checksum(frame, l4, end) !== 0) return ignore;
    const solicit = ip.icmp!.type === 135;
    let optionMac = -1;
    for (let at = l4 + 24; at < end;) {
      if (at + 2 > end) return ignore;
      const size = frame[at + 1] * 8;
      if (size === 0 || at + size > end) return ignore;
      // The link-layer option of the message's kind: source (NS) or target (NA); the last one counts.
      if (frame[at] === (solicit ? 1 : 2)) optionMac = at + 2;
      at += size;
    }
    const target = hex16(frame, l4 + 8);
    const unspecified = ip.src === "0".repeat(32);
    // An advertisement without the option comes from the target's own MAC.
    const from = optionMac >= 0 ? optionMac : 6;
    const slot = this.#slot6.get(solicit ? ip.src as string : target);
    if (
      slot !== undefined && !unspecified && (optionMac >= 0 || !solicit) &&
      this.#legOf(slot) === leg
    ) {
      this.#macs.set(slot, frame.slice(from, from + 6));
    }
    const vip = this.#vips6.has(target);
    if (!solicit) {
      const claims = vip && !this.#ownMac(frame, from) ? 1 : 0;
      return outcome("ignore", "notOurs", { claims });
    }
    if (!vip || program.standby || program.routed) return ignore;
    // Duplicate address detection (from ::) is answered to all-nodes (RFC 4861 §7.2.4).
    const expected = new Uint8Array(14 + 40 + 32);
    if (unspecified) expected.set([0x33, 0x33, 0, 0, 0, 1], 0);
    else expected.set(frame.subarray(from, from + 6), 0);
    expected.set(inMac, 6);
    expected.set([0x86, 0xdd, 0x60, 0, 0, 0, 0, 32, 58, 255], 12);
    expected.set(frame.subarray(l4 + 8, l4 + 24), 22);
    if (unspecified) expected.set([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 38);
    else expected.set(frame.subarray(22, 38), 38);
    expected[54] = 136;
    expected[58] = unspecified ? 0x20 : 0x60;
    expected.set(frame.subarray(l4 + 8, l4 + 24), 62);
    expected.set([2, 1], 78);
    expected.set(inMac, 80);
    const sum = icmp6Checksum(expected, 54, 86);
    expected[56] = sum >> 8;
    expected[57] = sum & 255;
    return outcome("reply", "na", { checkReply: exactly(expected) });
  }

  /** SPEC §1/§12: the balancer answers echo requests to a VIP itself, from the VIP. */
  #echo(frame: Uint8Array, ip: IpFacts, inMac: Uint8Array): Outcome {
    const l4 = ip.l4;
    const message = frame.slice(l4, ip.end);
    const client = frame.slice(6, 12);
    const checkReply = (r: Uint8Array): string | null => {
      const at = ip.v6 ? 54 : 34;
      if (r.length !== Math.max(60, at + message.length)) return `reply of ${r.length} bytes`;
      if (!sameBytes(r, 0, client) || !sameBytes(r, 6, inMac)) return "reply MACs";
      if (!ip.v6) {
        if (r[12] !== 8 || r[13] !== 0 || r[14] !== 0x45) return "reply is no plain IPv4";
        if (u16(r, 16) !== 20 + message.length || r[23] !== 1) return "reply IPv4 length/protocol";
        if (u32(r, 26) !== ip.dst || u32(r, 30) !== ip.src) return "reply addresses";
        if (checksum(r, 14, 34) !== 0) return "reply IPv4 header checksum";
        if (r[at] !== 0 || r[at + 1] !== 0) return "reply is no echo reply";
        if (checksum(r, at, at + message.length) !== 0) return "reply ICMP checksum";
      } else {
        if (r[12] !== 0x86 || r[13] !== 0xdd || r[14] >> 4 !== 6) return "reply is no IPv6";
        if (u16(r, 18) !== message.length || r[20] !== 58) return "reply IPv6 length/next header";
        if (hex16(r, 22) !== ip.dst || hex16(r, 38) !== ip.src) return "reply addresses";
        if (r[at] !== 129 || r[at + 1] !== 0) return "reply is no echo reply";
        if (icmp6Checksum(r, at, at + message.length) !== 0) return "reply ICMPv6 checksum";
      }
      for (let i = 4; i < message.length; i++) {
        if (r[at + i] !== message[i]) return `reply echo data differs at ${i}`;
      }
      return null;
    };
    return outcome("reply", ip.v6 ? "echo6" : "echo", { checkReply });
  }
}

function exactly(expected: Uint8Array): (reply: Uint8Array) => string | null {
  return (reply) => {
    if (reply.length !== expected.length) {
      return `reply of ${reply.length} bytes, expected ${expected.length}`;
    }
    for (let i = 0; i < expected.length; i++) {
      if (reply[i] !== expected[i]) {
        return `reply byte ${i} is ${reply[i]}, expected ${expected[i]}`;
      }
    }
    return null;
  };
}

function u16(b: Uint8Array, at: number): number {
  return b[at] * 256 + b[at + 1];
}

function u32(b: Uint8Array, at: number): number {
  return u16(b, at) * 65536 + u16(b, at + 2);
}

function wordsHex(w: Int32Array): string {
  return Array.from(w, (x) => (x >>> 0).toString(16).padStart(8, "0")).join("");
}

function hexWords(hex: string): Int32Array {
  const w = new Int32Array(4);
  for (let i = 0; i < 4; i++) w[i] = parseInt(hex.slice(i * 8, i * 8 + 8), 16) | 0;
  return w;
}
