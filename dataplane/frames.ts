/**
 * Writers for the few frames the balancer originates: ARP replies, requests
 * and gratuitous ARP for its VIPs, and ICMP echo replies. Each writes into a
 * caller-provided buffer and returns the frame length (0 when it cannot), so
 * the packet loop never allocates. Short frames are zero-padded to the
 * 60-byte Ethernet minimum, as a NIC would.
 * @module
 */

import {
  ARP_SENDER_MAC_OFFSET,
  ARP_TARGET_MAC_OFFSET,
  ETH_HEADER_LENGTH,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  KIND_IPV4,
  type PacketView,
  PROTO_ICMP,
} from "./packet.ts";
import { copyMac, fillMac, MIN_FRAME_LENGTH, pad, put16, put32 } from "./_bytes.ts";

export { MIN_FRAME_LENGTH } from "./_bytes.ts";

const ARP_OP_REQUEST = 1;
const ARP_OP_REPLY = 2;
const ICMP_ECHO_REPLY = 0;
const ICMP_ECHO_REQUEST = 8;
const REPLY_TTL = 64;
const IP_HEADER_LENGTH = 20;

/** Ethernet/IPv4 ARP body from offset 14; the sender hardware address is left to the caller. */
function writeArpHeader(out: Uint8Array, op: number, senderIp: number, targetIp: number): number {
  put16(out, 12, ETHERTYPE_ARP);
  put16(out, 14, 1);
  put16(out, 16, ETHERTYPE_IPV4);
  out[18] = 6;
  out[19] = 4;
  put16(out, 20, op);
  put32(out, 28, senderIp);
  put32(out, 38, targetIp);
  return pad(out, 42);
}

/**
 * Internet checksum (RFC 1071) of `bytes[start, start + length)`: the folded
 * one's-complement sum, complemented, as a 16-bit number. Over a region that
 * already holds a correct checksum the result is 0.
 */
export function internetChecksum(bytes: Uint8Array, start: number, length: number): number {
  let sum = 0;
  const end = start + length;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (i < end) sum += bytes[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * Writes the destination MAC (the six bytes of `macs` at `at`, so a table of
 * MACs needs no view per packet) and the source MAC (bytes 0-11) of an
 * Ethernet frame in place.
 */
export function rewriteMacs(
  frame: Uint8Array,
  macs: Uint8Array,
  at: number,
  srcMac: Uint8Array,
): void {
  copyMac(frame, 0, macs, at);
  copyMac(frame, 6, srcMac, 0);
}

/**
 * Writes the ARP reply to `request` (parsed in `view` as an ARP request for an
 * address `mac` owns) into `out`, which may be `request` itself.
 * @returns the frame length, or 0 when `out` is shorter than 60 bytes.
 */
export function writeArpReply(
  out: Uint8Array,
  request: Uint8Array,
  view: PacketView,
  mac: Uint8Array,
): number {
  if (out.length < MIN_FRAME_LENGTH) return 0;
  // Both copies of the requester's MAC are taken before its slot is overwritten.
  copyMac(out, ARP_TARGET_MAC_OFFSET, request, ARP_SENDER_MAC_OFFSET);
  copyMac(out, 0, request, ARP_SENDER_MAC_OFFSET);
  copyMac(out, 6, mac, 0);
  copyMac(out, ARP_SENDER_MAC_OFFSET, mac, 0);
  return writeArpHeader(out, ARP_OP_REPLY, view.arpTargetIp, view.arpSenderIp);
}

/**
 * Writes a broadcast ARP request "who-has `targetIp` tell `senderIp`" from `senderMac`.
 * @returns the frame length, or 0 when `out` is shorter than 60 bytes.
 */
export function writeArpRequest(
  out: Uint8Array,
  senderMac: Uint8Array,
  senderIp: number,
  targetIp: number,
): number {
  if (out.length < MIN_FRAME_LENGTH) return 0;
  fillMac(out, 0, 0xff);
  copyMac(out, 6, senderMac, 0);
  copyMac(out, ARP_SENDER_MAC_OFFSET, senderMac, 0);
  fillMac(out, ARP_TARGET_MAC_OFFSET, 0);
  return writeArpHeader(out, ARP_OP_REQUEST, senderIp, targetIp);
}

/**
 * Writes a gratuitous ARP: a broadcast request whose sender and target IP are
 * both `ip`, with a zero target MAC, announcing that `mac` owns `ip`.
 * @returns the frame length, or 0 when `out` is shorter than 60 bytes.
 */
export function writeGarp(out: Uint8Array, mac: Uint8Array, ip: number): number {
  return writeArpRequest(out, mac, ip, ip);
}

/**
 * Writes the ICMP echo reply to the echo request in `frame` (parsed in
 * `view`), sent from `mac`: MACs and IPs swapped, IP options dropped, TTL 64,
 * type 0, same identifier, sequence and data, fresh checksums. `out` may be
 * `frame` itself.
 * @returns the frame length, or 0 when `view` is not an unfragmented echo
 * request or the reply does not fit `out`.
 */
export function writeIcmpEchoReply(
  out: Uint8Array,
  frame: Uint8Array,
  view: PacketView,
  mac: Uint8Array,
): number {
  // A fragment holds only part of the message, so its checksum cannot be recomputed.
  if (
    view.kind !== KIND_IPV4 || view.protocol !== PROTO_ICMP ||
    view.icmpType !== ICMP_ECHO_REQUEST || view.isFragment
  ) return 0;
  const icmpLength = view.totalLength - view.ihl;
  const ip = ETH_HEADER_LENGTH;
  const icmp = ip + IP_HEADER_LENGTH;
  const end = icmp + icmpLength;
  if (end > out.length || out.length < MIN_FRAME_LENGTH) return 0;
  const tos = frame[view.ipOffset + 1];
  // The reply starts no later than the request, so a forward copy is safe in place.
  for (let i = 4; i < icmpLength; i++) out[icmp + i] = frame[view.l4Offset + i];
  copyMac(out, 0, frame, 6);
  copyMac(out, 6, mac, 0);
  put16(out, 12, ETHERTYPE_IPV4);
  out[ip] = 0x45;
  out[ip + 1] = tos;
  put16(out, ip + 2, IP_HEADER_LENGTH + icmpLength);
  put16(out, ip + 4, view.ipId);
  put16(out, ip + 6, 0);
  out[ip + 8] = REPLY_TTL;
  out[ip + 9] = PROTO_ICMP;
  put16(out, ip + 10, 0);
  put32(out, ip + 12, view.dstIp);
  put32(out, ip + 16, view.srcIp);
  put16(out, ip + 10, internetChecksum(out, ip, IP_HEADER_LENGTH));
  out[icmp] = ICMP_ECHO_REPLY;
  out[icmp + 1] = 0;
  put16(out, icmp + 2, 0);
  put16(out, icmp + 2, internetChecksum(out, icmp, icmpLength));
  return pad(out, end);
}
