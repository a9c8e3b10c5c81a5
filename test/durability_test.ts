/**
 * Configuration is never lost: concurrent commands queue instead of
 * overwriting each other, and a daemon killed at any moment leaves a state
 * file that parses and that the next daemon starts from.
 */

import assert from "node:assert/strict";
import { parseConfig } from "../control/config.ts";
import { dsr, dsrOk, type DsrPaths, spawnDaemon, startDaemon, stopAll, tempPaths } from "./_dsr.ts";
import { requireRoot, waitFor, withLab } from "./_netns.ts";

const N = 30;

async function thirtyRipAdds(paths: DsrPaths, vip: string): Promise<void> {
  const runs = await Promise.all(
    Array.from(
      { length: N },
      (_, i) => dsr(paths, ["rip", "add", `${vip}:80`, `198.18.0.${30 + i}`]),
    ),
  );
  const failed = runs.filter((r) => r.code !== 0).map((r) => r.stderr);
  assert.deepEqual(failed, [], "every rip add succeeded");
  const config = parseConfig(JSON.parse(await Deno.readTextFile(paths.state)));
  assert.equal(config.vips[0].rips.length, N, "all 30 real servers are in the state file");
  const listed = JSON.parse(await dsrOk(paths, ["vip", "list", "--json"]));
  assert.equal(listed[0].rips.length, N);
}

Deno.test("30 concurrent dsr rip add processes offline all land in the state file", async () => {
  const paths = await tempPaths();
  try {
    await dsrOk(paths, ["vip", "add", "198.18.0.100:80"]);
    await thirtyRipAdds(paths, "198.18.0.100");
  } finally {
    await Deno.remove(paths.dir, { recursive: true });
  }
});

Deno.test("30 concurrent dsr rip add processes against the daemon all land", async () => {
  requireRoot();
  await withLab({ servers: 1 }, async (lab) => {
    const paths = await tempPaths();
    const processes = [];
    try {
      await dsrOk(paths, ["vip", "add", `${lab.vip}:80`]);
      processes.push(await startDaemon(paths, lab));
      await thirtyRipAdds(paths, lab.vip);
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});

Deno.test("kill -9 of the daemon during a loop of changes, 20 rounds: the state file always parses and the daemon restarts from it", async () => {
  requireRoot();
  await withLab({ servers: 1 }, async (lab) => {
    const paths = await tempPaths();
    try {
      await dsrOk(paths, ["vip", "add", `${lab.vip}:80`]);
      let seq = 0;
      for (let round = 0; round < 20; round++) {
        const expected = await Deno.readTextFile(paths.state);
        const daemon = spawnDaemon(paths, lab);
        const client = Deno.createHttpClient({ proxy: { transport: "unix", path: paths.socket } });
        try {
          // The restarted daemon serves exactly what the file held.
          const served = await waitFor(`round ${round}: the daemon to answer`, async () => {
            const r = await fetch("http://dsr/v1/config", { client });
            return r.ok ? await r.json() : null;
          }, 10_000);
          assert.deepEqual(
            served,
            parseConfig(JSON.parse(expected)),
            `round ${round}: restarted from the state file`,
          );

          let changing = true;
          const loop = (async () => {
            while (changing) {
              const ip = `198.18.0.${30 + (seq++ % 40)}`;
              const path = `/v1/vips/${lab.vip}:80/tcp/rips`;
              const add = await fetch(`http://dsr${path}`, {
                client,
                method: "POST",
                body: JSON.stringify({ ip }),
                signal: AbortSignal.timeout(1000),
              }).catch(() => null);
              await add?.body?.cancel();
              if (seq % 3 === 0) {
                const del = await fetch(`http://dsr${path}/${ip}`, { client, method: "DELETE" })
                  .catch(() => null);
                await del?.body?.cancel();
              }
            }
          })();
          await new Promise((r) => setTimeout(r, 50 + Math.random() * 250));
          daemon.child.kill("SIGKILL");
          await daemon.kill();
          changing = false;
          await loop;
        } finally {
          client.close();
        }
        const text = await Deno.readTextFile(paths.state);
        assert.doesNotThrow(
          () => parseConfig(JSON.parse(text)),
          `round ${round}: the state file parses`,
        );
      }
      assert.ok(seq > 20, `changes were made during the rounds (${seq})`);
    } finally {
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});
