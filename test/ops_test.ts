/**
 * End to end on a namespace lab: one-packet scheduling (`--ops`, as
 * `ipvsadm -o`) on a UDP VIP, through the real CLI, daemon and libpcap.
 */

import assert from "node:assert/strict";
import { nsExec } from "../lab/topology.ts";
import { dsr, dsrOk, startDaemon, status, stopAll, tempPaths } from "./_dsr.ts";
import { type NsProcess, nsSpawn, requireRoot, waitFor, withLab } from "./_netns.ts";

const UDP = new URL("./_udp_one_socket.ts", import.meta.url).pathname;
const PORT = 5300;

/** `SOURCE:PORT TEXT` lines a sink printed, one per datagram. */
const received = (sink: NsProcess) =>
  sink.output().split("\n").filter((l) => /^\d+\.\d+\.\d+\.\d+:\d+ /.test(l));

Deno.test("--ops on a UDP VIP: one client socket's datagrams spread over every real server with rr, and no flow is kept", async () => {
  requireRoot();
  await withLab({ servers: 3 }, async (lab) => {
    const paths = await tempPaths();
    const processes: NsProcess[] = [];
    try {
      const service = `${lab.vip}:${PORT}`;
      const tcp = await dsr(paths, ["vip", "add", `${lab.vip}:80`, "--ops"]);
      assert.equal(tcp.code, 2, tcp.stderr);
      assert.match(
        tcp.stderr,
        /^dsr: error: vips\[0\]\.ops: one-packet scheduling \(--ops\) is for UDP: 198\.18\.0\.100:80\/tcp is TCP[^\n]*\n$/,
      );
      await dsrOk(paths, ["vip", "add", service, "--proto", "udp", "--scheduler", "rr", "--ops"]);
      for (const s of lab.servers) {
        await dsrOk(paths, ["rip", "add", service, s.ip, "--proto", "udp"]);
      }
      const exported = JSON.parse(await dsrOk(paths, ["config", "export", "--json"]));
      assert.deepEqual(exported.vips.map((v: { ops: boolean }) => v.ops), [true]);

      const sinks = lab.servers.map((s) =>
        nsSpawn(s.ns, [Deno.execPath(), "run", "-A", "--unstable-net", UDP, "sink", `${PORT}`])
      );
      processes.push(...sinks);
      for (const sink of sinks) {
        await waitFor("a sink to listen", () => sink.output().includes("listening"), 10_000);
      }
      processes.push(await startDaemon(paths, lab));

      const send = async (count: number) => {
        const run = await nsExec(lab.client.ns, [
          Deno.execPath(),
          "run",
          "-A",
          "--unstable-net",
          UDP,
          "send",
          lab.vip,
          `${PORT}`,
          `${count}`,
        ], { check: true });
        return Number(/from (\d+)/.exec(run.stdout)![1]);
      };
      const clientPort = await send(60);
      await waitFor("60 datagrams to arrive", () => sinks.flatMap(received).length >= 60, 5000);
      // rr over three servers, every datagram scheduled on its own: 20 each.
      assert.deepEqual(sinks.map((s) => received(s).length), [20, 20, 20]);
      const sources = new Set(sinks.flatMap(received).map((l) => l.split(" ")[0]));
      assert.deepEqual([...sources], [`${lab.client.ip}:${clientPort}`], "from one client socket");

      // The flows gauge is refreshed every second: read it after a refresh.
      await new Promise((r) => setTimeout(r, 1500));
      const after = await status(paths);
      assert.equal(after.flows, 0);
      const rips = after.vips[0].rips;
      assert.deepEqual(rips.map((r) => r.activeConns + r.inactiveConns), [0, 0, 0]);
      assert.deepEqual(rips.map((r) => r.connections), [20, 20, 20]);

      // Through the daemon: --no-ops, and one socket's datagrams follow one flow.
      await dsrOk(paths, ["vip", "set", service, "--proto", "udp", "--no-ops"]);
      await send(30);
      await waitFor("90 datagrams to arrive", () => sinks.flatMap(received).length >= 90, 5000);
      const more = sinks.map((s) => received(s).length - 20).sort((a, b) => a - b);
      assert.deepEqual(more, [0, 0, 30]);
      await waitFor("the flow to show", async () => (await status(paths)).flows === 1, 3000);
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});
