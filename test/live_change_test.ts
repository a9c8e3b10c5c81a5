/**
 * Changes made while traffic flows: a new real server takes new connections
 * within a second, deleting one moves only its flows, and connections of a
 * service that did not change carry on untouched.
 */

import assert from "node:assert/strict";
import {
  DSR,
  dsrOk,
  startDaemon,
  startServers,
  stopAll,
  streamAnswers,
  tempPaths,
} from "./_dsr.ts";
import { keepaliveClient } from "./_keepalive.ts";
import { nsSpawn, requireRoot, waitFor, withLab } from "./_netns.ts";

const STREAM = new URL("./_http_stream.ts", import.meta.url).pathname;

Deno.test("adding a real server under traffic takes new connections within 1 s; deleting one moves only its flows; an untouched service carries on", async () => {
  requireRoot();
  await withLab({ servers: 3 }, async (lab) => {
    const paths = await tempPaths();
    const [rs1, rs2, rs3] = lab.servers;
    const processes = startServers(lab);
    processes.push(
      ...lab.servers.map((s) =>
        nsSpawn(s.ns, [...DSR, "lab", "serve", "--name", s.name, "--port", "8080"])
      ),
    );
    const clients: ReturnType<typeof keepaliveClient>[] = [];
    try {
      await dsrOk(paths, ["vip", "add", `${lab.vip}:80`]);
      await dsrOk(paths, ["vip", "add", `${lab.vip}:8080`]);
      for (const s of [rs1, rs2]) await dsrOk(paths, ["rip", "add", `${lab.vip}:80`, s.ip]);
      for (const s of [rs1, rs2, rs3]) await dsrOk(paths, ["rip", "add", `${lab.vip}:8080`, s.ip]);
      processes.push(await startDaemon(paths, lab));

      // 16 connections over 2 servers: both get some, but for 1 run in 30,000.
      const web = keepaliveClient(lab.client.ns, lab.vip, 80, 16);
      const other = keepaliveClient(lab.client.ns, lab.vip, 8080, 6);
      clients.push(web, other);
      assert.equal(await web.connected(), "connected");
      assert.equal(await other.connected(), "connected");
      const ask = async (c: typeof web, n: number) => {
        const out: string[] = [];
        for (let i = 0; i < n; i++) out.push(await c.ask(i));
        return out;
      };
      const webBefore = await ask(web, 16);
      const otherBefore = await ask(other, 6);
      assert.ok(
        webBefore.includes(`rs1 ${lab.client.ip}`) && webBefore.includes(`rs2 ${lab.client.ip}`),
        `${webBefore}`,
      );

      const stream = nsSpawn(lab.client.ns, [DSR[0], "run", "-A", STREAM, `http://${lab.vip}/`]);
      processes.push(stream);
      await waitFor(
        "the stream of new connections",
        () => streamAnswers(stream.output()).length > 10,
      );

      await dsrOk(paths, ["rip", "add", `${lab.vip}:80`, rs3.ip]);
      const added = Date.now();
      const firstRs3 = await waitFor("a new connection answered by rs3", () => {
        const hit = streamAnswers(stream.output()).find(([at, body]) =>
          at >= added && body.startsWith("rs3 ")
        );
        return hit?.[0];
      }, 3000);
      assert.ok(
        firstRs3 - added < 1000,
        `rs3 took its first new connection ${firstRs3 - added} ms after the change`,
      );
      assert.deepEqual(
        await ask(web, 16),
        webBefore,
        "existing connections keep their real server",
      );

      await dsrOk(paths, ["rip", "del", `${lab.vip}:80`, rs2.ip]);
      const deleted = Date.now();
      await new Promise((r) => setTimeout(r, 1000));
      const late = streamAnswers(stream.output()).filter(([at]) => at > deleted + 200);
      assert.ok(late.length > 10, `answers after the delete: ${late.length}`);
      assert.deepEqual(
        late.filter(([, b]) => !/^rs[13] /.test(b)),
        [],
        "no new connection reaches rs2 or fails",
      );
      for (let i = 0; i < 16; i++) {
        if (webBefore[i].startsWith("rs1 ")) {
          assert.equal(
            await web.ask(i),
            webBefore[i],
            `connection ${i} on rs1 is untouched by deleting rs2`,
          );
        }
      }
      assert.deepEqual(
        await ask(other, 6),
        otherBefore,
        "the untouched service's connections carry on",
      );
    } finally {
      for (const c of clients) await c.close();
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});
