/**
 * `dsr doctor` probes every real server at once: a dozen real servers that
 * do not answer on the DR path cost one probe's timeout, not a dozen, so the
 * report arrives well within the client's 10 s.
 */

import assert from "node:assert/strict";
import { dsr, dsrOk, startDaemon, startServers, stopAll, tempPaths } from "./_dsr.ts";
import { requireRoot, withLab } from "./_netns.ts";

Deno.test("doctor probes twelve failing DR paths in parallel and answers within 5 s, naming each", async () => {
  requireRoot();
  await withLab({ servers: 3 }, async (lab) => {
    const paths = await tempPaths();
    const processes = startServers(lab);
    // The lab's servers hold only the lab VIP on lo: these four get no SYN-ACK on the DR path.
    const silent = ["198.18.0.101", "198.18.0.102", "198.18.0.103", "198.18.0.104"];
    try {
      for (const vip of [lab.vip, ...silent]) {
        await dsrOk(paths, ["vip", "add", `${vip}:80`]);
        for (const s of lab.servers) await dsrOk(paths, ["rip", "add", `${vip}:80`, s.ip]);
      }
      processes.push(await startDaemon(paths, lab));
      const started = performance.now();
      const run = await dsr(paths, ["doctor", "--json"]);
      const seconds = (performance.now() - started) / 1000;
      assert.equal(run.code, 1, run.stderr);
      const bad = JSON.parse(run.stdout).findings.filter((f: { ok: boolean }) => !f.ok);
      assert.deepEqual(
        bad.map((f: { check: string; subject: string }) => `${f.check} ${f.subject}`),
        silent.flatMap((vip) => lab.servers.map((s) => `dr-path ${s.ip} of ${vip}:80/tcp`)),
      );
      for (const f of bad) assert.match(f.fix, /ip addr add 198\.18\.0\.10[1-4]\/32 dev lo/);
      // Sequential probes took at least 12 × 1 s; the CLI's own start-up is in this figure too.
      assert.ok(seconds < 5, `doctor took ${seconds.toFixed(1)} s`);
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});
