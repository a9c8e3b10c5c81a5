/**
 * Every configuration command of SPEC §4, run once offline (state file under
 * a lock) and once against a running daemon, with the same results and the
 * JSON shapes of SPEC §5.
 */

import assert from "node:assert/strict";
import type { Lab } from "../lab/topology.ts";
import { dsr, dsrOk, type DsrPaths, startDaemon, stopAll, tempPaths } from "./_dsr.ts";
import { requireRoot, withLab } from "./_netns.ts";
import { assertShape, ConfigShape, StatusShape, VipListShape } from "./_shapes.ts";

/** Runs the whole command sequence and returns the configuration it ends with. */
async function exercise(paths: DsrPaths, lab: Lab, online: boolean) {
  const [rs1, rs2] = lab.servers.map((s) => s.ip);
  const web = `${lab.vip}:80`;
  const quiet = async (args: string[]) =>
    assert.equal(await dsrOk(paths, args), "", `dsr ${args.join(" ")}`);

  await quiet(["vip", "add", web, "--scheduler", "wlc", "--persist", "30"]);
  await quiet(["vip", "add", `${lab.vip}:53`, "--proto", "udp", "--scheduler", "sh"]);
  await quiet([
    "vip",
    "set",
    web,
    "--scheduler",
    "mh",
    "--check",
    "http",
    "--check-path",
    "/health",
  ]);
  // No server here answers /health with 204: a long interval keeps rs1 "up"
  // (fall 3) for the rest of the exercise, however slow the machine.
  await quiet(["vip", "set", web, "--check-expect", "204", "--check-interval", "60"]);
  await quiet(["rip", "add", web, rs1]);
  await quiet(["rip", "add", web, `${rs2}:80`, "--weight", "2"]);
  await quiet(["rip", "add", `${lab.vip}:53`, rs1, "--proto", "udp"]);
  await quiet(["rip", "set", web, rs2, "--weight", "3"]);
  await quiet(["rip", "set", web, rs1, "--drain"]);
  await quiet(["rip", "set", web, rs1, "--enable"]);
  await quiet(["rip", "set", web, rs2, "--drain"]);
  await quiet(["timeout", "set", "--tcp", "600", "--udp", "60"]);

  const list = JSON.parse(await dsrOk(paths, ["vip", "list", "--json"]));
  assertShape(VipListShape, list, "vip list --json");
  const table = await dsrOk(paths, ["vip", "list"]);
  assert.match(table, new RegExp(`${lab.vip}:80/tcp\\s+mh`));
  assert.match(table, new RegExp(`${lab.vip}:53/udp\\s+sh`));

  const exported = await dsrOk(paths, ["config", "export"]);
  assert.equal(await dsrOk(paths, ["config", "export", "--json"]), exported);
  const config = assertShape(ConfigShape, JSON.parse(exported), "config export");
  assert.deepEqual(
    JSON.parse(await Deno.readTextFile(paths.state)),
    config,
    "the state file holds the export",
  );

  // config apply: validated whole, applied as a difference, idempotent.
  const file = `${paths.dir}/apply.json`;
  config.vips = config.vips.filter((v) => v.port === 80);
  config.vips[0].rips.push({ ip: lab.servers[2].ip, weight: 1, drain: false, check: null });
  await Deno.writeTextFile(file, JSON.stringify(config));
  const applied = await dsrOk(paths, ["config", "apply", "-f", file]);
  assert.match(applied, new RegExp(`delete vip ${lab.vip}:53/udp`));
  assert.match(applied, new RegExp(`add rip ${lab.servers[2].ip} to ${lab.vip}:80/tcp`));
  assert.equal((await dsrOk(paths, ["config", "apply", "-f", file])).trim(), "no change");

  // A bad file names the field and changes nothing.
  const before = await Deno.readTextFile(paths.state);
  await Deno.writeTextFile(
    file,
    JSON.stringify({ ...config, vips: [{ ...config.vips[0], port: 70000 }] }),
  );
  const bad = await dsr(paths, ["config", "apply", "-f", file]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^dsr: error: .*vips\[0\]\.port/);
  assert.equal(await Deno.readTextFile(paths.state), before);

  if (online) {
    const s = assertShape(
      StatusShape,
      JSON.parse(await dsrOk(paths, ["status", "--json"])),
      "status --json",
    );
    assert.deepEqual(s.vips[0].rips.map((r) => [r.ip, r.state]).slice(0, 2), [[rs1, "up"], [
      rs2,
      "drain",
    ]]);
    assert.match(await dsrOk(paths, ["status"]), /REAL SERVER/);
  } else {
    const s = await dsr(paths, ["status"]);
    assert.equal(s.code, 1);
    assert.match(s.stderr, /^dsr: error: no dsr daemon is running on /);
  }
  await quiet(["rip", "del", web, lab.servers[2].ip]);
  return JSON.parse(await dsrOk(paths, ["config", "export"]));
}

Deno.test("every configuration command gives the same result offline and against the daemon", async () => {
  requireRoot();
  await withLab({ servers: 3 }, async (lab) => {
    const offline = await tempPaths();
    const online = await tempPaths();
    const processes = [];
    try {
      const viaFile = await exercise(offline, lab, false);
      processes.push(await startDaemon(online, lab));
      const viaDaemon = await exercise(online, lab, true);
      assert.deepEqual(viaDaemon, viaFile);
      assert.equal(viaFile.timeouts.tcp, 600);
      assert.equal(viaFile.vips[0].check.expect, 204);
      assert.equal(viaFile.vips[0].check.path, "/health");
      await dsrOk(online, ["vip", "del", `${lab.vip}:80`]);
      assert.deepEqual(JSON.parse(await dsrOk(online, ["vip", "list", "--json"])), []);
    } finally {
      await stopAll(processes);
      await Deno.remove(offline.dir, { recursive: true });
      await Deno.remove(online.dir, { recursive: true });
    }
  });
});

Deno.test("dsr -h and every command's -h print help and exit 0", async () => {
  const paths = await tempPaths();
  try {
    for (
      const args of [
        [],
        ["start"],
        ["vip"],
        ["vip", "add"],
        ["rip", "set"],
        ["status"],
        ["timeout", "set"],
        ["config", "apply"],
        ["lab", "up"],
        ["doctor"],
        ["realserver", "setup"],
        ["realserver", "check"],
        ["completions"],
      ]
    ) {
      const run = await dsr(paths, [...args, "-h"]);
      assert.equal(run.code, 0, `dsr ${args.join(" ")} -h: ${run.stderr}`);
      assert.match(run.stdout, /^Usage: dsr/);
    }
    const completion = await dsrOk(paths, ["completions", "bash"]);
    assert.match(completion, /bash completion for dsr/);
    assert.match(await dsrOk(paths, ["complete", "--", "rip", ""]), /^add\t/m);
  } finally {
    await Deno.remove(paths.dir, { recursive: true });
  }
});
