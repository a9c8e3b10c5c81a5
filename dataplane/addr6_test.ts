import assert from "node:assert/strict";
import fc from "fast-check";
import {
  canonicalIpv6,
  formatIpv6,
  formatNet6,
  ipv6Net,
  ipv6Words,
  isIpv6,
  net6Contains,
  notUnicast6,
  parseIpv6,
  solicitedNode,
  wordsToBytes,
} from "./addr6.ts";

Deno.test("canonicalIpv6 writes RFC 5952 form", () => {
  const cases: [string, string][] = [
    ["2001:0002:0000:0000:0000:0000:0000:0100", "2001:2::100"],
    ["2001:DB8::1", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // first of equal runs
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // one zero group stays
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // the longest run wins
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["fe80::1:2", "fe80::1:2"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
  ];
  for (const [text, canonical] of cases) assert.equal(canonicalIpv6(text), canonical, text);
});

Deno.test("parseIpv6 refuses what is not one IPv6 address", () => {
  for (
    const text of [
      "",
      ":",
      ":::",
      "1::2::3",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7::8",
      "12345::",
      "g::1",
      "fe80::1%eth0",
      "198.18.0.1",
      "::1.2.3",
      "::256.1.1.1",
      "[2001:2::1]",
      " 2001:2::1",
    ]
  ) {
    assert.equal(isIpv6(text), false, text);
    assert.throws(() => parseIpv6(text), TypeError, text);
  }
});

Deno.test("formatIpv6 and parseIpv6 are inverse on every address", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
      const text = formatIpv6(bytes);
      assert.deepEqual(parseIpv6(text), bytes);
      assert.equal(canonicalIpv6(text), text);
    }),
  );
  fc.assert(fc.property(fc.ipV6(), (text) => assert.equal(isIpv6(text), true, text)));
});

Deno.test("ipv6Words are the address's big-endian words, and wordsToBytes undoes them", () => {
  const words = ipv6Words(parseIpv6("2001:2::ff00:100"));
  assert.deepEqual([...words], [0x20010002, 0, 0, 0xff000100 | 0]);
  assert.deepEqual(wordsToBytes(words), parseIpv6("2001:2::ff00:100"));
});

Deno.test("notUnicast6 names the addresses that cannot be a VIP or real server", () => {
  const cases: [string, RegExp | null][] = [
    ["2001:2::100", null],
    ["fd00::1", null],
    ["::", /unspecified/],
    ["::1", /loopback/],
    ["ff02::1", /multicast/],
    ["fe80::1", /link-local/],
    ["febf::1", /link-local/],
    ["fec0::1", null],
    ["::ffff:198.18.0.1", /IPv4-mapped/],
  ];
  for (const [text, problem] of cases) {
    const seen = notUnicast6(parseIpv6(text));
    if (problem === null) assert.equal(seen, null, text);
    else assert.match(seen ?? "", problem, text);
  }
});

Deno.test("ipv6Net and net6Contains compare the prefix bits only", () => {
  const net = ipv6Net(parseIpv6("2001:2::10"), 64);
  assert.equal(formatNet6(net), "2001:2::/64");
  assert.equal(net6Contains(net, parseIpv6("2001:2::ffff:1")), true);
  assert.equal(net6Contains(net, parseIpv6("2001:2:0:1::1")), false);
  const odd = ipv6Net(parseIpv6("2001:2::ff"), 121);
  assert.equal(formatNet6(odd), "2001:2::80/121");
  assert.equal(net6Contains(odd, parseIpv6("2001:2::80")), true);
  assert.equal(net6Contains(odd, parseIpv6("2001:2::7f")), false);
  assert.equal(net6Contains(ipv6Net(parseIpv6("2001:2::1"), 0), parseIpv6("::1")), true);
});

Deno.test("solicitedNode keeps the address's low 24 bits under ff02::1:ff00:0/104", () => {
  assert.equal(formatIpv6(solicitedNode(parseIpv6("2001:2::abcd:1234"))), "ff02::1:ffcd:1234");
});
