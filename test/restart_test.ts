/**
 * With Maglev hashing a restarted balancer sends a connection it has never
 * seen to the same real server as before, so established TCP connections
 * survive a restart.
 */

import assert from "node:assert/strict";
import { configureLab, DSR, startDaemon, startServers, stopAll, tempPaths } from "./_dsr.ts";
import { requireRoot, waitFor, withLab } from "./_netns.ts";

const CLIENT = new URL("./_keepalive_client.ts", import.meta.url).pathname;
const CONNECTIONS = 6;

/** Drives `_keepalive_client.ts`: one line in, one answer out. */
function keepaliveClient(ns: string, vip: string) {
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", ns, DSR[0], "run", "-A", CLIENT, vip, "80", String(CONNECTIONS)],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const nextLine = () =>
    waitFor<string | null>("a line from the client", async () => {
      const nl = buffered.indexOf("\n");
      if (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("the client exited");
      buffered += value;
      return null;
    }, 15_000) as Promise<string>;
  return {
    connected: nextLine,
    async ask(i: number): Promise<string> {
      await writer.write(new TextEncoder().encode(`${i}\n`));
      return (await nextLine()).slice(String(i).length + 1);
    },
    async close() {
      await writer.close().catch(() => {});
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
    },
  };
}

Deno.test("mh: long-lived TCP connections keep their real server after the balancer is stopped and started", async () => {
  requireRoot();
  await withLab({ servers: 3 }, async (lab) => {
    const paths = await tempPaths();
    const processes = startServers(lab);
    let client: ReturnType<typeof keepaliveClient> | null = null;
    try {
      await configureLab(paths, lab, "mh");
      processes.push(await startDaemon(paths, lab));
      client = keepaliveClient(lab.client.ns, lab.vip);
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
