/**
 * A balancer with two legs (SPEC §1) in the control plane: adjacency over
 * every leg, the program's legs and each real server's leg, and the daemon's
 * effects on each leg, on the fake host.
 * @module
 */

import assert from "node:assert/strict";
import { parseIpv4, parseMac } from "../dataplane/addr.ts";
import { ipv6Net, ipv6Words, parseIpv6 } from "../dataplane/addr6.ts";
import { FAKE_IFACE, FakeHost } from "./_fake_host.ts";
import { Compiler, type RipConditions } from "./compile.ts";
import { parseConfig } from "./config.ts";
import { Daemon } from "./daemon.ts";
import { UsageError } from "./errors.ts";
import { type IfaceInfo, isAdjacent, legOf, notAdjacentText } from "./netinfo.ts";

/** The clients' leg: FAKE_IFACE (eth0, 198.18.0.0/24). */
const CLIENTS = FAKE_IFACE;
/** The real servers' leg. */
const SERVERS: IfaceInfo = {
  name: "eth1",
  mac: "02:00:00:00:01:0a",
  mtu: 9000,
  addresses: ["198.18.1.10"],
  subnets: [{ base: parseIpv4("198.18.1.0"), prefix: 24 }],
  addresses6: ["2001:2:1::10"],
  subnets6: [ipv6Net(parseIpv6("2001:2:1::10"), 64)],
};
const LEGS = [CLIENTS, SERVERS];
const VIP = "198.18.2.100";
const FAR = "198.18.1.11";
const NEAR = "198.18.0.11";
const FAR6 = "2001:2:1::11";
const SEED = "0123456789abcdef0123456789abcdef";

Deno.test("legOf: the leg whose subnet holds the address, the first of several, -1 for none", () => {
  assert.equal(legOf(LEGS, NEAR), 0);
  assert.equal(legOf(LEGS, FAR), 1);
  assert.equal(legOf(LEGS, FAR6), 1);
  assert.equal(legOf(LEGS, "198.18.3.1"), -1);
  assert.equal(legOf([CLIENTS, { ...SERVERS, subnets: CLIENTS.subnets }], NEAR), 0);
  assert.equal(legOf(SERVERS, FAR), 0, "one interface is a list of one");
  assert.ok(isAdjacent(LEGS, FAR) && isAdjacent(LEGS, NEAR) && !isAdjacent(CLIENTS, FAR));
});

Deno.test("notAdjacentText names every leg's subnets", () => {
  assert.equal(
    notAdjacentText(LEGS, "198.18.3.1"),
    "is not on 198.18.0.0/24 of eth0 or 198.18.1.0/24 of eth1",
  );
  assert.equal(notAdjacentText(LEGS, "2001:2:3::1"), "is not on 2001:2:1::/64 of eth1");
  assert.equal(notAdjacentText(CLIENTS, "2001:2:3::1"), "is IPv6 and eth0 has no IPv6 subnet");
  assert.equal(
    notAdjacentText([CLIENTS, { ...CLIENTS, name: "eth2" }], "2001:2:3::1"),
    "is IPv6 and eth0, eth2 have no IPv6 subnet",
  );
  assert.equal(notAdjacentText(CLIENTS, FAR), "is not on 198.18.0.0/24 of eth0");
});

const config = parseConfig({
  version: 1,
  vips: [
    { vip: VIP, port: 80, rips: [{ ip: FAR }, { ip: NEAR }] },
    { vip: "2001:2:2::100", port: 80, rips: [{ ip: FAR6 }] },
  ],
});
const UP: RipConditions = {
  resolved: () => true,
  healthy: () => true,
  adjacent: (ip) => isAdjacent(LEGS, ip),
};

Deno.test("a two-legged compile carries each leg and puts each real server on its subnet's leg", () => {
  const compiler = new Compiler(LEGS);
  const { program, rips } = compiler.compile(config, UP);
  assert.deepEqual(program.legs, [
    { mac: parseMac(CLIENTS.mac), ip: parseIpv4("198.18.0.10"), mtu: 1500 },
    {
      mac: parseMac(SERVERS.mac),
      ip: parseIpv4("198.18.1.10"),
      ip6: ipv6Words(parseIpv6("2001:2:1::10")),
      mtu: 9000,
    },
  ]);
  assert.deepEqual(program.mac, parseMac(CLIENTS.mac), "the first leg is the program's own");
  for (const [ip, leg] of [[FAR, 1], [NEAR, 0], [FAR6, 1]] as const) {
    const key = ip === FAR6 ? `[2001:2:2::100]:80/tcp|${ip}` : `${VIP}:80/tcp|${ip}`;
    const rip = rips.get(key);
    assert.ok(rip, key);
    assert.equal(rip.state, "up");
    assert.equal(program.neighborLeg?.[rip.neighbor], leg, ip);
  }
});

Deno.test("a one-legged compile has no legs or neighbour legs: the program is as before legs", () => {
  const { program } = new Compiler(CLIENTS).compile(config, {
    ...UP,
    adjacent: (ip) => isAdjacent(CLIENTS, ip),
  });
  assert.equal(program.legs, undefined);
  assert.equal(program.neighborLeg, undefined);
  const listed = new Compiler([CLIENTS]).compile(config, UP).program;
  assert.equal(listed.legs, undefined);
});

function twoLegHost(): FakeHost {
  const host = new FakeHost();
  host.ifaces.set(SERVERS.name, SERVERS);
  host.stateFile = parseConfig({
    version: 1,
    hashSeed: SEED,
    vips: [{ vip: VIP, port: 80, check: { type: "none" }, rips: [{ ip: FAR }] }],
  });
  return host;
}

function start(host: FakeHost, iface: string | string[], lines: string[] = []) {
  return Daemon.start({
    iface,
    statePath: "/nonexistent/state.json",
    maxFlows: 1024,
    log: (level, message) => lines.push(`${level}: ${message}`),
    host,
  });
}

Deno.test("a two-legged daemon captures, drops and turns offloads off on both legs, and restores both", async () => {
  const host = twoLegHost();
  const daemon = await start(host, ["eth0", "eth1"]);
  assert.deepEqual(host.effects, [
    "offloads off eth0",
    "offloads off eth1",
    "capture eth0,eth1",
    "publish 1",
    `drop ${VIP}`,
    `drop ${VIP} on eth1`,
  ]);
  const status = daemon.status();
  assert.equal(status.iface, "eth0");
  assert.deepEqual(status.ifaces, ["eth0", "eth1"]);
  assert.equal(status.vips[0].rips[0].state, "up", "the real server behind eth1 is adjacent");
  assert.equal(status.vips[0].rips[0].check.error, null);
  host.effects.length = 0;
  await daemon.stop();
  assert.deepEqual(host.effects, [
    "capture closed",
    "drop removed",
    "drop removed on eth1",
    "offloads on eth0 gro",
    "offloads on eth1 gro",
  ]);
});

Deno.test("a two-legged daemon takes a real server on either leg and refuses one on neither, naming both", async () => {
  const host = twoLegHost();
  const daemon = await start(host, ["eth0", "eth1"]);
  try {
    await daemon.change((c) => ({
      ...c,
      vips: [{ ...c.vips[0], rips: [...c.vips[0].rips, { ...c.vips[0].rips[0], ip: NEAR }] }],
    }));
    const program = host.dataplaneMade.programs.at(-1)!;
    assert.equal(program.neighborLeg?.[daemon.neighbor(NEAR).slot], 0);
    assert.equal(program.neighborLeg?.[daemon.neighbor(FAR).slot], 1);
    await assert.rejects(
      daemon.change((c) => ({
        ...c,
        vips: [{
          ...c.vips[0],
          rips: [...c.vips[0].rips, { ...c.vips[0].rips[0], ip: "198.18.3.11" }],
        }],
      })),
      (e: Error) =>
        e instanceof UsageError &&
        e.message ===
          "cannot add real server 198.18.3.11: it is not on 198.18.0.0/24 of eth0 or 198.18.1.0/24 of eth1",
    );
  } finally {
    await daemon.stop();
  }
});

Deno.test("one leg, as before: the server behind the other leg is off the subnet and gets no traffic", async () => {
  const host = twoLegHost();
  const lines: string[] = [];
  const daemon = await start(host, "eth0", lines);
  try {
    assert.deepEqual(daemon.status().ifaces, ["eth0"]);
    assert.equal(daemon.status().vips[0].rips[0].state, "unresolved");
    assert.ok(
      lines.includes(
        `warn: real server ${FAR} of ${VIP}:80/tcp is not on 198.18.0.0/24 of eth0: it gets no traffic`,
      ),
      lines.join("\n"),
    );
  } finally {
    await daemon.stop();
  }
});

Deno.test("an interface named twice is refused before anything is touched", async () => {
  const host = twoLegHost();
  await assert.rejects(
    start(host, ["eth0", "eth1", "eth0"]),
    (e: Error) =>
      e instanceof UsageError && e.message === "--iface eth0 is given twice: name each leg once",
  );
  assert.deepEqual(host.effects, []);
});

Deno.test("a capture that cannot open gives both legs their offloads back", async () => {
  const host = twoLegHost();
  host.failCapture = true;
  await assert.rejects(start(host, ["eth0", "eth1"]));
  assert.deepEqual(host.effects, [
    "offloads off eth0",
    "offloads off eth1",
    "offloads on eth0 gro",
    "offloads on eth1 gro",
  ]);
});
