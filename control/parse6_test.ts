import assert from "node:assert/strict";
import { UsageError } from "./errors.ts";
import { parseIp, parseRip, parseVipPort } from "./parse.ts";

function assertUsage(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof UsageError, `expected UsageError, got ${error}`);
    assert.equal(error.exitCode, 2);
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("parseVipPort takes [IPv6]:PORT and gives the address in RFC 5952 form", () => {
  const good: [string, { vip: string; port: number }][] = [
    ["[2001:2::100]:80", { vip: "2001:2::100", port: 80 }],
    ["[2001:0002:0:0:0:0:0:0100]:443", { vip: "2001:2::100", port: 443 }],
    ["[2001:DB8::1]:0", { vip: "2001:db8::1", port: 0 }],
    ["[fd00::1]:65535", { vip: "fd00::1", port: 65535 }],
  ];
  for (const [text, expected] of good) assert.deepEqual(parseVipPort(text), expected, text);
});

Deno.test("parseVipPort refuses IPv6 without brackets or port, and non-unicast IPv6", () => {
  for (
    const text of [
      "2001:2::100",
      "2001:2::100:80",
      "[2001:2::100]",
      "[2001:2::100]:",
      "[198.18.0.1]:80",
      "[2001:2::g]:80",
    ]
  ) {
    assertUsage(
      () => parseVipPort(text),
      /expected an address and a port, like .*\[2001:2::100\]:80/,
    );
  }
  assertUsage(() => parseVipPort("[ff02::1]:80"), /multicast/);
  assertUsage(() => parseVipPort("[fe80::1]:80"), /link-local/);
  assertUsage(() => parseVipPort("[::1]:80"), /loopback/);
  assertUsage(() => parseVipPort("[::]:80"), /unspecified/);
  assertUsage(() => parseVipPort("[::ffff:198.18.0.1]:80"), /IPv4-mapped/);
});

Deno.test("parseRip takes IPv6 plain or [IPv6]:PORT", () => {
  const good: [string, { ip: string; port: number | null }][] = [
    ["2001:2::11", { ip: "2001:2::11", port: null }],
    ["2001:2:0::11", { ip: "2001:2::11", port: null }],
    ["[2001:2::11]", { ip: "2001:2::11", port: null }],
    ["[2001:2::11]:80", { ip: "2001:2::11", port: 80 }],
    ["198.18.0.11:80", { ip: "198.18.0.11", port: 80 }],
  ];
  for (const [text, expected] of good) assert.deepEqual(parseRip(text), expected, text);
  for (const text of ["[2001:2::11]:65536", "[2001:2::11]x", "2001:2::11]:80", "[2001:2::11:80"]) {
    assertUsage(() => parseRip(text), /invalid real server/);
  }
});

Deno.test("parseIp takes either family and gives IPv6 in RFC 5952 form", () => {
  assert.equal(parseIp("2001:0002::0011"), "2001:2::11");
  assert.equal(parseIp("198.18.0.11"), "198.18.0.11");
  assertUsage(() => parseIp("2001:2::11::1"), /expected an IPv4 or IPv6 address/);
  assertUsage(
    () => parseIp("fe80::1", "real server"),
    /invalid real server "fe80::1": a link-local/,
  );
});
