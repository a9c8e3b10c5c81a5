/**
 * A first, rough forwarding rate: trafgen in the lab's client floods UDP
 * frames at the VIP for a few seconds; the rate is what the balancer sent on
 * and what the real server's interface received, per second. Issue 6 turns
 * this into a sweep against a C forwarder and the kernel.
 * `deno run -A bench/forwarding_rate.ts [seconds]`
 * @module
 */

import { nsExec } from "../lab/topology.ts";
import { dsrOk, startDaemon, status, stopAll, tempPaths } from "../test/_dsr.ts";
import { requireRoot, withLab } from "../test/_netns.ts";

const seconds = Number(Deno.args[0] ?? "5");

async function rxPackets(ns: string): Promise<number> {
  const [link] = JSON.parse((await nsExec(ns, ["ip", "-j", "-s", "link", "show", "eth0"])).stdout);
  return link.stats64.rx.packets;
}

requireRoot();
await withLab({ servers: 1 }, async (lab) => {
  const paths = await tempPaths();
  const processes = [];
  try {
    await dsrOk(paths, ["vip", "add", `${lab.vip}:9`, "--proto", "udp"]);
    await dsrOk(paths, ["rip", "add", `${lab.vip}:9`, lab.servers[0].ip, "--proto", "udp"]);
    processes.push(await startDaemon(paths, lab));
    const config = `${paths.dir}/flood.trafgen`;
    await Deno.writeTextFile(
      config,
      `{ eth(da=${lab.balancer.mac}, sa=${lab.client.mac}), ipv4(saddr=${lab.client.ip}, daddr=${lab.vip}, ttl=64),` +
        ` udp(sp=drnd(), dp=9), fill(0x41, 18) }\n`,
    );
    const before = {
      dsr: (await status(paths)).vips[0].packets,
      rs: await rxPackets(lab.servers[0].ns),
    };
    const started = performance.now();
    await nsExec(lab.client.ns, [
      "timeout",
      "-s",
      "INT",
      String(seconds),
      "trafgen",
      "-q",
      "-i",
      config,
      "-o",
      "eth0",
      "-P",
      "1",
    ]);
    const elapsed = (performance.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 500));
    const after = {
      dsr: (await status(paths)).vips[0].packets,
      rs: await rxPackets(lab.servers[0].ns),
    };
    const s = await status(paths);
    const forwarded = after.dsr - before.dsr;
    const received = after.rs - before.rs;
    console.log(JSON.stringify(
      {
        seconds: Math.round(elapsed * 10) / 10,
        forwardedPps: Math.round(forwarded / elapsed),
        deliveredPps: Math.round(received / elapsed),
        kernelDrops: s.packets.kernelDrops,
        rx: s.packets.rx,
      },
      null,
      2,
    ));
  } finally {
    await stopAll(processes);
    await Deno.remove(paths.dir, { recursive: true });
  }
});
