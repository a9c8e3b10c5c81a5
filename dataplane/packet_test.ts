import assert from "node:assert/strict";
import fc from "fast-check";
import { parseIpv4 } from "./addr.ts";
import { ipv6Words, parseIpv6 } from "./addr6.ts";
import { eth } from "./_frame_builder.ts";
import {
  KIND_ARP,
  KIND_IPV4,
  KIND_IPV6,
  KIND_MALFORMED,
  KIND_OTHER,
  MALFORMED_BAD_ARP,
  MALFORMED_BAD_EXTENSION,
  MALFORMED_BAD_IHL,
  MALFORMED_BAD_L4,
  MALFORMED_BAD_LENGTH,
  MALFORMED_BAD_VERSION,
  MALFORMED_LONG_CHAIN,
  MALFORMED_REASONS,
  MALFORMED_TRUNCATED,
  MAX_EXTENSION_HEADERS,
  PacketView,
  PROTO_ICMP,
  PROTO_ICMPV6,
  PROTO_NONE,
  PROTO_TCP,
  PROTO_UDP,
  TCP_ACK,
  TCP_SYN,
} from "./packet.ts";

const CLIENT_MAC = "02:00:00:00:00:c1";
const LB_MAC = "02:00:00:00:00:1b";
const CLIENT = "203.0.113.9"; // high first octet: catches signed 32-bit reads
const VIP = "198.18.0.100";
const ips = { src: CLIENT, dst: VIP };
const tcpSyn = { sport: 40000, dport: 80, flags: TCP_SYN };
const frame = (o: { type?: number } = {}) => eth({ src: CLIENT_MAC, dst: LB_MAC, ...o });
const bytes = (n: number) => Array.from({ length: n }, (_, i) => i & 255);
const ipv4Header = eth().ipv4(ips).udp({ sport: 1, dport: 2 }).build().subarray(14);

type Fields = Partial<Omit<PacketView, "parse">>;
const malformed = (reason: number): Fields => ({ kind: KIND_MALFORMED, reason });

const cases: { name: string; frame: Uint8Array; len?: number; expect: Fields }[] = [
  {
    name: "TCP SYN gives addresses, ports and flags",
    frame: frame().ipv4({ ...ips, id: 77, ttl: 61 }).tcp(tcpSyn).build(),
    expect: {
      kind: KIND_IPV4,
      reason: 0,
      etherType: 0x0800,
      ipOffset: 14,
      ihl: 20,
      totalLength: 40,
      ipId: 77,
      ttl: 61,
      protocol: PROTO_TCP,
      srcIp: parseIpv4(CLIENT),
      dstIp: parseIpv4(VIP),
      isFragment: false,
      l4Offset: 34,
      hasPorts: true,
      srcPort: 40000,
      dstPort: 80,
      tcpFlags: TCP_SYN,
      icmpType: -1,
    },
  },
  {
    name: "UDP datagram gives ports and no TCP flags",
    frame: frame().ipv4(ips).udp({ sport: 5353, dport: 53 }).payload(bytes(30)).build(),
    expect: {
      kind: KIND_IPV4,
      protocol: PROTO_UDP,
      totalLength: 58,
      hasPorts: true,
      srcPort: 5353,
      dstPort: 53,
      tcpFlags: 0,
    },
  },
  {
    name: "ICMP echo request gives type and code but no ports",
    frame: frame().ipv4(ips).icmpEcho({ id: 1, seq: 2 }).payload(bytes(56)).build(),
    expect: {
      kind: KIND_IPV4,
      protocol: PROTO_ICMP,
      icmpType: 8,
      icmpCode: 0,
      hasPorts: false,
      srcPort: 0,
    },
  },
  {
    name: "other IP protocol (GRE) parses without ports",
    frame: frame().ipv4({ ...ips, proto: 47 }).payload(bytes(4)).build(),
    expect: { kind: KIND_IPV4, protocol: 47, hasPorts: false, icmpType: -1 },
  },
  {
    name: "ARP request gives op and both addresses",
    frame: frame().arp({ op: 1, senderMac: CLIENT_MAC, senderIp: CLIENT, targetIp: VIP }).build(),
    expect: {
      kind: KIND_ARP,
      etherType: 0x0806,
      arpOp: 1,
      arpSenderIp: parseIpv4(CLIENT),
      arpTargetIp: parseIpv4(VIP),
      srcIp: 0,
    },
  },
  {
    name: "ARP reply gives op 2",
    frame: frame().arp({
      op: 2,
      senderMac: CLIENT_MAC,
      senderIp: CLIENT,
      targetMac: LB_MAC,
      targetIp: VIP,
    }).build(),
    expect: { kind: KIND_ARP, arpOp: 2, arpSenderIp: parseIpv4(CLIENT) },
  },
  {
    name: "empty frame is truncated",
    frame: new Uint8Array(0),
    expect: { ...malformed(MALFORMED_TRUNCATED), etherType: 0 },
  },
  {
    name: "frame shorter than the Ethernet header is truncated",
    frame: frame().ipv4(ips).tcp(tcpSyn).build().subarray(0, 13),
    expect: malformed(MALFORMED_TRUNCATED),
  },
  {
    name: "len beyond the buffer is clamped to the buffer",
    frame: frame().ipv4(ips).tcp(tcpSyn).build().subarray(0, 13),
    len: 1500,
    expect: malformed(MALFORMED_TRUNCATED),
  },
  {
    name: "IPv4 frame shorter than the 20-byte IP header is truncated",
    frame: frame().ipv4(ips).tcp(tcpSyn).build().subarray(0, 33),
    expect: { ...malformed(MALFORMED_TRUNCATED), etherType: 0x0800 },
  },
  {
    name: "ARP frame shorter than the 28-byte ARP body is truncated",
    frame: frame().arp({ op: 1, senderMac: CLIENT_MAC, senderIp: CLIENT, targetIp: VIP })
      .build().subarray(0, 41),
    expect: { ...malformed(MALFORMED_TRUNCATED), etherType: 0x0806, arpOp: 0 },
  },
  {
    name: "ARP for IPv6 protocol addresses is badArp",
    frame: frame().arp({
      op: 1,
      senderMac: CLIENT_MAC,
      senderIp: CLIENT,
      targetIp: VIP,
      ptype: 0x86dd,
    })
      .build(),
    expect: malformed(MALFORMED_BAD_ARP),
  },
  {
    name: "ARP with an 8-byte hardware address is badArp",
    frame: frame().arp({ op: 1, senderMac: CLIENT_MAC, senderIp: CLIENT, targetIp: VIP, hlen: 8 })
      .build(),
    expect: malformed(MALFORMED_BAD_ARP),
  },
  {
    name: "ARP over IEEE 802 hardware (htype 6) is badArp",
    frame: frame().arp({ op: 1, senderMac: CLIENT_MAC, senderIp: CLIENT, targetIp: VIP, htype: 6 })
      .build(),
    expect: malformed(MALFORMED_BAD_ARP),
  },
  {
    name: "IP version 6 under the IPv4 ethertype is badVersion",
    frame: frame().ipv4({ ...ips, version: 6 }).tcp(tcpSyn).build(),
    expect: malformed(MALFORMED_BAD_VERSION),
  },
  {
    name: "IHL below 5 is badIhl",
    frame: frame().ipv4({ ...ips, ihl: 4 }).tcp(tcpSyn).build(),
    expect: malformed(MALFORMED_BAD_IHL),
  },
  {
    name: "IHL reaching past the end of the frame is badIhl",
    frame: frame().ipv4({ ...ips, ihl: 15, options: [] }).tcp(tcpSyn).build(),
    expect: malformed(MALFORMED_BAD_IHL),
  },
  {
    name: "total length past the captured bytes is badLength",
    frame: frame().ipv4({ ...ips, totalLength: 1500 }).tcp(tcpSyn).build(),
    expect: malformed(MALFORMED_BAD_LENGTH),
  },
  {
    name: "total length below the header length is badLength",
    frame: frame().ipv4({ ...ips, totalLength: 19 }).tcp(tcpSyn).build(),
    expect: malformed(MALFORMED_BAD_LENGTH),
  },
  {
    name: "len shorter than the buffer bounds the captured bytes",
    frame: frame().ipv4(ips).tcp(tcpSyn).payload(bytes(20)).build(),
    len: 70,
    expect: malformed(MALFORMED_BAD_LENGTH),
  },
  {
    name: "first fragment carries ports and is a fragment",
    frame: frame().ipv4({ ...ips, mf: true }).tcp({ ...tcpSyn, flags: TCP_ACK }).payload(bytes(64))
      .build(),
    expect: {
      kind: KIND_IPV4,
      isFragment: true,
      moreFragments: true,
      fragOffset: 0,
      hasPorts: true,
      srcPort: 40000,
      dstPort: 80,
      tcpFlags: TCP_ACK,
    },
  },
  {
    name: "later fragment has no ports and its offset in bytes",
    frame: frame().ipv4({ ...ips, proto: PROTO_TCP, mf: true, fragOffset: 1480 }).payload(bytes(64))
      .build(),
    expect: {
      kind: KIND_IPV4,
      protocol: PROTO_TCP,
      isFragment: true,
      moreFragments: true,
      fragOffset: 1480,
      hasPorts: false,
      srcPort: 0,
      dstPort: 0,
      tcpFlags: 0,
    },
  },
  {
    name: "last fragment (offset set, no more fragments) is a fragment",
    frame: frame().ipv4({ ...ips, proto: PROTO_UDP, fragOffset: 2960 }).payload(bytes(3)).build(),
    expect: { kind: KIND_IPV4, isFragment: true, moreFragments: false, fragOffset: 2960 },
  },
  {
    name: "later fragment shorter than any L4 header is still well formed",
    frame: frame().ipv4({ ...ips, proto: PROTO_TCP, fragOffset: 8 }).payload(bytes(2)).build(),
    expect: { kind: KIND_IPV4, reason: 0, hasPorts: false },
  },
  {
    name: "TCP header cut short in an unfragmented packet is badL4",
    frame: frame().ipv4({ ...ips, proto: PROTO_TCP }).payload(bytes(19)).build(),
    expect: { ...malformed(MALFORMED_BAD_L4), srcPort: 0, srcIp: 0 },
  },
  {
    name: "TCP header cut short in a first fragment is badL4",
    frame: frame().ipv4({ ...ips, proto: PROTO_TCP, mf: true }).payload(bytes(8)).build(),
    expect: malformed(MALFORMED_BAD_L4),
  },
  {
    name: "TCP data offset below 5 is badL4",
    frame: frame().ipv4(ips).tcp({ ...tcpSyn, dataOffset: 4 }).build(),
    expect: malformed(MALFORMED_BAD_L4),
  },
  {
    name: "TCP data offset past the total length is badL4",
    frame: frame().ipv4(ips).tcp({ ...tcpSyn, dataOffset: 6 }).build(),
    expect: malformed(MALFORMED_BAD_L4),
  },
  {
    name: "UDP shorter than its 8-byte header is badL4",
    frame: frame().ipv4({ ...ips, proto: PROTO_UDP }).payload(bytes(7)).build(),
    expect: malformed(MALFORMED_BAD_L4),
  },
  {
    name: "ICMP shorter than its 8-byte header is badL4",
    frame: frame().ipv4({ ...ips, proto: PROTO_ICMP }).payload(bytes(4)).build(),
    expect: malformed(MALFORMED_BAD_L4),
  },
  {
    name: "IP options (IHL 6) shift the TCP header",
    frame: frame().ipv4({ ...ips, ihl: 6 }).tcp({ ...tcpSyn, sport: 1234 }).build(),
    expect: {
      kind: KIND_IPV4,
      ihl: 24,
      l4Offset: 38,
      srcPort: 1234,
      dstPort: 80,
      tcpFlags: TCP_SYN,
    },
  },
  ...ipv6Cases(),
  {
    name: "VLAN-tagged IPv4 frame is other",
    frame: frame({ type: 0x8100 }).payload([0x00, 0x0a, 0x08, 0x00, ...ipv4Header]).build(),
    expect: { kind: KIND_OTHER, reason: 0, etherType: 0x8100, srcIp: 0 },
  },
  {
    name: "LLDP frame is other",
    frame: frame({ type: 0x88cc }).payload(bytes(20)).build(),
    expect: { kind: KIND_OTHER, etherType: 0x88cc },
  },
  {
    name: "frame padded to 60 bytes keeps the IP total length",
    frame: frame().ipv4(ips).udp({ sport: 9, dport: 9 }).build(),
    expect: { kind: KIND_IPV4, totalLength: 28, hasPorts: true },
  },
];

function ipv6Cases(): { name: string; frame: Uint8Array; len?: number; expect: Fields }[] {
  const CLIENT6 = "2001:2:ff::9";
  const VIP6 = "2001:2::100";
  const ips6 = { src: CLIENT6, dst: VIP6 };
  const ext = (type: number, length?: number) => ({ type, length });
  const frag = (offset: number, more: boolean, id = 0x89abcdef) => ({
    type: 44,
    offset,
    more,
    id,
  });
  const v6 = () => frame().ipv6(ips6);
  return [
    {
      name: "IPv6 TCP SYN gives both addresses as words, ports, flags and the hop limit",
      frame: frame().ipv6({ ...ips6, hopLimit: 57 }).tcp(tcpSyn).build(),
      expect: {
        kind: KIND_IPV6,
        reason: 0,
        etherType: 0x86dd,
        ipOffset: 14,
        ihl: 40,
        totalLength: 60,
        ttl: 57,
        protocol: PROTO_TCP,
        srcIp: 0,
        dstIp: 0,
        src6: ipv6Words(parseIpv6(CLIENT6)),
        dst6: ipv6Words(parseIpv6(VIP6)),
        extensionHeaders: 0,
        isFragment: false,
        l4Offset: 54,
        hasPorts: true,
        srcPort: 40000,
        dstPort: 80,
        tcpFlags: TCP_SYN,
        icmpType: -1,
      },
    },
    {
      name: "IPv6 UDP datagram gives ports",
      frame: v6().udp({ sport: 5353, dport: 53 }).payload(bytes(10)).build(),
      expect: { kind: KIND_IPV6, protocol: PROTO_UDP, hasPorts: true, srcPort: 5353, dstPort: 53 },
    },
    {
      name: "IPv6 extension headers are walked to the upper layer",
      frame: frame().ipv6({ ...ips6, ext: [ext(0), ext(60, 16), ext(43, 24), ext(51, 16)] })
        .udp({ sport: 5353, dport: 53 }).build(),
      expect: {
        kind: KIND_IPV6,
        protocol: PROTO_UDP,
        extensionHeaders: 4,
        ihl: 40 + 8 + 16 + 24 + 16,
        l4Offset: 14 + 104,
        srcPort: 5353,
        dstPort: 53,
      },
    },
    {
      name: "IPv6 ICMPv6 echo request gives type and code",
      frame: v6().icmpEcho({ id: 1, seq: 2 }).payload(bytes(56)).build(),
      expect: { kind: KIND_IPV6, protocol: PROTO_ICMPV6, icmpType: 128, icmpCode: 0 },
    },
    {
      name: "IPv6 Neighbor Solicitation gives ICMPv6 type 135 and hop limit 255",
      frame: frame().ipv6({ ...ips6, hopLimit: 255 }).icmp6({ type: 135, body: bytes(20) })
        .build(),
      expect: { kind: KIND_IPV6, icmpType: 135, ttl: 255, hasPorts: false },
    },
    {
      name: "ICMP (IPv4's) inside IPv6 is just another protocol",
      frame: frame().ipv6({ ...ips6, nextHeader: PROTO_ICMP }).payload(bytes(2)).build(),
      expect: { kind: KIND_IPV6, protocol: PROTO_ICMP, icmpType: -1 },
    },
    {
      name: "IPv6 with no next header (59) is well formed",
      frame: v6().build(),
      expect: { kind: KIND_IPV6, protocol: PROTO_NONE, totalLength: 40 },
    },
    {
      name: "IPv6 first fragment has ports, the 32-bit identification and more-fragments",
      frame: frame().ipv6({ ...ips6, ext: [frag(0, true)] }).udp({ sport: 7, dport: 53 })
        .payload(bytes(40)).build(),
      expect: {
        kind: KIND_IPV6,
        isFragment: true,
        moreFragments: true,
        fragOffset: 0,
        ipId: 0x89abcdef,
        protocol: PROTO_UDP,
        hasPorts: true,
        srcPort: 7,
        l4Offset: 14 + 48,
      },
    },
    {
      name: "IPv6 later fragment has no ports; what follows its header is not walked",
      frame: frame().ipv6({ ...ips6, ext: [ext(60), frag(1232, false)] })
        .payload([0, 0xff, ...bytes(30)]).build(),
      expect: {
        kind: KIND_IPV6,
        isFragment: true,
        moreFragments: false,
        fragOffset: 1232,
        ipId: 0x89abcdef,
        protocol: 59,
        extensionHeaders: 2,
        hasPorts: false,
      },
    },
    {
      name: "IPv6 later fragment naming an extension header still stops at its fragment header",
      frame: frame().ipv6({ ...ips6, ext: [{ ...frag(8, true), next: 0 }] }).payload(bytes(8))
        .build(),
      expect: { kind: KIND_IPV6, protocol: 0, fragOffset: 8, extensionHeaders: 1 },
    },
    {
      name: "IPv6 atomic fragment (offset 0, no more) is a whole datagram",
      frame: frame().ipv6({ ...ips6, ext: [frag(0, false)] }).tcp(tcpSyn).build(),
      expect: { kind: KIND_IPV6, isFragment: false, hasPorts: true, dstPort: 80 },
    },
    {
      name: "IPv6 shorter than its 40-byte header is truncated",
      frame: v6().tcp(tcpSyn).build().subarray(0, 53),
      expect: { ...malformed(MALFORMED_TRUNCATED), etherType: 0x86dd },
    },
    {
      name: "IP version 4 under the IPv6 ethertype is badVersion",
      frame: frame().ipv6({ ...ips6, version: 4 }).tcp(tcpSyn).build(),
      expect: malformed(MALFORMED_BAD_VERSION),
    },
    {
      name: "IPv6 payload length past the captured bytes is badLength",
      frame: frame().ipv6({ ...ips6, payloadLength: 21 }).tcp(tcpSyn).build(),
      expect: malformed(MALFORMED_BAD_LENGTH),
    },
    {
      name: "IPv6 jumbogram (payload length 0, hop-by-hop) is badExtension",
      frame: frame().ipv6({ ...ips6, payloadLength: 0, ext: [ext(0)] }).tcp(tcpSyn).build(),
      expect: malformed(MALFORMED_BAD_EXTENSION),
    },
    {
      name: "IPv6 extension header running past the payload is badExtension",
      frame: frame().ipv6({ ...ips6, ext: [ext(60, 64)], payloadLength: 40 }).build(),
      expect: malformed(MALFORMED_BAD_EXTENSION),
    },
    {
      name: "IPv6 hop-by-hop header after another is badExtension",
      frame: frame().ipv6({ ...ips6, ext: [ext(60), ext(0)] }).tcp(tcpSyn).build(),
      expect: malformed(MALFORMED_BAD_EXTENSION),
    },
    {
      name: "IPv6 second fragment header is badExtension",
      frame: frame().ipv6({ ...ips6, ext: [frag(0, true), frag(0, true)] }).tcp(tcpSyn).build(),
      expect: malformed(MALFORMED_BAD_EXTENSION),
    },
    {
      name: `IPv6 chain of ${MAX_EXTENSION_HEADERS} extension headers is walked`,
      frame: frame().ipv6({ ...ips6, ext: new Array(MAX_EXTENSION_HEADERS).fill(ext(60)) })
        .tcp(tcpSyn).build(),
      expect: { kind: KIND_IPV6, extensionHeaders: MAX_EXTENSION_HEADERS, dstPort: 80 },
    },
    {
      name: `IPv6 chain of ${MAX_EXTENSION_HEADERS + 1} extension headers is longChain`,
      frame: frame().ipv6({ ...ips6, ext: new Array(MAX_EXTENSION_HEADERS + 1).fill(ext(60)) })
        .tcp(tcpSyn).build(),
      expect: malformed(MALFORMED_LONG_CHAIN),
    },
    {
      name: "IPv6 TCP header cut short is badL4",
      frame: frame().ipv6({ ...ips6, nextHeader: PROTO_TCP }).payload(bytes(19)).build(),
      expect: malformed(MALFORMED_BAD_L4),
    },
    {
      name: "IPv6 first fragment too short for its UDP header is badL4",
      frame: frame().ipv6({ ...ips6, ext: [{ ...frag(0, true), next: PROTO_UDP }] })
        .payload(bytes(4)).build(),
      expect: malformed(MALFORMED_BAD_L4),
    },
    {
      name: "ICMPv6 shorter than 8 bytes is badL4",
      frame: frame().ipv6({ ...ips6, nextHeader: PROTO_ICMPV6 }).payload(bytes(4)).build(),
      expect: malformed(MALFORMED_BAD_L4),
    },
  ];
}

// One view for the whole table, as in the packet loop: each case also proves nothing leaks over.
const view = new PacketView();
for (const c of cases) {
  Deno.test(`parse: ${c.name}`, () => {
    const kind = view.parse(c.frame, c.len ?? c.frame.length);
    assert.equal(kind, view.kind);
    const got = Object.fromEntries(Object.keys(c.expect).map((k) => [k, view[k as keyof Fields]]));
    assert.deepEqual(got, c.expect);
  });
}

Deno.test("parse: builder frames are padded to 60 bytes unless told not to", () => {
  assert.equal(frame().ipv4(ips).udp({ sport: 9, dport: 9 }).build().length, 60);
  assert.equal(frame().ipv4(ips).udp({ sport: 9, dport: 9 }).build({ pad: false }).length, 42);
});

Deno.test("parse: a malformed frame clears every field of the previous packet", () => {
  const v = new PacketView();
  v.parse(frame().ipv4(ips).tcp(tcpSyn).build(), 60);
  v.parse(frame().ipv4({ ...ips, totalLength: 9 }).tcp(tcpSyn).build(), 60);
  const fresh = new PacketView();
  fresh.parse(new Uint8Array(0), 0);
  assert.deepEqual({ ...v, reason: 0, etherType: 0 }, { ...fresh, reason: 0 });
  assert.equal(v.reason, MALFORMED_BAD_LENGTH);
});

Deno.test("parse: malformed reason names line up with their codes", () => {
  assert.equal(MALFORMED_REASONS[MALFORMED_TRUNCATED], "truncated");
  assert.equal(MALFORMED_REASONS[MALFORMED_BAD_VERSION], "badVersion");
  assert.equal(MALFORMED_REASONS[MALFORMED_BAD_IHL], "badIhl");
  assert.equal(MALFORMED_REASONS[MALFORMED_BAD_LENGTH], "badLength");
  assert.equal(MALFORMED_REASONS[MALFORMED_BAD_L4], "badL4");
  assert.equal(MALFORMED_REASONS[MALFORMED_BAD_ARP], "badArp");
  assert.equal(MALFORMED_REASONS[MALFORMED_BAD_EXTENSION], "badExtension");
  assert.equal(MALFORMED_REASONS[MALFORMED_LONG_CHAIN], "longChain");
});

Deno.test("parse never throws and keeps its invariants on random bytes", () => {
  const v = new PacketView();
  const input = fc.record({
    data: fc.uint8Array({ maxLength: 200 }),
    len: fc.integer({ min: -5, max: 260 }),
    // Random bytes rarely spell ARP, IPv4 or IPv6; steer most runs into those parsers.
    type: fc.constantFrom(-1, 0x0800, 0x0806, 0x86dd),
    versionIhl: fc.constantFrom(-1, 0x45, 0x46, 0x4f, 0x60),
  });
  fc.assert(
    fc.property(input, ({ data, len, type, versionIhl }) => {
      if (type >= 0 && data.length >= 14) data.set([type >> 8, type & 255], 12);
      if (versionIhl >= 0 && data.length >= 15) data[14] = versionIhl;
      const kind = v.parse(data, len);
      assert.ok(kind >= KIND_OTHER && kind <= KIND_IPV6);
      assert.equal(kind, v.kind);
      assert.equal(v.reason !== 0, kind === KIND_MALFORMED);
      const captured = Math.max(0, Math.min(len, data.length));
      if (kind === KIND_IPV4) {
        assert.ok(v.ipOffset + v.totalLength <= captured);
        assert.ok(v.srcIp >= 0 && v.dstIp >= 0);
        if (v.hasPorts) assert.ok(v.l4Offset + 8 <= v.ipOffset + v.totalLength);
      }
      if (kind === KIND_IPV6) {
        assert.ok(v.ipOffset + v.totalLength <= captured);
        assert.ok(v.l4Offset <= v.ipOffset + v.totalLength);
        assert.ok(v.extensionHeaders <= MAX_EXTENSION_HEADERS);
        if (v.hasPorts) assert.ok(v.l4Offset + 8 <= v.ipOffset + v.totalLength);
      }
    }),
    { numRuns: 2000 },
  );
});
