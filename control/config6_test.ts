import assert from "node:assert/strict";
import { ConfigError, normalize, parseConfig, serviceKey } from "./config.ts";
import { addRip, addVip, setVip } from "./config_ops.ts";
import { UsageError } from "./errors.ts";

const v6 = (vip: Record<string, unknown>) => parseConfig({ version: 1, vips: [vip] });

Deno.test("IPv6 VIPs, real servers and fallbacks are kept in RFC 5952 form", () => {
  const config = v6({
    vip: "2001:0002:0000::0100",
    port: 80,
    fallback: "2001:2::00ff",
    rips: [{ ip: "2001:2:0:0::11" }, { ip: "2001:2::A" }],
  });
  assert.equal(config.vips[0].vip, "2001:2::100");
  assert.equal(config.vips[0].fallback, "2001:2::ff");
  assert.deepEqual(config.vips[0].rips.map((r) => r.ip), ["2001:2::11", "2001:2::a"]);
});

Deno.test("one real server twice in two spellings is a duplicate", () => {
  assert.throws(
    () =>
      v6({ vip: "2001:2::100", port: 80, rips: [{ ip: "2001:2::11" }, { ip: "2001:2:0::11" }] }),
    /duplicate real server 2001:2::11/,
  );
});

Deno.test("a VIP and its real servers and fallback are one family (exit 2, naming both)", () => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [
      { vip: "2001:2::100", port: 80, rips: [{ ip: "2001:2::11" }, { ip: "198.18.0.11" }] },
      "vips[0].rips[1].ip",
      /real server 198\.18\.0\.11 is IPv4 but \[2001:2::100\]:80\/tcp is IPv6: DR forwards frames unchanged/,
    ],
    [
      { vip: "198.18.0.100", port: 80, rips: [{ ip: "2001:2::11" }] },
      "vips[0].rips[0].ip",
      /real server 2001:2::11 is IPv6 but 198\.18\.0\.100:80\/tcp is IPv4/,
    ],
    [
      { vip: "2001:2::100", port: 80, fallback: "198.18.0.99", rips: [] },
      "vips[0].fallback",
      /198\.18\.0\.99 is IPv4/,
    ],
  ];
  for (const [vip, field, message] of cases) {
    assert.throws(() => v6(vip), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.exitCode, 2);
      assert.equal(error.field, field);
      assert.match(error.message, message);
      return true;
    });
  }
});

Deno.test("IPv6 addresses that cannot be a VIP or real server are refused", () => {
  for (const ip of ["fe80::11", "ff02::1", "::1", "::", "::ffff:198.18.0.1"]) {
    assert.throws(() => v6({ vip: "2001:2::100", port: 80, rips: [{ ip }] }), /not a unicast/, ip);
  }
  assert.throws(() => v6({ vip: "2001:2::g", port: 80 }), /vips\[0\]\.vip: not an IPv6 address/);
  assert.throws(() => v6({ vip: "198.18.0.256", port: 80 }), /vips\[0\]\.vip: not an IPv4 address/);
});

Deno.test("serviceKey brackets an IPv6 VIP; normalize puts IPv4 VIPs first, each by value", () => {
  assert.equal(serviceKey({ vip: "2001:2::100", port: 80, proto: "tcp" }), "[2001:2::100]:80/tcp");
  const config = parseConfig({
    version: 1,
    vips: [
      { vip: "2001:2::100", port: 80 },
      { vip: "2001:2::9", port: 80 },
      { vip: "198.18.0.100", port: 80 },
      { vip: "2001:2::100", port: 53, proto: "udp" },
    ],
  });
  assert.deepEqual(
    normalize(config).vips.map(serviceKey),
    ["198.18.0.100:80/tcp", "[2001:2::9]:80/tcp", "[2001:2::100]:53/udp", "[2001:2::100]:80/tcp"],
  );
});

Deno.test("config ops: adding a real server of the other family is a user's mistake", () => {
  let config = addVip(parseConfig({ version: 1 }), { vip: "2001:2::100", port: 80, proto: "tcp" });
  config = addRip(config, { vip: "2001:2::100", port: 80, proto: "tcp" }, { ip: "2001:2::11" });
  assert.throws(
    () => addRip(config, { vip: "2001:2::100", port: 80, proto: "tcp" }, { ip: "198.18.0.11" }),
    (error: unknown) =>
      error instanceof UsageError && error.exitCode === 2 && /one family/.test(error.message),
  );
  assert.throws(
    () =>
      setVip(config, { vip: "2001:2::100", port: 80, proto: "tcp" }, { fallback: "198.18.0.9" }),
    /one family/,
  );
});
