/**
 * The command line of SPEC §11 on one node: `--need` on `vip add/set`
 * (offline, in the state file), `dsr ha` without a daemon, and the role of a
 * real daemon in a lab driven by `dsr ha promote|demote`.
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

Deno.test("vip add/set --need stores the need, export shows it, and a bad --need changes nothing", async () => {
  const paths = await tempPaths();
  try {
    await dsrOk(paths, ["vip", "add", "198.18.0.100:80", "--need", "2"]);
    await dsrOk(paths, ["vip", "add", "198.18.0.100:443"]);
    let vips = JSON.parse(await dsrOk(paths, ["config", "export"])).vips;
    assert.deepEqual(vips.map((v: { need: number }) => v.need), [2, 1]);
    await dsrOk(paths, ["vip", "set", "198.18.0.100:443", "--need", "0"]);
    vips = JSON.parse(await dsrOk(paths, ["vip", "list", "--json"]));
    assert.deepEqual(vips.map((v: { need: number }) => v.need), [2, 0]);
    const before = await Deno.readTextFile(paths.state);
    for (const bad of ["-1", "x", "1.5", "70000"]) {
      const r = await dsr(paths, ["vip", "set", "198.18.0.100:80", `--need=${bad}`]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`^dsr: error: invalid --need "${bad}"`));
    }
    assert.equal(await Deno.readTextFile(paths.state), before);
  } finally {
    await Deno.remove(paths.dir, { recursive: true });
  }
});

Deno.test("dsr ha status, promote, demote and check fail with exit 1 when no daemon runs", async () => {
  const paths = await tempPaths();
  try {
    for (const args of [["ha", "status"], ["ha", "promote"], ["ha", "demote"], ["ha", "check"]]) {
      const r = await dsr(paths, args);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /^dsr: error: .*(no dsr daemon is running|does not answer)/);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
  } finally {
    await Deno.remove(paths.dir, { recursive: true });
  }
});

Deno.test("a daemon started as standby forwards nothing until dsr ha promote; dsr ha demote stops it again", async () => {
  requireRoot();
  await withLab({ servers: 2 }, async (lab) => {
    const paths = await tempPaths();
    const processes = startServers(lab);
    const curl = () =>
      nsExec(lab.client.ns, ["curl", "-s", "-m", "1", `http://${lab.vip}/`]).then((r) =>
        r.code === 0
      );
    try {
      await configureLab(paths, lab);
      processes.push(await startDaemon(paths, lab, ["--role", "standby"]));
      const first = JSON.parse(await dsrOk(paths, ["ha", "status", "--json"]));
      assert.deepEqual(Object.keys(first).sort(), ["role", "since", "transitions"]);
      assert.deepEqual([first.role, first.transitions], ["standby", 0]);
      assert.ok(!Number.isNaN(Date.parse(first.since)), first.since);
      const s0 = await status(paths);
      assert.deepEqual(s0.ha, first);
      assert.deepEqual(s0.announced, []);
      const check = () => dsr(paths, ["ha", "check"], { ns: lab.balancer.ns });
      const checked = await check();
      assert.equal(checked.code, 0, checked.stderr);
      const young = await dsr(paths, ["ha", "check", "--min-uptime", "3600"], {
        ns: lab.balancer.ns,
      });
      assert.equal(young.code, 1);
      assert.match(
        young.stderr,
        /^dsr: error: the daemon started \S+ s ago, less than --min-uptime 3600\n$/,
      );

      assert.equal(await curl(), false, "a standby answers no ARP for the VIP");

      assert.equal(await dsrOk(paths, ["ha", "promote"]), "");
      await waitFor("the VIP to answer after the promotion", curl, 5_000);
      const promoted = JSON.parse(await dsrOk(paths, ["ha", "status", "--json"]));
      assert.deepEqual([promoted.role, promoted.transitions], ["active", 1]);
      assert.match(await dsrOk(paths, ["ha", "status"]), /^active since \S+ \(1 transition\)\n$/);

      await dsrOk(paths, ["ha", "demote"]);
      // The client still holds the balancer's MAC: its packets arrive and are dropped.
      assert.equal(await curl(), false, "a standby forwards nothing");
      const s1 = await status(paths);
      assert.equal(s1.ha.role, "standby");
      assert.equal(s1.ha.transitions, 2);
      assert.ok(s1.drops.standby > 0, JSON.stringify(s1.drops));
      assert.equal((await check()).code, 0, "a standby is healthy");

      const bad = await new Deno.Command("curl", {
        args: [
          "-s",
          "--unix-socket",
          paths.socket,
          "-X",
          "PUT",
          "-d",
          '{"role":"master"}',
          "http://dsr/v1/ha",
        ],
      }).output();
      const answer = JSON.parse(new TextDecoder().decode(bad.stdout));
      assert.equal(answer.field, "role", JSON.stringify(answer));

      await nsExec(lab.balancer.ns, ["ip", "link", "set", "eth0", "down"], { check: true });
      const down = await check();
      assert.equal(down.code, 1);
      assert.match(down.stderr, /^dsr: error: interface eth0 of the daemon is down\n$/);
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});
