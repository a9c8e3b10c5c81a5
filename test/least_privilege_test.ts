/**
 * The systemd unit's least-privilege claim (packaging/dsr.service), proved:
 * `setpriv` starts the daemon in a lab namespace as a user other than root
 * with exactly the capabilities the unit grants (read from the unit file),
 * and it forwards; without CAP_NET_RAW it fails with one line naming it.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { nsExec } from "../lab/topology.ts";
import { configureLab, DSR, type DsrPaths, startServers, status, stopAll } from "./_dsr.ts";
import { type NsProcess, nsSpawn, requireRoot, waitFor, withLab } from "./_netns.ts";

const UNIT = fileURLToPath(new URL("../packaging/dsr.service", import.meta.url));
/** nobody: no file of the repository or the system belongs to it. */
const UID = 65534;

/** `CAP_NET_RAW CAP_NET_ADMIN` → `["net_raw", "net_admin"]`, from the unit's `key=`. */
function unitCapabilities(unit: string, key: string): string[] {
  const line = unit.split("\n").find((l) => l.startsWith(`${key}=`));
  if (!line) throw new Error(`${UNIT} has no ${key}=`);
  return line.slice(key.length + 1).trim().split(/\s+/).map((c) =>
    c.replace(/^CAP_/, "").toLowerCase()
  );
}

/** Capability numbers of linux/capability.h that the test names. */
const CAP_BITS: Record<string, number> = { net_admin: 12, net_raw: 13 };

/** Paths (and a Deno cache and home) the unprivileged user owns. */
async function userPaths(): Promise<DsrPaths & { home: string; denoDir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "dsr-setpriv-" });
  const home = `${dir}/home`;
  const denoDir = `${dir}/deno`;
  await Deno.mkdir(home);
  await Deno.mkdir(denoDir);
  for (const p of [dir, home, denoDir]) await Deno.chown(p, UID, UID);
  return { dir, state: `${dir}/state.json`, socket: `${dir}/dsr.sock`, home, denoDir };
}

/** `dsr start` in `ns` as user nobody with only `caps`, through setpriv. */
function startAsNobody(
  ns: string,
  paths: Awaited<ReturnType<typeof userPaths>>,
  iface: string,
  caps: string[],
): NsProcess {
  const set = ["-all", ...caps.map((c) => `+${c}`)].join(",");
  return nsSpawn(ns, [
    "setpriv",
    `--reuid=${UID}`,
    `--regid=${UID}`,
    "--clear-groups",
    `--inh-caps=${set}`,
    `--ambient-caps=${set}`,
    `--bounding-set=${set}`,
    "--",
    "env",
    // Deno keeps its cache in the user's DENO_DIR; the repository itself is only read.
    `HOME=${paths.home}`,
    `DENO_DIR=${paths.denoDir}`,
    ...DSR,
    "--socket",
    paths.socket,
    "--state",
    paths.state,
    "start",
    "--iface",
    iface,
  ]);
}

/** The capability sets and user ids of a running process. */
async function processCredentials(pid: number) {
  const text = await Deno.readTextFile(`/proc/${pid}/status`);
  const field = (name: string) => new RegExp(`^${name}:\\s+(.+)$`, "m").exec(text)?.[1] ?? "";
  return {
    uids: field("Uid").split(/\s+/).map(Number),
    effective: BigInt(`0x${field("CapEff")}`),
    bounding: BigInt(`0x${field("CapBnd")}`),
  };
}

Deno.test("the unit grants only CAP_NET_RAW and CAP_NET_ADMIN, runs as its own user, keeps state and socket in its directories, restarts on failure", async () => {
  const unit = await Deno.readTextFile(UNIT);
  assert.deepEqual(unitCapabilities(unit, "AmbientCapabilities"), ["net_raw", "net_admin"]);
  assert.deepEqual(unitCapabilities(unit, "CapabilityBoundingSet"), ["net_raw", "net_admin"]);
  for (
    const line of [
      "User=dsr",
      "StateDirectory=dsr",
      "RuntimeDirectory=dsr",
      "Restart=on-failure",
      "NoNewPrivileges=yes",
    ]
  ) {
    assert.match(unit, new RegExp(`^${line}$`, "m"));
  }
  assert.match(
    unit,
    /^ExecStart=\/usr\/local\/bin\/dsr --socket \/run\/dsr\/dsr\.sock --state \/var\/lib\/dsr\/state\.json start /m,
  );
  // systemd's own parser: the unit as shipped, with ExecStart pointing at a binary that exists here.
  const dir = await Deno.makeTempDir({ prefix: "dsr-unit-" });
  try {
    await Deno.writeTextFile(
      `${dir}/dsr.service`,
      unit.replace("ExecStart=/usr/local/bin/dsr", `ExecStart=${Deno.execPath()}`),
    );
    const out = await new Deno.Command("systemd-analyze", {
      args: ["verify", `${dir}/dsr.service`],
      stdin: "null",
    }).output();
    const said = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    assert.ok(out.success, said);
    assert.equal(said.trim(), "", "systemd-analyze verify has nothing to say");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("as user nobody with only the unit's capabilities the daemon forwards; without CAP_NET_RAW it fails naming it", async () => {
  requireRoot();
  const caps = unitCapabilities(await Deno.readTextFile(UNIT), "AmbientCapabilities");
  await withLab({ servers: 1 }, async (lab) => {
    const paths = await userPaths();
    const processes = startServers(lab);
    try {
      await configureLab(paths, lab);
      for (const f of [paths.state, `${paths.state}.lock`]) {
        await Deno.chown(f, UID, UID).catch(() => {});
      }
      const daemon = startAsNobody(lab.balancer.ns, paths, lab.balancer.iface, caps);
      processes.push(daemon);
      await waitFor("the daemon to resolve its real server", async () => {
        const s = await status(paths);
        return s.vips[0].rips.every((r) => r.state === "up" && r.mac !== null);
      }, 20_000).catch((error) => {
        throw new Error(`${error.message}\ndaemon output:\n${daemon.output()}`);
      });
      const answer = await nsExec(lab.client.ns, ["curl", "-sS", "-m", "5", `http://${lab.vip}/`]);
      assert.equal(answer.code, 0, answer.stderr);
      assert.match(answer.stdout, /rs1/);
      const s = await status(paths);
      assert.ok(s.vips[0].packets > 0, "the request went through the balancer");
      const creds = await processCredentials(daemon.child.pid);
      assert.deepEqual(creds.uids, [UID, UID, UID, UID], "it runs as nobody");
      const want = caps.reduce((m, c) => m | (1n << BigInt(CAP_BITS[c])), 0n);
      assert.equal(creds.effective, want, "effective capabilities: exactly the unit's");
      assert.equal(creds.bounding, want, "and nothing more can be gained");
      const info = await Deno.stat(paths.socket);
      assert.equal(info.uid, UID, "the socket belongs to the service's user");
      await daemon.kill();

      const without = startAsNobody(
        lab.balancer.ns,
        paths,
        lab.balancer.iface,
        caps.filter((c) => c !== "net_raw"),
      );
      processes.push(without);
      const { code } = await without.child.status;
      await without.kill();
      assert.equal(code, 1, without.output());
      const lines = without.output().trim().split("\n");
      assert.equal(lines.length, 1, `one line:\n${without.output()}`);
      assert.match(lines[0], /CAP_NET_RAW/);
      assert.match(lines[0], /eth0/);
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});
