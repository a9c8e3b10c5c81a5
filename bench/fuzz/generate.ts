/**
 * The fuzzer's frames: every kind the balancer meets (TCP and UDP of both
 * families, IPv6 extension headers, fragments, ICMP echo and path-MTU errors,
 * other ICMP, ARP, Neighbor Solicitations and Advertisements, frames for
 * other MACs, other ethertypes and protocols, frames above the MTU, random
 * bytes), built with the test frame builder from a seeded PRNG, then a share
 * of them mutated: bytes changed (mostly header fields), cut short, or a
 * length field made to lie. Clients reuse conversations, so flows are hit
 * again, fragments follow their first fragment, and path-MTU errors name
 * flows that exist.
 * @module
 */

import { parseMac } from "../../dataplane/addr.ts";
import { parseIpv6, solicitedNode } from "../../dataplane/addr6.ts";
import { eth, type ExtensionOptions, type FrameBuilder } from "../../dataplane/_frame_builder.ts";
import { LB_IP6, LB_MAC } from "../../dataplane/_program_builder.ts";
import type { Prng } from "./prng.ts";
import { BASE, type Family, ripMac, V4, V6, worldServices } from "./world.ts";

/** Kinds of frame generated, each counted in the report. */
export const FRAME_KINDS = [
  "tcp4",
  "udp4",
  "tcp6",
  "udp6",
  "ext6",
  "frag4",
  "frag6",
  "echo4",
  "echo6",
  "pmtu4",
  "pmtu6",
  "icmp4",
  "icmp6",
  "arp",
  "ns",
  "na",
  "otherProto",
  "otherType",
  "otherMac",
  "oversize",
  "random",
] as const;
/** A kind of generated frame. */
export type FrameKind = typeof FRAME_KINDS[number];

/** What was done to a frame after it was built. */
export const MUTATIONS = ["none", "flip", "truncate", "lengthLie"] as const;
/** A mutation. */
export type Mutation = typeof MUTATIONS[number];

/** One generated frame. */
export interface Generated {
  bytes: Uint8Array;
  kind: FrameKind;
  mutation: Mutation;
}

const WEIGHTS: Record<FrameKind, number> = {
  tcp4: 14,
  udp4: 8,
  tcp6: 10,
  udp6: 6,
  ext6: 4,
  frag4: 5,
  frag6: 5,
  echo4: 2,
  echo6: 2,
  pmtu4: 3,
  pmtu6: 3,
  icmp4: 1,
  icmp6: 1,
  arp: 5,
  ns: 4,
  na: 3,
  otherProto: 1,
  otherType: 1,
  otherMac: 3,
  oversize: 1,
  random: 2,
};
const TABLE: FrameKind[] = FRAME_KINDS.flatMap((k) => new Array(WEIGHTS[k]).fill(k));

/** A client's exchange with a service: the 5-tuple its packets share. */
interface Conversation {
  f: Family;
  client: string;
  cport: number;
  vip: string;
  vport: number;
  proto: number;
}

/** A fragmented datagram in flight. */
interface Datagram {
  f: Family;
  src: string;
  dst: string;
  id: number;
  proto: number;
}

const TCP = 6;
const UDP = 17;
const CLIENT_MAC = "02:00:00:00:00:c1";
const ROUTER_MAC = "02:00:00:00:00:fe";
// As bytes: the builder parses a MAC given as text every time.
const CLIENT_BYTES = parseMac(CLIENT_MAC);
const ROUTER_BYTES = parseMac(ROUTER_MAC);
const LB_BYTES = parseMac(LB_MAC);
const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x45, 0x46, 0x4f, 0x60, 6, 17, 44, 58, 59, 0x3c];

const hexByte = (n: number) => n.toString(16).padStart(2, "0");

/** Makes frames from a seeded PRNG; the same seed gives the same frames. */
export class FrameGenerator {
  readonly #r: Prng;
  /** Recent conversations by family and protocol (`v4/6`, `v6/17`, …). */
  readonly #conversations = new Map<string, Conversation[]>();
  readonly #datagrams: Datagram[] = [];
  readonly #targets: Record<"v4" | "v6", { vip: string; port: number; proto: number }[]>;

  constructor(prng: Prng) {
    this.#r = prng;
    const services = worldServices(BASE);
    const of = (v6: boolean) =>
      services.filter((s) => s.vip.includes(":") === v6)
        .map((s) => ({ vip: s.vip, port: s.port, proto: s.proto ?? TCP }));
    this.#targets = { v4: of(false), v6: of(true) };
  }

  /** The next frame. */
  next(): Generated {
    const r = this.#r;
    const kind = r.pick(TABLE);
    const bytes = this.#build(kind);
    if (kind === "random" || !r.chance(0.3)) return { bytes, kind, mutation: "none" };
    const roll = r.u32() % 100;
    if (roll < 55) return { bytes: this.#flip(bytes), kind, mutation: "flip" };
    if (roll < 80) return { bytes: this.#truncate(bytes), kind, mutation: "truncate" };
    return { bytes: this.#lie(bytes), kind, mutation: "lengthLie" };
  }

  #build(kind: FrameKind): Uint8Array {
    const r = this.#r;
    switch (kind) {
      case "tcp4":
        return this.#segment(this.#conversation(V4, TCP));
      case "udp4":
        return this.#segment(this.#conversation(V4, UDP));
      case "tcp6":
        return this.#segment(this.#conversation(V6, TCP));
      case "udp6":
        return this.#segment(this.#conversation(V6, UDP));
      case "ext6":
        return this.#segment(this.#conversation(V6, r.chance(0.6) ? TCP : UDP), this.#chain());
      case "frag4":
        return this.#fragment(V4);
      case "frag6":
        return this.#fragment(V6);
      case "echo4":
      case "echo6": {
        const f = kind === "echo4" ? V4 : V6;
        return this.#ip(f, this.#client(f), this.#vip(f))
          .icmpEcho({ id: r.below(65536), seq: r.below(65536) })
          .payload(this.#bytes(r.pick([0, 8, 56, 200, 1400]))).build();
      }
      case "pmtu4":
        return this.#pathMtu(V4);
      case "pmtu6":
        return this.#pathMtu(V6);
      case "icmp4":
        return this.#ip(V4, this.#client(V4), this.#vip(V4))
          .icmpEcho({ type: r.pick([0, 3, 5, 11, 13]), code: r.below(6), id: 0, seq: 0 })
          .payload(this.#bytes(r.below(64))).build();
      case "icmp6":
        return this.#ip(V6, this.#client(V6), this.#vip(V6))
          .icmp6({ type: r.pick([1, 3, 4, 129, 133, 134, 137, 143]), code: r.below(4) })
          .payload(this.#bytes(r.below(64))).build();
      case "arp":
        return this.#arp();
      case "ns":
        return this.#solicit();
      case "na":
        return this.#advert();
      case "otherProto": {
        const f = r.chance(0.5) ? V4 : V6;
        const proto = f.v6 ? r.pick([59, 50, 47, 132]) : r.pick([47, 50, 132, 58]);
        const b = f.v6
          ? eth({ src: CLIENT_BYTES, dst: LB_BYTES }).ipv6({
            src: this.#client(f),
            dst: this.#vip(f),
            nextHeader: proto,
          })
          : eth({ src: CLIENT_BYTES, dst: LB_BYTES }).ipv4({
            src: this.#client(f),
            dst: this.#vip(f),
            proto,
          });
        return b.payload(this.#bytes(r.below(100))).build();
      }
      case "otherType": {
        const type = r.pick([0x88cc, 0x8100, 0x0842, 0x0040, 0x88b5, 0x8035]);
        const dst = r.chance(0.5) ? LB_MAC : "ff:ff:ff:ff:ff:ff";
        return eth({ src: CLIENT_MAC, dst, type }).payload(this.#bytes(r.range(20, 120))).build();
      }
      case "otherMac":
        return this.#otherMac();
      case "oversize": {
        const c = this.#conversation(r.chance(0.5) ? V4 : V6, r.chance(0.5) ? TCP : UDP);
        const header = (c.f.v6 ? 40 : 20) + (c.proto === TCP ? 20 : 8);
        // The IP packet is 1 to 60 bytes above the 1500-byte MTU, or exactly at it.
        const ipLength = r.chance(0.2) ? 1500 : r.range(1501, 1560);
        return this.#segment(c, [], ipLength - header);
      }
      case "random":
        return this.#random();
    }
  }

  /** An Ethernet and IP header from a client to `dst`. */
  #ip(f: Family, src: string, dst: string, ext: ExtensionOptions[] = []): FrameBuilder {
    const r = this.#r;
    const frame = eth({ src: r.chance(0.9) ? CLIENT_BYTES : ROUTER_BYTES, dst: LB_BYTES });
    if (f.v6) return frame.ipv6({ src, dst, hopLimit: r.range(1, 255), ext });
    // Now and then IP options (IHL 6 to 8), which only the general path reads past.
    const ihl = r.chance(0.05) ? r.range(6, 8) : 5;
    return frame.ipv4({
      src,
      dst,
      ttl: r.range(1, 255),
      id: r.below(65536),
      df: r.chance(0.5),
      ihl,
    });
  }

  #client(f: Family): string {
    return this.#r.pick(f.clients);
  }

  /** A VIP mostly; now and then an address that is none. */
  #vip(f: Family): string {
    const r = this.#r;
    if (r.chance(0.08)) return r.pick(f.notVips);
    return r.pick(this.#targets[f.v6 ? "v6" : "v4"]).vip;
  }

  /** An existing conversation (60%) or a new one, to a service of the family with `proto`. */
  #conversation(f: Family, proto: number): Conversation {
    const r = this.#r;
    const bucket = `${f.v6 ? "v6" : "v4"}/${proto}`;
    let known = this.#conversations.get(bucket);
    if (known === undefined) this.#conversations.set(bucket, known = []);
    if (known.length > 0 && r.chance(0.6)) return known[r.below(known.length)];
    const targets = this.#targets[f.v6 ? "v6" : "v4"].filter((t) => t.proto === proto);
    const t = r.pick(targets);
    let vip = t.vip;
    let vport = t.port === 0 ? r.pick([80, 53, 443, 8080, r.below(65536)]) : t.port;
    if (r.chance(0.05)) vport = r.below(65536);
    if (r.chance(0.04)) vip = r.pick(f.notVips);
    const cport = r.chance(0.9) ? 40000 + r.below(512) : r.below(65536);
    const c: Conversation = { f, client: this.#client(f), cport, vip, vport, proto };
    if (known.length < 256) known.push(c);
    else known[r.below(known.length)] = c;
    return c;
  }

  #flags(): number {
    const r = this.#r;
    const roll = r.u32() % 100;
    if (roll < 25) return 0x02; // SYN
    if (roll < 55) return 0x10; // ACK
    if (roll < 75) return 0x18; // PSH ACK
    if (roll < 85) return 0x11; // FIN ACK
    if (roll < 90) return 0x04; // RST
    if (roll < 93) return 0x12; // SYN ACK
    return r.below(256);
  }

  #payloadLength(): number {
    const r = this.#r;
    return r.pick([0, 0, 1, 6, 20, 100, 512, r.below(1400), r.below(1400)]);
  }

  /** A TCP segment or UDP datagram of the conversation. */
  #segment(
    c: Conversation,
    ext: ExtensionOptions[] = [],
    payload = this.#payloadLength(),
  ): Uint8Array {
    const b = this.#ip(c.f, c.client, c.vip, ext);
    if (c.proto === TCP) {
      const dataOffset = this.#r.chance(0.1) ? this.#r.range(5, 8) : 5;
      b.tcp({ sport: c.cport, dport: c.vport, flags: this.#flags(), dataOffset });
      // Options make up the header the data offset says.
      const head = b.payload(this.#bytes((dataOffset - 5) * 4)).build({ pad: false });
      return graft(head, this.#bytes(payload), TCP, dataOffset * 4);
    }
    const head = b.udp({ sport: c.cport, dport: c.vport }).build({ pad: false });
    return graft(head, this.#bytes(payload), UDP, 8);
  }

  /** An IPv6 extension-header chain: usually well formed, sometimes too long or misordered. */
  #chain(): ExtensionOptions[] {
    const r = this.#r;
    const roll = r.u32() % 100;
    if (roll < 5) return new Array(r.range(9, 10)).fill({ type: 60 });
    if (roll < 10) return [{ type: 60 }, { type: 0 }];
    const out: ExtensionOptions[] = r.chance(0.4) ? [{ type: 0 }] : [];
    for (let n = r.range(1, 3); n > 0; n--) {
      const type = r.pick([60, 43, 51]);
      out.push(
        type === 51
          ? { type, length: r.pick([12, 16, 24]) }
          : { type, length: r.pick([8, 16, 24]) },
      );
    }
    return out;
  }

  /** A fragment: a datagram's first (with ports), a later one of a datagram in flight, or an orphan. */
  #fragment(f: Family): Uint8Array {
    const r = this.#r;
    const roll = r.u32() % 100;
    const open = this.#datagrams.filter((d) => d.f === f);
    if (roll < 40 || open.length === 0) {
      const c = this.#conversation(f, r.chance(0.75) ? UDP : TCP);
      const d: Datagram = { f, src: c.client, dst: c.vip, id: this.#fragmentId(), proto: c.proto };
      if (this.#datagrams.length < 64) this.#datagrams.push(d);
      else this.#datagrams[r.below(64)] = d;
      const payload = this.#bytes(8 * r.range(2, 60));
      if (f.v6) {
        const b = this.#ip(f, d.src, d.dst, [{ type: 44, offset: 0, more: true, id: d.id }]);
        return (c.proto === TCP
          ? b.tcp({ sport: c.cport, dport: c.vport, flags: this.#flags() })
          : b.udp({ sport: c.cport, dport: c.vport, length: 8 + payload.length + 800 }))
          .payload(payload).build();
      }
      const b = eth({ src: CLIENT_BYTES, dst: LB_BYTES })
        .ipv4({ src: d.src, dst: d.dst, id: d.id, mf: true, ttl: 64 });
      return (c.proto === TCP
        ? b.tcp({ sport: c.cport, dport: c.vport, flags: this.#flags() })
        : b.udp({ sport: c.cport, dport: c.vport, length: 8 + payload.length + 800 }))
        .payload(payload).build();
    }
    let d = r.pick(open);
    if (roll >= 85) {
      // An orphan: a datagram whose first fragment never came, or one of another protocol.
      d = { ...d, id: this.#fragmentId(), proto: r.pick([UDP, TCP, f.v6 ? 58 : 1]) };
      if (r.chance(0.3)) {
        // A first fragment without ports (ICMP): it can only follow a datagram already known.
        return f.v6
          ? this.#ip(f, d.src, d.dst, [{ type: 44, offset: 0, more: true, id: d.id }])
            .icmpEcho({ id: 1, seq: 1 }).payload(this.#bytes(64)).build()
          : eth({ src: CLIENT_BYTES, dst: LB_BYTES })
            .ipv4({ src: d.src, dst: d.dst, id: d.id, mf: true })
            .icmpEcho({ id: 1, seq: 1 }).payload(this.#bytes(64)).build();
      }
    }
    const offset = 8 * r.range(1, 200);
    const more = r.chance(0.5);
    const data = this.#bytes(r.pick([8, 64, 256, 8 * r.range(1, 150)]));
    if (f.v6) {
      return this.#ip(f, d.src, d.dst, [{ type: 44, offset, more, id: d.id, next: d.proto }])
        .payload(data).build();
    }
    return eth({ src: CLIENT_BYTES, dst: LB_BYTES })
      .ipv4({ src: d.src, dst: d.dst, id: d.id, mf: more, fragOffset: offset, proto: d.proto })
      .payload(data).build();
  }

  #fragmentId(): number {
    return this.#r.chance(0.9) ? 1 + this.#r.below(48) : this.#r.below(65536);
  }

  /**
   * A "fragmentation needed" (IPv4) or "packet too big" (IPv6) from a router
   * to a VIP, embedding the start of a reply of a conversation (mostly one
   * the clients had), sometimes cut short or from another VIP.
   */
  #pathMtu(f: Family): Uint8Array {
    const r = this.#r;
    const c = this.#conversation(f, r.chance(0.6) ? TCP : UDP);
    const from = r.chance(0.05) ? this.#vip(f) : c.vip;
    const inner = f.v6
      ? eth().ipv6({ src: from, dst: c.client })
      : eth().ipv4({ src: from, dst: c.client, df: true });
    const l4 = c.proto === TCP
      ? inner.tcp({ sport: c.vport, dport: c.cport, flags: 0x18 })
      : inner.udp({ sport: c.vport, dport: c.cport });
    const whole = l4.payload(this.#bytes(r.range(0, 400))).build({ pad: false }).subarray(14);
    const header = f.v6 ? 40 : 20;
    const cut = r.chance(0.85) ? r.pick([header + 8, whole.length]) : r.range(0, header + 8);
    const embedded = whole.subarray(0, Math.min(cut, whole.length));
    if (f.v6) {
      const type = r.chance(0.9) ? 2 : 1;
      return this.#ip(f, "2001:2:2::1", c.vip)
        .icmp6({ type, body: [0, 0, 5, 0x78] }).payload(embedded).build();
    }
    const code = r.chance(0.9) ? 4 : r.pick([1, 3]);
    return eth({ src: ROUTER_BYTES, dst: LB_BYTES }).ipv4({ src: "198.18.2.1", dst: c.vip })
      .icmpEcho({ type: 3, code, id: 0, seq: 1400 }).payload(embedded).build();
  }

  /** A MAC a real server (or an impostor) uses: its usual one mostly, a new one sometimes. */
  #macOf(ip: string): string {
    const r = this.#r;
    return r.chance(0.85) ? ripMac(ip) : `02:00:00:00:0${r.below(10)}:${hexByte(r.byte())}`;
  }

  #arp(): Uint8Array {
    const r = this.#r;
    const roll = r.u32() % 100;
    const vip = this.#vip(V4);
    const dst = r.chance(0.7) ? "ff:ff:ff:ff:ff:ff" : LB_MAC;
    let op = 1, senderIp = this.#client(V4), targetIp = vip, senderMac = CLIENT_MAC;
    if (roll < 35) {
      // A client asks for a VIP (or another address).
    } else if (roll < 65) {
      // A real server answers or asks: the balancer learns its MAC.
      senderIp = r.chance(0.97) ? r.pick([...V4.rips, V4.sorry]) : V4.dark;
      senderMac = this.#macOf(senderIp);
      op = r.chance(0.6) ? 2 : 1;
      targetIp = r.chance(0.7) ? "198.18.0.10" : vip;
    } else if (roll < 80) {
      // Another host claims a VIP (gratuitous ARP): the ARP problem.
      senderIp = targetIp = vip;
      senderMac = r.chance(0.8) ? `02:00:00:00:0e:${hexByte(r.byte())}` : LB_MAC;
    } else if (roll < 90) {
      senderIp = "0.0.0.0"; // an address probe (RFC 5227)
    } else {
      op = r.range(0, 4);
      senderIp = this.#client(V4);
    }
    return eth({ src: senderMac, dst }).arp({ op, senderMac, senderIp, targetIp }).build();
  }

  /** NDP options: mostly the one link-layer option, sometimes more, none, or broken. */
  #options(type: 1 | 2, mac: string): number[] {
    const r = this.#r;
    const ll = [type, 1, ...mac.split(":").map((h) => parseInt(h, 16))];
    const roll = r.u32() % 100;
    if (roll < 70) return ll;
    if (roll < 80) return [];
    if (roll < 88) return [14, 1, 1, 2, 3, 4, 5, 6, ...ll]; // a nonce option first
    if (roll < 93) return [type, 0, 0, 0, 0, 0, 0, 0]; // length 0: invalid
    if (roll < 97) return [...ll, 0, 1, 2].slice(0, 8 + r.range(1, 3)); // a cut option after
    return [type, 2, ...ll.slice(2), 0, 0, 0, 0, 0, 0, 0, 0].slice(0, 12); // runs past the end
  }

  #solicit(): Uint8Array {
    const r = this.#r;
    const roll = r.u32() % 100;
    let src = this.#client(V6), target = this.#vip(V6), mac = CLIENT_MAC;
    if (roll < 15) src = "::"; // duplicate address detection
    else if (roll < 45) {
      // A real server resolves the balancer: the balancer learns the server's MAC.
      src = r.chance(0.97) ? r.pick([...V6.rips, V6.sorry]) : V6.dark;
      mac = this.#macOf(src);
      target = r.chance(0.7) ? LB_IP6 : target;
    }
    const options = src === "::" && r.chance(0.8) ? [] : this.#options(1, mac);
    const targetBytes = parseIpv6(target);
    const multicast = solicitedNode(targetBytes);
    const toMulticast = r.chance(0.7);
    const dst = toMulticast ? formatBytes6(multicast) : target;
    const dstMac = toMulticast
      ? `33:33:${[12, 13, 14, 15].map((i) => hexByte(multicast[i])).join(":")}`
      : LB_MAC;
    return eth({ src: mac, dst: dstMac })
      .ipv6({ src, dst, hopLimit: r.chance(0.93) ? 255 : r.range(0, 254) })
      .icmp6({
        type: 135,
        code: r.chance(0.97) ? 0 : 1,
        body: [0, 0, 0, 0, ...targetBytes, ...options],
      })
      .build();
  }

  #advert(): Uint8Array {
    const r = this.#r;
    const roll = r.u32() % 100;
    let src: string, target: string, mac: string;
    if (roll < 60) {
      src = target = r.chance(0.97) ? r.pick([...V6.rips, V6.sorry]) : V6.dark;
      mac = this.#macOf(src);
    } else if (roll < 85) {
      // Someone else claims a VIP.
      target = this.#vip(V6);
      src = target;
      mac = r.chance(0.8) ? `02:00:00:00:0e:${hexByte(r.byte())}` : LB_MAC;
    } else {
      src = this.#client(V6);
      target = this.#client(V6);
      mac = CLIENT_MAC;
    }
    const toAll = r.chance(0.5);
    return eth({ src: r.chance(0.9) ? mac : CLIENT_MAC, dst: toAll ? "33:33:00:00:00:01" : LB_MAC })
      .ipv6({ src, dst: toAll ? "ff02::1" : LB_IP6, hopLimit: r.chance(0.95) ? 255 : 64 })
      .icmp6({
        type: 136,
        body: [
          r.pick([0x20, 0x60, 0xa0, 0]),
          0,
          0,
          0,
          ...parseIpv6(target),
          ...this.#options(2, mac),
        ],
      })
      .build();
  }

  /** A frame of some other kind, addressed to another host's MAC (flooding, mirroring). */
  #otherMac(): Uint8Array {
    const r = this.#r;
    const inner = r.pick<FrameKind>([
      "tcp4",
      "udp4",
      "tcp6",
      "udp6",
      "arp",
      "ns",
      "echo4",
      "frag4",
    ]);
    const frame = this.#build(inner);
    const roll = r.u32() % 100;
    let mac: number[];
    if (roll < 40) mac = [2, 0, 0, 0, r.byte(), r.byte()]; // another unicast host
    else if (roll < 55) mac = [2, 0, 0, 0, 0, 0x0b]; // a neighbour of the balancer's MAC
    else if (roll < 70) mac = [0x33, 0x33, 0, 0, 0, r.pick([1, 2, 0x16])]; // IPv6 multicast
    else if (roll < 85) mac = [0x33, 0x33, 0xff, r.byte(), r.byte(), r.byte()]; // solicited-node
    else if (roll < 93) mac = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    else mac = [1, 0, 0x5e, 0, 0, r.byte()]; // IPv4 multicast
    frame.set(mac, 0);
    return frame;
  }

  #random(): Uint8Array {
    const r = this.#r;
    const frame = this.#bytes(r.range(0, 200));
    if (frame.length >= 15 && r.chance(0.7)) {
      frame.set([2, 0, 0, 0, 0, 0x0a], 0);
      const type = r.pick([0x0800, 0x86dd, 0x0806]);
      frame[12] = type >> 8;
      frame[13] = type & 255;
      if (type === 0x0800) frame[14] = 0x40 | (frame[14] & 15);
      if (type === 0x86dd) frame[14] = 0x60 | (frame[14] & 15);
    }
    return frame;
  }

  #bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const x = this.#r.u32();
      out[i] = x;
      if (i + 1 < n) out[i + 1] = x >>> 8;
      if (i + 2 < n) out[i + 2] = x >>> 16;
      if (i + 3 < n) out[i + 3] = x >>> 24;
    }
    return out;
  }

  /** Offsets worth changing: Ethernet, IP and upper-layer header fields. */
  #fields(frame: Uint8Array): number[] {
    const type = (frame[12] << 8) | frame[13];
    const out = [0, 1, 5, 12, 13];
    if (type === 0x0806) out.push(14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 28, 31, 38, 41);
    else if (type === 0x0800) {
      out.push(14, 16, 17, 18, 19, 20, 21, 23, 26, 29, 30, 33, 34, 35, 36, 37, 38, 46, 47);
      out.push(39, 40); // inner header of an ICMP error, UDP length
    } else if (type === 0x86dd) {
      out.push(14, 18, 19, 20, 21, 22, 37, 38, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 66, 67);
      out.push(77, 78, 79, 62 + 16, 94, 95, 96);
    }
    return out;
  }

  #flip(frame: Uint8Array): Uint8Array {
    const r = this.#r;
    const out = frame.slice();
    const fields = this.#fields(frame);
    for (let n = r.range(1, 4); n > 0; n--) {
      const at = r.chance(0.7) ? r.pick(fields) : r.below(Math.max(1, out.length));
      if (at >= out.length) continue;
      const roll = r.u32() % 10;
      if (roll < 4) out[at] = r.byte();
      else if (roll < 8) out[at] ^= 1 << r.below(8);
      else out[at] = r.pick(INTERESTING);
    }
    return out;
  }

  #truncate(frame: Uint8Array): Uint8Array {
    const r = this.#r;
    const marks = [0, 6, 13, 14, 20, 33, 34, 41, 42, 47, 53, 54, 61, 62, 73, 74, 77, 78, 85, 86];
    const cut = r.chance(0.6) ? r.pick(marks) + r.range(-1, 1) : r.below(frame.length + 1);
    return frame.slice(0, Math.max(0, Math.min(frame.length, cut)));
  }

  /** A length field that lies: IPv4 total length or IHL, IPv6 payload length, TCP data offset, an extension length. */
  #lie(frame: Uint8Array): Uint8Array {
    const r = this.#r;
    const out = frame.slice();
    const type = (out[12] << 8) | out[13];
    const near = (v: number) => Math.max(0, Math.min(65535, v + r.range(-24, 24)));
    const put16 = (at: number, v: number) => {
      if (at + 1 < out.length) [out[at], out[at + 1]] = [(v >> 8) & 255, v & 255];
    };
    const roll = r.u32() % 4;
    if (type === 0x0800 && out.length > 47) {
      if (roll === 0) put16(16, r.chance(0.5) ? near(out.length - 14) : r.below(65536));
      else if (roll === 1) out[14] = 0x40 | r.below(16);
      else if (roll === 2) out[46] = (r.below(16) << 4) | (out[46] & 15);
      else put16(38, r.below(65536));
    } else if (type === 0x86dd && out.length > 67) {
      if (roll <= 1) put16(18, r.chance(0.5) ? near(out.length - 54) : r.below(65536));
      else if (roll === 2) out[55] = r.below(256); // an extension header's length, if one is there
      else out[66] = (r.below(16) << 4) | (out[66] & 15);
    } else if (out.length > 19) out[18] = r.byte();
    return out;
  }
}

/**
 * Appends `payload` to a TCP or UDP frame the builder made without one (its
 * upper-layer header, `l4Length` bytes, ends the frame), with the IP and UDP
 * lengths and the checksums made right again, padded to 60 bytes: the
 * builder handles bytes as arrays of numbers, slowly for a long payload.
 */
export function graft(
  head: Uint8Array,
  payload: Uint8Array,
  proto: number,
  l4Length: number,
): Uint8Array {
  const n = payload.length;
  const l4 = head.length - l4Length;
  const out = new Uint8Array(Math.max(60, head.length + n));
  out.set(head);
  out.set(payload, head.length);
  const get16 = (at: number) => (out[at] << 8) | out[at + 1];
  const put16 = (at: number, v: number) => {
    out[at] = (v >> 8) & 255;
    out[at + 1] = v & 255;
  };
  const v6 = out[12] === 0x86;
  let pseudo = proto + l4Length + n;
  if (v6) {
    put16(18, get16(18) + n);
    pseudo += sum16(out, 22, 54);
  } else {
    put16(16, get16(16) + n);
    put16(24, 0);
    put16(24, ~fold(sum16(out, 14, l4)) & 0xffff);
    pseudo += sum16(out, 26, 34);
  }
  if (proto === UDP) put16(l4 + 4, get16(l4 + 4) + n);
  const at = l4 + (proto === TCP ? 16 : 6);
  put16(at, 0);
  const sum = ~fold(pseudo + sum16(out, l4, l4 + l4Length + n)) & 0xffff;
  put16(at, proto === UDP && sum === 0 ? 0xffff : sum);
  return out;
}

/** The sum of `b[from, to)` as big-endian 16-bit words (an odd last byte padded). */
function sum16(b: Uint8Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i += 2) sum += (b[i] << 8) | (i + 1 < to ? b[i + 1] : 0);
  return sum;
}

function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return sum;
}

function formatBytes6(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
  return groups.join(":");
}
