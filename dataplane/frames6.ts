/**
 * Writers for the IPv6 frames the balancer originates, as `frames.ts` does
 * for IPv4: Neighbor Advertisements for its VIPs (solicited, and unsolicited
 * where IPv4 sends gratuitous ARP), Neighbor Solicitations that resolve real
 * servers and ask who else claims a VIP, and ICMPv6 echo replies. Each writes
 * into a caller's buffer and returns the frame length (0 when it cannot);
 * addresses are four words (`addr6.ts`). Nothing allocates.
 * @module
 */

import { copyMac, pad, put16, put32 } from "./_bytes.ts";
import {
  ETH_HEADER_LENGTH,
  ETHERTYPE_IPV6,
  IPV6_HEADER_LENGTH,
  KIND_IPV6,
  type PacketView,
  PROTO_ICMPV6,
} from "./packet.ts";

/** ICMPv6 type of an echo request. */
export const ICMP6_ECHO_REQUEST = 128;
/** ICMPv6 type of an echo reply. */
export const ICMP6_ECHO_REPLY = 129;
/** ICMPv6 type of a Neighbor Solicitation. */
export const ICMP6_NEIGHBOR_SOLICITATION = 135;
/** ICMPv6 type of a Neighbor Advertisement. */
export const ICMP6_NEIGHBOR_ADVERTISEMENT = 136;
/** Neighbor Advertisement flag: the advertisement answers a solicitation. */
export const NA_SOLICITED = 0x40;
/** Neighbor Advertisement flag: it replaces a cached link-layer address. */
export const NA_OVERRIDE = 0x20;
/** NDP option: source link-layer address. */
export const OPTION_SOURCE_LL = 1;
/** NDP option: target link-layer address. */
export const OPTION_TARGET_LL = 2;

const IP = ETH_HEADER_LENGTH;
const ICMP = IP + IPV6_HEADER_LENGTH;
/** An NS or NA with one link-layer option: 24 bytes of message, 8 of option. */
const NDP_LENGTH = 32;
const NDP_HOP_LIMIT = 255;
const REPLY_HOP_LIMIT = 64;

/** Writes the four words of `words[at, at + 4)` as 16 bytes at `out[to]`. */
export function put128(out: Uint8Array, to: number, words: Int32Array, at: number): void {
  for (let w = 0; w < 4; w++) put32(out, to + w * 4, words[at + w]);
}

/** The one's-complement sum (unfolded) of `bytes[start, start + length)` as 16-bit words. */
function sum16(bytes: Uint8Array, start: number, length: number): number {
  let sum = 0;
  const end = start + length;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (i < end) sum += bytes[i] << 8;
  return sum;
}

/**
 * The checksum of the upper-layer message at `frame[l4, l4 + length)` of the
 * IPv6 packet at `frame[ip]`, over the pseudo-header of its addresses, the
 * length and `proto` (RFC 8200 §8.1); write it with the message's own
 * checksum field zero.
 */
export function upperChecksum6(
  frame: Uint8Array,
  ip: number,
  l4: number,
  length: number,
  proto: number,
): number {
  let sum = sum16(frame, ip + 8, 32) + (length >>> 16) + (length & 0xffff) + proto;
  sum += sum16(frame, l4, length);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * The checksum of the upper-layer message of the IPv6 packet in `frame`
 * (parsed in `view`; its addresses, length and protocol make the
 * pseudo-header). Over a message that holds a correct checksum the result is 0.
 */
export function checksum6(frame: Uint8Array, view: PacketView): number {
  const length = view.totalLength - view.ihl;
  return upperChecksum6(frame, view.ipOffset, view.l4Offset, length, view.protocol);
}

/** Ethernet and IPv6 headers with ICMPv6 and `payload` bytes; addresses are left to the caller. */
function writeHeaders(out: Uint8Array, srcMac: Uint8Array, payload: number, hops: number): void {
  copyMac(out, 6, srcMac, 0);
  put16(out, 12, ETHERTYPE_IPV6);
  put32(out, IP, 0x60000000);
  put16(out, IP + 4, payload);
  out[IP + 6] = PROTO_ICMPV6;
  out[IP + 7] = hops;
}

/** Fills the ICMPv6 checksum of the message at ICMP and pads the frame; its length. */
function finish(out: Uint8Array, length: number): number {
  put16(out, ICMP + 2, 0);
  put16(out, ICMP + 2, upperChecksum6(out, IP, ICMP, length, PROTO_ICMPV6));
  return pad(out, ICMP + length);
}

/** An NS or NA body: type, flags, target and one link-layer option carrying `mac`. */
function writeNdp(
  out: Uint8Array,
  type: number,
  flags: number,
  target: Int32Array,
  at: number,
  mac: Uint8Array,
): void {
  out[ICMP] = type;
  out[ICMP + 1] = 0;
  put32(out, ICMP + 4, flags << 24);
  put128(out, ICMP + 8, target, at);
  out[ICMP + 24] = type === ICMP6_NEIGHBOR_SOLICITATION ? OPTION_SOURCE_LL : OPTION_TARGET_LL;
  out[ICMP + 25] = 1;
  copyMac(out, ICMP + 26, mac, 0);
}

/** What a Neighbor Advertisement carries. */
export interface AdvertFields {
  /** The balancer's MAC: Ethernet source and target link-layer option. */
  mac: Uint8Array;
  /** Ethernet destination: six bytes of `dstMac` from `dstMacAt`. */
  dstMac: Uint8Array;
  dstMacAt: number;
  /** The address advertised (a VIP), in `target[targetAt, +4)`; also the IPv6 source. */
  target: Int32Array;
  targetAt: number;
  /** IPv6 destination, in `dst[dstAt, +4)`. */
  dst: Int32Array;
  dstAt: number;
  /** NA_SOLICITED and/or NA_OVERRIDE. */
  flags: number;
}

/**
 * Writes a Neighbor Advertisement from the target address itself (hop limit
 * 255, a target link-layer option with `mac`), as RFC 4861 §7.2.4 answers.
 * @returns the frame length, or 0 when `out` is too short.
 */
export function writeNeighborAdvert(out: Uint8Array, f: AdvertFields): number {
  if (out.length < ICMP + NDP_LENGTH) return 0;
  copyMac(out, 0, f.dstMac, f.dstMacAt);
  writeHeaders(out, f.mac, NDP_LENGTH, NDP_HOP_LIMIT);
  put128(out, IP + 8, f.target, f.targetAt);
  put128(out, IP + 24, f.dst, f.dstAt);
  writeNdp(out, ICMP6_NEIGHBOR_ADVERTISEMENT, f.flags, f.target, f.targetAt, f.mac);
  return finish(out, NDP_LENGTH);
}

/** ff02::1, the all-nodes multicast address, as four words. */
export const ALL_NODES: Int32Array = Int32Array.of(0xff020000 | 0, 0, 0, 1);
/** The MAC of ff02::1 (33:33:00:00:00:01). */
export const ALL_NODES_MAC: Uint8Array = Uint8Array.of(0x33, 0x33, 0, 0, 0, 1);

/**
 * Writes the unsolicited Neighbor Advertisement that announces `mac` as the
 * owner of `vip` (four words at `vip[at]`): to all-nodes (ff02::1), override
 * set, solicited clear, where IPv4 sends gratuitous ARP.
 * @returns the frame length, or 0 when `out` is too short.
 */
export function writeUnsolicitedAdvert(
  out: Uint8Array,
  mac: Uint8Array,
  vip: Int32Array,
  at: number,
): number {
  return writeNeighborAdvert(out, {
    mac,
    dstMac: ALL_NODES_MAC,
    dstMacAt: 0,
    target: vip,
    targetAt: at,
    dst: ALL_NODES,
    dstAt: 0,
    flags: NA_OVERRIDE,
  });
}

/** What a Neighbor Solicitation carries. */
export interface SolicitFields {
  /** The sender's MAC: Ethernet source and source link-layer option. */
  mac: Uint8Array;
  /** The sender's IPv6 address, in `src[srcAt, +4)`. */
  src: Int32Array;
  srcAt: number;
  /** The address asked for, in `target[targetAt, +4)`. */
  target: Int32Array;
  targetAt: number;
}

/**
 * Writes a Neighbor Solicitation for the target, to its solicited-node
 * multicast address (ff02::1:ffXX:XXXX, MAC 33:33:ff:XX:XX:XX), with a
 * source link-layer option, as address resolution sends it (RFC 4861 §7.2.2).
 * @returns the frame length, or 0 when `out` is too short.
 */
export function writeNeighborSolicit(out: Uint8Array, f: SolicitFields): number {
  if (out.length < ICMP + NDP_LENGTH) return 0;
  const low = f.target[f.targetAt + 3];
  out[0] = 0x33;
  out[1] = 0x33;
  out[2] = 0xff;
  out[3] = low >>> 16;
  out[4] = low >>> 8;
  out[5] = low;
  writeHeaders(out, f.mac, NDP_LENGTH, NDP_HOP_LIMIT);
  put128(out, IP + 8, f.src, f.srcAt);
  put32(out, IP + 24, 0xff020000 | 0);
  put32(out, IP + 28, 0);
  put32(out, IP + 32, 1);
  put32(out, IP + 36, 0xff000000 | low);
  writeNdp(out, ICMP6_NEIGHBOR_SOLICITATION, 0, f.target, f.targetAt, f.mac);
  return finish(out, NDP_LENGTH);
}

/**
 * Writes the ICMPv6 echo reply to the echo request in `frame` (parsed in
 * `view`), sent from `mac`: MACs and addresses swapped, extension headers
 * dropped, hop limit 64, type 129, same identifier, sequence and data, a
 * fresh checksum. `out` may be `frame` itself.
 * @returns the frame length, or 0 when `view` is not an unfragmented echo
 * request or the reply does not fit `out`.
 */
export function writeIcmp6EchoReply(
  out: Uint8Array,
  frame: Uint8Array,
  view: PacketView,
  mac: Uint8Array,
): number {
  if (
    view.kind !== KIND_IPV6 || view.protocol !== PROTO_ICMPV6 ||
    view.icmpType !== ICMP6_ECHO_REQUEST || view.isFragment
  ) return 0;
  const length = view.totalLength - view.ihl;
  const end = ICMP + length;
  if (end > out.length) return 0;
  // The reply starts no later than the request, so a forward copy is safe in place.
  for (let i = 4; i < length; i++) out[ICMP + i] = frame[view.l4Offset + i];
  copyMac(out, 0, frame, 6);
  writeHeaders(out, mac, length, REPLY_HOP_LIMIT);
  put128(out, IP + 8, view.dst6, 0);
  put128(out, IP + 24, view.src6, 0);
  out[ICMP] = ICMP6_ECHO_REPLY;
  out[ICMP + 1] = 0;
  return finish(out, length);
}
