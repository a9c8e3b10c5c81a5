/**
 * The tables the control plane and the data plane share, in the manner of
 * Katran's named BPF maps. Two kinds:
 *
 * - A {@link Program}: services, backends and Maglev rings, computed whole by
 *   the control plane and posted to the forwarding worker, which swaps it in
 *   between batches (never half applied).
 * - {@link SharedTables}: SharedArrayBuffers both threads map. The worker is
 *   the only writer of counters and neighbour MACs; the control thread reads
 *   them for status and writes only the mailbox word.
 *
 * Service and backend ids are small stable integers assigned by the control
 * plane; they index the counter arrays and key the flow table.
 * @module
 */

import { formatIpv4 } from "./addr.ts";
import { formatIpv6, wordsToBytes } from "./addr6.ts";
import type { SchedState } from "./scheduler.ts";

/** Upper bounds of the shared arrays: SPEC §8's capacities. */
export const MAX_SERVICES = 4096;
/** Real server entries: one per real server of a service, fallbacks included. */
export const MAX_BACKENDS = 32768;
/** Distinct real server addresses (neighbour slots). */
export const MAX_NEIGHBORS = 16384;

/** Global counters, indexes into `SharedTables.global`. */
export const G_RX = 0;
export const G_TX = 1;
export const G_FLOWS = 2;
export const G_DROP_NO_SERVICE = 3;
export const G_DROP_MALFORMED = 4;
export const G_DROP_NO_BACKEND = 5;
export const G_DROP_EVICTED = 6;
export const G_DROP_OVERSIZE = 7;
export const G_DROP_FRAGMENT = 8;
export const G_DROP_SEND = 9;
export const G_ARP_REPLIES = 10;
export const G_ICMP_REPLIES = 11;
export const G_KERNEL_DROPS = 12;
export const G_HEAP_USED = 13; // bytes of the worker's JS heap in use
export const G_BATCH_MAX_MS = 14; // ms: the loop's longest time away from the ring in the last second
export const G_DROP_STANDBY = 15; // frames to a VIP a standby node did not forward (SPEC §11)
export const G_MALFORMED_BASE = 16; // + MALFORMED_* reason code (up to 15)
/** Frames for another host's MAC that reached the promiscuous capture: ignored (SPEC §1). */
export const G_OTHER_MAC = 32;
/** Neighbor Advertisements sent in answer to a solicitation for a VIP. */
export const G_NA_REPLIES = 33;
/** ICMP "fragmentation needed" and ICMPv6 "packet too big" sent on to a flow's real server. */
export const G_PMTU_FORWARDED = 34;
/** Such an ICMP error whose embedded packet is of no flow the balancer can place. */
export const G_DROP_ICMP_NO_FLOW = 35;
export const G_SIZE = 48;

/** Per-service counters: stride and offsets in `SharedTables.services`. */
export const S_PACKETS = 0;
export const S_BYTES = 1;
export const S_CONNECTIONS = 2;
export const S_STRIDE = 4;

/** Per-backend counters: stride and offsets in `SharedTables.backends`. */
export const B_PACKETS = 0;
export const B_BYTES = 1;
export const B_CONNECTIONS = 2;
export const B_STRIDE = 4;

/** Mailbox words in `SharedTables.mailbox`. */
export const M_POSTED = 0; // generation of the newest program posted
export const M_APPLIED = 1; // generation the worker runs
export const M_STOP = 2; // non-zero: the worker should stop

/** Memory shared by the control thread and the forwarding worker. */
export interface SharedTables {
  /** Global counters (G_*), written by the worker. */
  global: Float64Array;
  /** Service counters, `id * S_STRIDE + S_*`. */
  services: Float64Array;
  /** Backend counters, `id * B_STRIDE + B_*`. */
  backends: Float64Array;
  /** Established flows per backend id (IPVS ActiveConn). */
  active: Int32Array;
  /** Other flows per backend id (IPVS InActConn). */
  inactive: Int32Array;
  /** Neighbour MACs, 8 bytes per neighbour slot (6 used). */
  neighborMacs: Uint8Array;
  /** When each neighbour's MAC was last confirmed, ms since the epoch; 0 = never. */
  neighborSeen: Float64Array;
  /** Control words (M_*), touched with Atomics. */
  mailbox: Int32Array;
}

/** Allocates the shared tables; pass the result to the worker. */
export function createSharedTables(): SharedTables {
  const f64 = (n: number) => new Float64Array(new SharedArrayBuffer(n * 8));
  const i32 = (n: number) => new Int32Array(new SharedArrayBuffer(n * 4));
  return {
    global: f64(G_SIZE),
    services: f64(MAX_SERVICES * S_STRIDE),
    backends: f64(MAX_BACKENDS * B_STRIDE),
    active: i32(MAX_BACKENDS),
    inactive: i32(MAX_BACKENDS),
    neighborMacs: new Uint8Array(new SharedArrayBuffer(MAX_NEIGHBORS * 8)),
    neighborSeen: f64(MAX_NEIGHBORS),
    mailbox: i32(4),
  };
}

/** One virtual service as the data plane runs it. */
export interface ServiceProgram {
  id: number;
  /** IPv4 VIP, unsigned 32-bit; 0 for an IPv6 service. */
  vip: number;
  /** IPv6 VIP as four signed 32-bit words (`addr6.ts`); absent for an IPv4 service. */
  vip6?: Int32Array;
  /** 0 means every port. */
  port: number;
  proto: number;
  sched: SchedState;
  /** Client affinity in ms; 0 = off. */
  persistMs: number;
  /** Backend id of the sorry server, or -1. */
  fallback: number;
  /**
   * One-packet scheduling (`ipvsadm -o`, UDP only): every datagram is
   * scheduled on its own and leaves no flow entry. Absent: false.
   */
  ops?: boolean;
}

/** Everything the forwarding worker needs, replaced whole on every change. */
export interface Program {
  generation: number;
  /**
   * Seed of the scheduling hashes (`hashFlow`, `hashAddr`), folded from the
   * configuration's `hashSeed`; 0 (the built-in seed) when it has none.
   */
  hashSeed?: number;
  /** The balancer's MAC and IPv4 address on its interface. */
  mac: Uint8Array;
  ip: number;
  /**
   * The balancer's IPv6 address on the real servers' subnet (four words):
   * the source of Neighbor Solicitations and DR-path probes. Absent when the
   * interface has none (then no real server is IPv6).
   */
  ip6?: Int32Array;
  mtu: number;
  services: ServiceProgram[];
  /** Neighbour slot of each backend id; -1 for unused ids. */
  backendNeighbor: Int32Array;
  /** IPv4 address per neighbour slot; 0 for unused slots and IPv6 ones. */
  neighborIps: Uint32Array;
  /**
   * IPv6 address per neighbour slot, four words a slot (all zero for unused
   * slots and IPv4 ones); absent while no real server is IPv6.
   */
  neighborIps6?: Int32Array;
  /** Flow timeouts in ms. */
  timeouts: { tcp: number; tcpfin: number; udp: number };
  /** Backend ids whose flows must go now (deleted, or marked down). */
  flushBackends: number[];
  /** Service ids deleted since the previous program. */
  flushServices: number[];
  /**
   * Neighbour slots freed or given to a new address since the previous
   * program: the worker (the only writer of neighbour MACs) clears their MAC
   * and time seen before it runs the program, so a reused slot starts unknown.
   */
  forgetNeighbors: number[];
  /** VIPs to announce with gratuitous ARP when this program is applied. */
  garp: number[];
  /** IPv6 VIPs (four words each) to announce with an unsolicited Neighbor Advertisement. */
  garp6?: Int32Array[];
  /**
   * The node is the standby of an HA pair (SPEC §11): it answers no ARP for
   * VIPs, sends no gratuitous ARP and forwards nothing (drop reason
   * `standby`), while neighbour resolution and health probes go on.
   * Absent: the node is active.
   */
  standby?: boolean;
  /**
   * VIP traffic reaches the node by routes it announces (`--announce`), not
   * by ARP: it answers no ARP for VIPs and sends no gratuitous ARP, so the
   * nodes of an ECMP group never fight over a VIP in ARP caches, and a
   * withdrawn VIP stays unreachable. Absent: false.
   */
  routed?: boolean;
  /**
   * Every leg of a balancer with several interfaces (`--iface` more than
   * once), in the order given; the first is the leg of `mac`, `ip`, `ip6`
   * and `mtu` above. VIP traffic is taken on every leg, and a frame leaves
   * by its real server's leg with that leg's MAC. Absent: one leg, the one
   * above.
   */
  legs?: LegProgram[];
  /** The leg (index into `legs`) of each neighbour slot; absent: leg 0 for all. */
  neighborLeg?: Uint8Array;
}

/** One interface of the balancer as the data plane runs it. */
export interface LegProgram {
  /** The interface's MAC: the source of what leaves by it, and the destination it takes. */
  mac: Uint8Array;
  /** Its first IPv4 address (0 without one): the source of ARP requests and probes on it. */
  ip: number;
  /** Its first global IPv6 address (four words), the source of Neighbor Solicitations; absent without. */
  ip6?: Int32Array;
  mtu: number;
}

/** The legs of `program`: its `legs`, or the one leg its own fields describe. */
export function programLegs(program: Program): LegProgram[] {
  if (program.legs !== undefined && program.legs.length > 0) return program.legs;
  const { mac, ip, ip6, mtu } = program;
  return [ip6 === undefined ? { mac, ip, mtu } : { mac, ip, ip6, mtu }];
}

/**
 * Builds the BPF filter that lets through only what the data plane handles:
 * ARP, IPv4 to a VIP, and TCP from a VIP to the balancer (DR-path probe
 * answers); with IPv6 in the program, IPv6 to a VIP and Neighbor
 * Solicitations and Advertisements (what ARP is to IPv4: all of them pass, as
 * all ARP does).
 */
export function captureFilter(
  program: Pick<Program, "services" | "ip" | "ip6" | "neighborIps6">,
): string {
  const v4 = program.services.filter((s) => s.vip6 === undefined);
  const vips = [...new Set(v4.map((s) => s.vip))].map(formatIpv4);
  const vips6 = [
    ...new Set(program.services.flatMap((s) => s.vip6 ? [formatIpv6(wordsToBytes(s.vip6))] : [])),
  ];
  const parts = ["arp"];
  if (vips.length > 0) {
    const to = vips.map((v) => `dst host ${v}`).join(" or ");
    const from = vips.map((v) => `src host ${v}`).join(" or ");
    parts.push(`(ip and (${to}))`, `(tcp and dst host ${formatIpv4(program.ip)} and (${from}))`);
  }
  if (vips6.length > 0 || program.neighborIps6 !== undefined) {
    parts.push("(icmp6 and (ip6[40] == 135 or ip6[40] == 136))");
  }
  if (vips6.length > 0) parts.push(`(ip6 and (${vips6.map((v) => `dst host ${v}`).join(" or ")}))`);
  if (vips6.length > 0 && program.ip6 !== undefined) {
    const from = vips6.map((v) => `src host ${v}`).join(" or ");
    const own = formatIpv6(wordsToBytes(program.ip6));
    parts.push(`(ip6 and tcp and dst host ${own} and (${from}))`);
  }
  return parts.join(" or ");
}
