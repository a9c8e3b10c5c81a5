/**
 * Zero-allocation parser for the frames the balancer sees: untagged Ethernet II
 * carrying ARP, IPv4 or IPv6 (TCP, UDP, ICMP, ICMPv6). One
 * {@linkcode PacketView} is reused for every packet, so the hot loop creates
 * no garbage; multi-byte fields are read with byte arithmetic because frames
 * arrive in different buffers. An IPv6 packet's extension headers are walked
 * up to {@linkcode MAX_EXTENSION_HEADERS} of them, within the packet.
 * @module
 */

/** Not ARP, IPv4 or IPv6 (LLDP, VLAN-tagged, 802.3): ignored by the balancer. */
export const KIND_OTHER = 0;
/** An Ethernet/IPv4 ARP packet. */
export const KIND_ARP = 1;
/** A well-formed IPv4 packet. */
export const KIND_IPV4 = 2;
/** An ARP, IPv4 or IPv6 frame that fails a check; {@linkcode PacketView.reason} says which. */
export const KIND_MALFORMED = 3;
/** A well-formed IPv6 packet. */
export const KIND_IPV6 = 4;

/** Shorter than the Ethernet, ARP, IPv4 or IPv6 fixed header. */
export const MALFORMED_TRUNCATED = 1;
/** IPv4 ethertype but IP version is not 4, or IPv6 ethertype but not 6. */
export const MALFORMED_BAD_VERSION = 2;
/** IHL below 5, or the header runs past the frame. */
export const MALFORMED_BAD_IHL = 3;
/** Total length below the header length, or past the captured bytes (IPv6: payload length). */
export const MALFORMED_BAD_LENGTH = 4;
/** First fragment too short for its TCP/UDP/ICMP header, or a bad TCP data offset. */
export const MALFORMED_BAD_L4 = 5;
/** ARP for something other than Ethernet/IPv4. */
export const MALFORMED_BAD_ARP = 6;
/**
 * An IPv6 extension header runs past the packet, a hop-by-hop header is not
 * the first, or a second fragment header follows the first.
 */
export const MALFORMED_BAD_EXTENSION = 7;
/** More than {@linkcode MAX_EXTENSION_HEADERS} IPv6 extension headers before the upper layer. */
export const MALFORMED_LONG_CHAIN = 8;
/** Counter names of the malformed reasons, indexed by reason code. */
export const MALFORMED_REASONS: readonly string[] = Object.freeze([
  "",
  "truncated",
  "badVersion",
  "badIhl",
  "badLength",
  "badL4",
  "badArp",
  "badExtension",
  "longChain",
]);

/**
 * The most IPv6 extension headers walked before the upper-layer header. A
 * legitimate packet carries a few (RFC 8200's order has at most six kinds);
 * a longer chain is a way to make every hop work harder and is dropped.
 */
export const MAX_EXTENSION_HEADERS = 8;

/** IP protocol number of ICMP. */
export const PROTO_ICMP = 1;
/** IP protocol number of TCP. */
export const PROTO_TCP = 6;
/** IP protocol number of UDP. */
export const PROTO_UDP = 17;
/** IPv6 next header of ICMPv6. */
export const PROTO_ICMPV6 = 58;
/** IPv6 next header "no next header": nothing follows. */
export const PROTO_NONE = 59;

const EXT_HOP_BY_HOP = 0;
const EXT_ROUTING = 43;
const EXT_FRAGMENT = 44;
const EXT_AH = 51;
const EXT_DESTINATION = 60;

/** TCP FIN flag. */
export const TCP_FIN = 0x01;
/** TCP SYN flag. */
export const TCP_SYN = 0x02;
/** TCP RST flag. */
export const TCP_RST = 0x04;
/** TCP PSH flag. */
export const TCP_PSH = 0x08;
/** TCP ACK flag. */
export const TCP_ACK = 0x10;

/** Ethertype of ARP. */
export const ETHERTYPE_ARP = 0x0806;
/** Ethertype of IPv4. */
export const ETHERTYPE_IPV4 = 0x0800;
/** Ethertype of IPv6. */
export const ETHERTYPE_IPV6 = 0x86dd;
/** Length of the IPv6 fixed header. */
export const IPV6_HEADER_LENGTH = 40;
/** Length of an Ethernet II header. */
export const ETH_HEADER_LENGTH = 14;
/** Frame offset of the ARP sender hardware address. */
export const ARP_SENDER_MAC_OFFSET = 22;
/** Frame offset of the ARP target hardware address. */
export const ARP_TARGET_MAC_OFFSET = 32;

const ARP_END = ETH_HEADER_LENGTH + 28;
const IP_MIN_END = ETH_HEADER_LENGTH + 20;
const IPV6_END = ETH_HEADER_LENGTH + IPV6_HEADER_LENGTH;

function u16(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}

function u32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

/** Reused for every packet: {@linkcode parse} overwrites all fields; never allocates. */
export class PacketView {
  /** One of the `KIND_*` constants. */
  kind = KIND_OTHER;
  /** One of the `MALFORMED_*` codes when `kind` is `KIND_MALFORMED`, else 0. */
  reason = 0;
  /** Ethertype at offset 12, or 0 when the frame is shorter. */
  etherType = 0;
  /** ARP operation (1 request, 2 reply). */
  arpOp = 0;
  /** ARP sender protocol address, unsigned 32-bit. */
  arpSenderIp = 0;
  /** ARP target protocol address, unsigned 32-bit. */
  arpTargetIp = 0;
  /** Frame offset of the IP header. */
  ipOffset = 0;
  /** IPv4 header length in bytes; IPv6: the fixed and extension headers (`l4Offset - ipOffset`). */
  ihl = 0;
  /** IP total length (header and payload) in bytes; IPv6: 40 + payload length. */
  totalLength = 0;
  /** IPv4 identification, or the IPv6 fragment header's (unsigned 32-bit). */
  ipId = 0;
  /** IPv4 time to live, or IPv6 hop limit. */
  ttl = 0;
  /** IPv4 protocol number, or the IPv6 next header after the extension headers. */
  protocol = 0;
  /** IPv4 source address, unsigned 32-bit; 0 for IPv6. */
  srcIp = 0;
  /** IPv4 destination address, unsigned 32-bit; 0 for IPv6. */
  dstIp = 0;
  /** IPv6 source address as four signed 32-bit words (valid when `kind` is `KIND_IPV6`). */
  readonly src6: Int32Array = new Int32Array(4);
  /** IPv6 destination address as four words (valid when `kind` is `KIND_IPV6`). */
  readonly dst6: Int32Array = new Int32Array(4);
  /** IPv6 extension headers walked. */
  extensionHeaders = 0;
  /** Fragment offset in bytes. */
  fragOffset = 0;
  /** The more-fragments flag (IPv4 header, or IPv6 fragment header). */
  moreFragments = false;
  /** Part of a fragmented datagram (`moreFragments || fragOffset > 0`). */
  isFragment = false;
  /** Frame offset of the layer-4 header (`ipOffset + ihl`). */
  l4Offset = 0;
  /** TCP or UDP, first fragment or unfragmented, with a full header. */
  hasPorts = false;
  /** Source port when `hasPorts`, else 0. */
  srcPort = 0;
  /** Destination port when `hasPorts`, else 0. */
  dstPort = 0;
  /** TCP flags byte; 0 unless TCP with a header. */
  tcpFlags = 0;
  /** ICMP (IPv4) or ICMPv6 (IPv6) type; -1 unless ICMP with a header. */
  icmpType = -1;
  /** ICMP or ICMPv6 code; -1 unless ICMP with a header. */
  icmpCode = -1;

  /**
   * Parses `frame[0..len)` (clamped to the buffer). Never throws, never allocates.
   * @returns the `kind`, also stored in the view.
   */
  parse(frame: Uint8Array, len: number): number {
    this.#clear();
    const end = len > frame.length ? frame.length : len > 0 ? len : 0;
    if (end < ETH_HEADER_LENGTH) return this.#malformed(MALFORMED_TRUNCATED);
    const etherType = u16(frame, 12);
    this.etherType = etherType;
    if (etherType === ETHERTYPE_ARP) return this.#parseArp(frame, end);
    if (etherType === ETHERTYPE_IPV4) return this.#parseIpv4(frame, end);
    if (etherType === ETHERTYPE_IPV6) return this.#parseIpv6(frame, end);
    return KIND_OTHER;
  }

  #parseArp(f: Uint8Array, end: number): number {
    if (end < ARP_END) return this.#malformed(MALFORMED_TRUNCATED);
    if (u16(f, 14) !== 1 || u16(f, 16) !== ETHERTYPE_IPV4 || f[18] !== 6 || f[19] !== 4) {
      return this.#malformed(MALFORMED_BAD_ARP);
    }
    this.arpOp = u16(f, 20);
    this.arpSenderIp = u32(f, 28);
    this.arpTargetIp = u32(f, 38);
    return (this.kind = KIND_ARP);
  }

  #parseIpv4(f: Uint8Array, end: number): number {
    const ip = ETH_HEADER_LENGTH;
    if (end < IP_MIN_END) return this.#malformed(MALFORMED_TRUNCATED);
    if (f[ip] >> 4 !== 4) return this.#malformed(MALFORMED_BAD_VERSION);
    const ihl = (f[ip] & 0x0f) * 4;
    if (ihl < 20 || ip + ihl > end) return this.#malformed(MALFORMED_BAD_IHL);
    const totalLength = u16(f, ip + 2);
    // Frames shorter than 60 bytes are padded, so only a length past the capture is bad.
    if (totalLength < ihl || ip + totalLength > end) return this.#malformed(MALFORMED_BAD_LENGTH);
    const frag = u16(f, ip + 6);
    this.ipOffset = ip;
    this.ihl = ihl;
    this.totalLength = totalLength;
    this.ipId = u16(f, ip + 4);
    this.ttl = f[ip + 8];
    this.protocol = f[ip + 9];
    this.srcIp = u32(f, ip + 12);
    this.dstIp = u32(f, ip + 16);
    this.fragOffset = (frag & 0x1fff) * 8;
    this.moreFragments = (frag & 0x2000) !== 0;
    this.isFragment = this.moreFragments || this.fragOffset > 0;
    this.l4Offset = ip + ihl;
    // Later fragments carry no L4 header; they are steered by the IP addresses alone.
    if (this.fragOffset > 0) return (this.kind = KIND_IPV4);
    return this.#parseL4(f, totalLength - ihl, KIND_IPV4);
  }

  #parseIpv6(f: Uint8Array, end: number): number {
    const ip = ETH_HEADER_LENGTH;
    if (end < IPV6_END) return this.#malformed(MALFORMED_TRUNCATED);
    if (f[ip] >> 4 !== 6) return this.#malformed(MALFORMED_BAD_VERSION);
    const payloadEnd = IPV6_END + u16(f, ip + 4);
    if (payloadEnd > end) return this.#malformed(MALFORMED_BAD_LENGTH);
    for (let w = 0; w < 4; w++) {
      const at = ip + 8 + w * 4;
      this.src6[w] = (f[at] << 24) | (f[at + 1] << 16) | (f[at + 2] << 8) | f[at + 3];
      this.dst6[w] = (f[at + 16] << 24) | (f[at + 17] << 16) | (f[at + 18] << 8) | f[at + 19];
    }
    this.ipOffset = ip;
    this.totalLength = payloadEnd - ip;
    this.ttl = f[ip + 7];
    let next = f[ip + 6];
    let at = IPV6_END;
    let count = 0;
    let fragmented = false;
    // Each header names the next; the walk ends at the first that is no extension header.
    for (;;) {
      let length: number;
      if (
        next === EXT_HOP_BY_HOP || next === EXT_ROUTING || next === EXT_DESTINATION ||
        next === EXT_AH
      ) {
        if (next === EXT_HOP_BY_HOP && count > 0) return this.#malformed(MALFORMED_BAD_EXTENSION);
        if (at + 8 > payloadEnd) return this.#malformed(MALFORMED_BAD_EXTENSION);
        length = next === EXT_AH ? (f[at + 1] + 2) * 4 : (f[at + 1] + 1) * 8;
      } else if (next === EXT_FRAGMENT) {
        if (fragmented || at + 8 > payloadEnd) return this.#malformed(MALFORMED_BAD_EXTENSION);
        fragmented = true;
        length = 8;
        const frag = u16(f, at + 2);
        this.fragOffset = frag & 0xfff8;
        this.moreFragments = (frag & 1) !== 0;
        this.ipId = u32(f, at + 4);
      } else break;
      if (++count > MAX_EXTENSION_HEADERS) return this.#malformed(MALFORMED_LONG_CHAIN);
      if (at + length > payloadEnd) return this.#malformed(MALFORMED_BAD_EXTENSION);
      next = f[at];
      at += length;
      // What follows a later fragment's header is the middle of the datagram, no header.
      if (fragmented && this.fragOffset > 0) break;
    }
    this.extensionHeaders = count;
    this.protocol = next;
    this.l4Offset = at;
    this.ihl = at - ip;
    // An atomic fragment (offset 0, no more fragments) is a whole datagram (RFC 6946).
    this.isFragment = this.moreFragments || this.fragOffset > 0;
    if (this.fragOffset > 0) return (this.kind = KIND_IPV6);
    return this.#parseL4(f, payloadEnd - at, KIND_IPV6);
  }

  #parseL4(f: Uint8Array, l4Length: number, kind: number): number {
    const l4 = this.l4Offset;
    switch (this.protocol) {
      case PROTO_TCP: {
        if (l4Length < 20) return this.#malformed(MALFORMED_BAD_L4);
        const dataOffset = (f[l4 + 12] >> 4) * 4;
        if (dataOffset < 20 || dataOffset > l4Length) return this.#malformed(MALFORMED_BAD_L4);
        this.tcpFlags = f[l4 + 13];
        break;
      }
      case PROTO_UDP:
        if (l4Length < 8) return this.#malformed(MALFORMED_BAD_L4);
        break;
      case PROTO_ICMP:
      case PROTO_ICMPV6:
        // ICMP in IPv6 or ICMPv6 in IPv4 is some other protocol: no header to read.
        if ((this.protocol === PROTO_ICMP) !== (kind === KIND_IPV4)) return (this.kind = kind);
        // Every ICMP and ICMPv6 message has at least 8 bytes.
        if (l4Length < 8) return this.#malformed(MALFORMED_BAD_L4);
        this.icmpType = f[l4];
        this.icmpCode = f[l4 + 1];
        return (this.kind = kind);
      default:
        return (this.kind = kind);
    }
    this.hasPorts = true;
    this.srcPort = u16(f, l4);
    this.dstPort = u16(f, l4 + 2);
    return (this.kind = kind);
  }

  #malformed(reason: number): number {
    // A half-parsed header must not leak into the counters or the flow key.
    const etherType = this.etherType;
    this.#clear();
    this.src6.fill(0);
    this.dst6.fill(0);
    this.etherType = etherType;
    this.reason = reason;
    return (this.kind = KIND_MALFORMED);
  }

  #clear(): void {
    this.kind = KIND_OTHER;
    this.reason = 0;
    this.etherType = 0;
    this.arpOp = 0;
    this.arpSenderIp = 0;
    this.arpTargetIp = 0;
    this.ipOffset = 0;
    this.ihl = 0;
    this.totalLength = 0;
    this.ipId = 0;
    this.ttl = 0;
    this.protocol = 0;
    this.srcIp = 0;
    this.dstIp = 0;
    this.extensionHeaders = 0;
    this.fragOffset = 0;
    this.moreFragments = false;
    this.isFragment = false;
    this.l4Offset = 0;
    this.hasPorts = false;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.icmpType = -1;
    this.icmpCode = -1;
  }
}
