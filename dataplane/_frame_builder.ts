/**
 * Test-only builder of Ethernet frames:
 * `eth().ipv4({ src, dst }).tcp({ sport, dport, flags }).payload(bytes).build()`,
 * or `eth().ipv6({ src, dst, ext: [...] }).udp(...)` for IPv6 with extension headers.
 * Checksums and lengths are computed unless overridden, so tests can craft
 * both good frames and precisely broken ones. It computes checksums on its
 * own, independent of the code under test.
 * @module
 */

import { parseIpv4, parseMac } from "./addr.ts";
import { parseIpv6 } from "./addr6.ts";

/** A MAC as text (`02:00:00:00:00:01`) or six bytes. */
export type Mac = string | Uint8Array;
/** An IPv4 address as dotted quad or unsigned 32-bit number. */
export type Ip = string | number;

/** Ethernet header; `type` defaults to what the next layer needs. */
export interface EthOptions {
  src?: Mac;
  dst?: Mac;
  type?: number;
}

/** IPv4 header; every field can be overridden to craft a bad packet. */
export interface Ipv4Options {
  src: Ip;
  dst: Ip;
  ttl?: number;
  id?: number;
  tos?: number;
  /** Defaults to the protocol of the layer-4 header, else 0xfd (experimental). */
  proto?: number;
  df?: boolean;
  mf?: boolean;
  /** Fragment offset in bytes (a multiple of 8). */
  fragOffset?: number;
  version?: number;
  /** IHL field in 32-bit words; above 5 it adds NOP option bytes unless `options` is given. */
  ihl?: number;
  /** Option bytes; the IHL follows their length unless `ihl` is given. */
  options?: ArrayLike<number>;
  totalLength?: number;
  checksum?: number;
}

/** One IPv6 extension header. */
export interface ExtensionOptions {
  /** Its header type: 0 hop-by-hop, 43 routing, 44 fragment, 51 AH, 60 destination options. */
  type: number;
  /** Bytes, a multiple of 8 (AH: of 4); default 8 (fragment), 16 (AH) or 8. */
  length?: number;
  /** Its next-header byte; default the type of what follows. */
  next?: number;
  /** Fragment header: offset in bytes (a multiple of 8), more-fragments flag, identification. */
  offset?: number;
  more?: boolean;
  id?: number;
}

/** IPv6 header; every field can be overridden to craft a bad packet. */
export interface Ipv6Options {
  src: string;
  dst: string;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
  version?: number;
  /** The fixed header's next header; default the first extension's type, else the layer 4's. */
  nextHeader?: number;
  payloadLength?: number;
  /** Extension headers in order, between the fixed header and layer 4. */
  ext?: ExtensionOptions[];
}

/** A bare ICMPv6 message: type, code and the bytes after the checksum. */
export interface Icmp6Options {
  type: number;
  code?: number;
  body?: ArrayLike<number>;
  checksum?: number;
}

/** TCP header. */
export interface TcpOptions {
  sport: number;
  dport: number;
  flags: number;
  seq?: number;
  ack?: number;
  window?: number;
  /** Data offset field in 32-bit words (default 5). */
  dataOffset?: number;
  checksum?: number;
}

/** UDP header. */
export interface UdpOptions {
  sport: number;
  dport: number;
  length?: number;
  checksum?: number;
}

/** ICMP echo header; `type` 8 (request) unless given. */
export interface IcmpEchoOptions {
  id: number;
  seq: number;
  type?: number;
  code?: number;
  checksum?: number;
}

/** ARP packet; the format fields default to Ethernet/IPv4. */
export interface ArpOptions {
  op: number;
  senderMac: Mac;
  senderIp: Ip;
  targetMac?: Mac;
  targetIp: Ip;
  htype?: number;
  ptype?: number;
  hlen?: number;
  plen?: number;
}

type L4 =
  | { kind: "tcp"; o: TcpOptions }
  | { kind: "udp"; o: UdpOptions }
  | { kind: "icmp"; o: IcmpEchoOptions }
  | { kind: "icmp6"; o: Icmp6Options };

const L4_PROTO = { tcp: 6, udp: 17, icmp: 1, icmp6: 58 } as const;
const mac = (m: Mac) => typeof m === "string" ? parseMac(m) : m;
const ip = (a: Ip) => typeof a === "string" ? parseIpv4(a) : a >>> 0;
const be16 = (v: number) => [(v >>> 8) & 255, v & 255];
const be32 = (v: number) => [...be16(v >>> 16), ...be16(v)];

function checksum(bytes: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) + (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

function withChecksum(bytes: number[], at: number, value: number): number[] {
  bytes.splice(at, 2, ...be16(value));
  return bytes;
}

/** Accumulates layers; `build()` assembles them. */
export class FrameBuilder {
  #eth: EthOptions;
  #ip?: Ipv4Options;
  #ip6?: Ipv6Options;
  #l4?: L4;
  #arp?: ArpOptions;
  #payload: number[] = [];

  constructor(eth: EthOptions) {
    this.#eth = eth;
  }

  /** Adds an IPv4 header. */
  ipv4(o: Ipv4Options): this {
    this.#ip = o;
    return this;
  }

  /** Adds an IPv6 header (and its extension headers). */
  ipv6(o: Ipv6Options): this {
    this.#ip6 = o;
    return this;
  }

  /** Adds an ICMPv6 message (an echo over IPv6 can use `icmpEcho` as well). */
  icmp6(o: Icmp6Options): this {
    this.#l4 = { kind: "icmp6", o };
    return this;
  }

  /** Adds a TCP header. */
  tcp(o: TcpOptions): this {
    this.#l4 = { kind: "tcp", o };
    return this;
  }

  /** Adds a UDP header. */
  udp(o: UdpOptions): this {
    this.#l4 = { kind: "udp", o };
    return this;
  }

  /** Adds an ICMP echo header. */
  icmpEcho(o: IcmpEchoOptions): this {
    this.#l4 = { kind: "icmp", o };
    return this;
  }

  /** Makes the frame an ARP packet. */
  arp(o: ArpOptions): this {
    this.#arp = o;
    return this;
  }

  /** Appends bytes after the last header. */
  payload(bytes: ArrayLike<number>): this {
    this.#payload.push(...Array.from(bytes));
    return this;
  }

  /** The frame bytes, zero-padded to 60 unless `pad` is false. */
  build({ pad = true }: { pad?: boolean } = {}): Uint8Array {
    const defaultType = this.#arp ? 0x0806 : this.#ip ? 0x0800 : this.#ip6 ? 0x86dd : 0x88b5;
    const bytes = [
      ...mac(this.#eth.dst ?? "02:00:00:00:00:02"),
      ...mac(this.#eth.src ?? "02:00:00:00:00:01"),
      ...be16(this.#eth.type ?? defaultType),
    ];
    if (this.#arp) bytes.push(...this.#arpBytes(this.#arp));
    if (this.#ip) bytes.push(...this.#ipv4Bytes(this.#ip));
    else if (this.#ip6) bytes.push(...this.#ipv6Bytes(this.#ip6));
    else bytes.push(...this.#payload);
    while (pad && bytes.length < 60) bytes.push(0);
    return Uint8Array.from(bytes);
  }

  #arpBytes(o: ArpOptions): number[] {
    return [
      ...be16(o.htype ?? 1),
      ...be16(o.ptype ?? 0x0800),
      o.hlen ?? 6,
      o.plen ?? 4,
      ...be16(o.op),
      ...mac(o.senderMac),
      ...be32(ip(o.senderIp)),
      ...mac(o.targetMac ?? "00:00:00:00:00:00"),
      ...be32(ip(o.targetIp)),
    ];
  }

  #ipv4Bytes(o: Ipv4Options): number[] {
    const src = ip(o.src), dst = ip(o.dst);
    const options = Array.from(o.options ?? new Array(Math.max(0, (o.ihl ?? 5) - 5) * 4).fill(1));
    const ihl = o.ihl ?? 5 + options.length / 4;
    const l4 = this.#l4Bytes((proto, seg) =>
      checksum([...be32(src), ...be32(dst), 0, proto, ...be16(seg.length), ...seg])
    );
    const proto = o.proto ?? (this.#l4 ? L4_PROTO[this.#l4.kind] : 0xfd);
    const frag = (o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | ((o.fragOffset ?? 0) / 8);
    const header = [
      ((o.version ?? 4) << 4) | (ihl & 15),
      o.tos ?? 0,
      ...be16(o.totalLength ?? 20 + options.length + l4.length),
      ...be16(o.id ?? 1),
      ...be16(frag),
      o.ttl ?? 64,
      proto,
      0,
      0,
      ...be32(src),
      ...be32(dst),
      ...options,
    ];
    withChecksum(header, 10, o.checksum ?? checksum(header));
    return [...header, ...l4];
  }

  #ipv6Bytes(o: Ipv6Options): number[] {
    const src = Array.from(parseIpv6(o.src)), dst = Array.from(parseIpv6(o.dst));
    const l4 = this.#l4Bytes(
      (proto, seg) => checksum([...src, ...dst, ...be32(seg.length), 0, 0, 0, proto, ...seg]),
      true,
    );
    const ext = o.ext ?? [];
    const kind = this.#l4?.kind;
    const upper = kind === undefined ? 59 : kind === "icmp" ? 58 : L4_PROTO[kind];
    const chain: number[] = [];
    ext.forEach((e, i) => {
      const next = e.next ?? (i + 1 < ext.length ? ext[i + 1].type : upper);
      if (e.type === 44) {
        const frag = ((e.offset ?? 0) & 0xfff8) | (e.more ? 1 : 0);
        chain.push(next, 0, ...be16(frag), ...be32(e.id ?? 1));
      } else if (e.type === 51) {
        const length = e.length ?? 16;
        chain.push(next, length / 4 - 2, ...new Array(length - 2).fill(0));
      } else {
        const length = e.length ?? 8;
        chain.push(next, length / 8 - 1, ...new Array(length - 2).fill(0));
      }
    });
    const header = [
      ((o.version ?? 6) << 4) | ((o.trafficClass ?? 0) >> 4),
      (((o.trafficClass ?? 0) & 15) << 4) | (((o.flowLabel ?? 0) >> 16) & 15),
      ...be16((o.flowLabel ?? 0) & 0xffff),
      ...be16(o.payloadLength ?? chain.length + l4.length),
      o.nextHeader ?? (ext.length > 0 ? ext[0].type : upper),
      o.hopLimit ?? 64,
      ...src,
      ...dst,
    ];
    return [...header, ...chain, ...l4];
  }

  #l4Bytes(pseudo: (proto: number, seg: number[]) => number, v6 = false): number[] {
    const data = this.#payload;
    const l4 = this.#l4;
    if (!l4) return data;
    if (l4.kind === "icmp6") {
      const o = l4.o;
      const msg = [o.type, o.code ?? 0, 0, 0, ...Array.from(o.body ?? []), ...data];
      return withChecksum(msg, 2, o.checksum ?? pseudo(58, msg));
    }
    if (l4.kind === "icmp") {
      const o = l4.o;
      const msg = [o.type ?? (v6 ? 128 : 8), o.code ?? 0, 0, 0, ...be16(o.id), ...be16(o.seq)];
      msg.push(...data);
      return withChecksum(msg, 2, o.checksum ?? (v6 ? pseudo(58, msg) : checksum(msg)));
    }
    if (l4.kind === "udp") {
      const o = l4.o;
      const seg = [...be16(o.sport), ...be16(o.dport), ...be16(o.length ?? 8 + data.length)];
      seg.push(0, 0, ...data);
      return withChecksum(seg, 6, o.checksum ?? (pseudo(17, seg) || 0xffff));
    }
    const o = l4.o;
    const seg = [...be16(o.sport), ...be16(o.dport), ...be32(o.seq ?? 1000), ...be32(o.ack ?? 0)];
    seg.push(((o.dataOffset ?? 5) << 4) & 0xf0, o.flags, ...be16(o.window ?? 65535), 0, 0, 0, 0);
    seg.push(...data);
    return withChecksum(seg, 16, o.checksum ?? pseudo(6, seg));
  }
}

/** Starts a frame with an Ethernet header. */
export function eth(o: EthOptions = {}): FrameBuilder {
  return new FrameBuilder(o);
}
