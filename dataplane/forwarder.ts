/**
 * The per-packet decision of the data plane: every frame ends in a verdict
 * (forward, reply, drop or ignore) and every drop bumps a counter named for
 * its reason. Pure logic over a {@link Program} and the shared counters; the
 * worker loop owns the I/O. Nothing here allocates per packet.
 * @module
 */

import {
  FLOW_CLOSE,
  FLOW_ESTABLISHED,
  FLOW_FIN,
  FLOW_SYN,
  FLOW_UDP,
  FlowTable,
} from "./flow_table.ts";
import { PendingProbes, type ProbeAnswer } from "./dr_probe.ts";
import { FragmentTable, FragmentTable6 } from "./fragment_table.ts";
import { copyMac } from "./_bytes.ts";
import { rewriteMacs, writeArpReply, writeIcmpEchoReply } from "./frames.ts";
import { formatIpv4, formatMac } from "./addr.ts";
import { formatIpv6 } from "./addr6.ts";
import { AddressTable6 } from "./address_table6.ts";
import {
  type AdvertFields,
  ALL_NODES,
  ALL_NODES_MAC,
  checksum6,
  ICMP6_ECHO_REQUEST,
  ICMP6_NEIGHBOR_ADVERTISEMENT,
  ICMP6_NEIGHBOR_SOLICITATION,
  NA_OVERRIDE,
  NA_SOLICITED,
  OPTION_SOURCE_LL,
  OPTION_TARGET_LL,
  writeIcmp6EchoReply,
  writeNeighborAdvert,
} from "./frames6.ts";
import { type Flow6, hashAddr, hashAddr6, hashFlow, hashFlow6 } from "./hash.ts";
import {
  ETH_HEADER_LENGTH,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV6,
  KIND_ARP,
  KIND_IPV4,
  KIND_IPV6,
  KIND_MALFORMED,
  PacketView,
  PROTO_ICMP,
  PROTO_ICMPV6,
  PROTO_TCP,
  PROTO_UDP,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
} from "./packet.ts";
import { inheritSchedState, pick, SCHED_MH, SCHED_SH } from "./scheduler.ts";
import { ServiceIndex } from "./service_index.ts";
import type { TraceTables } from "./trace.ts";
import {
  B_BYTES,
  B_CONNECTIONS,
  B_PACKETS,
  B_STRIDE,
  G_ARP_REPLIES,
  G_DROP_EVICTED,
  G_DROP_FRAGMENT,
  G_DROP_ICMP_NO_FLOW,
  G_DROP_MALFORMED,
  G_DROP_NO_BACKEND,
  G_DROP_NO_SERVICE,
  G_DROP_OVERSIZE,
  G_DROP_STANDBY,
  G_ICMP_REPLIES,
  G_MALFORMED_BASE,
  G_NA_REPLIES,
  G_OTHER_MAC,
  G_PMTU_FORWARDED,
  type LegProgram,
  MAX_NEIGHBORS,
  type Program,
  programLegs,
  S_BYTES,
  S_CONNECTIONS,
  S_PACKETS,
  S_STRIDE,
  type ServiceProgram,
  type SharedTables,
} from "./tables.ts";

/** Send the (rewritten) received frame out. */
export const VERDICT_FORWARD = 1;
/** Send the frame built in the tx buffer (`replyLength` bytes). */
export const VERDICT_REPLY = 2;
/** Dropped and counted. */
export const VERDICT_DROP = 3;
/** Not ours (for example an ARP request for another address): nothing to do. */
export const VERDICT_IGNORE = 4;

/** The destination MAC is the balancer's own: every kind of frame is acted on. */
const TO_US = 0;
/** Broadcast: only ARP is acted on. */
const TO_BROADCAST = 1;
/** Solicited-node (33:33:ff:…) or all-nodes (33:33:00:00:00:01) multicast: only NDP. */
const TO_NDP_MULTICAST = 2;
/** Any other destination: some other host's frame, seen because capture is promiscuous. */
const TO_OTHER = 3;

const PERSIST_TABLE_MAX = 65_536;
/**
 * Eviction order is kept to the second: moving a flow in the LRU list on
 * every packet costs two more cache misses per packet, and "oldest idle"
 * needs no finer grain.
 */
const LRU_GRAIN_MS = 1_000;

/** Options of a {@link Forwarder}. */
export interface ForwarderOptions {
  /** Flow table bound; default 1,000,000. */
  maxFlows?: number;
  /**
   * false sends every frame through the general path of `process`, as the
   * reference its fast path is tested and measured against. Default true.
   */
  fastPath?: boolean;
}

/** Decides what happens to each frame, and keeps the flow state that needs. */
export class Forwarder {
  readonly view = new PacketView();
  readonly flows: FlowTable;
  readonly fragments = new FragmentTable();
  readonly fragments6 = new FragmentTable6();
  /** Length of the frame written into tx by the last VERDICT_REPLY. */
  replyLength = 0;
  /** DR-path probes sent and waiting for their SYN-ACK. */
  readonly probes = new PendingProbes();
  /** Probe answers seen since the loop last took them. */
  probeAnswers: { id: number; answer: ProbeAnswer }[] = [];
  /**
   * Other hosts seen claiming a VIP (address text) in ARP or a Neighbor
   * Advertisement: the ARP problem, or a second balancer.
   */
  vipClaims: { vip: string; mac: string }[] = [];
  #program: Program | null = null;
  /** The program's scheduling hash seed (see `Program.hashSeed`). */
  #seed = 0;
  #index = new ServiceIndex();
  #neighborSlot = new Map<number, number>();
  /** IPv6 real server address → neighbour slot. */
  #neighborSlot6 = new AddressTable6();
  /** The target address of the NDP message being handled. */
  readonly #target6 = new Int32Array(4);
  /** The flow an ICMPv6 error embeds, as the client sent it (for `hashFlow6`). */
  readonly #embedded6: Flow6 & { srcPort: number; dstPort: number; protocol: number } = {
    src6: new Int32Array(4),
    dst6: new Int32Array(4),
    srcPort: 0,
    dstPort: 0,
    protocol: 0,
  };
  /** The fields of a Neighbor Advertisement, filled in for each answer. */
  readonly #advert: AdvertFields = {
    mac: new Uint8Array(6),
    dstMac: ALL_NODES_MAC,
    dstMacAt: 0,
    target: this.#target6,
    targetAt: 0,
    dst: ALL_NODES,
    dstAt: 0,
    flags: 0,
  };
  #persist = new Map<number, FlowTable>();
  #usable: Uint8Array = new Uint8Array(0);
  #evictedSeen = 0;
  /**
   * The leg (index into the program's legs) a VERDICT_FORWARD leaves by:
   * its real server's. Always 0 on a balancer with one leg.
   */
  outLeg = 0;
  /** The program's legs; one unless the balancer has several interfaces. */
  #legs: LegProgram[] = [];
  /** Each leg's MTU, and each neighbour slot's leg, read per forwarded frame. */
  #legMtu = new Int32Array(1);
  #legMacs: Uint8Array[] = [];
  #neighborLeg: Uint8Array = ONE_LEG;
  /**
   * More than one leg: only then is a frame's leg looked up. One leg reads no
   * table more per frame than before legs (a touch of one more cache line
   * costs a frame about as much as the work it does).
   */
  #multiLeg = false;
  /** The leg frames are read from now (see {@link receiveOn}), and its MAC and addresses. */
  #in = 0;
  #inMac: Uint8Array = new Uint8Array(6);
  #inIp = 0;
  #inIp6: Int32Array | undefined;
  /** The receiving leg's MAC as a 32-bit and a 16-bit number, for the fast path's one comparison. */
  #macHigh = 0;
  #macLow = 0;
  /** An IPv6 frame's source (0-3) and destination (4-7) address words, for the fast path. */
  readonly #key6 = new Int32Array(8);
  readonly #fastPath: boolean;
  /**
   * The fast path is on: the option, and the program is not a standby's. A
   * standby forwards nothing, so every frame takes the general path, which
   * drops it; folding the role in here keeps the fast path's test per frame
   * one field, as before roles existed.
   */
  #fast = false;

  constructor(readonly shared: SharedTables, options: ForwarderOptions = {}) {
    this.#fastPath = options.fastPath ?? true;
    this.flows = new FlowTable(options.maxFlows ?? 1_000_000, {
      onRemove: (backend, state) => this.#forget(backend, state),
      lruGrainMs: LRU_GRAIN_MS,
    });
  }

  /** The program in force, or null before the first. */
  get program(): Program | null {
    return this.#program;
  }

  /** The program and tables `trace.ts` reads to explain a flow (cold path; read only). */
  get tracing(): TraceTables {
    return {
      program: this.#program,
      index: this.#index,
      flows: this.flows,
      persist: this.#persist,
      usable: this.#usable,
      shared: this.shared,
    };
  }

  /** Swaps in a new program between packets: flushes what it says, keeps every other flow. */
  load(program: Program): void {
    this.#seed = (program.hashSeed ?? 0) | 0;
    for (const slot of program.forgetNeighbors) {
      this.shared.neighborMacs.fill(0, slot * 8, slot * 8 + 8);
      this.shared.neighborSeen[slot] = 0;
    }
    for (const id of program.flushBackends) {
      this.flows.removeBackend(id);
      // The id may come back for another service: no client may follow it there.
      for (const table of this.#persist.values()) table.removeBackend(id);
      this.#zeroBackend(id);
    }
    for (const id of program.flushServices) {
      this.flows.removeService(id);
      this.#persist.delete(id);
      this.shared.services.fill(0, id * S_STRIDE, (id + 1) * S_STRIDE);
    }
    this.flows.timeouts = program.timeouts;
    // What lblc and lblcr learnt outlives the program, as IPVS's tables do,
    // and a service turned to one-packet scheduling keeps no flow (a flushed
    // id reused by this program is another service).
    const flushed = new Set(program.flushServices);
    for (const service of program.services) {
      const before = this.#index.byId(service.id);
      if (before !== null && !flushed.has(service.id)) {
        inheritSchedState(before.sched, service.sched);
        if (service.ops && !before.ops) this.flows.removeService(service.id);
      }
    }
    this.#index.build(program.services);
    this.#neighborSlot.clear();
    program.neighborIps.forEach((ip, slot) => {
      if (ip !== 0) this.#neighborSlot.set(ip, slot);
    });
    const ips6 = program.neighborIps6;
    const slots6: [Int32Array, number, number][] = [];
    for (let slot = 0; ips6 !== undefined && slot * 4 < ips6.length; slot++) {
      const w = slot * 4;
      if ((ips6[w] | ips6[w + 1] | ips6[w + 2] | ips6[w + 3]) !== 0) slots6.push([ips6, w, slot]);
    }
    this.#neighborSlot6 = new AddressTable6(slots6);
    this.#usable = usableBackends(program);
    for (const service of program.services) {
      if (service.persistMs > 0 && !this.#persist.has(service.id)) {
        this.#persist.set(service.id, new FlowTable(PERSIST_TABLE_MAX));
      } else if (service.persistMs === 0) this.#persist.delete(service.id);
    }
    for (const [id, table] of this.#persist) {
      const service = program.services.find((s) => s.id === id);
      if (service) {
        table.timeouts = {
          tcp: service.persistMs,
          tcpfin: service.persistMs,
          udp: service.persistMs,
        };
      }
    }
    this.#program = program;
    this.#fast = this.#fastPath && !program.standby;
    this.#legs = programLegs(program);
    this.#legMtu = Int32Array.from(this.#legs, (leg) => leg.mtu);
    this.#legMacs = this.#legs.map((leg) => leg.mac);
    this.#neighborLeg = program.neighborLeg ?? ONE_LEG;
    this.#multiLeg = this.#legs.length > 1;
    this.#receive(this.#in < this.#legs.length ? this.#in : 0);
  }

  /**
   * Says which leg the next frames come from (the loop calls it before it
   * drains each leg): a frame is the balancer's when addressed to that leg's
   * MAC, and answers go out from it. A leg the program does not have is
   * ignored.
   */
  receiveOn(leg: number): void {
    if (leg !== this.#in && leg < this.#legs.length) this.#receive(leg);
  }

  #receive(leg: number): void {
    this.#in = leg;
    const own = this.#legs[leg];
    if (own === undefined) return;
    const m = own.mac;
    this.#inMac = m;
    this.#inIp = own.ip;
    this.#inIp6 = own.ip6;
    this.#macHigh = (m[0] << 24) | (m[1] << 16) | (m[2] << 8) | m[3];
    this.#macLow = (m[4] << 8) | m[5];
  }

  /**
   * Decides the fate of `frame[0..len)` at `now` (ms, of which only the low
   * 32 bits count: the loop passes `Date.now() | 0`). On VERDICT_FORWARD the
   * frame's MACs have been rewritten in place; on VERDICT_REPLY the answer is
   * in `tx`.
   */
  process(frame: Uint8Array, len: number, tx: Uint8Array, now: number): number {
    // The common frame first, in one short pass: an unfragmented TCP or UDP
    // datagram with a plain 20-byte IPv4 header, to the balancer's MAC, of a
    // flow the table holds, to a real server whose MAC is known. Between two frames the kernel's
    // work evicts the CPU's caches, so a frame costs about as much as the
    // code and data it touches, and the general path touches several times
    // more. Anything else, a new flow included, takes the general path, which
    // parses the frame whole; nothing is changed before that choice, so
    // verdicts and counters are the same either way.
    const program = this.#program;
    if (
      !this.#fast || program === null || len < 42 || len > frame.length ||
      ((frame[0] << 24) | (frame[1] << 16) | (frame[2] << 8) | frame[3]) !== this.#macHigh ||
      ((frame[4] << 8) | frame[5]) !== this.#macLow
    ) return this.#general(frame, len, tx, now);
    if (frame[12] === 0x86 && frame[13] === 0xdd) return this.#fast6(frame, len, tx, now, program);
    if (
      frame[12] !== 0x08 || frame[13] !== 0x00 || frame[14] !== 0x45 ||
      (frame[20] & 0x3f) !== 0 || frame[21] !== 0
    ) return this.#general(frame, len, tx, now);
    const total = (frame[16] << 8) | frame[17];
    const proto = frame[23];
    let flags = 0;
    if (proto === PROTO_TCP) {
      // The TCP header must fit and its data offset lie within the datagram.
      if (total < 40 || 14 + total > len) return this.#general(frame, len, tx, now);
      const dataOffset = (frame[46] >> 4) * 4;
      if (dataOffset < 20 || dataOffset > total - 20) return this.#general(frame, len, tx, now);
      flags = frame[47];
    } else if (proto !== PROTO_UDP || total < 28 || 14 + total > len) {
      return this.#general(frame, len, tx, now);
    }
    // Addresses and ports as signed words: an unsigned value above 2^31 is no
    // small integer and, passed to a call V8 does not inline, is boxed in a
    // new heap number (48 bytes a packet here, bench/alloc_bench.ts).
    const dstIp = (frame[30] << 24) | (frame[31] << 16) | (frame[32] << 8) | frame[33];
    const dstPort = (frame[36] << 8) | frame[37];
    const service = this.#index.find(dstIp, dstPort, proto);
    if (service === null) return this.#general(frame, len, tx, now);
    const flows = this.flows;
    const slot = flows.lookup(
      (frame[26] << 24) | (frame[27] << 16) | (frame[28] << 8) | frame[29],
      (((frame[34] << 8) | frame[35]) << 16) | dstPort,
      service.id,
    );
    if (slot < 0) return this.#general(frame, len, tx, now);
    const backend = flows.backend(slot);
    const neighbor = program.backendNeighbor[backend];
    if (neighbor < 0 || this.shared.neighborSeen[neighbor] === 0) {
      return this.#general(frame, len, tx, now);
    }
    const out = this.#multiLeg ? this.#neighborLeg[neighbor] : 0;
    if (len - 14 > this.#legMtu[out]) return this.#general(frame, len, tx, now);
    this.#hit(slot, backend, proto === PROTO_TCP, flags, now);
    return this.#forward(frame, len, out, service.id, backend, neighbor);
  }

  /**
   * The fast path of an IPv6 frame to the balancer's MAC: TCP or UDP right
   * after the fixed header (no extension header, so no fragment), of a known
   * flow, to a resolved real server; anything else takes the general path.
   */
  #fast6(frame: Uint8Array, len: number, tx: Uint8Array, now: number, program: Program): number {
    const payload = (frame[18] << 8) | frame[19];
    if (len < 62 || (frame[14] >> 4) !== 6 || 54 + payload > len) {
      return this.#general(frame, len, tx, now);
    }
    const proto = frame[20];
    let flags = 0;
    if (proto === PROTO_TCP) {
      if (payload < 20) return this.#general(frame, len, tx, now);
      const dataOffset = (frame[66] >> 4) * 4;
      if (dataOffset < 20 || dataOffset > payload) return this.#general(frame, len, tx, now);
      flags = frame[67];
    } else if (proto !== PROTO_UDP || payload < 8) {
      return this.#general(frame, len, tx, now);
    }
    const key = this.#key6;
    for (let w = 0, at = 22; w < 8; w++, at += 4) {
      key[w] = (frame[at] << 24) | (frame[at + 1] << 16) | (frame[at + 2] << 8) | frame[at + 3];
    }
    const dstPort = (frame[56] << 8) | frame[57];
    const service = this.#index.find6(key, 4, dstPort, proto);
    if (service === null) return this.#general(frame, len, tx, now);
    const flows = this.flows;
    // Signed: an unsigned value above 2^31 is no small integer and would be
    // boxed in a new heap number when passed on (16 bytes a packet, measured
    // by bench/alloc_bench.ts); the table compares the 32 bits either way.
    const ports = (((frame[54] << 8) | frame[55]) << 16) | dstPort;
    const slot = flows.lookup6(key, 0, ports, service.id);
    if (slot < 0) return this.#general(frame, len, tx, now);
    const backend = flows.backend(slot);
    const neighbor = program.backendNeighbor[backend];
    if (neighbor < 0 || this.shared.neighborSeen[neighbor] === 0) {
      return this.#general(frame, len, tx, now);
    }
    const out = this.#multiLeg ? this.#neighborLeg[neighbor] : 0;
    if (len - 14 > this.#legMtu[out]) return this.#general(frame, len, tx, now);
    this.#hit(slot, backend, proto === PROTO_TCP, flags, now);
    return this.#forward(frame, len, out, service.id, backend, neighbor);
  }

  /** Every frame the fast path of `process` leaves: parsed whole, then decided. */
  #general(frame: Uint8Array, len: number, tx: Uint8Array, now: number): number {
    const program = this.#program;
    const g = this.shared.global;
    // Capture is promiscuous: a frame flooded or mirrored to this port is
    // another host's, and acting on it would forward a second copy. Whose it
    // is shows before any parsing; broadcast is ARP's and the NDP multicasts
    // are IPv6's, and nothing else of theirs is acted on.
    let to = TO_US;
    if (program !== null && (len < frame.length ? len : frame.length) >= ETH_HEADER_LENGTH) {
      to = destinationOf(frame, this.#inMac);
      const type = (frame[12] << 8) | frame[13];
      if (
        to === TO_OTHER || (to === TO_BROADCAST && type !== ETHERTYPE_ARP) ||
        (to === TO_NDP_MULTICAST && type !== ETHERTYPE_IPV6)
      ) {
        g[G_OTHER_MAC]++;
        return VERDICT_IGNORE;
      }
    }
    const v = this.view;
    const kind = v.parse(frame, len);
    if (kind === KIND_MALFORMED) {
      g[G_DROP_MALFORMED]++;
      g[G_MALFORMED_BASE + v.reason]++;
      return VERDICT_DROP;
    }
    if (program === null) return VERDICT_IGNORE;
    if (kind === KIND_ARP) return this.#arp(frame, tx, program);
    const v4 = kind === KIND_IPV4;
    if (!v4 && kind !== KIND_IPV6) return VERDICT_IGNORE;
    if (
      !v4 && v.protocol === PROTO_ICMPV6 &&
      (v.icmpType === ICMP6_NEIGHBOR_SOLICITATION || v.icmpType === ICMP6_NEIGHBOR_ADVERTISEMENT)
    ) return this.#ndp(frame, tx, program);
    if (to === TO_NDP_MULTICAST) {
      // Of IPv6 to a multicast MAC only Neighbor Discovery is the balancer's business.
      g[G_OTHER_MAC]++;
      return VERDICT_IGNORE;
    }
    if (!v4) {
      if (!this.#index.hasVip6(v.dst6, 0)) {
        if (
          v.protocol === PROTO_TCP && v.hasPorts && this.probes.waiting &&
          this.#inIp6 !== undefined && sameWords(v.dst6, this.#inIp6)
        ) this.#probeAnswer6(frame);
        return VERDICT_IGNORE;
      }
    } else if (!this.#index.hasVip(v.dstIp)) {
      if (v.dstIp === this.#inIp && v.protocol === PROTO_TCP && v.hasPorts && this.probes.waiting) {
        this.#probeAnswer(frame);
      }
      return VERDICT_IGNORE;
    }
    // A standby owns no VIP: it neither forwards nor answers pings for one.
    if (program.standby) {
      g[G_DROP_STANDBY]++;
      return VERDICT_DROP;
    }

    const echo = v4
      ? v.protocol === PROTO_ICMP && v.icmpType === 8
      : v.protocol === PROTO_ICMPV6 && v.icmpType === ICMP6_ECHO_REQUEST;
    if (echo && !v.isFragment) {
      this.replyLength = v4
        ? writeIcmpEchoReply(tx, frame, v, this.#inMac)
        : writeIcmp6EchoReply(tx, frame, v, this.#inMac);
      if (this.replyLength === 0) {
        g[G_DROP_OVERSIZE]++;
        return VERDICT_DROP;
      }
      g[G_ICMP_REPLIES]++;
      return VERDICT_REPLY;
    }

    if (
      !v.isFragment &&
      (v4
        ? v.protocol === PROTO_ICMP && v.icmpType === ICMP_UNREACHABLE && v.icmpCode === 4
        : v.protocol === PROTO_ICMPV6 && v.icmpType === ICMP6_PACKET_TOO_BIG)
    ) return this.#pathMtu(frame, len, program);

    let backend: number;
    let service: ServiceProgram | null;
    if (v.isFragment && !v.hasPorts) {
      // A later fragment has no ports: it follows the first one's choice.
      const table = v4 ? this.fragments : this.fragments6;
      const slot = v4
        ? this.fragments.lookup(v.srcIp, v.dstIp, v.ipId, v.protocol, now)
        : this.fragments6.lookup(v.src6, v.dst6, v.ipId, now);
      if (slot < 0) {
        g[G_DROP_FRAGMENT]++;
        return VERDICT_DROP;
      }
      backend = table.backend(slot);
      service = this.#index.byId(table.service(slot));
      if (service === null) {
        g[G_DROP_FRAGMENT]++;
        return VERDICT_DROP;
      }
    } else {
      service = !v.hasPorts
        ? null
        : v4
        ? this.#index.find(v.dstIp, v.dstPort, v.protocol)
        : this.#index.find6(v.dst6, 0, v.dstPort, v.protocol);
      if (service === null) {
        g[G_DROP_NO_SERVICE]++;
        return VERDICT_DROP;
      }
      backend = this.#flowBackend(service, now);
      if (backend < 0) {
        g[G_DROP_NO_BACKEND]++;
        return VERDICT_DROP;
      }
      if (v.isFragment && v4) {
        this.fragments.remember(v.srcIp, v.dstIp, v.ipId, v.protocol, service.id, backend, now);
      } else if (v.isFragment) {
        this.fragments6.remember(v.src6, v.dst6, v.ipId, service.id, backend, now);
      }
    }

    const neighbor = program.backendNeighbor[backend];
    const seen = neighbor < 0 ? 0 : this.shared.neighborSeen[neighbor];
    if (seen === 0) {
      g[G_DROP_NO_BACKEND]++;
      return VERDICT_DROP;
    }
    const out = this.#multiLeg ? this.#neighborLeg[neighbor] : 0;
    if (len - 14 > this.#legMtu[out]) {
      g[G_DROP_OVERSIZE]++;
      return VERDICT_DROP;
    }
    return this.#forward(frame, len, out, service.id, backend, neighbor);
  }

  /**
   * Rewrites the frame's MACs towards `neighbor`, from the MAC of its leg
   * `out` (by which the frame leaves), and counts it for its service and backend.
   */
  #forward(
    frame: Uint8Array,
    len: number,
    out: number,
    service: number,
    backend: number,
    neighbor: number,
  ): number {
    this.outLeg = out;
    rewriteMacs(frame, this.shared.neighborMacs, neighbor * 8, this.#legMacs[out]);
    const s = this.shared.services;
    const sBase = service * S_STRIDE;
    s[sBase + S_PACKETS]++;
    s[sBase + S_BYTES] += len;
    const b = this.shared.backends;
    const bBase = backend * B_STRIDE;
    b[bBase + B_PACKETS]++;
    b[bBase + B_BYTES] += len;
    return VERDICT_FORWARD;
  }

  /** Periodic work between batches: expiry sweep and gauges. */
  tick(now: number, budget: number): void {
    this.flows.expire(now, budget);
    for (const table of this.#persist.values()) table.expire(now, budget >> 4);
    const g = this.shared.global;
    const evicted = this.flows.evicted;
    g[G_DROP_EVICTED] += evicted - this.#evictedSeen;
    this.#evictedSeen = evicted;
  }

  /** Whether `frame[at, at + 6)` is the MAC of one of the balancer's legs (not a claim). */
  #ownMac(frame: Uint8Array, at: number): boolean {
    for (const leg of this.#legs) if (sameMac(frame, at, leg.mac)) return true;
    return false;
  }

  #probeAnswer(frame: Uint8Array): void {
    const v = this.view;
    const at = v.l4Offset + 8;
    const ack =
      ((frame[at] << 24) | (frame[at + 1] << 16) | (frame[at + 2] << 8) | frame[at + 3]) >>> 0;
    const hit = this.probes.match(v.srcIp, v.srcPort, v.dstPort, v.tcpFlags, ack);
    if (hit) this.probeAnswers.push(hit);
  }

  #probeAnswer6(frame: Uint8Array): void {
    const v = this.view;
    const ack = u32(frame, v.l4Offset + 8);
    const hit = this.probes.match6(v.src6, v.srcPort, v.dstPort, v.tcpFlags, ack);
    if (hit) this.probeAnswers.push(hit);
  }

  #arp(frame: Uint8Array, tx: Uint8Array, program: Program): number {
    const v = this.view;
    if (this.#index.hasVip(v.arpSenderIp) && !this.#ownMac(frame, 22)) {
      this.vipClaims.push({ vip: formatIpv4(v.arpSenderIp), mac: formatMac(frame, 22) });
    }
    const slot = this.#neighborSlot.get(v.arpSenderIp);
    // Only on the real server's own leg: a MAC heard elsewhere is not the one to send to.
    if (slot !== undefined && v.arpSenderIp !== 0 && this.#neighborLeg[slot] === this.#in) {
      // Learn from requests and replies alike: both carry the sender's MAC.
      copyMac(this.shared.neighborMacs, slot * 8, frame, 22);
      this.shared.neighborSeen[slot] = Date.now();
    }
    if (
      v.arpOp === 1 && !program.standby && !program.routed && this.#index.hasVip(v.arpTargetIp) &&
      v.arpSenderIp !== v.arpTargetIp
    ) {
      this.replyLength = writeArpReply(tx, frame, v, this.#inMac);
      this.shared.global[G_ARP_REPLIES]++;
      return VERDICT_REPLY;
    }
    return VERDICT_IGNORE;
  }

  /**
   * A Neighbor Solicitation or Advertisement (RFC 4861 §7.1: hop limit 255,
   * code 0, at least 24 bytes, checksum right, well-formed options; anything
   * else is ignored). Real servers' MACs are learnt from both, as from ARP; a
   * solicitation for a VIP is answered; an advertisement of a VIP from
   * another MAC is a claim.
   */
  #ndp(frame: Uint8Array, tx: Uint8Array, program: Program): number {
    const v = this.view;
    const l4 = v.l4Offset;
    const length = v.totalLength - v.ihl;
    if (
      v.ttl !== 255 || v.icmpCode !== 0 || length < 24 || v.isFragment ||
      checksum6(frame, v) !== 0
    ) return VERDICT_IGNORE;
    // The one link-layer option that matters: source (NS) or target (NA) address.
    const solicit = v.icmpType === ICMP6_NEIGHBOR_SOLICITATION;
    const wanted = solicit ? OPTION_SOURCE_LL : OPTION_TARGET_LL;
    let macAt = -1;
    for (let at = l4 + 24; at < l4 + length;) {
      // An option's length byte must lie within the message: past it is another
      // frame's stale byte, or nothing at all in a buffer the frame fills (found by fuzzing).
      if (at + 2 > l4 + length) return VERDICT_IGNORE;
      const size = frame[at + 1] * 8;
      if (size === 0 || at + size > l4 + length) return VERDICT_IGNORE;
      if (frame[at] === wanted && size >= 8) macAt = at + 2;
      at += size;
    }
    const target = this.#target6;
    for (let w = 0, at = l4 + 8; w < 4; w++, at += 4) {
      target[w] = (frame[at] << 24) | (frame[at + 1] << 16) | (frame[at + 2] << 8) | frame[at + 3];
    }
    const src = v.src6;
    const unspecified = (src[0] | src[1] | src[2] | src[3]) === 0;
    // Learn from solicitations and advertisements alike, as from ARP.
    const slot = this.#neighborSlot6.get(solicit ? src : target, 0);
    // An advertisement without the option comes from the target's own MAC.
    const from = macAt >= 0 ? macAt : 6;
    if (
      slot >= 0 && !unspecified && (macAt >= 0 || !solicit) && this.#neighborLeg[slot] === this.#in
    ) {
      copyMac(this.shared.neighborMacs, slot * 8, frame, from);
      this.shared.neighborSeen[slot] = Date.now();
    }
    const vip = this.#index.hasVip6(target, 0);
    if (!solicit) {
      if (vip && !this.#ownMac(frame, from)) {
        this.vipClaims.push({ vip: formatIpv6(frame, l4 + 8), mac: formatMac(frame, from) });
      }
      return VERDICT_IGNORE;
    }
    // A standby owns no VIP; a routed node is reached by its routes, not NDP.
    if (!vip || program.standby || program.routed) return VERDICT_IGNORE;
    // Duplicate address detection (from ::) is answered to all-nodes, unsolicited
    // (RFC 4861 §7.2.4), which tells the prober the VIP is taken.
    const a = this.#advert;
    a.mac = this.#inMac;
    a.dstMac = unspecified ? ALL_NODES_MAC : frame;
    a.dstMacAt = unspecified ? 0 : from;
    a.dst = unspecified ? ALL_NODES : src;
    a.flags = unspecified ? NA_OVERRIDE : NA_SOLICITED | NA_OVERRIDE;
    this.replyLength = writeNeighborAdvert(tx, a);
    this.shared.global[G_NA_REPLIES]++;
    return VERDICT_REPLY;
  }

  /**
   * Path MTU discovery through the balancer (as Katran does it): a router on
   * the way from a real server to a client sends "fragmentation needed" or
   * "packet too big" to the source of the reply it could not pass on, a VIP.
   * The error embeds the start of that reply (VIP:port → client:port), so it
   * names the flow; it goes on, MAC-rewritten like the flow's packets, to the
   * real server that sent the reply, whose kernel then lowers its path MTU.
   * A flow the table no longer holds is placed again by mh or sh, which pick
   * the same server; other schedulers cannot tell, and the error is dropped.
   */
  #pathMtu(frame: Uint8Array, len: number, program: Program): number {
    const v = this.view;
    const g = this.shared.global;
    const inner = v.l4Offset + 8;
    const end = v.ipOffset + v.totalLength;
    const v4 = v.kind === KIND_IPV4;
    let proto: number, client = 0, vipPort: number, at: number;
    let service: ServiceProgram | null = null;
    const key = this.#key6;
    if (v4) {
      const ihl = (frame[inner] & 15) * 4;
      at = inner + ihl;
      if (inner + 20 > end || frame[inner] >> 4 !== 4 || ihl < 20 || at + 8 > end) {
        return this.#noFlow();
      }
      proto = frame[inner + 9];
      client = u32(frame, inner + 16);
      vipPort = (frame[at] << 8) | frame[at + 1];
      if (u32(frame, inner + 12) === v.dstIp) service = this.#index.find(v.dstIp, vipPort, proto);
    } else {
      at = inner + 40;
      if (frame[inner] >> 4 !== 6 || at + 8 > end) return this.#noFlow();
      proto = frame[inner + 6];
      // key: the client (the reply's destination) in 0-3, the VIP (its source) in 4-7.
      for (let w = 0, b = inner + 24; w < 4; w++, b += 4) key[w] = u32(frame, b) | 0;
      let same = true;
      for (let w = 0, b = inner + 8; w < 4; w++, b += 4) {
        key[4 + w] = u32(frame, b) | 0;
        if (key[4 + w] !== v.dst6[w]) same = false;
      }
      vipPort = (frame[at] << 8) | frame[at + 1];
      if (same) service = this.#index.find6(key, 4, vipPort, proto);
    }
    if (service === null || (proto !== PROTO_TCP && proto !== PROTO_UDP)) return this.#noFlow();
    const clientPort = (frame[at + 2] << 8) | frame[at + 3];
    const ports = (clientPort << 16) | vipPort; // signed: see #fast6
    const slot = v4
      ? this.flows.lookup(client, ports, service.id)
      : this.flows.lookup6(key, 0, ports, service.id);
    let backend = -1;
    if (slot >= 0) backend = this.flows.backend(slot);
    else if (service.sched.kind === SCHED_MH || service.sched.kind === SCHED_SH) {
      let flowHash: number, srcHash: number;
      if (v4) {
        flowHash = hashFlow(client, clientPort, v.dstIp, vipPort, proto, this.#seed);
        srcHash = hashAddr(client, this.#seed);
      } else {
        const e = this.#embedded6;
        for (let w = 0; w < 4; w++) {
          e.src6[w] = key[w];
          e.dst6[w] = key[4 + w];
        }
        e.srcPort = clientPort;
        e.dstPort = vipPort;
        e.protocol = proto;
        flowHash = hashFlow6(e, this.#seed);
        srcHash = hashAddr6(key, 0, this.#seed);
      }
      backend = pick(service.sched, flowHash, srcHash, this.shared.active, this.shared.inactive);
    }
    const neighbor = backend < 0 ? -1 : program.backendNeighbor[backend];
    if (neighbor < 0 || this.shared.neighborSeen[neighbor] === 0) return this.#noFlow();
    const out = this.#multiLeg ? this.#neighborLeg[neighbor] : 0;
    if (len - 14 > this.#legMtu[out]) {
      g[G_DROP_OVERSIZE]++;
      return VERDICT_DROP;
    }
    g[G_PMTU_FORWARDED]++;
    return this.#forward(frame, len, out, service.id, backend, neighbor);
  }

  #noFlow(): number {
    this.shared.global[G_DROP_ICMP_NO_FLOW]++;
    return VERDICT_DROP;
  }

  /** The backend of this packet's flow, scheduling a new flow when needed; -1 if none is usable. */
  #flowBackend(service: ServiceProgram, now: number): number {
    if (service.ops) return this.#onePacket(service, now);
    const v = this.view;
    const flows = this.flows;
    const ports = ((v.srcPort << 16) | v.dstPort) >>> 0;
    const tcp = v.protocol === PROTO_TCP;
    const v4 = v.kind === KIND_IPV4;
    const slot = v4
      ? flows.lookup(v.srcIp, ports, service.id)
      : flows.lookup6(v.src6, 0, ports | 0, service.id);
    if (slot >= 0) {
      const backend = flows.backend(slot);
      this.#hit(slot, backend, tcp, v.tcpFlags, now);
      return backend;
    }
    const backend = this.#schedule(service, now);
    if (backend < 0) return -1;
    const state = tcp ? firstTcpState(v.tcpFlags) : FLOW_UDP;
    if (v4) flows.insert(v.srcIp, ports, service.id, backend, state, now);
    else flows.insert6(v.src6, 0, ports | 0, service.id, backend, state, now);
    if (state === FLOW_ESTABLISHED) this.shared.active[backend]++;
    else this.shared.inactive[backend]++;
    this.shared.backends[backend * B_STRIDE + B_CONNECTIONS]++;
    this.shared.services[service.id * S_STRIDE + S_CONNECTIONS]++;
    return backend;
  }

  /**
   * One-packet scheduling (`ipvsadm -o`): the datagram is scheduled on its
   * own and leaves no flow. It counts as a connection, as IPVS counts each
   * one-packet connection, and is never active or inactive.
   */
  #onePacket(service: ServiceProgram, now: number): number {
    const backend = this.#schedule(service, now);
    if (backend >= 0) {
      this.shared.backends[backend * B_STRIDE + B_CONNECTIONS]++;
      this.shared.services[service.id * S_STRIDE + S_CONNECTIONS]++;
    }
    return backend;
  }

  /** A packet of the flow in `slot`: its TCP state moves on with `flags`, its expiry and LRU place with `now`. */
  #hit(slot: number, backend: number, tcp: boolean, flags: number, now: number): void {
    const flows = this.flows;
    const before = flows.state(slot);
    const after = tcp ? nextTcpState(before, flags) : FLOW_UDP;
    if (after !== before) this.#move(backend, before, after);
    flows.touch(slot, after, now);
  }

  #schedule(service: ServiceProgram, now: number): number {
    const v = this.view;
    const persist = service.persistMs > 0 ? this.#persist.get(service.id) : undefined;
    const v4 = v.kind === KIND_IPV4;
    if (persist) {
      const slot = v4
        ? persist.lookup(v.srcIp, 0, service.id)
        : persist.lookup6(v.src6, 0, 0, service.id);
      if (slot >= 0 && this.#usable[persist.backend(slot)] === 1) {
        persist.touch(slot, FLOW_UDP, now);
        return persist.backend(slot);
      }
      if (slot >= 0) persist.remove(slot);
    }
    const seed = this.#seed;
    const flowHash = v4
      ? hashFlow(v.srcIp, v.srcPort, v.dstIp, v.dstPort, v.protocol, seed)
      : hashFlow6(v, seed);
    let backend = pick(
      service.sched,
      flowHash,
      v4 ? hashAddr(v.srcIp, seed) : hashAddr6(v.src6, 0, seed),
      this.shared.active,
      this.shared.inactive,
      v4 ? hashAddr(v.dstIp, seed) : hashAddr6(v.dst6, 0, seed),
      now,
    );
    if (backend < 0) backend = service.fallback;
    if (backend >= 0 && persist && v4) {
      persist.insert(v.srcIp, 0, service.id, backend, FLOW_UDP, now);
    } else if (backend >= 0 && persist) {
      persist.insert6(v.src6, 0, 0, service.id, backend, FLOW_UDP, now);
    }
    return backend;
  }

  #move(backend: number, before: number, after: number): void {
    if (before === FLOW_ESTABLISHED) this.shared.active[backend]--;
    else this.shared.inactive[backend]--;
    if (after === FLOW_ESTABLISHED) this.shared.active[backend]++;
    else this.shared.inactive[backend]++;
  }

  #forget(backend: number, state: number): void {
    if (state === FLOW_ESTABLISHED) this.shared.active[backend]--;
    else this.shared.inactive[backend]--;
  }

  #zeroBackend(id: number): void {
    this.shared.backends.fill(0, id * B_STRIDE, (id + 1) * B_STRIDE);
    this.shared.active[id] = 0;
    this.shared.inactive[id] = 0;
  }
}

/** The state of a flow first seen with these TCP flags (a flow first seen mid-stream is established). */
export function firstTcpState(flags: number): number {
  if (flags & TCP_RST) return FLOW_CLOSE;
  if (flags & TCP_FIN) return FLOW_FIN;
  if ((flags & TCP_SYN) && !(flags & TCP_ACK)) return FLOW_SYN;
  return FLOW_ESTABLISHED;
}

/** IPVS-style client-side TCP state machine, as DR mode sees it (one direction). */
export function nextTcpState(state: number, flags: number): number {
  if (flags & TCP_RST) return FLOW_CLOSE;
  if (flags & TCP_FIN) return FLOW_FIN;
  if ((flags & TCP_SYN) && !(flags & TCP_ACK)) {
    // A new SYN on a closed 4-tuple starts over on the same real server.
    return state === FLOW_FIN || state === FLOW_CLOSE ? FLOW_SYN : state;
  }
  if (state === FLOW_SYN && (flags & TCP_ACK)) return FLOW_ESTABLISHED;
  return state;
}

const ICMP_UNREACHABLE = 3;
/** The neighbour legs of a balancer with one leg: every slot on leg 0. */
const ONE_LEG = new Uint8Array(MAX_NEIGHBORS);
const ICMP6_PACKET_TOO_BIG = 2;

function u32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

/** Whom a frame's destination MAC names (`TO_*`); the frame holds an Ethernet header. */
function destinationOf(frame: Uint8Array, mac: Uint8Array): number {
  if (sameMac(frame, 0, mac)) return TO_US;
  const b0 = frame[0], b1 = frame[1], b2 = frame[2];
  if ((b0 & b1 & b2 & frame[3] & frame[4] & frame[5]) === 0xff) return TO_BROADCAST;
  if (b0 === 0x33 && b1 === 0x33) {
    if (b2 === 0xff) return TO_NDP_MULTICAST;
    if (b2 === 0 && frame[3] === 0 && frame[4] === 0 && frame[5] === 1) return TO_NDP_MULTICAST;
  }
  return TO_OTHER;
}

function sameWords(a: Int32Array, b: Int32Array): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

function sameMac(frame: Uint8Array, at: number, mac: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (frame[at + i] !== mac[i]) return false;
  return true;
}

/** Backend ids that may take new flows (weight > 0 in some service). */
function usableBackends(program: Program): Uint8Array {
  const usable = new Uint8Array(program.backendNeighbor.length);
  for (const service of program.services) {
    const { ids, weights } = service.sched;
    for (let i = 0; i < ids.length; i++) if (weights[i] > 0) usable[ids[i]] = 1;
  }
  return usable;
}
