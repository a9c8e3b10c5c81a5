import assert from "node:assert/strict";
import { parseConfig } from "./config.ts";
import { Metrics } from "./metrics.ts";
import type { Status } from "./status.ts";

function rip(ip: string, type = "tcp") {
  return {
    ip,
    state: "up",
    packets: 0,
    bytes: 0,
    connections: 0,
    activeConns: 0,
    inactiveConns: 0,
    check: { type },
  };
}

function status(rips: ReturnType<typeof rip>[]): Status {
  return {
    flows: 0,
    drops: {},
    malformed: {},
    packets: { rx: 0, tx: 0 },
    dataplane: { batchMaxMs: 0 },
    vips: [{
      vip: "198.18.0.100",
      port: 80,
      proto: "tcp",
      packets: 0,
      bytes: 0,
      connections: 0,
      rips,
    }],
  } as unknown as Status;
}

const SERVICE = "198.18.0.100:80/tcp";
const series = (ip: string, type = "tcp") =>
  `dsr_health_check_latency_seconds_count{vip="198.18.0.100",port="80",proto="tcp",rip="${ip}",type="${type}"}`;

Deno.test("check latency series of a deleted real server, or of a check that changed type, leave the scrape", async () => {
  let now = status([rip("198.18.0.11"), rip("198.18.0.12")]);
  const config = parseConfig({
    version: 1,
    vips: [{ vip: "198.18.0.100", port: 80, fallback: "198.18.0.50" }],
  });
  const metrics = new Metrics(() => now, () => config);
  for (const ip of ["198.18.0.11", "198.18.0.12", "198.18.0.50"]) {
    metrics.observeCheck(SERVICE, ip, "tcp", 1);
  }
  let text = await metrics.scrape();
  for (const ip of ["198.18.0.11", "198.18.0.12", "198.18.0.50"]) {
    assert.ok(text.includes(series(ip)));
  }

  now = status([rip("198.18.0.11", "http")]);
  metrics.observeCheck(SERVICE, "198.18.0.11", "http", 1);
  text = await metrics.scrape();
  assert.ok(!text.includes(series("198.18.0.12")), "the deleted real server's series is gone");
  assert.ok(!text.includes(series("198.18.0.11", "tcp")), "the old check type's series is gone");
  assert.ok(text.includes(series("198.18.0.11", "http")));
  assert.ok(
    text.includes(series("198.18.0.50")),
    "the fallback's series stays while it is configured",
  );
});
