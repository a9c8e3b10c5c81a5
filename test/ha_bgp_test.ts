/**
 * Active/active through the real BIRD (SPEC §11, issue 15): two balancers
 * announce the VIP over BGP to a router namespace, whose kernel spreads
 * flows over them by ECMP on the 5-tuple. With `mh` and the same
 * configuration on both, a node leaving the group breaks no connection; a
 * VIP whose real servers are all down is withdrawn within interval × fall
 * + 2 s.
 */

import assert from "node:assert/strict";
import { nsExec } from "../lab/topology.ts";
import { routerNextHops } from "../lab/ha.ts";
import { DSR, dsr, status, streamAnswers, tempPaths } from "./_dsr.ts";
import { crash, withHaLab } from "./_ha.ts";
import { keepaliveClient } from "./_keepalive.ts";
import { nsSpawn, uniquePrefix, waitFor } from "./_netns.ts";

const STREAM = new URL("./_http_stream.ts", import.meta.url).pathname;
const CONNECTIONS = 20;
/** The lab VIP's check: dsr's defaults (tcp, every 2 s, down after 3 failures). */
const INTERVAL_S = 2;
const FALL = 3;

/** Starts a stream of new connections from the client, one every 20 ms. */
function newConnections(ns: string, vip: string, timeoutMs = 1000) {
  return nsSpawn(ns, [DSR[0], "run", "-A", STREAM, `http://${vip}/`, String(timeoutMs)]);
}

Deno.test("bgp: stopping one of two nodes breaks none of 20 long-lived mh connections, and new connections keep being served", async () => {
  await withHaLab("bgp", 3, async (h) => {
    const { lab } = h;
    const client = keepaliveClient(lab.client.ns, lab.vip, 80, CONNECTIONS);
    const stream = newConnections(lab.client.ns, lab.vip);
    try {
      assert.equal(await client.connected(), "connected");
      const before: string[] = [];
      for (let i = 0; i < CONNECTIONS; i++) before.push(await client.ask(i));
      assert.ok(before.every((b) => /^rs\d 198\.18\.1\.2$/.test(b)), `answers: ${before}`);
      // ECMP spread the connections over both nodes: the leaving one carries some.
      const flows = await Promise.all([0, 1].map(async (i) => (await status(h.node(i))).flows));
      assert.ok(flows.every((n) => n > 0), `flows per node: ${flows}`);
      assert.deepEqual((await status(h.node(0))).announced, [lab.vip]);

      const stopped = Date.now();
      const stopping = h.processes.get("lb-dsr")!.kill();
      await waitFor(
        "the router to drop the stopping node",
        async () => (await routerNextHops(lab)).join() === lab.balancers[1].ip,
        5_000,
      );
      const withdrawn = Date.now() - stopped;
      await stopping;
      const exited = Date.now() - stopped;
      console.log(
        `bgp leave: the router dropped the node ${withdrawn} ms after SIGTERM; ` +
          `it forwarded until it exited at ${exited} ms`,
      );
      assert.ok(exited >= 2_000, "forwarding went on 2 s after the withdrawal");
      assert.match(h.processes.get("lb-dsr")!.output(), /withdrew 198\.18\.0\.100 from table 100/);

      for (let i = CONNECTIONS - 1; i >= 0; i--) {
        assert.equal(await client.ask(i), before[i], `connection ${i} after the node left`);
      }
      // New connections, through the leave and after it.
      await new Promise((r) => setTimeout(r, 1_000));
      const since = streamAnswers(stream.output()).filter(([at]) => at >= stopped - 100);
      const failed = since.filter(([, body]) => body.startsWith("ERROR"));
      assert.ok(since.length > 20, `only ${since.length} new connections tried`);
      assert.deepEqual(failed, [], `${failed.length} of ${since.length} new connections failed`);
      console.log(`bgp leave: ${since.length} new connections during and after it, 0 failed`);
    } finally {
      await client.close();
      await stream.kill();
    }
  });
});

Deno.test("bgp: all real servers of a VIP down → its route is withdrawn at the router within interval × fall + 2 s, and comes back", async () => {
  await withHaLab("bgp", 2, async (h) => {
    const { lab } = h;
    assert.equal((await routerNextHops(lab)).length, 2);
    const downAt = Date.now();
    await Promise.all(lab.servers.map((s) => h.processes.get(s.name)!.kill()));
    await waitFor(
      "the router to lose the VIP's route",
      async () => (await routerNextHops(lab)).length === 0,
      15_000,
    );
    const took = Date.now() - downAt;
    const bound = (INTERVAL_S * FALL + 2) * 1000;
    console.log(
      `bgp withdraw: the VIP's route left the router ${took} ms after its real servers died (bound ${bound} ms)`,
    );
    assert.ok(took <= bound, `took ${took} ms`);
    for (const i of [0, 1]) assert.deepEqual((await status(h.node(i))).announced, []);
    const table = await nsExec(lab.balancers[0].ns, ["ip", "-j", "route", "show", "table", "100"]);
    assert.deepEqual(JSON.parse(table.stdout || "[]"), []);

    // Back up (rise 2): announced again, by both nodes.
    for (const s of lab.servers) {
      h.processes.set(s.name, nsSpawn(s.ns, [...DSR, "lab", "serve", "--name", s.name]));
    }
    await waitFor(
      "the route to come back over both nodes",
      async () => (await routerNextHops(lab)).length === 2,
      15_000,
    );
  });
});

Deno.test("bgp: a node's machine dies → the router drops it after the BGP hold time and its connections go on through the other", async () => {
  await withHaLab("bgp", 3, async (h) => {
    const { lab } = h;
    const client = keepaliveClient(lab.client.ns, lab.vip, 80, CONNECTIONS);
    try {
      assert.equal(await client.connected(), "connected");
      const before: string[] = [];
      for (let i = 0; i < CONNECTIONS; i++) before.push(await client.ask(i));
      const died = await crash(lab.balancers[0].ns);
      await waitFor(
        "the router to drop the dead node",
        async () => (await routerNextHops(lab)).join() === lab.balancers[1].ip,
        10_000,
      );
      const took = Date.now() - died;
      console.log(
        `bgp crash: the router dropped the dead machine ${took} ms after it died (hold time 3 s)`,
      );
      assert.ok(took < 5_000, `took ${took} ms`);
      for (let i = 0; i < CONNECTIONS; i++) {
        assert.equal(await client.ask(i), before[i], `connection ${i} after the crash`);
      }
    } finally {
      await client.close();
    }
  });
});

Deno.test("dsr lab up --ha bgp serves the VIP through the router, and lab down removes it all", async () => {
  const paths = await tempPaths();
  const env = { DSR_LAB_PREFIX: uniquePrefix() };
  try {
    const up = await dsr(paths, ["lab", "up", "--ha", "bgp", "--servers", "2"], { env });
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /balancers 198\.18\.0\.10 and 198\.18\.0\.9/);
    const client = `${env.DSR_LAB_PREFIX}-client`;
    const answer = await nsExec(client, ["curl", "-s", "-m", "3", "http://198.18.0.100/"]);
    assert.match(answer.stdout, /^rs\d 198\.18\.1\.2\n$/);
    const s = JSON.parse((await dsr(paths, ["status", "--json"])).stdout);
    assert.deepEqual([s.ha.role, s.announced], ["active", ["198.18.0.100"]]);
  } finally {
    const down = await dsr(paths, ["lab", "down"], { env });
    assert.equal(down.code, 0, down.stderr);
    await Deno.remove(paths.dir, { recursive: true });
  }
  const list = new TextDecoder().decode(
    (await new Deno.Command("ip", { args: ["netns", "list"] }).output()).stdout,
  );
  assert.ok(!list.includes(env.DSR_LAB_PREFIX), list);
});
