/**
 * No garbage-collection growth in steady forwarding: trafgen offers a steady
 * UDP load from random source ports (so new flows keep arriving) for N seconds while
 * the forwarding worker's heap in use is sampled every second from
 * `dsr status`. Prints the samples and compares the first and last windows.
 * `deno run -A bench/heap_steady.ts [seconds=60] [pps=50000]`
 * @module
 */

import { dsrOk, startDaemon, status, stopAll, tempPaths } from "../test/_dsr.ts";
import { nsExec } from "../lab/topology.ts";
import { requireRoot, withLab } from "../test/_netns.ts";

const seconds = Number(Deno.args[0] ?? "60");
const pps = Number(Deno.args[1] ?? "50000");

requireRoot();
await withLab({ servers: 2 }, async (lab) => {
  const paths = await tempPaths();
  const processes = [];
  try {
    await dsrOk(paths, ["vip", "add", `${lab.vip}:9`, "--proto", "udp"]);
    for (const s of lab.servers) {
      await dsrOk(paths, ["rip", "add", `${lab.vip}:9`, s.ip, "--proto", "udp"]);
    }
    processes.push(await startDaemon(paths, lab, ["--max-flows", "200000"]));
    const config = `${paths.dir}/steady.trafgen`;
    await Deno.writeTextFile(
      config,
      `{ eth(da=${lab.balancer.mac}, sa=${lab.client.mac}), ipv4(saddr=${lab.client.ip}, daddr=${lab.vip}),` +
        ` udp(sp=drnd(), dp=9), fill(0x41, 18) }\n`,
    );
    // trafgen forks a worker per CPU; `timeout -s INT` stops the whole group cleanly.
    const gen = nsExec(lab.client.ns, [
      "timeout",
      "-s",
      "INT",
      String(seconds + 1),
      "trafgen",
      "-q",
      "-P",
      "1",
      "-b",
      `${pps}pps`,
      "-i",
      config,
      "-o",
      "eth0",
    ]);
    const samples: { t: number; heapMiB: number; flows: number; packets: number }[] = [];
    for (let t = 1; t <= seconds; t++) {
      await new Promise((r) => setTimeout(r, 1000));
      const s = await status(paths);
      samples.push({
        t,
        heapMiB: Math.round(s.dataplane.heapUsedBytes / 1048576 * 100) / 100,
        flows: s.flows,
        packets: s.vips[0].packets,
      });
    }
    await gen;
    const window = Math.max(3, Math.floor(seconds / 6));
    const first = samples.slice(2, 2 + window).map((s) => s.heapMiB);
    const last = samples.slice(-window).map((s) => s.heapMiB);
    const rate = (samples.at(-1)!.packets - samples[0].packets) / (seconds - 1);
    console.log(
      JSON.stringify(
        { seconds, offeredPps: pps, forwardedPps: Math.round(rate), samples },
        null,
        0,
      ),
    );
    console.log(
      `heap in use (MiB): first window max ${Math.max(...first)}, last window max ${
        Math.max(...last)
      }; ` +
        `flows at end ${samples.at(-1)!.flows}`,
    );
  } finally {
    await stopAll(processes);
    await Deno.remove(paths.dir, { recursive: true });
  }
});
