import assert from "node:assert/strict";
import { UsageError } from "./errors.ts";
import {
  parseInteger,
  parseIp,
  parseProto,
  parseRip,
  parseSeconds,
  parseVipPort,
  refusePortTranslation,
} from "./parse.ts";

/** Asserts that `fn` throws a user's mistake (exit status 2) whose message matches. */
function assertUsage(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof UsageError, `expected UsageError, got ${error}`);
    assert.equal(error.exitCode, 2);
    assert.equal(error.kind, "invalid");
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

const quoted = (text: string) => new RegExp(`"${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}"`);

Deno.test("parseVipPort takes an IPv4 address and a port from 0 to 65535", () => {
  const good: [string, { vip: string; port: number }][] = [
    ["198.18.0.100:80", { vip: "198.18.0.100", port: 80 }],
    ["198.18.0.100:0", { vip: "198.18.0.100", port: 0 }],
    ["10.0.0.1:65535", { vip: "10.0.0.1", port: 65535 }],
    ["223.255.255.254:443", { vip: "223.255.255.254", port: 443 }],
  ];
  for (const [text, expected] of good) assert.deepEqual(parseVipPort(text), expected, text);
});

Deno.test("parseVipPort rejects what is not VIP:PORT, naming the text", () => {
  const bad = [
    "198.18.0.100",
    "198.18.0.100:",
    ":80",
    "198.18.0.100:65536",
    "198.18.0.100:123456",
    "198.18.0.100:-1",
    "198.18.0.100:http",
    "198.18.0.100:80:80",
    "198.18.0.256:80",
    "198.18.0:80",
    "01.18.0.1:80",
    "vip.example:80",
    " 198.18.0.100:80",
    "",
  ];
  for (const text of bad) {
    assertUsage(
      () => parseVipPort(text),
      `invalid VIP:PORT "${text}": expected an address and a port, like 198.18.0.100:80 or [2001:2::100]:80`,
    );
  }
});

Deno.test("parseRip takes an IPv4 address with an optional port", () => {
  const good: [string, { ip: string; port: number | null }][] = [
    ["198.18.0.11", { ip: "198.18.0.11", port: null }],
    ["198.18.0.11:80", { ip: "198.18.0.11", port: 80 }],
    ["198.18.0.11:0", { ip: "198.18.0.11", port: 0 }],
    ["198.18.0.11:65535", { ip: "198.18.0.11", port: 65535 }],
  ];
  for (const [text, expected] of good) assert.deepEqual(parseRip(text), expected, text);
});

Deno.test("parseRip rejects what is not RIP[:PORT], naming the text", () => {
  const bad = [
    "198.18.0.11:",
    "198.18.0.11:65536",
    "198.18.0.11:80:80",
    "198.18.0.300",
    "server1",
    "server1:80",
    ":80",
    "",
  ];
  for (const text of bad) assertUsage(() => parseRip(text), quoted(text));
});

Deno.test("a VIP, a real server or a fallback must be a unicast host address", () => {
  const cases: [string, string][] = [
    ["0.0.0.0", 'an address of 0.0.0.0/8 ("this network")'],
    ["0.1.2.3", 'an address of 0.0.0.0/8 ("this network")'],
    ["127.0.0.1", "a loopback address"],
    ["224.0.0.1", "a multicast address"],
    ["239.255.255.255", "a multicast address"],
    ["240.0.0.1", "a reserved address (240.0.0.0/4)"],
    ["255.255.255.255", "the broadcast address"],
  ];
  for (const [ip, reason] of cases) {
    const tail = `": ${reason}, not a unicast host address`;
    assertUsage(() => parseVipPort(`${ip}:80`), `invalid VIP "${ip}${tail}`);
    assertUsage(() => parseRip(ip), `invalid real server "${ip}${tail}`);
    assertUsage(() => parseRip(`${ip}:80`), `invalid real server "${ip}${tail}`);
    assertUsage(() => parseIp(ip, "--fallback"), `invalid --fallback "${ip}${tail}`);
  }
  for (const ip of ["1.0.0.1", "126.255.255.255", "128.0.0.1", "223.255.255.254"]) {
    assert.equal(parseIp(ip), ip);
  }
});

Deno.test("refusePortTranslation allows the VIP's port or none", () => {
  refusePortTranslation(80, null);
  refusePortTranslation(80, 80);
  refusePortTranslation(0, null);
});

Deno.test("refusePortTranslation rejects another port with the DR-mode message", () => {
  assertUsage(
    () => refusePortTranslation(80, 8080),
    "port translation is not possible in DR mode (VIP port 80, real server port 8080)",
  );
  assertUsage(
    () => refusePortTranslation(443, 0),
    "port translation is not possible in DR mode (VIP port 443, real server port 0)",
  );
});

Deno.test("parseProto takes tcp and udp only", () => {
  assert.equal(parseProto("tcp"), "tcp");
  assert.equal(parseProto("udp"), "udp");
  for (const text of ["TCP", "Udp", "sctp", "icmp", " tcp", ""]) {
    assertUsage(() => parseProto(text), `invalid protocol "${text}": expected tcp or udp`);
  }
});

Deno.test("parseInteger takes whole numbers within its bounds", () => {
  const good: [string, number, number, number][] = [
    ["0", 0, 65535, 0],
    ["65535", 0, 65535, 65535],
    ["1", 1, 100, 1],
    ["100", 1, 100, 100],
    ["007", 0, 10, 7],
  ];
  for (const [text, min, max, expected] of good) {
    assert.equal(parseInteger(text, "--weight", min, max), expected, text);
  }
});

Deno.test("parseInteger rejects fractions, signs, exponents and out-of-range values", () => {
  const bad: [string, number, number][] = [
    ["-1", 0, 65535],
    ["65536", 0, 65535],
    ["0", 1, 100],
    ["101", 1, 100],
    ["1.5", 0, 10],
    ["1e3", 0, 10_000],
    ["0x10", 0, 100],
    ["+5", 0, 10],
    [" 5", 0, 10],
    ["five", 0, 10],
    ["", 0, 10],
  ];
  for (const [text, min, max] of bad) {
    assertUsage(
      () => parseInteger(text, "--weight", min, max),
      `invalid --weight "${text}": expected a whole number from ${min} to ${max}`,
    );
  }
});

Deno.test("parseSeconds takes positive seconds, fractions allowed, up to 2147483 (24.8 days)", () => {
  const good: [string, number][] = [["1", 1], ["0.5", 0.5], ["900", 900], ["2147483", 2147483]];
  for (const [text, expected] of good) assert.equal(parseSeconds(text, "--tcp"), expected, text);
});

Deno.test("parseSeconds refuses what 32-bit milliseconds cannot hold instead of clamping it", () => {
  for (const text of ["2147484", "31536000"]) {
    assertUsage(
      () => parseSeconds(text, "--tcp"),
      `invalid --tcp "${text}": at most 2147483 s (24.8 days): times are kept in 32-bit milliseconds`,
    );
  }
});

Deno.test("parseSeconds rejects zero, negatives, units and non-numbers", () => {
  const bad = ["0", "0.0", "-1", ".5", "5s", "1e3", "Infinity", "NaN", "", "1,5"];
  for (const text of bad) {
    assertUsage(
      () => parseSeconds(text, "--tcp"),
      `invalid --tcp "${text}": expected seconds, a number above 0`,
    );
  }
});
