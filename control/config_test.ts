import assert from "node:assert/strict";
import fc from "fast-check";
import { type Config, ConfigError, emptyConfig, parseConfig } from "./config.ts";
import { diffConfig } from "./config_diff.ts";

const VIP = "198.18.0.100";
const vip = (o: Record<string, unknown> = {}) => ({ vip: VIP, port: 80, ...o });

Deno.test("parseConfig fills the default timeouts and an empty VIP list", () => {
  assert.deepEqual(parseConfig({ version: 1 }), {
    version: 1,
    timeouts: { tcp: 900, tcpfin: 120, udp: 300 },
    vips: [],
  });
  assert.deepEqual(parseConfig({ version: 1 }), emptyConfig());
});

Deno.test("parseConfig fills the timeouts left out", () => {
  assert.deepEqual(parseConfig({ version: 1, timeouts: { udp: 30 } }).timeouts, {
    tcp: 900,
    tcpfin: 120,
    udp: 30,
  });
});

Deno.test("parseConfig fills VIP, real server and check defaults", () => {
  const config = parseConfig({
    version: 1,
    vips: [vip({ rips: [{ ip: "198.18.0.11" }], check: { type: "http" } })],
  });
  assert.deepEqual(config.vips, [{
    vip: VIP,
    port: 80,
    proto: "tcp",
    scheduler: "mh",
    persist: 0,
    fallback: null,
    need: 1,
    ops: false,
    check: {
      type: "http",
      port: null,
      path: "/",
      expect: 200,
      interval: 2,
      timeout: 1,
      rise: 2,
      fall: 3,
    },
    rips: [{ ip: "198.18.0.11", weight: 1, drain: false, check: null }],
  }]);
});

Deno.test("parseConfig keeps a valid document as it is", () => {
  const doc: Config = {
    version: 1,
    timeouts: { tcp: 60, tcpfin: 10, udp: 5.5 },
    vips: [{
      vip: VIP,
      port: 0,
      proto: "udp",
      scheduler: "wrr",
      persist: 300,
      fallback: "198.18.0.50",
      need: 2,
      check: null,
      ops: true,
      rips: [{ ip: "198.18.0.11", weight: 0, drain: true, check: null }],
    }],
  };
  assert.deepEqual(parseConfig(structuredClone(doc)), doc);
});

interface BadCase {
  name: string;
  doc: unknown;
  field: string;
  /** A piece of the message besides the field. */
  says?: string;
}

const bad: BadCase[] = [
  {
    name: "a hash seed that is not 32 hexadecimal digits",
    doc: { version: 1, hashSeed: "0123456789abcdef0123456789abcdeg" },
    field: "hashSeed",
    says: "expected 32 hexadecimal digits",
  },
  { name: "version 2", doc: { version: 2 }, field: "version" },
  { name: "no version", doc: {}, field: "version" },
  { name: "version as text", doc: { version: "1" }, field: "version" },
  { name: "not an object", doc: null, field: "" },
  { name: "an array", doc: [], field: "" },
  {
    name: "an unknown top-level field",
    doc: { version: 1, vipz: [] },
    field: "vipz",
    says: "unknown field",
  },
  {
    name: "an unknown VIP field",
    doc: { version: 1, vips: [vip({ weight: 3 })] },
    field: "vips[0].weight",
    says: "unknown field",
  },
  {
    name: "an unknown real server field",
    doc: { version: 1, vips: [vip({ rips: [{ ip: "198.18.0.11", port: 80 }] })] },
    field: "vips[0].rips[0].port",
    says: "unknown field",
  },
  {
    name: "a VIP port above 65535",
    doc: { version: 1, vips: [vip({ port: 65536 })] },
    field: "vips[0].port",
  },
  {
    name: "a negative VIP port",
    doc: { version: 1, vips: [vip({ port: -1 })] },
    field: "vips[0].port",
  },
  {
    name: "a VIP port as text",
    doc: { version: 1, vips: [vip({ port: "80" })] },
    field: "vips[0].port",
  },
  { name: "a VIP without port", doc: { version: 1, vips: [{ vip: VIP }] }, field: "vips[0].port" },
  {
    name: "a VIP that is no address",
    doc: { version: 1, vips: [vip({ vip: "198.18.0" })] },
    field: "vips[0].vip",
  },
  {
    name: "a bad second real server address",
    doc: { version: 1, vips: [vip({ rips: [{ ip: "198.18.0.11" }, { ip: "198.18.0.256" }] })] },
    field: "vips[0].rips[1].ip",
    says: "not an IPv4 address",
  },
  {
    name: "a broadcast VIP",
    doc: { version: 1, vips: [vip({ vip: "255.255.255.255" })] },
    field: "vips[0].vip",
    says: "not a unicast host address",
  },
  {
    name: "a loopback real server",
    doc: { version: 1, vips: [vip({ rips: [{ ip: "127.0.0.1" }] })] },
    field: "vips[0].rips[0].ip",
    says: "not a unicast host address",
  },
  {
    name: "a real server address in the second VIP",
    doc: { version: 1, vips: [vip(), vip({ port: 443, rips: [{ ip: "x" }] })] },
    field: "vips[1].rips[0].ip",
  },
  {
    name: "a negative weight",
    doc: { version: 1, vips: [vip({ rips: [{ ip: "198.18.0.11", weight: -1 }] })] },
    field: "vips[0].rips[0].weight",
  },
  {
    name: "a fractional weight",
    doc: { version: 1, vips: [vip({ rips: [{ ip: "198.18.0.11", weight: 1.5 }] })] },
    field: "vips[0].rips[0].weight",
  },
  {
    name: "an unknown protocol",
    doc: { version: 1, vips: [vip({ proto: "sctp" })] },
    field: "vips[0].proto",
  },
  {
    name: "an unknown scheduler",
    doc: { version: 1, vips: [vip({ scheduler: "fifo" })] },
    field: "vips[0].scheduler",
  },
  {
    name: "a negative persistence",
    doc: { version: 1, vips: [vip({ persist: -5 })] },
    field: "vips[0].persist",
  },
  {
    name: "a fallback that is no address",
    doc: { version: 1, vips: [vip({ fallback: "sorry" })] },
    field: "vips[0].fallback",
  },
  {
    name: "a negative need",
    doc: { version: 1, vips: [vip({ need: -1 })] },
    field: "vips[0].need",
  },
  {
    name: "a fractional need",
    doc: { version: 1, vips: [vip({ need: 1.5 })] },
    field: "vips[0].need",
  },
  {
    name: "a need as text",
    doc: { version: 1, vips: [vip({ need: "2" })] },
    field: "vips[0].need",
  },
  {
    name: "an unknown check type",
    doc: { version: 1, vips: [vip({ check: { type: "icmp" } })] },
    field: "vips[0].check.type",
  },
  {
    name: "a check path without a slash",
    doc: {
      version: 1,
      vips: [vip({ rips: [{ ip: "198.18.0.11", check: { type: "http", path: "health" } }] })],
    },
    field: "vips[0].rips[0].check.path",
  },
  { name: "a TCP timeout of 0", doc: { version: 1, timeouts: { tcp: 0 } }, field: "timeouts.tcp" },
  {
    name: "a negative TCP timeout",
    doc: { version: 1, timeouts: { tcp: -1 } },
    field: "timeouts.tcp",
  },
  {
    name: "a TCP timeout as text",
    doc: { version: 1, timeouts: { tcp: "900" } },
    field: "timeouts.tcp",
  },
  {
    name: "a UDP timeout over a year",
    doc: { version: 1, timeouts: { udp: 31_536_001 } },
    field: "timeouts.udp",
  },
  {
    name: "an unknown timeout",
    doc: { version: 1, timeouts: { sctp: 5 } },
    field: "timeouts.sctp",
    says: "unknown field",
  },
  {
    name: "a duplicate service",
    doc: { version: 1, vips: [vip(), vip({ port: 443 }), vip({ proto: "tcp" })] },
    field: "vips[2]",
    says: "duplicate service 198.18.0.100:80/tcp",
  },
  {
    name: "a duplicate real server",
    doc: {
      version: 1,
      vips: [vip({ rips: [{ ip: "198.18.0.11" }, { ip: "198.18.0.12" }, { ip: "198.18.0.11" }] })],
    },
    field: "vips[0].rips[2].ip",
    says: "duplicate real server 198.18.0.11 in 198.18.0.100:80/tcp",
  },
  {
    name: "a port-0 TCP VIP whose default tcp check has no port",
    doc: { version: 1, vips: [vip({ port: 0, rips: [{ ip: "198.18.0.11" }] })] },
    field: "vips[0].check.port",
    says: "198.18.0.100:0/tcp covers every port, so its tcp check needs a port",
  },
  {
    name: "a port-0 VIP whose real server's http check has no port",
    doc: {
      version: 1,
      vips: [vip({
        port: 0,
        check: { type: "none" },
        rips: [{ ip: "198.18.0.11", check: { type: "http" } }],
      })],
    },
    field: "vips[0].rips[0].check.port",
    says: "the http check of 198.18.0.11 needs a port",
  },
  {
    name: "one-packet scheduling on a TCP VIP",
    doc: { version: 1, vips: [vip({ ops: true })] },
    field: "vips[0].ops",
    says: "one-packet scheduling (--ops) is for UDP: 198.18.0.100:80/tcp is TCP",
  },
  {
    name: "an ops that is not a boolean",
    doc: { version: 1, vips: [vip({ proto: "udp", ops: "yes" })] },
    field: "vips[0].ops",
  },
];

Deno.test("ops (one-packet scheduling) defaults to false, is kept on a UDP VIP and shows in a diff", () => {
  const off = parseConfig({ version: 1, vips: [vip({ proto: "udp" })] });
  assert.equal(off.vips[0].ops, false);
  const on = parseConfig({ version: 1, vips: [vip({ proto: "udp", ops: true })] });
  assert.equal(on.vips[0].ops, true);
  assert.deepEqual(diffConfig(off, on), ["set vip 198.18.0.100:80/udp ops=true"]);
});

Deno.test("timeouts and persistence beyond 32-bit milliseconds are refused naming the field, not clamped", () => {
  const cases: [unknown, string][] = [
    [{ version: 1, timeouts: { tcp: 2_147_484 } }, "timeouts.tcp"],
    [{ version: 1, vips: [vip({ persist: 31_536_000 })] }, "vips[0].persist"],
    [
      { version: 1, vips: [vip({ check: { type: "tcp", interval: 3_000_000 } })] },
      "vips[0].check.interval",
    ],
  ];
  for (const [doc, field] of cases) {
    assert.throws(() => parseConfig(doc), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.field, field);
      assert.match(e.message, /at most 2147483 s \(24\.8 days\)/);
      return true;
    });
  }
  assert.equal(parseConfig({ version: 1, timeouts: { tcp: 2_147_483 } }).timeouts.tcp, 2_147_483);
});

Deno.test("a port-0 VIP is valid with a check port, or with no check", () => {
  for (const check of [{ type: "tcp", port: 22 }, { type: "none" }]) {
    const doc = parseConfig({
      version: 1,
      vips: [vip({ port: 0, check, rips: [{ ip: "198.18.0.11" }] })],
    });
    assert.equal(doc.vips[0].port, 0);
  }
});

for (const c of bad) {
  Deno.test(`parseConfig rejects ${c.name}, naming "${c.field}"`, () => {
    assert.throws(() => parseConfig(c.doc), (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
      assert.equal(error.field, c.field);
      assert.ok(
        error.message.startsWith(c.field ? `${c.field}: ` : error.reason),
        error.message,
      );
      if (c.says) assert.ok(error.message.includes(c.says), error.message);
      return true;
    });
  });
}

Deno.test("parseConfig allows one address:port on both protocols and one RIP in two services", () => {
  const config = parseConfig({
    version: 1,
    vips: [
      vip({ rips: [{ ip: "198.18.0.11" }] }),
      vip({ proto: "udp", rips: [{ ip: "198.18.0.11" }] }),
      vip({ port: 443, rips: [{ ip: "198.18.0.11" }] }),
    ],
  });
  assert.equal(config.vips.length, 3);
});

Deno.test("parseConfig accepts what it produced (JSON round trip)", () => {
  const ip = fc.tuple(fc.nat(255), fc.nat(255)).map(([a, b]) => `198.18.${a}.${b}`);
  const rip = fc.record({ ip, weight: fc.nat(65535), drain: fc.boolean() });
  const vipDoc = fc.record({
    vip: ip,
    port: fc.integer({ min: 1, max: 65535 }), // a port-0 TCP VIP needs a check port
    proto: fc.constantFrom("tcp", "udp"),
    scheduler: fc.constantFrom("rr", "wrr", "lc", "wlc", "sh", "mh"),
    persist: fc.nat(86400),
    rips: fc.uniqueArray(rip, { selector: (r) => r.ip, maxLength: 4 }),
  });
  const doc = fc.record({
    version: fc.constant(1),
    vips: fc.uniqueArray(vipDoc, {
      selector: (v) => `${v.vip}:${v.port}/${v.proto}`,
      maxLength: 4,
    }),
  });
  fc.assert(fc.property(doc, (d) => {
    const once = parseConfig(d);
    assert.deepEqual(parseConfig(JSON.parse(JSON.stringify(once))), once);
  }));
});

// --- diffConfig ---

const base = (): Config =>
  parseConfig({
    version: 1,
    vips: [
      vip({ rips: [{ ip: "198.18.0.11" }, { ip: "198.18.0.12" }] }),
      vip({ port: 443, rips: [{ ip: "198.18.0.13" }] }),
    ],
  });

/** `base()` changed by `edit`, re-validated. */
function changed(edit: (c: Config) => void): Config {
  const c = base();
  edit(c);
  return parseConfig(c);
}

Deno.test("diffConfig of equal configurations is empty", () => {
  assert.deepEqual(diffConfig(base(), base()), []);
  assert.deepEqual(diffConfig(emptyConfig(), emptyConfig()), []);
});

Deno.test("diffConfig ignores the order of VIPs and real servers", () => {
  const reordered = changed((c) => {
    c.vips.reverse();
    c.vips[1].rips.reverse();
  });
  assert.deepEqual(diffConfig(base(), reordered), []);
});

const diffs: { name: string; after: () => Config; lines: string[] }[] = [
  {
    name: "a timeout change is one set line",
    after: () => changed((c) => (c.timeouts.tcp = 60)),
    lines: ["set timeouts tcp=60"],
  },
  {
    name: "a new VIP and its real servers are added",
    after: () =>
      changed((c) =>
        c.vips.push({
          ...c.vips[1],
          port: 8080,
          rips: [{ ...c.vips[1].rips[0], ip: "198.18.0.21" }],
        })
      ),
    lines: ["add vip 198.18.0.100:8080/tcp", "add rip 198.18.0.21 to 198.18.0.100:8080/tcp"],
  },
  {
    name: "a deleted VIP is one line, its real servers go with it",
    after: () => changed((c) => c.vips.splice(0, 1)),
    lines: ["delete vip 198.18.0.100:80/tcp"],
  },
  {
    name: "changed VIP fields are listed with their new values",
    after: () =>
      changed((c) => {
        c.vips[0].scheduler = "rr";
        c.vips[0].persist = 60;
      }),
    lines: [`set vip 198.18.0.100:80/tcp scheduler="rr" persist=60`],
  },
  {
    name: "a changed need is a set line",
    after: () => changed((c) => (c.vips[1].need = 3)),
    lines: ["set vip 198.18.0.100:443/tcp need=3"],
  },
  {
    name: "a new real server is added",
    after: () => changed((c) => c.vips[1].rips.push({ ...c.vips[1].rips[0], ip: "198.18.0.14" })),
    lines: ["add rip 198.18.0.14 to 198.18.0.100:443/tcp"],
  },
  {
    name: "a deleted real server is deleted",
    after: () => changed((c) => c.vips[0].rips.splice(1, 1)),
    lines: ["delete rip 198.18.0.12 from 198.18.0.100:80/tcp"],
  },
  {
    name: "changed real server fields are listed with their new values",
    after: () =>
      changed((c) => {
        c.vips[0].rips[0].weight = 5;
        c.vips[0].rips[0].drain = true;
      }),
    lines: ["set rip 198.18.0.11 in 198.18.0.100:80/tcp weight=5 drain=true"],
  },
  {
    name: "a protocol change replaces the service",
    after: () => changed((c) => (c.vips[1].proto = "udp")),
    lines: [
      "delete vip 198.18.0.100:443/tcp",
      "add vip 198.18.0.100:443/udp",
      "add rip 198.18.0.13 to 198.18.0.100:443/udp",
    ],
  },
];

for (const d of diffs) {
  Deno.test(`diffConfig: ${d.name}`, () => {
    assert.deepEqual(diffConfig(base(), d.after()), d.lines);
  });
}

Deno.test("a check takes only its type's own fields, needs those its type cannot do without, and a port-0 VIP's udp or dns check needs a port", () => {
  const doc = (check: Record<string, unknown>, port = 53) => ({
    version: 1,
    vips: [{ vip: "198.18.0.100", port, proto: "udp", check, rips: [{ ip: "198.18.0.11" }] }],
  });
  assert.equal(
    parseConfig(doc({ type: "dns", query: "www.example.test" })).vips[0].check?.query,
    "www.example.test",
  );
  assert.throws(
    () => parseConfig(doc({ type: "dns" })),
    /vips\[0\]\.check\.query: the dns check of 198\.18\.0\.100:53\/udp needs query: set --check-query NAME/,
  );
  assert.throws(
    () => parseConfig(doc({ type: "tcp", command: ["/bin/true"] })),
    /vips\[0\]\.check\.command: a tcp check takes no command \(only exec checks do\)/,
  );
  assert.throws(
    () => parseConfig(doc({ type: "udp", insecure: true })),
    /check\.insecure: a udp check takes no insecure/,
  );
  assert.throws(
    () => parseConfig(doc({ type: "exec", command: ["true"] })),
    /check\.command: the program "true" must be an absolute path/,
  );
  assert.throws(
    () => parseConfig(doc({ type: "udp", send: "x" }, 0)),
    /check\.port: .* covers every port, so its udp check needs a port/,
  );
  assert.doesNotThrow(() => parseConfig(doc({ type: "ping" }, 0)), "ping needs no port");
});

Deno.test("a hash seed is kept in lower case; a document without one has none until the daemon or an edit makes it", () => {
  const doc = parseConfig({ version: 1, hashSeed: "0123456789ABCDEF0123456789ABCDEF" });
  assert.equal(doc.hashSeed, "0123456789abcdef0123456789abcdef");
  assert.equal(parseConfig({ version: 1 }).hashSeed, undefined);
});
