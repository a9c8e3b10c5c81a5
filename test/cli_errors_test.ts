/**
 * Bad input gets one `dsr: error:` line, the documented exit status, and
 * changes nothing. Offline cases edit a state file; the rest run against a
 * daemon on a namespace lab.
 */

import assert from "node:assert/strict";
import { nsExec } from "../lab/topology.ts";
import {
  dsr,
  dsrOk,
  type DsrPaths,
  spawnDaemon,
  startDaemon,
  startServers,
  status,
  stopAll,
  tempPaths,
} from "./_dsr.ts";
import { requireRoot, waitFor, withLab } from "./_netns.ts";

async function stateBytes(paths: DsrPaths): Promise<string> {
  return await Deno.readTextFile(paths.state).catch(() => "<none>");
}

/** Runs a command that must fail with one error line and leave the state file as it was. */
async function refused(
  paths: DsrPaths,
  args: string[],
  code: number,
  message: RegExp,
): Promise<void> {
  const before = await stateBytes(paths);
  const run = await dsr(paths, args);
  assert.equal(run.code, code, `dsr ${args.join(" ")} exit status (stderr: ${run.stderr})`);
  const lines = run.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line on stderr: ${run.stderr}`);
  assert.match(lines[0], /^dsr: error: /);
  assert.match(lines[0], message);
  assert.equal(run.stdout, "");
  assert.equal(await stateBytes(paths), before, "the state file is unchanged");
}

Deno.test("offline: each bad input is one clear error with exit status 2 and changes nothing", async () => {
  const paths = await tempPaths();
  try {
    await dsrOk(paths, ["vip", "add", "198.18.0.100:80"]);
    await dsrOk(paths, ["rip", "add", "198.18.0.100:80", "198.18.0.11"]);
    const cases: [string[], RegExp][] = [
      [
        ["rip", "add", "198.18.0.100:80", "198.18.0.12:8080"],
        /port translation is not possible in DR mode \(VIP port 80, real server port 8080\)/,
      ],
      [["vip", "add", "198.18.0.300:80"], /invalid VIP:PORT "198\.18\.0\.300:80"/],
      [["vip", "add", "198.18.0.100"], /invalid VIP:PORT "198\.18\.0\.100"/],
      [["rip", "add", "198.18.0.100:80", "not-an-ip"], /invalid real server "not-an-ip"/],
      [
        ["vip", "add", "0.0.0.0:80"],
        /invalid VIP "0\.0\.0\.0": an address of 0\.0\.0\.0\/8 \("this network"\), not a unicast host address/,
      ],
      [["vip", "add", "255.255.255.255:80"], /invalid VIP "255\.255\.255\.255": the broadcast/],
      [
        ["rip", "add", "198.18.0.100:80", "224.0.0.5"],
        /invalid real server "224\.0\.0\.5": a multicast/,
      ],
      [["vip", "add", "198.18.0.100:80"], /virtual service 198\.18\.0\.100:80\/tcp already exists/],
      [
        ["rip", "add", "198.18.0.100:80", "198.18.0.11"],
        /real server 198\.18\.0\.11 already exists/,
      ],
      [["vip", "del", "198.18.0.101:80"], /virtual service 198\.18\.0\.101:80\/tcp does not exist/],
      [
        ["rip", "del", "198.18.0.100:80", "198.18.0.99"],
        /real server 198\.18\.0\.99 does not exist/,
      ],
      [["rip", "add", "198.18.0.100:80", "198.18.0.12", "--weight", "-1"], /invalid --weight "-1"/],
      [["vip", "add", "198.18.0.101:80", "--proto", "sctp"], /invalid protocol "sctp"/],
      [["vip", "add", "198.18.0.101:80", "--scheduler", "fastest"], /fastest/],
      [["vip", "frobnicate"], /unknown command/],
    ];
    for (const [args, message] of cases) await refused(paths, args, 2, message);
  } finally {
    await Deno.remove(paths.dir, { recursive: true });
  }
});

Deno.test("daemon: a real server off the interface's subnet is refused with exit 2; a good change applies live", async () => {
  requireRoot();
  await withLab({ servers: 2 }, async (lab) => {
    const paths = await tempPaths();
    const processes = startServers(lab);
    try {
      await dsrOk(paths, ["vip", "add", `${lab.vip}:80`]);
      await dsrOk(paths, ["rip", "add", `${lab.vip}:80`, lab.servers[0].ip]);
      processes.push(await startDaemon(paths, lab));
      await refused(
        paths,
        ["rip", "add", `${lab.vip}:80`, "198.19.0.5"],
        2,
        /cannot add real server 198\.19\.0\.5: it is not on 198\.18\.0\.0\/24 of eth0/,
      );
      await refused(
        paths,
        ["rip", "add", `${lab.vip}:80`, `${lab.servers[1].ip}:81`],
        2,
        /port translation is not possible in DR mode \(VIP port 80, real server port 81\)/,
      );
      await refused(paths, ["vip", "add", `${lab.vip}:80`], 2, /already exists/);

      // A change made while the daemon runs reaches it without a restart.
      await dsrOk(paths, ["rip", "add", `${lab.vip}:80`, lab.servers[1].ip]);
      await waitFor("the new real server to be up", async () => {
        const rips = (await status(paths)).vips[0].rips;
        return rips.length === 2 && rips.every((r) => r.state === "up");
      });
      const saved = JSON.parse(await Deno.readTextFile(paths.state));
      assert.equal(saved.vips[0].rips.length, 2, "the daemon saved the change to the state file");
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});

Deno.test("start refuses while the host kernel owns a VIP, and warns when ip_forward is on", async () => {
  requireRoot();
  await withLab({ servers: 1 }, async (lab) => {
    const paths = await tempPaths();
    try {
      await dsrOk(paths, ["vip", "add", `${lab.vip}:80`]);
      await dsrOk(paths, ["rip", "add", `${lab.vip}:80`, lab.servers[0].ip]);
      await nsExec(lab.balancer.ns, ["ip", "addr", "add", `${lab.vip}/32`, "dev", "lo"], {
        check: true,
      });
      const run = await dsr(paths, ["start", "--iface", "eth0"], { ns: lab.balancer.ns });
      assert.equal(run.code, 1, run.stderr);
      assert.match(
        run.stderr.trim(),
        /^dsr: error: VIP 198\.18\.0\.100 is configured on interface lo of this host/,
      );
      assert.equal(run.stderr.trim().split("\n").length, 1);

      await nsExec(lab.balancer.ns, ["ip", "addr", "del", `${lab.vip}/32`, "dev", "lo"], {
        check: true,
      });
      await nsExec(lab.balancer.ns, ["sysctl", "-qw", "net.ipv4.ip_forward=1"], { check: true });
      const daemon = await startDaemon(paths, lab);
      await daemon.kill();
      assert.match(daemon.output(), /dsr: warning: net\.ipv4\.ip_forward=1/);

      const missing = await dsr(paths, ["start", "--iface", "nosuch0"], { ns: lab.balancer.ns });
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /^dsr: error: interface nosuch0 does not exist/);
    } finally {
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});

Deno.test("a real server written offline off the subnet is reported at start and gets no traffic", async () => {
  requireRoot();
  await withLab({ servers: 1 }, async (lab) => {
    const paths = await tempPaths();
    const processes = startServers(lab);
    try {
      await dsrOk(paths, ["vip", "add", `${lab.vip}:80`]);
      await dsrOk(paths, ["rip", "add", `${lab.vip}:80`, lab.servers[0].ip]);
      await dsrOk(paths, ["rip", "add", `${lab.vip}:80`, "198.19.0.5"]);
      const daemon = spawnDaemon(paths, lab);
      processes.push(daemon);
      const off = await waitFor("the off-subnet real server in status", async () => {
        const rip = (await status(paths)).vips[0].rips.find((r) => r.ip === "198.19.0.5");
        return rip?.check.error ? rip : null;
      }, 10_000);
      assert.equal(off?.state, "unresolved");
      assert.match(
        daemon.output(),
        /real server 198\.19\.0\.5 of 198\.18\.0\.100:80\/tcp is not on 198\.18\.0\.0\/24/,
      );
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});
