/**
 * The command line of SPEC §11 that needs no namespace: `--need` on
 * `vip add/set` (offline, in the state file), and `dsr ha` without a daemon.
 */

import assert from "node:assert/strict";
import { dsr, dsrOk, tempPaths } from "./_dsr.ts";

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
