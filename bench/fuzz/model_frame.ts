/**
 * The reference model's reading of a frame, written from the RFCs and the
 * SPEC rather than from `dataplane/packet.ts`: Ethernet II (whose frame it
 * is), ARP (RFC 826, Ethernet/IPv4 only), IPv4 (RFC 791), IPv6 with its
 * extension headers (RFC 8200, AH from RFC 4302) and the first bytes of TCP,
 * UDP, ICMP and ICMPv6. It returns plain facts and allocates freely; it reads
 * nothing at or past the frame's length, so bytes there cannot matter.
 *
 * What counts as malformed, and under which counter name, is dsr's
 * definition (README "How it behaves": `drops.malformed.*`):
 * - `truncated`: shorter than the Ethernet header, the ARP body, or the fixed IPv4/IPv6 header;
 * - `badArp`: ARP for other than Ethernet/IPv4;
 * - `badVersion`: the IP version disagrees with the Ethernet type;
 * - `badIhl`: IPv4 header length below 20, or past the frame;
 * - `badLength`: IPv4 total length below the header or past the frame; IPv6 payload past the frame;
 * - `badExtension`: an IPv6 extension header past the packet, a hop-by-hop header not first,
 *   or a second fragment header;
 * - `longChain`: more than 8 extension headers;
 * - `badL4`: a first fragment or whole datagram too short for its TCP (20 bytes, and a data
 *   offset from 20 to what there is), UDP (8) or ICMP/ICMPv6 (8) header.
 * A header is judged as it is read, front to back: the first fault found names the drop.
 * @module
 */

/** Whom the destination MAC names. */
export type Destination = "us" | "broadcast" | "ndpMulticast" | "other";

/** What the model knows of a frame. */
export interface FrameFacts {
  /** Shorter than an Ethernet header: no destination to judge. */
  short: boolean;
  to: Destination;
  etherType: number;
  /** A malformed-drop reason (README names), or null. */
  malformed: string | null;
  kind: "arp" | "ipv4" | "ipv6" | "other";
  arp: ArpFacts | null;
  ip: IpFacts | null;
}

/** An Ethernet/IPv4 ARP packet. */
export interface ArpFacts {
  op: number;
  senderMac: Uint8Array;
  senderIp: number;
  targetIp: number;
}

/** An IP packet of either family. */
export interface IpFacts {
  v6: boolean;
  /** IPv4: unsigned 32-bit; IPv6: 32 hex digits. */
  src: number | string;
  dst: number | string;
  /** IPv6 addresses as four signed 32-bit words (for the hash functions); IPv4: empty. */
  srcWords: Int32Array;
  dstWords: Int32Array;
  /** TTL or hop limit. */
  hops: number;
  /** Upper-layer protocol (after IPv6 extension headers). */
  proto: number;
  /** Frame offsets: upper-layer header, end of the IP packet. */
  l4: number;
  end: number;
  /** IPv4 identification, or the IPv6 fragment header's; 0 when unfragmented. */
  id: number;
  /** Part of a fragmented datagram (more fragments, or an offset). */
  fragment: boolean;
  /** A later fragment: no upper-layer header. */
  later: boolean;
  /** TCP or UDP with its header: ports (and TCP flags). */
  ports: { src: number; dst: number; flags: number } | null;
  /** ICMP (IPv4) or ICMPv6 (IPv6) with its header. */
  icmp: { type: number; code: number } | null;
}

const TCP = 6;
const UDP = 17;
const ICMP = 1;
const ICMPV6 = 58;

const u16 = (b: Uint8Array, at: number) => b[at] * 256 + b[at + 1];
const u32 = (b: Uint8Array, at: number) => u16(b, at) * 65536 + u16(b, at + 2);

function hex(b: Uint8Array, at: number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += b[at + i].toString(16).padStart(2, "0");
  return s;
}

function words(b: Uint8Array, at: number): Int32Array {
  return Int32Array.of(u32(b, at) | 0, u32(b, at + 4) | 0, u32(b, at + 8) | 0, u32(b, at + 12) | 0);
}

/** Whom a destination MAC names: the balancer, broadcast, an NDP multicast, or another host. */
export function destination(b: Uint8Array, mac: Uint8Array): Destination {
  if ([0, 1, 2, 3, 4, 5].every((i) => b[i] === mac[i])) return "us";
  if ([0, 1, 2, 3, 4, 5].every((i) => b[i] === 0xff)) return "broadcast";
  // Solicited-node multicast 33:33:ff:xx:xx:xx and all-nodes 33:33:00:00:00:01.
  if (b[0] === 0x33 && b[1] === 0x33 && b[2] === 0xff) return "ndpMulticast";
  if (b[0] === 0x33 && b[1] === 0x33 && b[2] === 0 && b[3] === 0 && b[4] === 0 && b[5] === 1) {
    return "ndpMulticast";
  }
  return "other";
}

/** Reads `b` (exactly the frame's bytes) as the balancer at `mac` would see it. */
export function readFrame(b: Uint8Array, mac: Uint8Array): FrameFacts {
  const facts: FrameFacts = {
    short: false,
    to: "us",
    etherType: 0,
    malformed: null,
    kind: "other",
    arp: null,
    ip: null,
  };
  if (b.length < 14) {
    facts.short = true;
    facts.malformed = "truncated";
    return facts;
  }
  facts.to = destination(b, mac);
  facts.etherType = u16(b, 12);
  if (facts.etherType === 0x0806) readArp(b, facts);
  else if (facts.etherType === 0x0800) readIpv4(b, facts);
  else if (facts.etherType === 0x86dd) readIpv6(b, facts);
  return facts;
}

function bad(facts: FrameFacts, reason: string): void {
  facts.malformed = reason;
  facts.arp = null;
  facts.ip = null;
}

function readArp(b: Uint8Array, facts: FrameFacts): void {
  facts.kind = "arp";
  if (b.length < 14 + 28) return bad(facts, "truncated");
  if (u16(b, 14) !== 1 || u16(b, 16) !== 0x0800 || b[18] !== 6 || b[19] !== 4) {
    return bad(facts, "badArp");
  }
  facts.arp = {
    op: u16(b, 20),
    senderMac: b.slice(22, 28),
    senderIp: u32(b, 28),
    targetIp: u32(b, 38),
  };
}

function readIpv4(b: Uint8Array, facts: FrameFacts): void {
  facts.kind = "ipv4";
  if (b.length < 14 + 20) return bad(facts, "truncated");
  if (b[14] >> 4 !== 4) return bad(facts, "badVersion");
  const headerLength = (b[14] & 15) * 4;
  if (headerLength < 20 || 14 + headerLength > b.length) return bad(facts, "badIhl");
  const total = u16(b, 16);
  // A short datagram in a padded frame is fine; one longer than the frame is not.
  if (total < headerLength || 14 + total > b.length) return bad(facts, "badLength");
  const flags = u16(b, 20);
  const offset = (flags & 0x1fff) * 8;
  const more = (flags & 0x2000) !== 0;
  const ip: IpFacts = {
    v6: false,
    src: u32(b, 26),
    dst: u32(b, 30),
    srcWords: new Int32Array(0),
    dstWords: new Int32Array(0),
    hops: b[22],
    proto: b[23],
    l4: 14 + headerLength,
    end: 14 + total,
    id: u16(b, 18),
    fragment: more || offset > 0,
    later: offset > 0,
    ports: null,
    icmp: null,
  };
  facts.ip = ip;
  if (!ip.later) readUpper(b, facts, ip);
}

const HOP_BY_HOP = 0;
const ROUTING = 43;
const FRAGMENT = 44;
const AH = 51;
const DESTINATION_OPTIONS = 60;

function readIpv6(b: Uint8Array, facts: FrameFacts): void {
  facts.kind = "ipv6";
  if (b.length < 14 + 40) return bad(facts, "truncated");
  if (b[14] >> 4 !== 6) return bad(facts, "badVersion");
  const end = 54 + u16(b, 18);
  if (end > b.length) return bad(facts, "badLength");
  const ip: IpFacts = {
    v6: true,
    src: hex(b, 22, 16),
    dst: hex(b, 38, 16),
    srcWords: words(b, 22),
    dstWords: words(b, 38),
    hops: b[21],
    proto: b[20],
    l4: 54,
    end,
    id: 0,
    fragment: false,
    later: false,
    ports: null,
    icmp: null,
  };
  let seen = 0;
  let fragmentHeaders = 0;
  // Walk the chain: each extension header names the next; the first that is none is the upper layer.
  for (;;) {
    const type = ip.proto;
    const at = ip.l4;
    if (type !== HOP_BY_HOP && type !== ROUTING && type !== DESTINATION_OPTIONS && type !== AH) {
      if (type !== FRAGMENT) break;
    }
    if (type === HOP_BY_HOP && seen > 0) return bad(facts, "badExtension");
    if (type === FRAGMENT && fragmentHeaders > 0) return bad(facts, "badExtension");
    // Every extension header has at least 8 bytes: its next header and length come first.
    if (at + 8 > end) return bad(facts, "badExtension");
    seen++;
    if (seen > 8) return bad(facts, "longChain");
    let length: number;
    if (type === FRAGMENT) {
      fragmentHeaders++;
      length = 8;
      const field = u16(b, at + 2);
      const offset = field & 0xfff8;
      const more = (field & 1) === 1;
      ip.id = u32(b, at + 4);
      ip.fragment = more || offset > 0;
      ip.later = offset > 0;
    } else if (type === AH) length = (b[at + 1] + 2) * 4;
    else length = (b[at + 1] + 1) * 8;
    if (at + length > end) return bad(facts, "badExtension");
    ip.proto = b[at];
    ip.l4 = at + length;
    // After a later fragment's header comes the middle of the datagram, not headers.
    if (ip.later) break;
  }
  facts.ip = ip;
  if (!ip.later) readUpper(b, facts, ip);
}

/** The upper-layer header of a whole datagram or first fragment. */
function readUpper(b: Uint8Array, facts: FrameFacts, ip: IpFacts): void {
  const length = ip.end - ip.l4;
  const at = ip.l4;
  if (ip.proto === TCP) {
    if (length < 20) return bad(facts, "badL4");
    const dataOffset = (b[at + 12] >> 4) * 4;
    if (dataOffset < 20 || dataOffset > length) return bad(facts, "badL4");
    ip.ports = { src: u16(b, at), dst: u16(b, at + 2), flags: b[at + 13] };
  } else if (ip.proto === UDP) {
    if (length < 8) return bad(facts, "badL4");
    ip.ports = { src: u16(b, at), dst: u16(b, at + 2), flags: 0 };
  } else if (ip.proto === (ip.v6 ? ICMPV6 : ICMP)) {
    if (length < 8) return bad(facts, "badL4");
    ip.icmp = { type: b[at], code: b[at + 1] };
  }
  // Any other protocol (ICMPv6 in IPv4 and ICMP in IPv6 among them) has no header dsr reads.
}

/** The Internet checksum (RFC 1071) of `b[from, to)` with `initial` added: 0 over a correct one. */
export function checksum(b: Uint8Array, from: number, to: number, initial = 0): number {
  let sum = initial;
  for (let i = from; i < to; i += 2) sum += b[i] * 256 + (i + 1 < to ? b[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return ~sum & 0xffff;
}

/** The ICMPv6 checksum (RFC 8200 §8.1 pseudo-header) of the message at `b[l4, end)`. */
export function icmp6Checksum(b: Uint8Array, l4: number, end: number): number {
  let pseudo = 0;
  for (let i = 22; i < 54; i += 2) pseudo += b[i] * 256 + b[i + 1];
  const length = end - l4;
  pseudo += Math.floor(length / 65536) + (length & 0xffff) + ICMPV6;
  return checksum(b, l4, end, pseudo);
}

/** The 16-byte address at `b[at]` as 32 hex digits (the model's IPv6 key). */
export function hex16(b: Uint8Array, at: number): string {
  return hex(b, at, 16);
}
