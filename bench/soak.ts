/**
 * Soak: the daemon in the lab for a while under mixed traffic (UDP from
 * random ports through trafgen, HTTP requests on fresh connections), with
 * configuration churn every second (a VIP and a real server added and
 * deleted in turn) and a health check flapping every 10 s. Each second it
 * samples the daemon's RSS, its open file descriptors and the flow count.
 * It passes when, at the end, RSS is within 10% (--rss-tolerance) of its value after warm-up,
 * no descriptor leaked, and once traffic stops the flows go back to where
 * they started. Prints a table and a JSON summary; exit status 1 on failure.
 *
 * `deno task soak [--duration S=600] [--warmup S=60] [--pps N=2000] [--rss-tolerance 0.10]`
 * @module
 */

import { parseArgs } from "node:util";
import { nsExec } from "../lab/topology.ts";
import { DSR, dsrOk, startDaemon, startServers, status, stopAll, tempPaths } from "../test/_dsr.ts";
import { type NsProcess, nsSpawn, requireRoot, withLab } from "../test/_netns.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    duration: { type: "string", default: "600" },
    warmup: { type: "string", default: "60" },
    pps: { type: "string", default: "2000" },
    "rss-tolerance": { type: "string", default: "0.10" },
  },
});
const duration = Number(values.duration);
const warmup = Number(values.warmup);
const pps = Number(values.pps);
const rssTolerance = Number(values["rss-tolerance"]);
if (!(duration > 0 && warmup >= 0 && warmup < duration && pps > 0)) {
  console.error("soak: --duration and --pps must be positive, --warmup below --duration");
  Deno.exit(2);
}

/** One second's sample. */
export interface SoakSample {
  t: number;
  rssMiB: number;
  fds: number;
  flows: number;
}

async function procStatus(pid: number): Promise<{ rssMiB: number; fds: number }> {
  const text = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(text)?.[1] ?? NaN);
  let fds = 0;
  for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) fds++;
  return { rssMiB: kb / 1024, fds };
}

const HTTP_LOOP = new URL("./_soak_http.ts", import.meta.url).pathname;

requireRoot();
const verdict = await withLab({ servers: 3 }, async (lab) => {
  const paths = await tempPaths();
  const processes: NsProcess[] = startServers(lab);
  const [rs1, rs2, rs3] = lab.servers;
  try {
    await dsrOk(paths, ["timeout", "set", "--tcp", "20", "--tcpfin", "5", "--udp", "5"]);
    await dsrOk(paths, ["vip", "add", `${lab.vip}:80`]);
    await dsrOk(paths, ["vip", "add", `${lab.vip}:9`, "--proto", "udp"]);
    // A service whose check on port 8081 flaps: a server there comes and goes.
    await dsrOk(paths, [
      "vip",
      "add",
      `${lab.vip}:8081`,
      "--check-interval",
      "1",
      "--rise",
      "1",
      "--fall",
      "1",
    ]);
    for (const s of lab.servers) {
      await dsrOk(paths, ["rip", "add", `${lab.vip}:80`, s.ip]);
      await dsrOk(paths, ["rip", "add", `${lab.vip}:9`, s.ip, "--proto", "udp"]);
    }
    await dsrOk(paths, ["rip", "add", `${lab.vip}:8081`, rs3.ip]);
    // The flapping server is there at start; the loop below takes it away and back.
    let flapper: NsProcess | null = nsSpawn(rs3.ns, [
      ...DSR,
      "lab",
      "serve",
      "--name",
      "rs3",
      "--port",
      "8081",
    ]);
    await new Promise((r) => setTimeout(r, 1500));
    const daemon = await startDaemon(paths, lab, ["--max-flows", "100000"]);
    processes.push(daemon);
    const pid = daemon.child.pid;
    const baseline = (await status(paths)).flows;

    const frames = `${paths.dir}/soak.trafgen`;
    await Deno.writeTextFile(
      frames,
      `{ eth(da=${lab.balancer.mac}, sa=${lab.client.mac}), ipv4(saddr=${lab.client.ip}, daddr=${lab.vip}),` +
        ` udp(sp=drnd(), dp=9), fill(0x41, 18) }\n`,
    );
    const udp = nsExec(lab.client.ns, [
      "timeout",
      "-s",
      "INT",
      String(duration),
      "trafgen",
      "-q",
      "-P",
      "1",
      "-b",
      `${pps}pps`,
      "-i",
      frames,
      "-o",
      "eth0",
    ], { timeoutMs: (duration + 30) * 1000 });
    const http = nsSpawn(lab.client.ns, [
      DSR[0],
      "run",
      "-A",
      HTTP_LOOP,
      `http://${lab.vip}/`,
      String(duration),
    ]);
    processes.push(http);

    const samples: SoakSample[] = [];
    // Churn and samples go straight to the socket: a CLI process per call
    // would cost more than a second on a loaded machine and stretch the run.
    const api = Deno.createHttpClient({ proxy: { transport: "unix", path: paths.socket } });
    const call = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`http://dsr${path}`, {
        method,
        client: api,
        body: body === undefined ? undefined : JSON.stringify(body),
        headers: { "content-type": "application/json" },
      });
      const text = await r.text();
      if (!r.ok) throw new Error(`${method} ${path} answered ${r.status}: ${text}`);
      return text === "" ? null : JSON.parse(text);
    };
    const churnService = "/v1/vips/198.18.0.150:8080/tcp";
    const churn: (() => Promise<unknown>)[] = [
      () => call("POST", "/v1/vips", { vip: "198.18.0.150", port: 8080, check: { type: "none" } }),
      () => call("POST", `${churnService}/rips`, { ip: rs1.ip }),
      () => call("POST", `${churnService}/rips`, { ip: rs2.ip }),
      () => call("DELETE", `${churnService}/rips/${rs1.ip}`),
      () => call("DELETE", churnService),
    ];
    const started = performance.now();
    for (let t = 0; t < duration; t++) {
      await churn[t % churn.length]();
      if (t % 10 === 9) {
        if (flapper) {
          await flapper.kill();
          flapper = null;
        } else {
          flapper = nsSpawn(rs3.ns, [...DSR, "lab", "serve", "--name", "rs3", "--port", "8081"]);
        }
      }
      const { rssMiB, fds } = await procStatus(pid);
      samples.push({ t, rssMiB, fds, flows: (await call("GET", "/v1/status")).flows });
      const next = started + (t + 1) * 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
    if (flapper) await flapper.kill();
    api.close();
    const sent = await udp;
    await http.child.status;
    // Flows drain: UDP and finished TCP flows expire within 5 s of their last packet.
    let drained = (await status(paths)).flows;
    for (let i = 0; i < 40 && drained > baseline; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      drained = (await status(paths)).flows;
    }
    const after = samples[Math.min(warmup, samples.length - 1)];
    const end = samples[samples.length - 1];
    const rssGrowth = (end.rssMiB - after.rssMiB) / after.rssMiB;
    const summary = {
      duration,
      warmup,
      pps,
      udpSent: sent.code === 0 || sent.code === 124,
      http: JSON.parse(http.output().trim().split("\n").pop() || "{}"),
      rssMiB: { afterWarmup: after.rssMiB, end: end.rssMiB, growth: rssGrowth },
      fds: { afterWarmup: after.fds, end: end.fds },
      flows: { baseline, peak: Math.max(...samples.map((s) => s.flows)), drained },
      pass: {
        rss: Math.abs(rssGrowth) <= rssTolerance,
        fds: end.fds <= after.fds,
        flows: drained <= baseline,
      },
    };
    for (const s of samples) {
      if (s.t % 10 === 0 || s.t === samples.length - 1) {
        console.log(
          `t=${String(s.t).padStart(4)} s  rss ${
            s.rssMiB.toFixed(1)
          } MiB  fds ${s.fds}  flows ${s.flows}`,
        );
      }
    }
    console.log(JSON.stringify(summary));
    return summary.pass.rss && summary.pass.fds && summary.pass.flows;
  } finally {
    await stopAll(processes);
    await Deno.remove(paths.dir, { recursive: true });
  }
});
Deno.exit(verdict ? 0 : 1);
