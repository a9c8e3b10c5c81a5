import assert from "node:assert/strict";
import { FAKE_IFACE, FakeHost } from "./_fake_host.ts";
import { type Config, parseConfig } from "./config.ts";
import { Daemon } from "./daemon.ts";
import { CapacityError, RuntimeError, UsageError } from "./errors.ts";
import { MAX_SERVICES } from "../dataplane/tables.ts";

const VIP = "198.18.0.100";
const RS1 = "198.18.0.11";
const RS2 = "198.18.0.12";

/** The seed every test document carries, so nothing is saved at start. */
const SEED = "0123456789abcdef0123456789abcdef";

function web(rips = [RS1, RS2]): Config {
  return parseConfig({
    version: 1,
    hashSeed: SEED,
    vips: [{
      vip: VIP,
      port: 80,
      check: { type: "tcp", interval: 2, timeout: 1, rise: 2, fall: 3 },
      rips: rips.map((ip) => ({ ip })),
    }],
  });
}

/** `count` services on consecutive addresses, one real server each. */
function many(count: number): Config {
  return parseConfig({
    version: 1,
    vips: Array.from({ length: count }, (_, i) => ({
      vip: `198.19.${i >> 8}.${i & 255}`,
      port: 80,
      check: { type: "none" },
      rips: [{ ip: RS1 }],
    })),
  });
}

async function started(host: FakeHost, config: Config | null = web()) {
  host.stateFile = config;
  const lines: string[] = [];
  const daemon = await Daemon.start({
    iface: FAKE_IFACE.name,
    statePath: "/nonexistent/state.json",
    maxFlows: 1024,
    log: (level, message) => lines.push(`${level}: ${message}`),
    host,
  });
  return { daemon, lines, dataplane: host.dataplaneMade };
}

/** The effective weight the newest program gives a real server of the web service. */
function weightOf(host: FakeHost, daemon: Daemon, ip: string): number {
  const program = host.dataplaneMade.programs.at(-1)!;
  const slot = daemon.neighbor(ip).slot;
  const sched = program.services[0].sched;
  for (let i = 0; i < sched.ids.length; i++) {
    if (program.backendNeighbor[sched.ids[i]] === slot) return sched.weights[i];
  }
  throw new Error(`${ip} is not a backend of the program`);
}

Deno.test("a health flap on fake time takes a real server out after fall failures and back after rise passes", async () => {
  const host = new FakeHost();
  const { daemon, lines } = await started(host);
  try {
    await host.clock.tick(1);
    assert.equal(weightOf(host, daemon, RS1), 1);
    host.checks.set(RS1, "connection refused");
    await host.clock.tick(2_000); // failure 1 (the first check ran at 0 and passed)
    await host.clock.tick(2_000); // failure 2
    assert.equal(weightOf(host, daemon, RS1), 1, "still up before fall (3) failures");
    await host.clock.tick(2_000); // failure 3
    assert.equal(weightOf(host, daemon, RS1), 0);
    assert.equal(weightOf(host, daemon, RS2), 1);
    assert.ok(lines.some((l) => l.includes(`${RS1} of ${VIP}:80/tcp is down: connection refused`)));
    const down = host.dataplaneMade.programs.at(-1)!;
    assert.ok(down.flushBackends.length > 0, "the down server's flows are flushed");

    host.checks.set(RS1, null);
    await host.clock.tick(2_000);
    assert.equal(weightOf(host, daemon, RS1), 0, "one pass is not rise (2)");
    await host.clock.tick(2_000);
    assert.equal(weightOf(host, daemon, RS1), 1);
  } finally {
    await daemon.stop();
  }
});

Deno.test("a publish that throws during a health transition is logged; checks and later changes go on", async () => {
  const host = new FakeHost();
  const { daemon, lines } = await started(host);
  try {
    host.checks.set(RS1, "connection refused");
    host.failPublish = 1;
    await host.clock.tick(6_000);
    assert.ok(
      lines.some((l) =>
        /^error: recompile after a health transition failed.*the worker is gone/.test(l)
      ),
      lines.join("\n"),
    );
    // The queue is not wedged: a change still applies and publishes.
    const before = host.dataplaneMade.programs.length;
    const { changes } = await daemon.change((c) => ({
      ...c,
      timeouts: { ...c.timeouts, udp: 60 },
    }));
    assert.equal(changes.length, 1);
    assert.equal(host.dataplaneMade.programs.length, before + 1);
    // And the health check kept running: RS1 recovers.
    host.checks.set(RS1, null);
    await host.clock.tick(4_000);
    assert.equal(weightOf(host, daemon, RS1), 1);
  } finally {
    await daemon.stop();
  }
});

Deno.test("a change beyond a capacity is refused before the state file or the data plane is touched", async () => {
  const host = new FakeHost();
  const { daemon } = await started(host);
  try {
    const effects = host.effects.length;
    const programs = host.dataplaneMade.programs.length;
    await assert.rejects(
      daemon.apply(many(MAX_SERVICES + 1)),
      (e) =>
        e instanceof CapacityError && e.limit === "virtual services" &&
        e.message ===
          `too many virtual services: ${MAX_SERVICES + 1} asked, at most ${MAX_SERVICES}`,
    );
    assert.deepEqual(host.effects.slice(effects), []);
    assert.equal(host.dataplaneMade.programs.length, programs);
    assert.deepEqual(daemon.config, web());
    assert.deepEqual(host.stateFile, web());
    // The compiler is as it was: the next accepted change compiles on from there.
    await daemon.change((c) => ({ ...c, vips: [{ ...c.vips[0], persist: 10 }] }));
    assert.equal(host.dataplaneMade.programs.at(-1)!.services.length, 1);
  } finally {
    await daemon.stop();
  }
});

Deno.test("a failed save leaves the configuration and the program in force", async () => {
  const host = new FakeHost();
  const { daemon } = await started(host);
  try {
    const programs = host.dataplaneMade.programs.length;
    host.failSave = 1;
    await assert.rejects(
      daemon.change((c) => ({ ...c, vips: [] })),
      (e) => e instanceof RuntimeError && /No space left on device/.test(e.message),
    );
    assert.deepEqual(daemon.config, web());
    assert.equal(host.dataplaneMade.programs.length, programs);
    assert.ok(!host.effects.includes("drop "), "the ingress drop still covers the VIP");
  } finally {
    await daemon.stop();
  }
});

Deno.test("a VIP the host owns and a new real server off the subnet are refused naming the field; nothing is saved", async () => {
  const host = new FakeHost();
  const { daemon } = await started(host);
  try {
    host.local.push({ ip: "198.18.0.200", iface: "lo" });
    await assert.rejects(
      daemon.apply(parseConfig({ version: 1, vips: [{ vip: "198.18.0.200", port: 80 }] })),
      (e) =>
        e instanceof UsageError && e.field === "vips[0].vip" &&
        /configured on interface lo/.test(e.message),
    );
    await assert.rejects(
      daemon.change((c) => ({
        ...c,
        vips: [{ ...c.vips[0], rips: [{ ...c.vips[0].rips[0], ip: "198.19.0.1" }] }],
      })),
      (e) => e instanceof UsageError && /cannot add real server 198\.19\.0\.1/.test(e.message),
    );
    assert.equal(host.effects.filter((e) => e === "save").length, 0);
  } finally {
    await daemon.stop();
  }
});

Deno.test("a state file beyond a capacity stops start before the interface is touched", async () => {
  const host = new FakeHost();
  await assert.rejects(started(host, many(MAX_SERVICES + 1)), CapacityError);
  assert.deepEqual(host.effects, []);
});

Deno.test("start and stop: capture, program, ingress drop in that order, then undone", async () => {
  const host = new FakeHost();
  const { daemon } = await started(host);
  await daemon.stop();
  assert.deepEqual(host.effects, [
    "offloads off eth0",
    "capture eth0",
    "publish 1",
    `drop ${VIP}`,
    "capture closed",
    "drop removed",
    "offloads on eth0 gro",
  ]);
  assert.equal(host.clock.pending, 0, "no timer is left behind");
});

Deno.test("reload refuses a state file with a local VIP and keeps the configuration in force", async () => {
  const host = new FakeHost();
  const { daemon } = await started(host);
  try {
    host.stateFile = parseConfig({ version: 1, vips: [{ vip: "198.18.0.10", port: 80 }] });
    await assert.rejects(daemon.reload(), UsageError);
    assert.deepEqual(daemon.config, web());
    host.stateFile = web([RS1]);
    assert.deepEqual(await daemon.reload(), [`delete rip ${RS2} from ${VIP}:80/tcp`]);
    assert.deepEqual(daemon.config, web([RS1]));
  } finally {
    await daemon.stop();
  }
});

Deno.test("a deleted interface stops the daemon with one line instead of a silent capture", async () => {
  const host = new FakeHost();
  const { daemon } = await started(host);
  try {
    let failed: Error | null = null;
    daemon.failure.catch((e) => failed = e);
    await host.clock.tick(2_000);
    assert.equal(failed, null);
    host.ifaceThere = false;
    await host.clock.tick(1_000);
    assert.ok(failed !== null, "the daemon reported the failure");
    assert.equal((failed as Error).message, "interface eth0 is gone: stopped forwarding");
  } finally {
    await daemon.stop();
  }
});

Deno.test("the first start makes a hash seed and saves it before forwarding; a document without one keeps it", async () => {
  const host = new FakeHost();
  const { hashSeed: _, ...unseeded } = web();
  const { daemon } = await started(host, unseeded);
  try {
    const seed = host.stateFile?.hashSeed;
    assert.match(seed ?? "", /^[0-9a-f]{32}$/);
    assert.deepEqual(host.effects.slice(0, 2), ["save", "offloads off eth0"]);
    assert.equal(daemon.config.hashSeed, seed);
    const program = () => host.dataplaneMade.programs.at(-1)!;
    const folded = program().hashSeed;
    assert.notEqual(folded, 0);
    // config apply of a document without a seed keeps the one in force.
    const changes = await daemon.apply({
      ...unseeded,
      timeouts: { ...unseeded.timeouts, udp: 60 },
    });
    assert.deepEqual(changes, ["set timeouts udp=60"]);
    assert.equal(host.stateFile?.hashSeed, seed);
    assert.equal(program().hashSeed, folded);
    // A document with another seed changes it, and says so without printing it.
    assert.deepEqual(await daemon.apply({ ...web(), timeouts: daemon.config.timeouts }), [
      "change hash seed",
    ]);
    assert.equal(host.stateFile?.hashSeed, SEED);
    assert.notEqual(program().hashSeed, folded);
  } finally {
    await daemon.stop();
  }
});
