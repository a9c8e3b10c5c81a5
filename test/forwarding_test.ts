/**
 * End to end on a namespace lab: a real Linux stack on every host, real
 * HTTP servers on three real servers, the real balancer over libpcap.
 */

import assert from "node:assert/strict";
import { nsExec } from "../lab/topology.ts";
import {
  configureLab,
  DSR,
  startDaemon,
  startServers,
  status,
  stopAll,
  tempPaths,
} from "./_dsr.ts";
import { nsSpawn, requireRoot, waitFor, withLab } from "./_netns.ts";

const BURST = new URL("./_http_burst.ts", import.meta.url).pathname;
const CLIENT_TTL = 77;

/** tcpdump inside a namespace, line-buffered; resolves once it listens. */
async function capture(ns: string, args: string[]) {
  const p = nsSpawn(ns, ["tcpdump", "-i", "eth0", "-nn", "-l", ...args]);
  await waitFor("tcpdump to listen", () => p.output().includes("listening on"), 5000);
  return p;
}

Deno.test("300 requests through the VIP reach every real server directly, untouched, with replies bypassing the balancer", async () => {
  requireRoot();
  await withLab({ servers: 3 }, async (lab) => {
    const paths = await tempPaths();
    const servers = startServers(lab);
    const processes = [...servers];
    try {
      // A TTL no stack uses by default: seeing it at a real server proves no IP hop.
      await nsExec(lab.client.ns, ["sysctl", "-qw", `net.ipv4.ip_default_ttl=${CLIENT_TTL}`], {
        check: true,
      });
      await configureLab(paths, lab);
      processes.push(await startDaemon(paths, lab));
      const atClient = await capture(lab.client.ns, [
        "-e",
        "-Q",
        "in",
        "tcp and src host " + lab.vip,
      ]);
      const atServer = await capture(lab.servers[0].ns, [
        "-v",
        "-Q",
        "in",
        `tcp and dst host ${lab.vip}`,
      ]);
      processes.push(atClient, atServer);

      const run = await nsExec(lab.client.ns, [
        ...DSR.slice(0, 1),
        "run",
        "-A",
        BURST,
        `http://${lab.vip}/`,
        "300",
      ], {
        check: true,
      });
      const result = JSON.parse(run.stdout) as {
        ok: number;
        failed: number;
        bodies: Record<string, number>;
      };
      assert.equal(result.ok, 300, `all 300 requests succeed: ${run.stdout}`);

      // Every real server answered, and each saw the client's own address.
      for (const s of lab.servers) {
        const share = result.bodies[`${s.name} ${lab.client.ip}`] ?? 0;
        assert.ok(share >= 30, `${s.name} got ${share} of 300: ${run.stdout}`);
      }
      assert.deepEqual(
        Object.keys(result.bodies).filter((b) => !b.endsWith(` ${lab.client.ip}`)),
        [],
        "no real server saw another source address",
      );

      const s = await status(paths);
      assert.equal(s.vips[0].connections, 300);
      assert.equal(s.vips[0].rips.reduce((n, r) => n + r.connections, 0), 300);

      // The client learned the balancer's MAC for the VIP.
      const neigh = JSON.parse(
        (await nsExec(lab.client.ns, ["ip", "-j", "neigh", "show", lab.vip])).stdout,
      );
      assert.equal(neigh[0]?.lladdr, lab.balancer.mac);

      await new Promise((r) => setTimeout(r, 300));
      await atClient.kill();
      await atServer.kill();
      const replies = atClient.output().split("\n").filter((l) => l.includes(`${lab.vip}.80 >`));
      assert.ok(replies.length >= 300, `captured ${replies.length} replies at the client`);
      const serverMacs = new Set(lab.servers.map((s) => s.mac));
      for (const line of replies) {
        const src = line.split(" ")[1];
        assert.ok(serverMacs.has(src), `a reply came from ${src}, not a real server: ${line}`);
        assert.notEqual(src, lab.balancer.mac);
      }
      const ttls = [...atServer.output().matchAll(/ttl (\d+)/g)].map((m) => Number(m[1]));
      assert.ok(ttls.length > 50, `captured ${ttls.length} requests at rs1`);
      assert.ok(ttls.every((t) => t === CLIENT_TTL), `TTLs seen at rs1: ${[...new Set(ttls)]}`);
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});
