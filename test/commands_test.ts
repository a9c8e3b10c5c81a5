/**
 * Every configuration command of SPEC §4, run once offline (state file under
 * a lock) and once against a running daemon, with the same results and the
 * JSON shapes of SPEC §5.
 */

import assert from "node:assert/strict";
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { commandTree } from "../cli/main.ts";
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
      // Each made its own random hash seed on first use; everything else is the same.
      const { hashSeed: fileSeed, ...file } = viaFile;
      const { hashSeed: daemonSeed, ...daemon } = viaDaemon;
      assert.match(`${fileSeed} ${daemonSeed}`, /^[0-9a-f]{32} [0-9a-f]{32}$/);
      assert.deepEqual(daemon, file);
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

/** Where every command's `-h` output is kept; `UPDATE_SNAPSHOTS=1` rewrites it. */
const HELP_SNAPSHOT = new URL("./snapshots/help.txt", import.meta.url);

/** Every command of the program (hidden ones too), depth first in declaration order: [], ["start"], ["vip"], ["vip", "add"], … */
async function commandPaths(): Promise<string[][]> {
  const paths: string[][] = [];
  const walk = (command: CommandUnknownOpts, path: string[]) => {
    paths.push(path);
    for (const sub of command.commands) walk(sub, [...path, sub.name()]);
  };
  walk(await commandTree(), []);
  return paths;
}

/** `$ dsr … -h` heading each command's help in the snapshot. */
const heading = (path: string[]) => `$ ${["dsr", ...path, "-h"].join(" ")}`;

/** The snapshot's sections by heading (each is a heading, the help, and an empty line). */
function sections(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of text.split(/^(?=\$ dsr[^\n]* -h$)/m).filter(Boolean)) {
    const eol = part.indexOf("\n");
    map.set(part.slice(0, eol), part.slice(eol + 1).replace(/\n$/, ""));
  }
  return map;
}

/** A line diff of `was` against `now` (longest common subsequence): " ", "-" and "+" lines. */
function lineDiff(was: string, now: string): string {
  const a = was.split("\n"), b = now.split("\n");
  const common = Array.from({ length: a.length + 1 }, () => new Int32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      common[i][j] = a[i] === b[j]
        ? common[i + 1][j + 1] + 1
        : Math.max(common[i + 1][j], common[i][j + 1]);
    }
  }
  const out: string[] = [];
  let i = 0, j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) out.push(`  ${a[i++]}`), j++;
    else if (j < b.length && (i === a.length || common[i][j + 1] >= common[i + 1][j])) {
      out.push(`+ ${b[j++]}`);
    } else out.push(`- ${a[i++]}`);
  }
  return out.join("\n");
}

Deno.test("dsr -h and every command's -h print exactly the help in test/snapshots/help.txt", async () => {
  const paths = await tempPaths();
  try {
    const commands = await commandPaths();
    assert.ok(commands.length > 20, `only ${commands.length} commands found`);
    const now = new Map<string, string>();
    // Four at a time: each is a whole `deno run`.
    for (let at = 0; at < commands.length; at += 4) {
      const batch = commands.slice(at, at + 4);
      const runs = await Promise.all(batch.map((path) => dsr(paths, [...path, "-h"])));
      runs.forEach((run, k) => {
        const name = heading(batch[k]);
        assert.equal(run.code, 0, `${name}: exit ${run.code}: ${run.stderr}`);
        assert.equal(run.stderr, "", name);
        assert.match(run.stdout, new RegExp(`^Usage: dsr ${batch[k].join(" ")}`), name);
        now.set(name, run.stdout);
      });
    }
    const text = [...now].map(([name, help]) => `${name}\n${help}\n`).join("");
    if (Deno.env.get("UPDATE_SNAPSHOTS") === "1") {
      await Deno.mkdir(new URL(".", HELP_SNAPSHOT), { recursive: true });
      await Deno.writeTextFile(HELP_SNAPSHOT, text);
      console.log(`wrote ${now.size} commands' help to ${HELP_SNAPSHOT.pathname}`);
      return;
    }
    const kept = sections(await Deno.readTextFile(HELP_SNAPSHOT));
    const added = [...now.keys()].filter((name) => !kept.has(name));
    const gone = [...kept.keys()].filter((name) => !now.has(name));
    const changed = [...now].filter(([name, help]) => kept.has(name) && kept.get(name) !== help);
    if (added.length || gone.length || changed.length) {
      assert.fail(
        [
          `help differs from ${HELP_SNAPSHOT.pathname} (- snapshot, + now):`,
          ...added.map((name) => `  new: ${name}`),
          ...gone.map((name) => `  gone: ${name}`),
          ...changed.map(([name]) => `  changed: ${name}`),
          ...changed.map(([name, help]) => `${name}\n${lineDiff(kept.get(name)!, help)}`),
          "If the change is meant, rewrite the snapshot and commit it:",
          "  UPDATE_SNAPSHOTS=1 deno test -A --filter help test/commands_test.ts",
        ].join("\n"),
      );
    }
    assert.equal(text, await Deno.readTextFile(HELP_SNAPSHOT), "the snapshot has stray text");
  } finally {
    await Deno.remove(paths.dir, { recursive: true });
  }
});

Deno.test("completion prints a bash script and complete lists subcommands", async () => {
  const paths = await tempPaths();
  try {
    const completion = await dsrOk(paths, ["completions", "bash"]);
    assert.match(completion, /bash completion for dsr/);
    assert.match(await dsrOk(paths, ["complete", "--", "rip", ""]), /^add\t/m);
  } finally {
    await Deno.remove(paths.dir, { recursive: true });
  }
});
