/**
 * The DR-path probe (SPEC §3): a TCP SYN from the balancer's own address to
 * VIP:port, framed to one real server's MAC, exactly as client traffic would
 * reach it. Only a real server that holds the VIP on its loopback, keeps
 * quiet about it in ARP and listens on the port answers SYN-ACK; a RST means
 * it holds the VIP but nothing listens. The balancer's kernel knows no such
 * connection and resets the SYN-ACK, so nothing is left half open.
 * @module
 */

import { copyMac, pad, put16, put32 } from "./_bytes.ts";
import { internetChecksum } from "./frames.ts";
import { put128, upperChecksum6 } from "./frames6.ts";
import { ETHERTYPE_IPV4, ETHERTYPE_IPV6, PROTO_TCP, TCP_ACK, TCP_RST, TCP_SYN } from "./packet.ts";

const IP = 14;
const TCP = IP + 20;
const SYN_LENGTH = TCP + 20;

/** What one probe sends. */
export interface SynFields {
  srcMac: Uint8Array;
  dstMac: Uint8Array;
  srcIp: number;
  dstIp: number;
  srcPort: number;
  dstPort: number;
  seq: number;
}

/** Writes a TCP SYN (no options, window 64240) with correct checksums; returns the frame length. */
export function writeTcpSyn(out: Uint8Array, f: SynFields): number {
  copyMac(out, 0, f.dstMac, 0);
  copyMac(out, 6, f.srcMac, 0);
  put16(out, 12, ETHERTYPE_IPV4);
  out[IP] = 0x45;
  out[IP + 1] = 0;
  put16(out, IP + 2, 40);
  put16(out, IP + 4, f.seq & 0xffff);
  put16(out, IP + 6, 0x4000); // don't fragment
  out[IP + 8] = 64;
  out[IP + 9] = PROTO_TCP;
  put16(out, IP + 10, 0);
  put32(out, IP + 12, f.srcIp);
  put32(out, IP + 16, f.dstIp);
  put16(out, IP + 10, internetChecksum(out, IP, 20));
  put16(out, TCP, f.srcPort);
  put16(out, TCP + 2, f.dstPort);
  put32(out, TCP + 4, f.seq);
  put32(out, TCP + 8, 0);
  out[TCP + 12] = 5 << 4;
  out[TCP + 13] = TCP_SYN;
  put16(out, TCP + 14, 64240);
  put16(out, TCP + 16, 0);
  put16(out, TCP + 18, 0);
  put16(out, TCP + 16, tcpChecksum(out, f.srcIp, f.dstIp));
  return pad(out, SYN_LENGTH);
}

/** What one IPv6 probe sends: addresses as four words each. */
export interface SynFields6 {
  srcMac: Uint8Array;
  dstMac: Uint8Array;
  src: Int32Array;
  dst: Int32Array;
  srcPort: number;
  dstPort: number;
  seq: number;
}

const TCP6 = IP + 40;

/** Writes the IPv6 TCP SYN of a probe (hop limit 64, as {@link writeTcpSyn}); returns the frame length. */
export function writeTcpSyn6(out: Uint8Array, f: SynFields6): number {
  copyMac(out, 0, f.dstMac, 0);
  copyMac(out, 6, f.srcMac, 0);
  put16(out, 12, ETHERTYPE_IPV6);
  put32(out, IP, 0x60000000);
  put16(out, IP + 4, 20);
  out[IP + 6] = PROTO_TCP;
  out[IP + 7] = 64;
  put128(out, IP + 8, f.src, 0);
  put128(out, IP + 24, f.dst, 0);
  put16(out, TCP6, f.srcPort);
  put16(out, TCP6 + 2, f.dstPort);
  put32(out, TCP6 + 4, f.seq);
  put32(out, TCP6 + 8, 0);
  out[TCP6 + 12] = 5 << 4;
  out[TCP6 + 13] = TCP_SYN;
  put16(out, TCP6 + 14, 64240);
  put16(out, TCP6 + 16, 0);
  put16(out, TCP6 + 18, 0);
  put16(out, TCP6 + 16, upperChecksum6(out, IP, TCP6, 20, PROTO_TCP));
  return pad(out, TCP6 + 20);
}

/** TCP checksum of the 20-byte segment at TCP over the IPv4 pseudo-header. */
function tcpChecksum(out: Uint8Array, src: number, dst: number): number {
  // Pseudo-header sum folded into the segment's own sum.
  let sum = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + PROTO_TCP + 20;
  sum += (~internetChecksum(out, TCP, 20)) & 0xffff;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return (~sum) & 0xffff;
}

/** What came back for a probe. */
export type ProbeAnswer = "syn-ack" | "rst";

/** Probes waiting for their answer, matched on the reply's ports and ack number. */
export class PendingProbes {
  #byPort = new Map<
    number,
    { id: number; vip: number; vip6: Int32Array | null; port: number; seq: number }
  >();

  /** Remembers probe `id` sent from `srcPort` to an IPv4 VIP (or, with `vip6`, an IPv6 one). */
  add(
    id: number,
    vip: number,
    port: number,
    srcPort: number,
    seq: number,
    vip6: Int32Array | null = null,
  ): void {
    this.#byPort.set(srcPort, { id, vip, vip6, port, seq });
  }

  /** Forgets a probe that timed out. */
  drop(srcPort: number): void {
    this.#byPort.delete(srcPort);
  }

  /** Whether any probe waits (a cheap test before matching). */
  get waiting(): boolean {
    return this.#byPort.size > 0;
  }

  /**
   * Matches a TCP segment from `srcIp:srcPort` to our `dstPort`; returns the
   * probe id and its answer, or null when it answers no probe.
   */
  match(srcIp: number, srcPort: number, dstPort: number, flags: number, ack: number) {
    const p = this.#byPort.get(dstPort);
    if (!p || p.vip6 !== null || p.vip !== srcIp) return null;
    return this.#answer(p, dstPort, srcPort, flags, ack);
  }

  /** {@link match} for an IPv6 segment from the address in `src` (four words). */
  match6(src: Int32Array, srcPort: number, dstPort: number, flags: number, ack: number) {
    const p = this.#byPort.get(dstPort);
    const v = p?.vip6;
    if (!p || !v || v[0] !== src[0] || v[1] !== src[1] || v[2] !== src[2] || v[3] !== src[3]) {
      return null;
    }
    return this.#answer(p, dstPort, srcPort, flags, ack);
  }

  #answer(
    p: { id: number; port: number; seq: number },
    dstPort: number,
    srcPort: number,
    flags: number,
    ack: number,
  ): { id: number; answer: ProbeAnswer } | null {
    if (p.port !== srcPort || ack !== ((p.seq + 1) >>> 0)) return null;
    let answer: ProbeAnswer;
    if ((flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK)) answer = "syn-ack";
    else if (flags & TCP_RST) answer = "rst";
    else return null;
    this.#byPort.delete(dstPort);
    return { id: p.id, answer };
  }
}
