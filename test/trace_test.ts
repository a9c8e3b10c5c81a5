/**
 * `dsr trace` against the data plane on a real wire: for each traced client
 * port, a real connection from that port (curl --local-port) lands on the
 * real server the trace named, and tracing it again finds the flow.
 */

import assert from "node:assert/strict";
import { nsExec } from "../lab/topology.ts";
import { configureLab, dsr, dsrOk, startDaemon, startServers, stopAll, tempPaths } from "./_dsr.ts";
import { requireRoot, withLab } from "./_netns.ts";

interface Trace {
  verdict: string;
  reason: string;
  rip: string | null;
  mac: string | null;
  slot: number | null;
  flow: { state: string } | null;
}

for (const scheduler of ["mh", "wrr"]) {
  Deno.test(`${scheduler}: every connection from a traced client port lands on the real server the trace named, and is then traced as its flow`, async () => {
    requireRoot();
    await withLab({ servers: 3 }, async (lab) => {
      const paths = await tempPaths();
      const processes = startServers(lab);
      try {
        await configureLab(paths, lab, scheduler);
        if (scheduler === "wrr") {
          await dsrOk(paths, ["rip", "set", `${lab.vip}:80`, lab.servers[2].ip, "--weight", "3"]);
        }
        processes.push(await startDaemon(paths, lab));
        const byName = new Map(lab.servers.map((s) => [s.name, s.ip]));
        // The socket API straight, as `dsr trace --json` asks it (the CLI's own runs are below).
        const trace = async (port: number): Promise<Trace> => {
          const q = new URLSearchParams({
            client: lab.client.ip,
            port: String(port),
            vip: `${lab.vip}:80`,
          });
          const r = await new Deno.Command("curl", {
            args: ["-sf", "--unix-socket", paths.socket, `http://dsr/v1/trace?${q}`],
          }).output();
          assert.ok(r.success, new TextDecoder().decode(r.stderr));
          return JSON.parse(new TextDecoder().decode(r.stdout));
        };
        const landed = new Map<string, number>();
        for (let i = 0; i < 24; i++) {
          const port = 42000 + i * 7;
          const said = await trace(port);
          assert.equal(said.verdict, "forward");
          assert.equal(said.reason, "schedule");
          assert.equal(said.slot !== null, scheduler === "mh", "mh names its Maglev slot");
          const r = await nsExec(lab.client.ns, [
            "curl",
            "-s",
            "-m",
            "2",
            "--local-port",
            String(port),
            `http://${lab.vip}/`,
          ]);
          const name = r.stdout.trim().split(" ")[0];
          assert.equal(
            byName.get(name),
            said.rip,
            `port ${port}: traced ${said.rip}, answered by ${name}`,
          );
          landed.set(name, (landed.get(name) ?? 0) + 1);
          const after = await trace(port);
          assert.equal(after.reason, "flow");
          assert.equal(after.rip, said.rip);
          assert.ok(
            after.flow && ["fin", "close", "established"].includes(after.flow.state),
            JSON.stringify(after.flow),
          );
        }
        assert.equal(landed.size, 3, `every real server took some: ${[...landed]}`);
        const json = JSON.parse(
          await dsrOk(paths, ["trace", `${lab.client.ip}:42007`, `${lab.vip}:80`, "--json"]),
        );
        const api = await trace(42007);
        const times = (t: Trace) => ({ ...t, flow: t.flow && { state: t.flow.state } });
        assert.deepEqual(
          times(json),
          times(api),
          "the CLI prints the socket's answer (times aside)",
        );
        const text = await dsr(paths, ["trace", `${lab.client.ip}:42000`, `${lab.vip}:80`]);
        assert.match(
          text.stdout,
          new RegExp(
            `^${lab.client.ip.replaceAll(".", "\\.")}:42000 → ${
              lab.vip.replaceAll(".", "\\.")
            }:80/tcp: forward to 198\\.18\\.0\\.1[123] \\(02:00:c6:12:00:[0-9a-f]{2}\\)\\n  existing flow, `,
          ),
        );
        const none = await dsr(paths, ["trace", lab.client.ip, `${lab.vip}:81`]);
        assert.match(none.stdout, /drop: no such service/);
      } finally {
        await stopAll(processes);
        await Deno.remove(paths.dir, { recursive: true });
      }
    });
  });
}

Deno.test("dsr trace without a daemon exits 1; a malformed client exits 2", async () => {
  const paths = await tempPaths();
  try {
    const none = await dsr(paths, ["trace", "198.18.0.2:40000", "198.18.0.100:80"]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^dsr: error: no dsr daemon is running/);
    const bad = await dsr(paths, ["trace", "198.18.0:x", "198.18.0.100:80"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^dsr: error: invalid CLIENT\[:PORT\] "198\.18\.0:x"/);
  } finally {
    await Deno.remove(paths.dir, { recursive: true });
  }
});
