/**
 * Health checks, drain, fallback and `dsr doctor` on a real wire (SPEC §3, §6).
 */

import assert from "node:assert/strict";
import { nsExec } from "../lab/topology.ts";
import {
  DSR,
  dsr,
  dsrOk,
  startDaemon,
  startServers,
  status,
  stopAll,
  streamAnswers,
  tempPaths,
} from "./_dsr.ts";
import { keepaliveClient } from "./_keepalive.ts";
import { nsSpawn, requireRoot, waitFor, withLab } from "./_netns.ts";

const STREAM = new URL("./_http_stream.ts", import.meta.url).pathname;
const FAST = ["--check-interval", "0.5", "--check-timeout", "0.5", "--rise", "2", "--fall", "3"];

async function ripState(
  paths: Parameters<typeof status>[0],
  ip: string,
  port = 80,
): Promise<string | undefined> {
  return (await status(paths)).vips.find((v) => v.port === port)?.rips.find((r) => r.ip === ip)
    ?.state;
}

Deno.test("a real server whose service stops is down within interval × fall + timeout, gets no new requests, and is up again after rise checks", async () => {
  requireRoot();
  await withLab({ servers: 3 }, async (lab) => {
    const paths = await tempPaths();
    const servers = startServers(lab);
    const processes = [...servers];
    try {
      await dsrOk(paths, ["vip", "add", `${lab.vip}:80`, "--check", "http", ...FAST]);
      for (const s of lab.servers) await dsrOk(paths, ["rip", "add", `${lab.vip}:80`, s.ip]);
      const daemon = await startDaemon(paths, lab);
      processes.push(daemon);
      await waitFor(
        "first checks",
        async () => (await status(paths)).vips[0].rips.every((r) => r.check.ok === true),
      );
      const stream = nsSpawn(lab.client.ns, [DSR[0], "run", "-A", STREAM, `http://${lab.vip}/`]);
      processes.push(stream);
      await waitFor("traffic", () => streamAnswers(stream.output()).length > 10);

      const rs2 = lab.servers[1];
      await servers[1].kill();
      const stopped = Date.now();
      await waitFor("rs2 down", async () => (await ripState(paths, rs2.ip)) === "down", 5000);
      const downAfter = Date.now() - stopped;
      // interval × fall + timeout, plus 250 ms for a status poll and process scheduling.
      assert.ok(downAfter <= 0.5 * 3 * 1000 + 500 + 250, `down after ${downAfter} ms`);
      const s = await status(paths);
      const rip = s.vips[0].rips.find((r) => r.ip === rs2.ip)!;
      assert.equal(rip.check.ok, false);
      assert.match(rip.check.error ?? "", /GET http:\/\/198\.18\.0\.12:80\/ failed/);
      assert.match(
        daemon.output(),
        /real server 198\.18\.0\.12 of 198\.18\.0\.100:80\/tcp is down: GET/,
      );

      const downAt = Date.now();
      await new Promise((r) => setTimeout(r, 1500));
      const after = streamAnswers(stream.output()).filter(([at]) => at > downAt + 100);
      assert.ok(after.length > 20, `${after.length} requests after down`);
      assert.deepEqual(
        after.filter(([, b]) => !/^rs[13] /.test(b)),
        [],
        "every new request succeeds on rs1 or rs3",
      );

      processes.push(nsSpawn(rs2.ns, [...DSR, "lab", "serve", "--name", rs2.name]));
      const restarted = Date.now();
      await waitFor("rs2 up", async () => (await ripState(paths, rs2.ip)) === "up", 5000);
      const upAfter = Date.now() - restarted;
      assert.ok(
        upAfter <= 0.5 * 2 * 1000 + 1000,
        `up after ${upAfter} ms (rise 2 × interval 0.5 s, plus start-up)`,
      );
      const upAt = Date.now();
      await waitFor(
        "rs2 to take new requests",
        () => streamAnswers(stream.output()).some(([at, b]) => at > upAt && b.startsWith("rs2 ")),
      );
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});

Deno.test("without the VIP on its loopback a real server fails the dr check while a tcp check to it passes; doctor names the fix", async () => {
  requireRoot();
  await withLab({ servers: 2 }, async (lab) => {
    const paths = await tempPaths();
    const processes = [
      ...startServers(lab),
      ...lab.servers.map((s) =>
        nsSpawn(s.ns, [...DSR, "lab", "serve", "--name", s.name, "--port", "8080"])
      ),
    ];
    try {
      await dsrOk(paths, ["vip", "add", `${lab.vip}:80`, "--check", "dr", ...FAST]);
      await dsrOk(paths, ["vip", "add", `${lab.vip}:8080`, "--check", "tcp", ...FAST]);
      for (const s of lab.servers) {
        await dsrOk(paths, ["rip", "add", `${lab.vip}:80`, s.ip]);
        await dsrOk(paths, ["rip", "add", `${lab.vip}:8080`, s.ip]);
      }
      processes.push(await startDaemon(paths, lab));
      await waitFor(
        "dr checks pass",
        async () => (await status(paths)).vips.every((v) => v.rips.every((r) => r.check.ok)),
      );
      const healthy = await dsr(paths, ["doctor"]);
      assert.equal(healthy.code, 0, healthy.stdout);

      const rs2 = lab.servers[1];
      await nsExec(rs2.ns, ["ip", "addr", "del", `${lab.vip}/32`, "dev", "lo"], { check: true });
      await waitFor(
        "rs2 down on the dr check",
        async () => (await ripState(paths, rs2.ip, 80)) === "down",
        5000,
      );
      const s = await status(paths);
      const dr = s.vips.find((v) => v.port === 80)!.rips.find((r) => r.ip === rs2.ip)!;
      assert.match(dr.check.error ?? "", /no answer from 198\.18\.0\.12 for 198\.18\.0\.100:80/);
      const tcp = s.vips.find((v) => v.port === 8080)!.rips.find((r) => r.ip === rs2.ip)!;
      assert.equal(
        tcp.state,
        "up",
        "the tcp check to the RIP still passes: it cannot see the problem",
      );
      assert.equal(tcp.check.ok, true);

      const run = await dsr(paths, ["doctor", "--json"]);
      assert.equal(run.code, 1);
      const report = JSON.parse(run.stdout);
      const bad = report.findings.filter((f: { ok: boolean }) => !f.ok);
      // Both services of the VIP take the DR path through rs2, and doctor probes each.
      assert.deepEqual(
        bad.map((f: { check: string; subject: string }) => `${f.check} ${f.subject}`),
        [`dr-path ${rs2.ip} of ${lab.vip}:80/tcp`, `dr-path ${rs2.ip} of ${lab.vip}:8080/tcp`],
        run.stdout,
      );
      for (const f of bad) {
        assert.match(f.fix, /on 198\.18\.0\.12: ip addr add 198\.18\.0\.100\/32 dev lo/);
      }
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});

Deno.test("doctor names a real server that answers ARP for the VIP, and passes once it is fixed", async () => {
  requireRoot();
  await withLab({ servers: 2 }, async (lab) => {
    const paths = await tempPaths();
    const processes = startServers(lab);
    try {
      await dsrOk(paths, ["vip", "add", `${lab.vip}:80`]);
      for (const s of lab.servers) await dsrOk(paths, ["rip", "add", `${lab.vip}:80`, s.ip]);
      const daemon = await startDaemon(paths, lab);
      processes.push(daemon);
      const rs1 = lab.servers[0];
      const arpIgnore = (v: number) =>
        nsExec(rs1.ns, [
          "sysctl",
          "-qw",
          `net.ipv4.conf.all.arp_ignore=${v}`,
          `net.ipv4.conf.eth0.arp_ignore=${v}`,
        ], {
          check: true,
        });
      await arpIgnore(0);
      const run = await dsr(paths, ["doctor"]);
      assert.equal(run.code, 1, run.stdout);
      assert.match(
        run.stdout,
        /FAIL {2}arp +real server 198\.18\.0\.11 \(02:00:c6:12:00:0b\) answers ARP for VIP 198\.18\.0\.100/,
      );
      assert.match(
        run.stdout,
        /fix: on 198\.18\.0\.11: dsr realserver setup --vip 198\.18\.0\.100/,
      );
      assert.match(daemon.output(), /host 02:00:c6:12:00:0b answers ARP for VIP 198\.18\.0\.100/);

      await arpIgnore(1);
      const fixed = await dsr(paths, ["doctor"]);
      assert.equal(fixed.code, 0, fixed.stdout);
      assert.match(fixed.stdout, /no problems found/);
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});

Deno.test("drain keeps existing connections on a real server and sends new ones elsewhere", async () => {
  requireRoot();
  await withLab({ servers: 2 }, async (lab) => {
    const paths = await tempPaths();
    const processes = startServers(lab);
    let client: ReturnType<typeof keepaliveClient> | null = null;
    try {
      await dsrOk(paths, ["vip", "add", `${lab.vip}:80`]);
      for (const s of lab.servers) await dsrOk(paths, ["rip", "add", `${lab.vip}:80`, s.ip]);
      processes.push(await startDaemon(paths, lab));
      // 16 connections over 2 servers: both get some, but for 1 run in 30,000.
      client = keepaliveClient(lab.client.ns, lab.vip, 80, 16);
      await client.connected();
      const before: string[] = [];
      for (let i = 0; i < 16; i++) before.push(await client.ask(i));
      assert.ok(before.some((b) => b.startsWith("rs1 ")), `${before}`);

      await dsrOk(paths, ["rip", "set", `${lab.vip}:80`, lab.servers[0].ip, "--drain"]);
      assert.equal(await ripState(paths, lab.servers[0].ip), "drain");
      for (let i = 0; i < 16; i++) {
        assert.equal(await client.ask(i), before[i], `connection ${i} continues`);
      }
      const fresh = JSON.parse(
        (await nsExec(lab.client.ns, [
          DSR[0],
          "run",
          "-A",
          new URL("./_http_burst.ts", import.meta.url).pathname,
          `http://${lab.vip}/`,
          "40",
        ], {
          check: true,
        })).stdout,
      );
      assert.deepEqual(
        fresh.bodies,
        { [`rs2 ${lab.client.ip}`]: 40 },
        "every new connection goes to rs2",
      );
    } finally {
      await client?.close();
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});

Deno.test("with every real server down, requests reach the fallback (sorry) server", async () => {
  requireRoot();
  await withLab({ servers: 3 }, async (lab) => {
    const paths = await tempPaths();
    const servers = startServers(lab);
    const processes = [...servers];
    try {
      const [rs1, rs2, sorry] = lab.servers;
      await dsrOk(paths, ["vip", "add", `${lab.vip}:80`, "--fallback", sorry.ip, ...FAST]);
      for (const s of [rs1, rs2]) await dsrOk(paths, ["rip", "add", `${lab.vip}:80`, s.ip]);
      processes.push(await startDaemon(paths, lab));
      const get = async () =>
        (await nsExec(lab.client.ns, ["curl", "-s", "-m", "2", `http://${lab.vip}/`])).stdout
          .trim();
      assert.match(
        await get(),
        /^rs[12] /,
        "the sorry server is not used while a real server is usable",
      );
      await servers[0].kill();
      await servers[1].kill();
      await waitFor("both real servers down", async () => {
        const rips = (await status(paths)).vips[0].rips;
        return rips.every((r) => r.state === "down");
      }, 5000);
      for (let i = 0; i < 5; i++) assert.equal(await get(), `rs3 ${lab.client.ip}`);
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});
