import assert from "node:assert/strict";
import {
  announceable,
  AnnounceTable,
  parseRouteList,
  parseTable,
  routeChanges,
  type Runner,
} from "./announce.ts";
import { parseConfig } from "./config.ts";
import { UsageError } from "./errors.ts";
import { run } from "./run.ts";

const A = "198.18.0.100";
const B = "198.18.0.101";
const C = "198.18.0.102";
const rips = (...last: number[]) => last.map((n) => ({ ip: `198.18.0.${n}` }));

/** Real servers 11 to 13 are up; 21 to 23 are not. */
const UP = (_service: string, ip: string) => /\.1\d$/.test(ip);

const cases: { name: string; vips: unknown[]; expected: string[] }[] = [
  {
    name: "a VIP with one usable real server is announced (need defaults to 1)",
    vips: [{ vip: A, port: 80, rips: rips(11, 21) }],
    expected: [A],
  },
  {
    name: "a VIP with no usable real server is not",
    vips: [{ vip: A, port: 80, rips: rips(21, 22) }],
    expected: [],
  },
  {
    name: "a VIP with no real server at all is not",
    vips: [{ vip: A, port: 80 }],
    expected: [],
  },
  {
    name: "need 2 with two usable of three is announced",
    vips: [{ vip: A, port: 80, need: 2, rips: rips(11, 12, 21) }],
    expected: [A],
  },
  {
    name: "need 2 with one usable is not",
    vips: [{ vip: A, port: 80, need: 2, rips: rips(11, 21, 22) }],
    expected: [],
  },
  {
    name: "a fallback server does not count",
    vips: [{ vip: A, port: 80, fallback: "198.18.0.13", rips: rips(21) }],
    expected: [],
  },
  {
    name: "need 0 announces a VIP whatever its real servers",
    vips: [{ vip: A, port: 80, need: 0, rips: rips(21) }],
    expected: [A],
  },
  {
    name: "an address is announced only when every service on it has what it needs",
    vips: [
      { vip: A, port: 80, rips: rips(11) },
      { vip: A, port: 443, rips: rips(21) },
      { vip: B, port: 80, rips: rips(12) },
      { vip: B, port: 53, proto: "udp", check: { type: "none" }, rips: rips(13) },
    ],
    expected: [B],
  },
  {
    name: "addresses come sorted by number, each once",
    vips: [
      { vip: C, port: 80, rips: rips(11) },
      { vip: "198.18.0.99", port: 80, rips: rips(11) },
      { vip: A, port: 80, rips: rips(12) },
      { vip: A, port: 81, rips: rips(12) },
    ],
    expected: ["198.18.0.99", A, C],
  },
];

for (const c of cases) {
  Deno.test(`announceable: ${c.name}`, () => {
    assert.deepEqual(announceable(parseConfig({ version: 1, vips: c.vips }), UP), c.expected);
  });
}

Deno.test("announceable leaves IPv6 VIPs out: the table holds IPv4 /32 routes", () => {
  const config = parseConfig({ version: 1, vips: [{ vip: A, port: 80, rips: rips(11) }] });
  const v6 = {
    ...config.vips[0],
    vip: "2001:2::100",
    rips: [{ ...config.vips[0].rips[0], ip: "2001:2::11" }],
  };
  assert.deepEqual(announceable({ ...config, vips: [...config.vips, v6] }, () => true), [A]);
});

Deno.test("announceable asks about each real server under its own service", () => {
  const asked: string[] = [];
  const config = parseConfig({
    version: 1,
    vips: [{ vip: A, port: 80, rips: rips(11) }, {
      vip: A,
      port: 53,
      proto: "udp",
      rips: rips(11),
    }],
  });
  announceable(config, (service, ip) => {
    asked.push(`${service} ${ip}`);
    return true;
  });
  assert.deepEqual(asked.sort(), [
    "198.18.0.100:53/udp 198.18.0.11",
    "198.18.0.100:80/tcp 198.18.0.11",
  ]);
});

Deno.test("routeChanges adds what is missing and removes everything else", () => {
  const table: [string[], string[], { add: string[]; del: string[] }][] = [
    [[], [A], { add: [`${A}/32`], del: [] }],
    [[`${A}/32`], [A], { add: [], del: [] }],
    [[`${A}/32`, `${B}/32`], [A], { add: [], del: [`${B}/32`] }],
    [[`${A}/32`, "default", "10.0.0.0/8"], [B], {
      add: [`${B}/32`],
      del: [`${A}/32`, "default", "10.0.0.0/8"],
    }],
    [[`${A}/32`], [], { add: [], del: [`${A}/32`] }],
  ];
  for (const [current, wanted, expected] of table) {
    assert.deepEqual(routeChanges(current, wanted), expected, `${current} → ${wanted}`);
  }
});

Deno.test("parseRouteList reads ip -j route output, host routes as /32", () => {
  assert.deepEqual(parseRouteList(""), []);
  assert.deepEqual(parseRouteList("[]\n"), []);
  assert.deepEqual(
    parseRouteList(
      `[{"type":"blackhole","dst":"198.18.0.100","flags":[]},` +
        `{"dst":"198.18.0.0/24","dev":"lo","scope":"link","flags":[]},{"dst":"default","gateway":"1.2.3.4"}]`,
    ),
    [`${A}/32`, "198.18.0.0/24", "default"],
  );
});

Deno.test("parseTable takes a table the kernel does not use and refuses the rest", () => {
  for (const [text, n] of [["1", 1], ["100", 100], ["252", 252], ["256", 256]] as const) {
    assert.equal(parseTable(text), n);
  }
  assert.equal(parseTable("4294967295"), 4294967295);
  for (const bad of ["0", "253", "254", "255", "main", "-1", "1.5", "", "4294967296"]) {
    assert.throws(() => parseTable(bad), UsageError, bad);
  }
  assert.throws(
    () => parseTable("254"),
    /invalid --announce "254": expected a routing table number from 1 to 252 or 256/,
  );
});

Deno.test("sync reports a failing or wedged ip as lines and never throws", async () => {
  const calls: string[] = [];
  const runner: Runner = (argv) => {
    calls.push(argv.join(" "));
    if (argv.includes("show")) {
      return Promise.resolve({
        ok: true,
        code: 0,
        stdout: `[{"type":"blackhole","dst":"${B}"}]`,
        stderr: "",
        timedOut: false,
      });
    }
    if (argv.includes("del")) throw new Error("cannot run ip");
    return Promise.resolve({
      ok: false,
      code: 124,
      stdout: "",
      stderr: "timed out after 2 s",
      timedOut: true,
    });
  };
  const table = new AnnounceTable(100, { run: runner });
  const r = await table.sync([A]);
  assert.deepEqual(calls, [
    "ip -j -4 route show table 100",
    `ip route del ${B}/32 table 100`,
    `ip route replace blackhole ${A}/32 table 100`,
  ]);
  assert.deepEqual(r.added, []);
  assert.deepEqual(r.removed, []);
  assert.deepEqual(r.errors, [
    `ip route del ${B}/32 table 100: cannot run ip`,
    `ip route replace blackhole ${A}/32 table 100: timed out after 2 s`,
  ]);
});

// --- with the real ip, in a namespace of its own ---

/** Runs `fn` with a runner that executes inside a fresh namespace, removed afterwards. */
async function inNamespace(fn: (runner: Runner, ns: string) => Promise<void>): Promise<void> {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  const ns = "dsrt-" + Array.from(bytes, (b) => (b % 36).toString(36)).join("");
  const added = await run(["ip", "netns", "add", ns]);
  assert.ok(added.ok, added.stderr);
  try {
    await fn((argv, o) => run(["ip", "netns", "exec", ns, ...argv], o), ns);
  } finally {
    await run(["ip", "netns", "del", ns]);
  }
}

const routesOf = async (ns: string, table: string) =>
  parseRouteList(
    (await run(["ip", "netns", "exec", ns, "ip", "-j", "-4", "route", "show", "table", table]))
      .stdout,
  );

Deno.test({
  name: "AnnounceTable keeps exactly the announced /32 routes in its table and touches no other",
  ignore: Deno.uid() !== 0,
  fn: () =>
    inNamespace(async (runner, ns) => {
      const exec = (...argv: string[]) => run(["ip", "netns", "exec", ns, ...argv]);
      await exec("ip", "link", "set", "lo", "up");
      // Something of the operator's in another table, and a stray route in ours.
      await exec("ip", "route", "add", "blackhole", `${C}/32`, "table", "200");
      await exec("ip", "route", "add", "blackhole", "198.19.0.0/16", "table", "100");
      const table = new AnnounceTable(100, { run: runner });
      assert.deepEqual(await table.routes(), ["198.19.0.0/16"]);

      let r = await table.sync([A, B]);
      assert.deepEqual(r, { added: [A, B], removed: ["198.19.0.0/16"], errors: [] });
      assert.deepEqual((await routesOf(ns, "100")).sort(), [`${A}/32`, `${B}/32`]);
      const shown = await exec("ip", "-j", "-4", "route", "show", "table", "100");
      assert.ok(
        (JSON.parse(shown.stdout) as { type?: string }[]).every((x) => x.type === "blackhole"),
        shown.stdout,
      );

      r = await table.sync([B]);
      assert.deepEqual(r, { added: [], removed: [A], errors: [] });
      assert.deepEqual(await routesOf(ns, "100"), [`${B}/32`]);
      r = await table.sync([B]);
      assert.deepEqual(r, { added: [], removed: [], errors: [] }, "in step: nothing to do");

      await table.clear();
      assert.deepEqual(await routesOf(ns, "100"), []);
      assert.deepEqual(await routesOf(ns, "200"), [`${C}/32`], "another table is untouched");
      assert.deepEqual(await routesOf(ns, "main"), [], "nothing reached the main table");
    }),
});

Deno.test({
  name: "AnnounceTable.check refuses a table an ip rule looks up, and leaves the rule",
  ignore: Deno.uid() !== 0,
  fn: () =>
    inNamespace(async (runner, ns) => {
      const table = new AnnounceTable(100, { run: runner });
      await table.check();
      await run(["ip", "netns", "exec", ns, "ip", "rule", "add", "pref", "1000", "table", "100"]);
      await assert.rejects(
        table.check(),
        /--announce 100: ip rule 1000 looks up table 100, so its routes would steer/,
      );
      const rules = await run(["ip", "netns", "exec", ns, "ip", "-j", "-4", "rule", "show"]);
      assert.ok(JSON.parse(rules.stdout).some((x: { table: string }) => x.table === "100"));
    }),
});
