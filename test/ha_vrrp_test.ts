/**
 * Active/standby through the real keepalived (SPEC §11, issue 15): two
 * balancers on one segment, keepalived's unicast VRRP and notify scripts
 * driving `dsr ha promote|demote`. The active machine dies (every process
 * of its namespace stopped and killed at once): the standby forwards within
 * 3 s, and long-lived connections to an `mh` VIP keep going, with no state
 * shared between the nodes.
 */

import assert from "node:assert/strict";
import { DSR, status, streamAnswers } from "./_dsr.ts";
import { activeNode, crash, withHaLab } from "./_ha.ts";
import { keepaliveClient } from "./_keepalive.ts";
import { nsSpawn, waitFor } from "./_netns.ts";

const STREAM = new URL("./_http_stream.ts", import.meta.url).pathname;
const CONNECTIONS = 8;
/** Each probe of the stream is a new connection that gives up after this long. */
const PROBE_TIMEOUT_MS = 300;

Deno.test("vrrp: kill -9 of the active machine → the standby forwards within 3 s and long-lived mh connections keep going", async () => {
  await withHaLab("vrrp", 3, async (h) => {
    const { lab } = h;
    const first = (await activeNode(h))!;
    const other = 1 - first;
    assert.equal((await status(h.node(other))).ha.role, "standby");

    const client = keepaliveClient(lab.client.ns, lab.vip, 80, CONNECTIONS);
    const stream = nsSpawn(lab.client.ns, [
      DSR[0],
      "run",
      "-A",
      STREAM,
      `http://${lab.vip}/`,
      String(PROBE_TIMEOUT_MS),
    ]);
    try {
      assert.equal(await client.connected(), "connected");
      const before: string[] = [];
      for (let i = 0; i < CONNECTIONS; i++) before.push(await client.ask(i));
      assert.ok(before.every((b) => /^rs\d 198\.18\.0\.2$/.test(b)), `answers: ${before}`);
      await waitFor("the stream to get answers", () => /\d+ rs\d/.test(stream.output()), 10_000);

      const died = await crash(lab.balancers[first].ns);
      await waitFor(
        "the standby to be promoted",
        async () => (await status(h.node(other))).ha.role === "active",
        10_000,
      );
      const after = await waitFor(
        "an answer through the new active node",
        () =>
          streamAnswers(stream.output()).find(([at, body]) =>
            at > died && !body.startsWith("ERROR")
          ),
        10_000,
      );
      const took = after[0] - died;
      const s = await status(h.node(other));
      console.log(
        `vrrp takeover: first new connection answered ${took} ms after the active machine died ` +
          `(promoted at ${Date.parse(s.ha.since) - died} ms)`,
      );
      assert.ok(took < 3_000, `the standby forwarded only after ${took} ms\n${h.logs()}`);

      // No flow state moved: Maglev on the same configuration picks the same real servers.
      for (let i = CONNECTIONS - 1; i >= 0; i--) {
        assert.equal(await client.ask(i), before[i], `connection ${i} after the takeover`);
      }
      assert.equal(s.ha.transitions, 1);
      assert.ok(s.vips[0].packets > 0, "the new active node forwards");
    } finally {
      await client.close();
      await stream.kill();
    }
  });
});
