/**
 * A single balancer cannot be half-applied or disturbed: a second `dsr start`
 * on the same socket leaves the first daemon's world untouched, and a change
 * beyond the data plane's capacity is refused whole, with the state file and
 * forwarding exactly as they were.
 */

import assert from "node:assert/strict";
import { nsExec } from "../lab/topology.ts";
import {
  configureLab,
  dsr,
  type DsrPaths,
  spawnDaemon,
  startDaemon,
  startServers,
  status,
  stopAll,
  tempPaths,
} from "./_dsr.ts";
import { nsSpawn, requireRoot, waitFor, withLab } from "./_netns.ts";
import { MAX_SERVICES } from "../dataplane/tables.ts";

async function filters(ns: string): Promise<string> {
  return (await nsExec(ns, ["tc", "filter", "show", "dev", "eth0", "ingress"], { check: true }))
    .stdout;
}

async function curl(ns: string, url: string): Promise<string> {
  return (await nsExec(ns, ["curl", "-s", "-m", "3", url])).stdout.trim();
}

/**
 * `dsr config apply` of a document with one service more than the data plane
 * holds: it must exit 1 with one line naming the limit and the number asked.
 */
async function applyOneServiceTooMany(paths: DsrPaths): Promise<void> {
  const doc = {
    version: 1,
    vips: Array.from({ length: MAX_SERVICES + 1 }, (_, i) => ({
      vip: `198.19.${i >> 8}.${i & 255}`,
      port: 80,
    })),
  };
  const file = `${paths.dir}/too-many.json`;
  await Deno.writeTextFile(file, JSON.stringify(doc));
  const run = await dsr(paths, ["config", "apply", "-f", file]);
  assert.equal(run.code, 1, run.stderr);
  assert.equal(
    run.stderr.trim(),
    `dsr: error: too many virtual services: ${MAX_SERVICES + 1} asked, at most ${MAX_SERVICES}`,
  );
}

Deno.test("a second dsr start on the same socket exits 1 at once and leaves the first daemon's GARP, tc filter and forwarding alone", async () => {
  requireRoot();
  await withLab({ servers: 1 }, async (lab) => {
    const paths = await tempPaths();
    const processes = startServers(lab);
    try {
      await configureLab(paths, lab);
      processes.push(await startDaemon(paths, lab));
      const filter = await filters(lab.balancer.ns);
      assert.match(filter, /pref 213/, "the first daemon's ingress drop is in place");
      const arp = nsSpawn(lab.client.ns, ["tcpdump", "-i", "eth0", "-nn", "-l", "arp"]);
      processes.push(arp);
      await waitFor("tcpdump", () => arp.output().includes("listening on"));

      const second = spawnDaemon(paths, lab);
      const code = await second.child.status.then((s) => s.code);
      assert.equal(code, 1, second.output());
      const lines = second.output().trim().split("\n");
      assert.deepEqual(lines, [
        `dsr: error: another dsr daemon is running on socket ${paths.socket}`,
      ]);

      // Give a GARP the second daemon might have sent time to show, then look.
      await new Promise((r) => setTimeout(r, 500));
      assert.doesNotMatch(arp.output(), new RegExp(`who-has ${lab.vip} tell ${lab.vip}`));
      assert.equal(await filters(lab.balancer.ns), filter, "the tc filter is still the first's");
      assert.equal(await curl(lab.client.ns, `http://${lab.vip}/`), `rs1 ${lab.client.ip}`);
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});

Deno.test("config apply beyond the service capacity exits 1 naming the limit; state file, configuration and forwarding stay", async () => {
  requireRoot();
  await withLab({ servers: 1 }, async (lab) => {
    const paths = await tempPaths();
    const processes = startServers(lab);
    try {
      await configureLab(paths, lab);
      processes.push(await startDaemon(paths, lab));
      const before = await Deno.readTextFile(paths.state);
      await applyOneServiceTooMany(paths);
      assert.equal(await Deno.readTextFile(paths.state), before, "the state file is unchanged");
      const s = await status(paths);
      assert.deepEqual(s.vips.map((v) => v.vip), [lab.vip]);
      assert.equal(await curl(lab.client.ns, `http://${lab.vip}/`), `rs1 ${lab.client.ip}`);
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});

Deno.test("offline, config apply beyond the service capacity exits 1 naming the limit and leaves the state file alone", async () => {
  const paths = await tempPaths();
  try {
    await dsr(paths, ["vip", "add", "198.18.0.100:80"]);
    const before = await Deno.readTextFile(paths.state);
    await applyOneServiceTooMany(paths);
    assert.equal(await Deno.readTextFile(paths.state), before);
  } finally {
    await Deno.remove(paths.dir, { recursive: true });
  }
});
