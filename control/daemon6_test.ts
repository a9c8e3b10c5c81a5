import assert from "node:assert/strict";
import { FAKE_IFACE, FakeHost } from "./_fake_host.ts";
import { type Config, parseConfig } from "./config.ts";
import { Daemon } from "./daemon.ts";

const SEED = "0123456789abcdef0123456789abcdef";
const VIP6 = "2001:2::100";

function dual(): Config {
  return parseConfig({
    version: 1,
    hashSeed: SEED,
    vips: [
      { vip: "198.18.0.100", port: 80, check: { type: "none" }, rips: [{ ip: "198.18.0.11" }] },
      { vip: VIP6, port: 80, check: { type: "none" }, rips: [{ ip: "2001:2::11" }] },
    ],
  });
}

async function started(host: FakeHost, config: Config) {
  host.stateFile = config;
  const lines: string[] = [];
  const daemon = await Daemon.start({
    iface: FAKE_IFACE.name,
    statePath: "/nonexistent/state.json",
    maxFlows: 1024,
    log: (level, message) => lines.push(`${level}: ${message}`),
    host,
  });
  return { daemon, lines };
}

Deno.test("dsr start warns when the kernel forwards IPv6 (net.ipv6.conf.all.forwarding=1)", async () => {
  const host = new FakeHost();
  host.ipv6Forward = true;
  const { daemon, lines } = await started(host, dual());
  try {
    assert.ok(
      lines.some((l) =>
        l.startsWith("warn: net.ipv6.conf.all.forwarding=1: the kernel would forward")
      ),
      lines.join("\n"),
    );
  } finally {
    await daemon.stop();
  }
  const quiet = new FakeHost();
  const second = await started(quiet, dual());
  try {
    assert.ok(!second.lines.some((l) => l.includes("net.ipv6")), second.lines.join("\n"));
  } finally {
    await second.daemon.stop();
  }
});

Deno.test("an IPv6 real server on an interface without IPv6 is named at start and gets no traffic", async () => {
  const host = new FakeHost();
  const { daemon, lines } = await started(host, dual());
  try {
    assert.ok(
      lines.includes(
        `warn: real server 2001:2::11 of [${VIP6}]:80/tcp is IPv6 and eth0 has no IPv6 subnet: it gets no traffic`,
      ),
      lines.join("\n"),
    );
    const v6 = daemon.status().vips.find((v) => v.vip === VIP6)!;
    assert.equal(v6.rips[0].state, "unresolved");
  } finally {
    await daemon.stop();
  }
});

Deno.test("vip garp announces an IPv6 VIP through the data plane by its text", async () => {
  const host = new FakeHost();
  const { daemon } = await started(host, dual());
  try {
    daemon.garp(VIP6);
    assert.ok(host.effects.includes(`garp ${VIP6}`), host.effects.join("\n"));
  } finally {
    await daemon.stop();
  }
});
