import assert from "node:assert/strict";
import fc from "fast-check";
import { parseIpv4, parseMac } from "./addr.ts";
import { eth } from "./_frame_builder.ts";
import {
  internetChecksum,
  rewriteMacs,
  writeArpReply,
  writeArpRequest,
  writeGarp,
  writeIcmpEchoReply,
} from "./frames.ts";
import { KIND_ARP, KIND_IPV4, PacketView, PROTO_ICMP } from "./packet.ts";

const CLIENT_MAC = "02:00:00:00:00:c1";
const LB_MAC = "02:00:00:00:00:1b";
const CLIENT = "203.0.113.9";
const VIP = "198.18.0.100";
const lbMac = parseMac(LB_MAC);
const BROADCAST = "ff:ff:ff:ff:ff:ff";
const bytes = (n: number) => Array.from({ length: n }, (_, i) => (i * 7) & 255);

const arpRequest = eth({ src: CLIENT_MAC, dst: BROADCAST })
  .arp({ op: 1, senderMac: CLIENT_MAC, senderIp: CLIENT, targetIp: VIP }).build();
const arpReplyExpected = eth({ src: LB_MAC, dst: CLIENT_MAC }).arp({
  op: 2,
  senderMac: LB_MAC,
  senderIp: VIP,
  targetMac: CLIENT_MAC,
  targetIp: CLIENT,
}).build();

function echoRequest(payload: number, o: { ihl?: number; mf?: boolean; type?: number } = {}) {
  return eth({ src: CLIENT_MAC, dst: LB_MAC })
    .ipv4({ src: CLIENT, dst: VIP, id: 4242, ttl: 57, tos: 0x10, ihl: o.ihl, mf: o.mf })
    .icmpEcho({ id: 0x1234, seq: 9, type: o.type }).payload(bytes(payload)).build();
}
function echoReply(payload: number) {
  return eth({ src: LB_MAC, dst: CLIENT_MAC })
    .ipv4({ src: VIP, dst: CLIENT, id: 4242, ttl: 64, tos: 0x10 })
    .icmpEcho({ id: 0x1234, seq: 9, type: 0 }).payload(bytes(payload)).build();
}

/** Parses `request` and runs `write` with a fresh 1514-byte buffer (or the request itself). */
function written(
  request: Uint8Array,
  write: (out: Uint8Array, req: Uint8Array, v: PacketView) => number,
  o: { inPlace?: boolean; outLength?: number } = {},
): Uint8Array {
  const view = new PacketView();
  view.parse(request, request.length);
  const out = o.inPlace ? request.slice() : new Uint8Array(o.outLength ?? 1514).fill(0xee);
  const n = write(out, o.inPlace ? out : request, view);
  return out.subarray(0, n);
}

const arpReply = (out: Uint8Array, req: Uint8Array, v: PacketView) =>
  writeArpReply(out, req, v, lbMac);
const icmpReply = (out: Uint8Array, req: Uint8Array, v: PacketView) =>
  writeIcmpEchoReply(out, req, v, lbMac);

const cases: { name: string; frame: Uint8Array; expect: Uint8Array }[] = [
  {
    name: "ARP reply answers the requester with our MAC for the VIP",
    frame: written(arpRequest, arpReply),
    expect: arpReplyExpected,
  },
  {
    name: "ARP reply can be written over its own request",
    frame: written(arpRequest, arpReply, { inPlace: true }),
    expect: arpReplyExpected,
  },
  {
    name: "ARP request broadcasts who-has from our address",
    frame: written(arpRequest, (out) => writeArpRequest(out, lbMac, parseIpv4("198.18.0.2"), 7)),
    expect: eth({ src: LB_MAC, dst: BROADCAST })
      .arp({ op: 1, senderMac: LB_MAC, senderIp: "198.18.0.2", targetIp: "0.0.0.7" }).build(),
  },
  {
    name: "GARP broadcasts a request with the VIP as sender and target and a zero target MAC",
    frame: written(arpRequest, (out) => writeGarp(out, lbMac, parseIpv4(VIP))),
    expect: eth({ src: LB_MAC, dst: BROADCAST })
      .arp({
        op: 1,
        senderMac: LB_MAC,
        senderIp: VIP,
        targetMac: "00:00:00:00:00:00",
        targetIp: VIP,
      })
      .build(),
  },
  {
    name: "ICMP echo reply swaps addresses, sets TTL 64 and keeps TOS, id, sequence and payload",
    frame: written(echoRequest(56), icmpReply),
    expect: echoReply(56),
  },
  {
    name: "ICMP echo reply to a tiny request is zero-padded to 60 bytes",
    frame: written(echoRequest(0), icmpReply),
    expect: echoReply(0),
  },
  {
    name: "ICMP echo reply with an odd-length payload checksums the last byte",
    frame: written(echoRequest(1001), icmpReply),
    expect: echoReply(1001),
  },
  {
    name: "ICMP echo reply drops the request's IP options",
    frame: written(echoRequest(40, { ihl: 7 }), icmpReply),
    expect: echoReply(40),
  },
  {
    name: "ICMP echo reply can be written over its own request, options and all",
    frame: written(echoRequest(100, { ihl: 6 }), icmpReply, { inPlace: true }),
    expect: echoReply(100),
  },
  {
    name: "ICMP echo reply that would not fit the buffer is not written",
    frame: written(echoRequest(1000), icmpReply, { outLength: 1000 }),
    expect: new Uint8Array(0),
  },
  {
    name: "ICMP echo reply is not written for a fragmented request",
    frame: written(echoRequest(100, { mf: true }), icmpReply),
    expect: new Uint8Array(0),
  },
  {
    name: "ICMP echo reply is not written for an echo reply",
    frame: written(echoRequest(8, { type: 0 }), icmpReply),
    expect: new Uint8Array(0),
  },
  {
    name: "ARP writers need a 60-byte buffer",
    frame: written(arpRequest, arpReply, { outLength: 59 }),
    expect: new Uint8Array(0),
  },
];

for (const c of cases) {
  Deno.test(`frames: ${c.name}`, () => {
    assert.deepEqual(c.frame, c.expect);
    if (c.expect.length === 0) return;
    const view = new PacketView();
    const kind = view.parse(c.frame, c.frame.length);
    assert.ok(kind === KIND_ARP || kind === KIND_IPV4, `parsed as kind ${kind}`);
    assert.ok(c.frame.length >= 60);
  });
}

Deno.test("frames: ICMP echo reply checksums verify and the parse sees an echo reply", () => {
  const reply = written(echoRequest(77), icmpReply);
  const view = new PacketView();
  assert.equal(view.parse(reply, reply.length), KIND_IPV4);
  assert.equal(internetChecksum(reply, 14, 20), 0);
  assert.equal(internetChecksum(reply, view.l4Offset, view.totalLength - view.ihl), 0);
  assert.deepEqual(
    [view.protocol, view.icmpType, view.srcIp, view.dstIp, view.ttl],
    [PROTO_ICMP, 0, parseIpv4(VIP), parseIpv4(CLIENT), 64],
  );
});

Deno.test("frames: ICMP echo replies verify for any payload, id and sequence", () => {
  const view = new PacketView();
  const out = new Uint8Array(1514);
  const input = fc.record({
    payload: fc.uint8Array({ maxLength: 1472 }),
    id: fc.integer({ min: 0, max: 0xffff }),
    seq: fc.integer({ min: 0, max: 0xffff }),
  });
  fc.assert(
    fc.property(input, ({ payload, id, seq }) => {
      const request = eth().ipv4({ src: CLIENT, dst: VIP }).icmpEcho({ id, seq }).payload(payload)
        .build();
      view.parse(request, request.length);
      const n = writeIcmpEchoReply(out, request, view, lbMac);
      assert.equal(view.parse(out, n), KIND_IPV4);
      assert.equal(internetChecksum(out, 14, 20), 0);
      assert.equal(internetChecksum(out, 34, 8 + payload.length), 0);
      assert.deepEqual(
        out.subarray(38, 42 + payload.length),
        request.subarray(38, 42 + payload.length),
      );
    }),
    { numRuns: 300 },
  );
});

const checksumCases: { name: string; bytes: number[]; expect: number }[] = [
  { name: "of nothing is 0xffff", bytes: [], expect: 0xffff },
  {
    name: "of the RFC 1071 example is 0x220d",
    bytes: [0, 1, 0xf2, 3, 0xf4, 0xf5, 0xf6, 0xf7],
    expect: 0x220d,
  },
  { name: "pads an odd last byte with zero", bytes: [0x01], expect: 0xfeff },
  {
    name: "of an IPv4 header with a zero checksum field is its checksum",
    bytes: [
      0x45,
      0,
      0,
      0x73,
      0,
      0,
      0x40,
      0,
      0x40,
      0x11,
      0,
      0,
      0xc0,
      0xa8,
      0,
      1,
      0xc0,
      0xa8,
      0,
      0xc7,
    ],
    expect: 0xb861,
  },
  {
    name: "of an IPv4 header holding its checksum is 0",
    bytes: [
      0x45,
      0,
      0,
      0x73,
      0,
      0,
      0x40,
      0,
      0x40,
      0x11,
      0xb8,
      0x61,
      0xc0,
      0xa8,
      0,
      1,
      0xc0,
      0xa8,
      0,
      0xc7,
    ],
    expect: 0,
  },
  { name: "folds carries many times over", bytes: new Array(4000).fill(0xff), expect: 0 },
];

for (const c of checksumCases) {
  Deno.test(`internetChecksum ${c.name}`, () => {
    const buf = Uint8Array.from([9, 9, ...c.bytes, 9]);
    assert.equal(internetChecksum(buf, 2, c.bytes.length), c.expect);
  });
}

Deno.test("internetChecksum verifies the builder's TCP and UDP checksums", () => {
  const src = parseIpv4(CLIENT), dst = parseIpv4(VIP);
  for (
    const [proto, f] of [
      [
        6,
        eth().ipv4({ src, dst }).tcp({ sport: 1, dport: 80, flags: 2 }).payload(bytes(33)).build(),
      ],
      [17, eth().ipv4({ src, dst }).udp({ sport: 1, dport: 53 }).payload(bytes(33)).build()],
    ] as const
  ) {
    const segLength = f.length - 34;
    const pseudo = Uint8Array.from([
      ...f.subarray(26, 34),
      0,
      proto,
      segLength >> 8,
      segLength & 255,
    ]);
    const whole = Uint8Array.from([...pseudo, ...f.subarray(34)]);
    assert.equal(internetChecksum(f, 14, 20), 0);
    assert.equal(internetChecksum(whole, 0, whole.length), 0);
  }
});

Deno.test("rewriteMacs sets both MACs and leaves the rest of the frame alone", () => {
  const frame = eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv4({ src: CLIENT, dst: VIP })
    .tcp({ sport: 1, dport: 80, flags: 2 }).build();
  const rip = parseMac("02:00:00:00:00:11");
  const expect = frame.slice();
  expect.set(rip, 0);
  expect.set(lbMac, 6);
  rewriteMacs(frame, rip, 0, lbMac);
  assert.deepEqual(frame, expect);
  const table = new Uint8Array(24);
  table.set(parseMac("02:00:00:00:00:12"), 8);
  rewriteMacs(frame, table, 8, lbMac);
  assert.deepEqual(frame.subarray(0, 6), parseMac("02:00:00:00:00:12"), "MAC taken at the offset");
});
