/**
 * Faults injected under a running daemon on a real wire: a full state
 * directory, the interface going down and up, the interface deleted, and a
 * real server replaced by a machine with another MAC.
 */

import assert from "node:assert/strict";
import { nsExec } from "../lab/topology.ts";
import {
  configureLab,
  dsr,
  dsrOk,
  startDaemon,
  startServers,
  status,
  stopAll,
  tempPaths,
} from "./_dsr.ts";
import { requireRoot, waitFor, withLab } from "./_netns.ts";

async function curl(ns: string, url: string): Promise<string> {
  return (await nsExec(ns, ["curl", "-s", "-m", "2", url])).stdout.trim();
}

async function run(cmd: string[]): Promise<void> {
  const out = await new Deno.Command(cmd[0], { args: cmd.slice(1), stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

Deno.test("a full state directory refuses the change with one clear line; the old state and forwarding stay", async () => {
  requireRoot();
  await withLab({ servers: 2 }, async (lab) => {
    const paths = await tempPaths();
    const processes = startServers(lab);
    // A tiny tmpfs of its own holds the state file (a mount, not a network change).
    const dir = `${paths.dir}/state`;
    await Deno.mkdir(dir);
    await run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]);
    const state = { ...paths, state: `${dir}/state.json` };
    try {
      await configureLab(state, { ...lab, servers: [lab.servers[0]] });
      processes.push(await startDaemon(state, lab));
      const before = await Deno.readTextFile(state.state);
      // Fill the file system to the last block.
      await nsExec(lab.balancer.ns, ["dd", "if=/dev/zero", `of=${dir}/filler`, "bs=4k"]);
      const add = await dsr(state, ["rip", "add", `${lab.vip}:80`, lab.servers[1].ip]);
      assert.equal(add.code, 1, add.stderr);
      assert.match(
        add.stderr.trim(),
        /^dsr: error: cannot write state file .*No space left on device/,
      );
      assert.equal(add.stderr.trim().split("\n").length, 1, add.stderr);
      assert.equal(await Deno.readTextFile(state.state), before, "the old state is kept");
      const s = await status(state);
      assert.deepEqual(s.vips[0].rips.map((r) => r.ip), [lab.servers[0].ip]);
      assert.equal(await curl(lab.client.ns, `http://${lab.vip}/`), `rs1 ${lab.client.ip}`);
      // Room again: the same change applies.
      await Deno.remove(`${dir}/filler`);
      await dsrOk(state, ["rip", "add", `${lab.vip}:80`, lab.servers[1].ip]);
    } finally {
      await stopAll(processes);
      await run(["umount", dir]).catch(() => {});
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});

Deno.test("forwarding resumes by itself after the interface goes down and up", async () => {
  requireRoot();
  await withLab({ servers: 1 }, async (lab) => {
    const paths = await tempPaths();
    const processes = startServers(lab);
    try {
      await configureLab(paths, lab);
      processes.push(await startDaemon(paths, lab));
      const url = `http://${lab.vip}/`;
      assert.equal(await curl(lab.client.ns, url), `rs1 ${lab.client.ip}`);
      await nsExec(lab.balancer.ns, ["ip", "link", "set", "eth0", "down"], { check: true });
      assert.equal(await curl(lab.client.ns, url), "", "nothing is forwarded while it is down");
      await nsExec(lab.balancer.ns, ["ip", "link", "set", "eth0", "up"], { check: true });
      await waitFor(
        "forwarding again",
        async () => (await curl(lab.client.ns, url)) !== "",
        10_000,
      );
      assert.equal(await curl(lab.client.ns, url), `rs1 ${lab.client.ip}`);
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});

Deno.test("the interface deleted under the daemon: it exits 1 within 3 s with one line", async () => {
  requireRoot();
  await withLab({ servers: 1 }, async (lab) => {
    const paths = await tempPaths();
    const processes = startServers(lab);
    try {
      await configureLab(paths, lab);
      const daemon = await startDaemon(paths, lab);
      processes.push(daemon);
      await nsExec(lab.balancer.ns, ["ip", "link", "del", "eth0"], { check: true });
      const started = performance.now();
      const code = await Promise.race([
        daemon.child.status.then((s) => s.code),
        new Promise<string>((r) => setTimeout(() => r("still running"), 3_000)),
      ]);
      assert.equal(code, 1, daemon.output());
      assert.ok(performance.now() - started < 3_000);
      const errors = daemon.output().split("\n").filter((l) => l.startsWith("dsr: error:"));
      assert.deepEqual(errors, ["dsr: error: interface eth0 is gone: stopped forwarding"]);
      assert.equal(
        await Deno.stat(paths.socket).then(() => true, () => false),
        false,
        "the socket is removed",
      );
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});

Deno.test("a real server replaced by one with a new MAC gets the traffic within the ARP refresh interval", async () => {
  requireRoot();
  await withLab({ servers: 1 }, async (lab) => {
    const paths = await tempPaths();
    const processes = startServers(lab);
    const rs = lab.servers[0];
    try {
      // No health check: the balancer kernel's own ARP cache still holds the
      // old MAC for a while, so a tcp check would flap the server down and up
      // and hide what is tested here, the data plane's own resolution.
      await dsrOk(paths, ["vip", "add", `${lab.vip}:80`, "--check", "none"]);
      await dsrOk(paths, ["rip", "add", `${lab.vip}:80`, rs.ip]);
      processes.push(await startDaemon(paths, lab));
      const url = `http://${lab.vip}/`;
      assert.equal(await curl(lab.client.ns, url), `rs1 ${lab.client.ip}`);
      const mac = "02:00:c6:12:00:7b";
      await nsExec(rs.ns, ["ip", "link", "set", "eth0", "address", mac], { check: true });
      const changed = performance.now();
      // The balancer asks again every 15 s; the new machine answers with its MAC.
      await waitFor(
        "the new MAC in status",
        async () => (await status(paths)).vips[0].rips[0].mac === mac,
        20_000,
      );
      const seconds = (performance.now() - changed) / 1000;
      assert.ok(seconds < 17, `the new MAC took ${seconds.toFixed(1)} s (refresh every 15 s)`);
      assert.equal(await curl(lab.client.ns, url), `rs1 ${lab.client.ip}`);
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});
