/**
 * The daemon's memory with many VIPs: 200 VIPs of 4 real servers each,
 * applied with `dsr config apply` to a daemon on a namespace lab, with every
 * health check running, must leave its resident set under 250 MB (it was
 * 337 MB when every publish rebuilt and copied every Maglev ring), its peak
 * over the 20 s after every server is up. Each VIP weighs its servers
 * differently, so every service has a Maglev table of its own (services with
 * the same servers and weights would share one).
 */

import assert from "node:assert/strict";
import { dsrOk, spawnDaemon, startServers, status, stopAll, tempPaths } from "./_dsr.ts";
import { type NsProcess, requireRoot, waitFor, withLab } from "./_netns.ts";

const VIPS = 200;
const LIMIT_MB = 250;

/** VmRSS of a process in MB, from /proc. */
async function rssMb(pid: number): Promise<number> {
  const text = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = text.match(/^VmRSS:\s+(\d+) kB$/m);
  if (!kb) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kb[1]) / 1024;
}

Deno.test(`${VIPS} VIPs × 4 real servers applied with config apply keep the daemon under ${LIMIT_MB} MB`, async () => {
  requireRoot();
  await withLab({ servers: 4 }, async (lab) => {
    const paths = await tempPaths();
    const processes: NsProcess[] = startServers(lab);
    try {
      const daemon = spawnDaemon(paths, lab);
      processes.push(daemon);
      await waitFor("the daemon to answer", () => status(paths), 10_000);
      // `ip netns exec` execs dsr in place: the child is the daemon itself.
      const pid = daemon.child.pid;
      assert.match(await Deno.readTextFile(`/proc/${pid}/cmdline`), /main\.ts\0.*start/);
      const before = await rssMb(pid);

      const vips = Array.from({ length: VIPS }, (_, i) => ({
        vip: `198.18.1.${i + 1}`,
        port: 80,
        // A weight vector of its own per VIP: 200 distinct Maglev rings.
        rips: lab.servers.map((s, j) => ({ ip: s.ip, weight: 1 + ((i >> (2 * j)) & 3) })),
      }));
      const file = `${paths.dir}/vips.json`;
      await Deno.writeTextFile(file, JSON.stringify({ version: 1, vips }));
      await dsrOk(paths, ["config", "apply", "-f", file]);
      await waitFor("every real server of every VIP up and resolved", async () => {
        const s = await status(paths);
        return s.vips.length === VIPS &&
          s.vips.every((v) => v.rips.every((r) => r.state === "up" && r.mac !== null));
      }, 30_000);

      // Ten rounds of health checks (every 2 s) and of neighbour watching.
      let peak = 0;
      for (let i = 0; i < 40; i++) {
        peak = Math.max(peak, await rssMb(pid));
        await new Promise((r) => setTimeout(r, 500));
      }
      console.log(
        `daemon VmRSS: ${before.toFixed(1)} MB with no VIP, peak ${
          peak.toFixed(1)
        } MB over 20 s with ${VIPS} VIPs × 4 real servers`,
      );
      assert.ok(peak < LIMIT_MB, `daemon VmRSS ${peak.toFixed(1)} MB, limit ${LIMIT_MB} MB`);
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});
