/**
 * Test-only builder of Ethernet frames:
 * `eth().ipv4({ src, dst }).tcp({ sport, dport, flags }).payload(bytes).build()`.
 * Checksums and lengths are computed unless overridden, so tests can craft
 * both good frames and precisely broken ones. It computes checksums on its
 * own, independent of the code under test.
 * @module
 */

import { parseIpv4, parseMac } from "./addr.ts";

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
  | { kind: "icmp"; o: IcmpEchoOptions };

const L4_PROTO = { tcp: 6, udp: 17, icmp: 1 } as const;
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
    const defaultType = this.#arp ? 0x0806 : this.#ip ? 0x0800 : 0x88b5;
    const bytes = [
      ...mac(this.#eth.dst ?? "02:00:00:00:00:02"),
      ...mac(this.#eth.src ?? "02:00:00:00:00:01"),
      ...be16(this.#eth.type ?? defaultType),
    ];
    if (this.#arp) bytes.push(...this.#arpBytes(this.#arp));
    if (this.#ip) bytes.push(...this.#ipv4Bytes(this.#ip));
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
    const l4 = this.#l4Bytes(src, dst);
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

  #l4Bytes(src: number, dst: number): number[] {
    const data = this.#payload;
    const l4 = this.#l4;
    if (!l4) return data;
    if (l4.kind === "icmp") {
      const o = l4.o;
      const msg = [o.type ?? 8, o.code ?? 0, 0, 0, ...be16(o.id), ...be16(o.seq), ...data];
      return withChecksum(msg, 2, o.checksum ?? checksum(msg));
    }
    const pseudo = (proto: number, seg: number[]) =>
      checksum([...be32(src), ...be32(dst), 0, proto, ...be16(seg.length), ...seg]);
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
