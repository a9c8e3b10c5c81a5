/**
 * With Maglev hashing a restarted balancer sends a connection it has never
 * seen to the same real server as before, so established TCP connections
 * survive a restart.
 */

import assert from "node:assert/strict";
import { configureLab, startDaemon, startServers, stopAll, tempPaths } from "./_dsr.ts";
import { keepaliveClient } from "./_keepalive.ts";
import { requireRoot, withLab } from "./_netns.ts";

// Over 3 servers, 12 connections all land on one in 1 run of 60,000.
const CONNECTIONS = 12;

Deno.test("mh: long-lived TCP connections keep their real server after the balancer is stopped and started", async () => {
  requireRoot();
  await withLab({ servers: 3 }, async (lab) => {
    const paths = await tempPaths();
    const processes = startServers(lab);
    let client: ReturnType<typeof keepaliveClient> | null = null;
    try {
      await configureLab(paths, lab, "mh");
      processes.push(await startDaemon(paths, lab));
      client = keepaliveClient(lab.client.ns, lab.vip, 80, CONNECTIONS);
      assert.equal(await client.connected(), "connected");
      const before: string[] = [];
      for (let i = 0; i < CONNECTIONS; i++) before.push(await client.ask(i));
      assert.ok(before.every((b) => /^rs\d+ 198\.18\.0\.2$/.test(b)), `answers: ${before}`);
      assert.ok(new Set(before).size > 1, `connections spread over real servers: ${before}`);

      await processes.pop()!.kill();
      processes.push(await startDaemon(paths, lab));

      // Asked in reverse order, so only hashing (not a scheduler's order) can match.
      for (let i = CONNECTIONS - 1; i >= 0; i--) {
        assert.equal(await client.ask(i), before[i], `connection ${i} after the restart`);
      }
    } finally {
      await client?.close();
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});
