import assert from "node:assert/strict";
import { FAKE_IFACE, FakeHost } from "./_fake_host.ts";
import { parseConfig } from "./config.ts";
import { Daemon } from "./daemon.ts";

/** Two services on one VIP and one on another: each VIP is announced once per refresh. */
const CONFIG = parseConfig({
  version: 1,
  vips: [
    { vip: "198.18.0.100", port: 80, check: { type: "none" }, rips: [{ ip: "198.18.0.11" }] },
    { vip: "198.18.0.100", port: 443, check: { type: "none" }, rips: [{ ip: "198.18.0.11" }] },
    { vip: "198.18.0.101", port: 53, proto: "udp", rips: [{ ip: "198.18.0.12" }] },
  ],
});

async function started(garpInterval?: number) {
  const host = new FakeHost();
  host.stateFile = CONFIG;
  const daemon = await Daemon.start({
    iface: FAKE_IFACE.name,
    statePath: "/nonexistent/state.json",
    maxFlows: 1024,
    log: () => {},
    host,
    garpInterval,
  });
  const garps = () => host.effects.filter((e) => e.startsWith("garp "));
  return { host, daemon, garps };
}

Deno.test("--garp-interval re-announces every VIP once per interval on fake time, and stops with the daemon", async () => {
  const { host, daemon, garps } = await started(30);
  try {
    const atStart = garps().length;
    await host.clock.tick(29_999);
    assert.equal(garps().length, atStart, "nothing before the interval");
    await host.clock.tick(1);
    assert.deepEqual(garps().slice(atStart), ["garp 198.18.0.100", "garp 198.18.0.101"]);
    await host.clock.tick(30_000);
    assert.equal(garps().length, atStart + 4);
  } finally {
    await daemon.stop();
  }
  const after = garps().length;
  await host.clock.tick(120_000);
  assert.equal(garps().length, after, "no refresh after stop");
});

Deno.test("without --garp-interval no GARP is sent after start", async () => {
  const { host, daemon, garps } = await started();
  try {
    const atStart = garps().length;
    await host.clock.tick(120_000);
    assert.equal(garps().length, atStart);
  } finally {
    await daemon.stop();
  }
});
