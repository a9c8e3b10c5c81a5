/**
 * `--metrics` serves Prometheus text that agrees with `dsr status`, and
 * `--log-format json` writes one JSON record per line.
 */

import assert from "node:assert/strict";
import { nsExec } from "../lab/topology.ts";
import { DSR, dsrOk, startDaemon, startServers, status, stopAll, tempPaths } from "./_dsr.ts";
import { nsSpawn, requireRoot, waitFor, withLab } from "./_netns.ts";

const STREAM = new URL("./_http_stream.ts", import.meta.url).pathname;
const SAMPLE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/;

/** Parses Prometheus text exposition strictly: every line a comment or a sample. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/.test(line)) continue;
    const m = SAMPLE.exec(line);
    assert.ok(m, `not Prometheus text: ${line}`);
    samples.set(`${m[1]}${m[2] ?? ""}`, Number(m[3]));
  }
  return samples;
}

Deno.test("metrics scraped during traffic parse as Prometheus text and agree with dsr status; logs can be JSON lines", async () => {
  requireRoot();
  await withLab({ servers: 2 }, async (lab) => {
    const paths = await tempPaths();
    const processes = startServers(lab);
    try {
      await dsrOk(paths, ["vip", "add", `${lab.vip}:80`, "--check-interval", "0.2"]);
      for (const s of lab.servers) await dsrOk(paths, ["rip", "add", `${lab.vip}:80`, s.ip]);
      const daemon = await startDaemon(paths, lab, [
        "--metrics",
        "127.0.0.1:9100",
        "--log-format",
        "json",
      ]);
      processes.push(daemon);
      const stream = nsSpawn(lab.client.ns, [DSR[0], "run", "-A", STREAM, `http://${lab.vip}/`]);
      processes.push(stream);
      await waitFor("traffic", () => stream.output().split("\n").length > 20);

      const before = await status(paths);
      const scraped = await nsExec(lab.balancer.ns, [
        "curl",
        "-sf",
        "http://127.0.0.1:9100/metrics",
      ], { check: true });
      const after = await status(paths);
      const m = parsePrometheus(scraped.stdout);
      for (const [i, s] of lab.servers.entries()) {
        const labels = `{vip="${lab.vip}",port="80",proto="tcp",rip="${s.ip}"}`;
        const packets = m.get(`dsr_rip_packets_total${labels}`);
        assert.ok(
          packets !== undefined && packets > 0,
          `dsr_rip_packets_total${labels} = ${packets}`,
        );
        // Counters only grow: the scrape lies between the two status reads.
        assert.ok(
          before.vips[0].rips[i].packets <= packets!,
          `${s.ip}: ${before.vips[0].rips[i].packets} <= ${packets}`,
        );
        assert.ok(
          packets! <= after.vips[0].rips[i].packets,
          `${s.ip}: ${packets} <= ${after.vips[0].rips[i].packets}`,
        );
        assert.equal(m.get(`dsr_rip_up${labels}`), 1);
        assert.ok(
          (m.get(
            `dsr_health_check_latency_seconds_count{vip="${lab.vip}",port="80",proto="tcp",rip="${s.ip}",type="tcp"}`,
          ) ?? 0) > 0,
        );
        assert.ok(
          m.has(`dsr_rip_active_connections${labels}`) &&
            m.has(`dsr_rip_inactive_connections${labels}`),
        );
      }
      assert.ok(
        (m.get(`dsr_vip_connections_total{vip="${lab.vip}",port="80",proto="tcp"}`) ?? 0) > 0,
      );
      assert.ok(m.has("dsr_flows"));
      assert.ok(m.has("dsr_dataplane_batch_max_seconds"));
      for (const reason of ["noService", "malformed", "noBackend", "evicted"]) {
        assert.ok(m.has(`dsr_drops_total{reason="${reason}"}`), reason);
      }
      const notFound = await nsExec(lab.balancer.ns, [
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "http://127.0.0.1:9100/other",
      ]);
      assert.equal(notFound.stdout, "404");

      await daemon.kill();
      const records = daemon.output().trim().split("\n").map((l) => JSON.parse(l));
      assert.ok(records.length >= 3);
      for (const r of records) {
        assert.equal(typeof r["@timestamp"], "string");
        assert.ok(["INFO", "WARNING", "ERROR"].includes(r.level), r.level);
        assert.equal(typeof r.message, "string");
      }
      assert.ok(records.some((r) => /^forwarding on eth0/.test(r.message)));
      assert.equal(records.at(-1).message, "stopped");
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});
