import assert from "node:assert/strict";
import { type Config, parseConfig } from "./config.ts";
import { HealthMonitor, type Transition } from "./health.ts";
import type { ProbeTarget } from "./probers.ts";

function config(
  check: Record<string, unknown> | null,
  rips = ["198.18.0.11", "198.18.0.12"],
): Config {
  return parseConfig({
    version: 1,
    vips: [{ vip: "198.18.0.100", port: 80, check, rips: rips.map((ip) => ({ ip })) }],
  });
}

/** A monitor whose checks answer from `failing`, with every probe recorded. */
function monitor() {
  const failing = new Set<string>();
  const probes: ProbeTarget[] = [];
  const transitions: Transition[] = [];
  const m = new HealthMonitor({
    prober: (t) => {
      probes.push(t);
      return Promise.resolve(failing.has(t.ip) ? `refused by ${t.ip}` : null);
    },
    neighbor: (ip) => Number(ip.split(".")[3]),
    onTransition: (t) => transitions.push(t),
  });
  return { m, failing, probes, transitions };
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FAST = { type: "tcp", interval: 0.01, timeout: 0.01, rise: 2, fall: 2 };

Deno.test("a failing real server goes down with the reason, and back up after rise passes", async () => {
  const { m, failing, transitions } = monitor();
  try {
    m.sync(config(FAST));
    await tick(50);
    assert.equal(m.healthy("198.18.0.100:80/tcp", "198.18.0.11"), true);
    failing.add("198.18.0.11");
    await tick(80);
    assert.equal(m.healthy("198.18.0.100:80/tcp", "198.18.0.11"), false);
    assert.equal(m.healthy("198.18.0.100:80/tcp", "198.18.0.12"), true);
    assert.deepEqual(transitions[0], {
      service: "198.18.0.100:80/tcp",
      ip: "198.18.0.11",
      state: "down",
      reason: "refused by 198.18.0.11",
    });
    assert.equal(m.result("198.18.0.100:80/tcp", "198.18.0.11")?.error, "refused by 198.18.0.11");
    failing.clear();
    await tick(80);
    assert.equal(m.healthy("198.18.0.100:80/tcp", "198.18.0.11"), true);
    assert.equal(transitions.at(-1)?.state, "up");
  } finally {
    m.stop();
  }
});

Deno.test("checks take the real server's port, path and the VIP's DR path as configured", async () => {
  const { m, probes } = monitor();
  try {
    m.sync(config({ type: "http", port: 8080, path: "/health", expect: 204, interval: 10 }));
    await tick(20);
    assert.equal(probes.length, 2);
    assert.deepEqual(
      { ...probes[0], neighbor: undefined },
      {
        type: "http",
        ip: "198.18.0.11",
        port: 8080,
        path: "/health",
        expect: 204,
        vip: "198.18.0.100",
        vipPort: 80,
        proto: "tcp",
        neighbor: undefined,
      },
    );
    assert.equal(probes[0].neighbor, 11);
  } finally {
    m.stop();
  }
});

Deno.test("changing a VIP's check keeps every real server's state; removing a server stops its check", async () => {
  const { m, failing, probes } = monitor();
  try {
    failing.add("198.18.0.11");
    m.sync(config(FAST));
    await tick(80);
    assert.equal(m.healthy("198.18.0.100:80/tcp", "198.18.0.11"), false);
    failing.clear();
    m.sync(config({ ...FAST, type: "http", rise: 100 }));
    await tick(80);
    assert.equal(
      m.healthy("198.18.0.100:80/tcp", "198.18.0.11"),
      false,
      "still down until the new check rises",
    );
    m.sync(config(FAST, ["198.18.0.12"]));
    const before = probes.filter((p) => p.ip === "198.18.0.11").length;
    await tick(60);
    assert.equal(
      probes.filter((p) => p.ip === "198.18.0.11").length,
      before,
      "no more checks of a removed server",
    );
    assert.equal(m.result("198.18.0.100:80/tcp", "198.18.0.11"), null);
  } finally {
    m.stop();
  }
});

Deno.test("type none runs no check and counts as healthy; UDP services default to none", async () => {
  const { m, probes } = monitor();
  try {
    m.sync(config({ type: "none" }));
    m.sync(
      parseConfig({
        version: 1,
        vips: [{ vip: "198.18.0.100", port: 53, proto: "udp", rips: [{ ip: "198.18.0.11" }] }],
      }),
    );
    await tick(30);
    assert.equal(probes.length, 0);
    assert.equal(m.healthy("198.18.0.100:53/udp", "198.18.0.11"), true);
  } finally {
    m.stop();
  }
});

Deno.test("each check asks the real server's neighbour slot anew (slots are given after sync, freed and reused)", async () => {
  const probes: ProbeTarget[] = [];
  let slot = -1;
  const m = new HealthMonitor({
    prober: (t) => {
      probes.push(t);
      return Promise.resolve(null);
    },
    neighbor: () => slot,
    onTransition: () => {},
  });
  try {
    m.sync(config({ ...FAST, type: "dr" }, ["198.18.0.11"]));
    await tick(5);
    slot = 7;
    await tick(40);
    assert.equal(probes[0].neighbor, -1);
    assert.equal(probes.at(-1)?.neighbor, 7);
  } finally {
    m.stop();
  }
});

/** Two services (ports 80 and 443) with the same real servers and the checks given. */
function twoServices(check80: Record<string, unknown>, check443: Record<string, unknown>): Config {
  const rips = [{ ip: "198.18.0.11" }, { ip: "198.18.0.12" }];
  return parseConfig({
    version: 1,
    vips: [
      { vip: "198.18.0.100", port: 80, check: check80, rips },
      { vip: "198.18.0.101", port: 443, check: check443, rips },
    ],
  });
}

Deno.test("identical checks of one real server behind two VIPs probe it once per interval; each service keeps its own verdict", async () => {
  const { m, failing, probes, transitions } = monitor();
  const check = { type: "http", port: 8080, interval: 0.02, timeout: 0.02 };
  try {
    m.sync(twoServices({ ...check, fall: 1 }, { ...check, fall: 3 }));
    assert.equal(m.probes, 2, "one probe per address, shared by both services");
    await tick(110);
    const per = (ip: string) => probes.filter((p) => p.ip === ip).length;
    assert.ok(per("198.18.0.11") >= 3 && per("198.18.0.11") <= 7, `${per("198.18.0.11")} probes`);
    failing.add("198.18.0.11");
    await tick(30);
    assert.equal(m.healthy("198.18.0.100:80/tcp", "198.18.0.11"), false, "fall 1: down at once");
    assert.equal(m.healthy("198.18.0.101:443/tcp", "198.18.0.11"), true, "fall 3: not yet");
    await tick(80);
    assert.equal(m.healthy("198.18.0.101:443/tcp", "198.18.0.11"), false);
    assert.deepEqual(
      transitions.map((t) => `${t.service} ${t.state}`),
      ["198.18.0.100:80/tcp down", "198.18.0.101:443/tcp down"],
    );
    assert.equal(m.result("198.18.0.101:443/tcp", "198.18.0.11")?.error, "refused by 198.18.0.11");
  } finally {
    m.stop();
  }
});

Deno.test("checks differing in anything the probe uses, or in timing, are not shared; dr and exec never across VIPs", () => {
  const { m } = monitor();
  try {
    const http = { type: "http", port: 8080, interval: 5 };
    m.sync(twoServices(http, { ...http, path: "/other" }));
    assert.equal(m.probes, 4);
    m.sync(twoServices(http, { ...http, interval: 6 }));
    assert.equal(m.probes, 4);
    m.sync(twoServices({ type: "dr", port: 80 }, { type: "dr", port: 80 }));
    assert.equal(m.probes, 4, "the DR-path probe goes to each VIP");
    const exec = { type: "exec", command: ["/bin/true"] };
    m.sync(twoServices(exec, exec));
    assert.equal(m.probes, 4, "an exec check gets each VIP in its environment");
    m.sync(twoServices({ type: "ping" }, { type: "ping", rise: 5 }));
    assert.equal(m.probes, 2, "rise and fall are each service's own, the probe is shared");
    m.sync(twoServices({ type: "ping" }, { type: "none" }));
    assert.equal(m.probes, 2);
    m.stop();
    assert.equal(m.probes, 0);
  } finally {
    m.stop();
  }
});
