import assert from "node:assert/strict";
import fc from "fast-check";
import { parseMac } from "./addr.ts";
import { parseIpv6 } from "./addr6.ts";
import { eth } from "./_frame_builder.ts";
import { words6 } from "./_program_builder.ts";
import {
  checksum6,
  NA_OVERRIDE,
  NA_SOLICITED,
  writeIcmp6EchoReply,
  writeNeighborAdvert,
  writeNeighborSolicit,
  writeUnsolicitedAdvert,
} from "./frames6.ts";
import { KIND_IPV6, PacketView } from "./packet.ts";

const CLIENT_MAC = "02:00:00:00:00:c1";
const LB_MAC = "02:00:00:00:00:1b";
const CLIENT = "2001:2:ff::9";
const VIP = "2001:2::100";
const LB = "2001:2::10";
const RIP = "2001:2::ab:cdef";
const lbMac = parseMac(LB_MAC);
const bytes = (n: number) => Array.from({ length: n }, (_, i) => (i * 7) & 255);
const mac = (m: string) => Array.from(parseMac(m));
const addr = (a: string) => Array.from(parseIpv6(a));

/** An NS or NA body as the builder makes it, independent of frames6.ts. */
const ndpBody = (flags: number, target: string, option: number, optionMac: string) => [
  flags,
  0,
  0,
  0,
  ...addr(target),
  option,
  1,
  ...mac(optionMac),
];

Deno.test("writeNeighborAdvert: a solicited NA from the VIP carrying the balancer's MAC", () => {
  const out = new Uint8Array(128);
  const len = writeNeighborAdvert(out, {
    mac: lbMac,
    dstMac: parseMac(CLIENT_MAC),
    dstMacAt: 0,
    target: words6(VIP),
    targetAt: 0,
    dst: words6(CLIENT),
    dstAt: 0,
    flags: NA_SOLICITED | NA_OVERRIDE,
  });
  const expected = eth({ src: LB_MAC, dst: CLIENT_MAC })
    .ipv6({ src: VIP, dst: CLIENT, hopLimit: 255 })
    .icmp6({ type: 136, body: ndpBody(0x60, VIP, 2, LB_MAC) })
    .build();
  assert.equal(len, 86);
  assert.deepEqual(out.subarray(0, len), expected);
});

Deno.test("writeUnsolicitedAdvert: to all-nodes, override set, solicited clear, target option", () => {
  const out = new Uint8Array(128);
  const len = writeUnsolicitedAdvert(out, lbMac, words6(VIP), 0);
  const expected = eth({ src: LB_MAC, dst: "33:33:00:00:00:01" })
    .ipv6({ src: VIP, dst: "ff02::1", hopLimit: 255 })
    .icmp6({ type: 136, body: ndpBody(0x20, VIP, 2, LB_MAC) })
    .build();
  assert.deepEqual(out.subarray(0, len), expected);
});

Deno.test("writeNeighborSolicit: to the target's solicited-node address with a source option", () => {
  const out = new Uint8Array(128);
  const len = writeNeighborSolicit(out, {
    mac: lbMac,
    src: words6(LB),
    srcAt: 0,
    target: words6(RIP),
    targetAt: 0,
  });
  const expected = eth({ src: LB_MAC, dst: "33:33:ff:ab:cd:ef" })
    .ipv6({ src: LB, dst: "ff02::1:ffab:cdef", hopLimit: 255 })
    .icmp6({ type: 135, body: ndpBody(0, RIP, 1, LB_MAC) })
    .build();
  assert.deepEqual(out.subarray(0, len), expected);
});

Deno.test("NDP writers refuse a buffer too short for the frame", () => {
  const out = new Uint8Array(85);
  assert.equal(writeUnsolicitedAdvert(out, lbMac, words6(VIP), 0), 0);
  assert.equal(
    writeNeighborSolicit(out, {
      mac: lbMac,
      src: words6(LB),
      srcAt: 0,
      target: words6(RIP),
      targetAt: 0,
    }),
    0,
  );
});

const echoRequest = (payload: number, ext: { type: number }[] = []) =>
  eth({ src: CLIENT_MAC, dst: LB_MAC }).ipv6({ src: CLIENT, dst: VIP, hopLimit: 57, ext })
    .icmpEcho({ id: 0x1234, seq: 9 }).payload(bytes(payload)).build();
const echoReply = (payload: number) =>
  eth({ src: LB_MAC, dst: CLIENT_MAC }).ipv6({ src: VIP, dst: CLIENT, hopLimit: 64 })
    .icmpEcho({ id: 0x1234, seq: 9, type: 129 }).payload(bytes(payload)).build();

Deno.test("writeIcmp6EchoReply: addresses swapped, hop limit 64, type 129, data kept, checksum right", () => {
  for (const payload of [0, 1, 56, 1400]) {
    const request = echoRequest(payload);
    const view = new PacketView();
    assert.equal(view.parse(request, request.length), KIND_IPV6);
    const out = new Uint8Array(2048);
    const len = writeIcmp6EchoReply(out, request, view, lbMac);
    assert.deepEqual(out.subarray(0, len), echoReply(payload), `payload ${payload}`);
    // In place, as the loop may: the request's own buffer becomes the reply.
    const inPlace = request.slice();
    assert.equal(writeIcmp6EchoReply(inPlace, inPlace, view, lbMac), len);
    assert.deepEqual(inPlace.subarray(0, len), echoReply(payload));
  }
});

Deno.test("writeIcmp6EchoReply drops the request's extension headers", () => {
  const request = echoRequest(32, [{ type: 60 }, { type: 0 }].reverse());
  const view = new PacketView();
  assert.equal(view.parse(request, request.length), KIND_IPV6);
  const out = new Uint8Array(2048);
  const len = writeIcmp6EchoReply(out, request, view, lbMac);
  assert.deepEqual(out.subarray(0, len), echoReply(32));
});

Deno.test("writeIcmp6EchoReply answers only an unfragmented echo request that fits", () => {
  const view = new PacketView();
  const reply = echoReply(8);
  view.parse(reply, reply.length);
  assert.equal(writeIcmp6EchoReply(new Uint8Array(2048), reply, view, lbMac), 0, "an echo reply");
  const fragment = eth({ src: CLIENT_MAC, dst: LB_MAC })
    .ipv6({ src: CLIENT, dst: VIP, ext: [{ type: 44, more: true, id: 1 }] })
    .icmpEcho({ id: 1, seq: 1 }).payload(bytes(64)).build();
  view.parse(fragment, fragment.length);
  assert.equal(writeIcmp6EchoReply(new Uint8Array(2048), fragment, view, lbMac), 0, "a fragment");
  const big = echoRequest(1000);
  view.parse(big, big.length);
  assert.equal(writeIcmp6EchoReply(new Uint8Array(500), big, view, lbMac), 0, "too big");
});

Deno.test("checksum6 is 0 over every message the builder checksums, and not over a changed one", () => {
  const view = new PacketView();
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.integer({ min: 0, max: 2 }),
      fc.nat(),
      (data, kind, flip) => {
        const ip = eth().ipv6({ src: CLIENT, dst: VIP });
        const frame =
          (kind === 0
            ? ip.udp({ sport: 1, dport: 2 })
            : kind === 1
            ? ip.tcp({ sport: 1, dport: 2, flags: 2 })
            : ip.icmp6({ type: 1, body: [0, 0, 0, 0] })).payload(data).build();
        view.parse(frame, frame.length);
        assert.equal(checksum6(frame, view), 0);
        const at = 54 + (flip % (view.totalLength - 40));
        if (frame[at] === 0xff) return;
        // One byte changed by less than 0xff is a sum the checksum sees.
        frame[at] += 1;
        assert.notEqual(checksum6(frame, view), 0);
      },
    ),
  );
});
