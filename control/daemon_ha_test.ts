import assert from "node:assert/strict";
import { FAKE_IFACE, FakeHost } from "./_fake_host.ts";
import { type Config, parseConfig } from "./config.ts";
import { Daemon, type DaemonOptions } from "./daemon.ts";
import { RuntimeError } from "./errors.ts";

const VIP = "198.18.0.100";
const VIP2 = "198.18.0.101";
const RS1 = "198.18.0.11";
const RS2 = "198.18.0.12";
const CHECK = { type: "tcp", interval: 2, timeout: 1, rise: 2, fall: 3 };

/** VIP:80 over RS1 and RS2 (need `need`), and VIP2:80 over RS2. */
function config(need = 1): Config {
  return parseConfig({
    version: 1,
    vips: [
      { vip: VIP, port: 80, need, check: CHECK, rips: [{ ip: RS1 }, { ip: RS2 }] },
      { vip: VIP2, port: 80, check: CHECK, rips: [{ ip: RS2 }] },
    ],
  });
}

async function started(
  host: FakeHost,
  options: Partial<DaemonOptions> = {},
  doc: Config = config(),
) {
  host.stateFile = doc;
  const lines: string[] = [];
  const daemon = await Daemon.start({
    iface: FAKE_IFACE.name,
    statePath: "/nonexistent/state.json",
    maxFlows: 1024,
    log: (level, message) => lines.push(`${level}: ${message}`),
    host,
    ...options,
  });
  return { daemon, lines };
}

/** Stops the daemon, moving fake time on while it waits. */
async function stop(host: FakeHost, daemon: Daemon): Promise<void> {
  const stopping = daemon.stop();
  for (let i = 0; i < 10; i++) await host.clock.tick(500);
  await stopping;
}

const garps = (host: FakeHost) => host.effects.filter((e) => e.startsWith("garp"));
const lastProgram = (host: FakeHost) => host.dataplaneMade.programs.at(-1)!;
const garpOf = (ip: string) => `garp ${ip}`;

Deno.test("a node started as standby runs standby programs and sends no GARP of its own", async () => {
  const host = new FakeHost();
  const { daemon } = await started(host, { role: "standby" });
  try {
    await host.clock.tick(10_000);
    assert.ok(host.dataplaneMade.programs.every((p) => p.standby === true));
    assert.deepEqual(garps(host), []);
    assert.deepEqual(daemon.ha, { role: "standby", since: daemon.ha.since, transitions: 0 });
    assert.equal(daemon.status().ha.role, "standby");
  } finally {
    await stop(host, daemon);
  }
});

Deno.test("promotion runs an active program, then GARPs every VIP at once and after 1, 2 and 5 s", async () => {
  const host = new FakeHost();
  const { daemon, lines } = await started(host, { role: "standby" });
  try {
    await host.clock.tick(700);
    const published = host.dataplaneMade.programs.length;
    const status = await daemon.setRole("active");
    assert.equal(status.role, "active");
    assert.equal(status.transitions, 1);
    assert.equal(status.since, new Date(host.clock.now()).toISOString());
    assert.equal(host.dataplaneMade.programs.length, published + 1);
    assert.equal(lastProgram(host).standby, false);
    // The program reaches the worker before the first GARP.
    const at = host.effects.lastIndexOf(`publish ${lastProgram(host).generation}`);
    assert.deepEqual(host.effects.slice(at + 1, at + 3), [garpOf(VIP), garpOf(VIP2)]);
    const counts: number[] = [];
    for (const ms of [999, 1, 999, 1, 2_999, 1, 10_000]) {
      await host.clock.tick(ms);
      counts.push(garps(host).length / 2);
    }
    assert.deepEqual(counts, [1, 2, 2, 3, 3, 4, 4]);
    assert.ok(lines.includes("info: role standby → active"), lines.join("\n"));
  } finally {
    await stop(host, daemon);
  }
});

Deno.test("demotion runs a standby program at once and cuts the GARP schedule short", async () => {
  const host = new FakeHost();
  const { daemon } = await started(host, { role: "standby" });
  try {
    await daemon.setRole("active");
    await host.clock.tick(1_500);
    const before = garps(host).length;
    const status = await daemon.setRole("standby");
    assert.deepEqual([status.role, status.transitions], ["standby", 2]);
    assert.equal(lastProgram(host).standby, true);
    await host.clock.tick(10_000);
    assert.equal(garps(host).length, before, "no GARP after the demotion");
    assert.ok(host.dataplaneMade.programs.slice(-1).every((p) => p.standby));
  } finally {
    await stop(host, daemon);
  }
});

Deno.test("taking the role in force publishes nothing and counts no transition", async () => {
  const host = new FakeHost();
  const { daemon } = await started(host);
  try {
    const published = host.dataplaneMade.programs.length;
    const status = await daemon.setRole("active");
    assert.deepEqual([status.role, status.transitions], ["active", 0]);
    assert.equal(host.dataplaneMade.programs.length, published);
    assert.equal(lastProgram(host).standby, false);
    assert.equal(lastProgram(host).routed, false, "without --announce, VIPs are reached by ARP");
  } finally {
    await stop(host, daemon);
  }
});

Deno.test("--announce: the table holds each VIP whose services have their need, and follows health within a second", async () => {
  const host = new FakeHost();
  const { daemon, lines } = await started(host, { announce: 100 }, config(2));
  try {
    await host.clock.tick(1);
    assert.deepEqual(host.announced, [VIP, VIP2]);
    assert.ok(host.dataplaneMade.programs.every((p) => p.routed === true), "routed: no ARP");
    assert.deepEqual(daemon.status().announced, [VIP, VIP2]);
    host.checks.set(RS1, "connection refused");
    // The third failure (fall 3) lands at 6 s; the table follows within a second.
    await host.clock.tick(5_900);
    assert.deepEqual(host.announced, [VIP, VIP2]);
    await host.clock.tick(1_000);
    assert.deepEqual(host.announced, [VIP2], "VIP needs 2 usable real servers, has 1");
    assert.deepEqual(daemon.status().announced, [VIP2]);
    assert.ok(lines.includes(`info: withdraw ${VIP} from table 100`), lines.join("\n"));
    host.checks.set(RS1, null);
    await host.clock.tick(5_000);
    assert.deepEqual(host.announced, [VIP, VIP2], lines.join("\n"));
  } finally {
    await stop(host, daemon);
  }
});

Deno.test("--announce: a standby announces nothing; promoted, it announces, demoted it withdraws", async () => {
  const host = new FakeHost();
  const { daemon } = await started(host, { announce: 100, role: "standby" });
  try {
    await host.clock.tick(1_000);
    assert.deepEqual(host.announced, []);
    await daemon.setRole("active");
    await host.clock.tick(1);
    assert.deepEqual(host.announced, [VIP, VIP2]);
    await daemon.setRole("standby");
    await host.clock.tick(1);
    assert.deepEqual(host.announced, []);
  } finally {
    await stop(host, daemon);
  }
});

Deno.test("--announce: a failed sync is tried again within a second", async () => {
  const host = new FakeHost();
  host.failAnnounce = 1;
  const { daemon, lines } = await started(host, { announce: 100 });
  try {
    await host.clock.tick(1);
    assert.deepEqual(host.announced, []);
    assert.ok(lines.some((l) => /^warn: announce table 100 not in step: ip: timed out/.test(l)));
    await host.clock.tick(1_000);
    assert.deepEqual(host.announced, [VIP, VIP2]);
  } finally {
    await stop(host, daemon);
  }
});

Deno.test("--announce: stop empties the table, forwards 2 s more, then closes the capture", async () => {
  const host = new FakeHost();
  const { daemon } = await started(host, { announce: 100 });
  await host.clock.tick(1);
  const stopping = daemon.stop();
  await host.clock.tick(1);
  assert.deepEqual(host.announced, []);
  assert.equal(host.effects.at(-1), "announce ");
  const withdrawnAt = host.clock.now();
  await host.clock.tick(1_990);
  assert.ok(!host.effects.includes("capture closed"), "still forwarding during the 2 s");
  await host.clock.tick(20);
  await stopping;
  assert.ok(host.clock.now() - withdrawnAt <= 2_010);
  const withdrawn = host.effects.indexOf("announce ");
  assert.ok(host.effects.indexOf("capture closed") > withdrawn);
});

Deno.test("--announce on a table an ip rule looks up stops the start before the capture", async () => {
  const host = new FakeHost();
  host.announceRuleClash = true;
  await assert.rejects(started(host, { announce: 100 }), RuntimeError);
  assert.ok(!host.effects.some((e) => e.startsWith("capture")), host.effects.join(", "));
  assert.ok(!host.effects.some((e) => e.startsWith("offloads")), host.effects.join(", "));
});

Deno.test("without --announce, status announces nothing and stop does not wait", async () => {
  const host = new FakeHost();
  const { daemon } = await started(host);
  assert.deepEqual(daemon.status().announced, []);
  await daemon.stop();
  assert.ok(host.effects.includes("capture closed"));
  assert.ok(!host.effects.some((e) => e.startsWith("announce")));
});

Deno.test("a role request asked before the last one applied is ignored (notify scripts out of order)", async () => {
  const host = new FakeHost();
  const { daemon, lines } = await started(host, { role: "standby" });
  try {
    // keepalived: BACKUP (demote started at 1000), then MASTER (promote at 2000);
    // the promote arrives first.
    await daemon.setRole("active", 2_000);
    const status = await daemon.setRole("standby", 1_000);
    assert.deepEqual([status.role, status.transitions], ["active", 1]);
    assert.equal(lastProgram(host).standby, false);
    assert.ok(
      lines.some((l) => /^warn: ignored a request for role standby asked 1000 ms before/.test(l)),
    );
    // A later request, or one that says nothing of its time, applies.
    assert.equal((await daemon.setRole("standby", 3_000)).role, "standby");
    assert.equal((await daemon.setRole("active")).role, "active");
  } finally {
    await stop(host, daemon);
  }
});
