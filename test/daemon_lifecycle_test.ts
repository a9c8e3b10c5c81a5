/**
 * The daemon on a real wire over its lifetime: announces VIPs, reloads on
 * SIGHUP, manages offloads, answers ICMP echo, and counts malformed frames.
 */

import assert from "node:assert/strict";
import { nsExec } from "../lab/topology.ts";
import {
  configureLab,
  dsrOk,
  startDaemon,
  startServers,
  status,
  stopAll,
  tempPaths,
} from "./_dsr.ts";
import { nsSpawn, requireRoot, waitFor, withLab } from "./_netns.ts";

async function gro(ns: string): Promise<string> {
  const out = (await nsExec(ns, ["ethtool", "-k", "eth0"], { check: true })).stdout;
  return /generic-receive-offload: (\w+)/.exec(out)![1];
}

Deno.test("start announces the VIP, turns GRO off and back on, SIGHUP reloads, vip garp announces again", async () => {
  requireRoot();
  await withLab({ servers: 2 }, async (lab) => {
    const paths = await tempPaths();
    const processes = startServers(lab);
    try {
      await dsrOk(paths, ["vip", "add", `${lab.vip}:80`]);
      await dsrOk(paths, ["rip", "add", `${lab.vip}:80`, lab.servers[0].ip]);
      await nsExec(lab.balancer.ns, ["ethtool", "-K", "eth0", "gro", "on"], { check: true });
      const arp = nsSpawn(lab.client.ns, ["tcpdump", "-i", "eth0", "-nn", "-l", "-e", "arp"]);
      processes.push(arp);
      await waitFor("tcpdump", () => arp.output().includes("listening on"));
      const garp = `Request who-has ${lab.vip} tell ${lab.vip}`;

      const daemon = await startDaemon(paths, lab);
      await waitFor("a gratuitous ARP at start", () => arp.output().includes(garp));
      assert.match(arp.output(), new RegExp(`${lab.balancer.mac} > ff:ff:ff:ff:ff:ff.*${garp}`));
      assert.equal(await gro(lab.balancer.ns), "off", "GRO is off while dsr runs");

      const count = () => arp.output().split(garp).length - 1;
      const before = count();
      await dsrOk(paths, ["vip", "garp", lab.vip]);
      await waitFor("a gratuitous ARP on request", () => count() > before);

      // An edit the daemon did not make reaches it on SIGHUP.
      const config = JSON.parse(await Deno.readTextFile(paths.state));
      config.vips[0].rips.push({ ip: lab.servers[1].ip, weight: 3, drain: false, check: null });
      await Deno.writeTextFile(paths.state, JSON.stringify(config));
      assert.equal((await status(paths)).vips[0].rips.length, 1);
      daemon.child.kill("SIGHUP");
      await waitFor("the reload", async () => {
        const rips = (await status(paths)).vips[0].rips;
        return rips.length === 2 && rips[1].weight === 3 && rips[1].state === "up";
      });

      await daemon.kill();
      assert.match(daemon.output(), /dsr: stopped/);
      assert.equal(await gro(lab.balancer.ns), "on", "GRO is restored when dsr stops");
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});

Deno.test("the balancer answers ICMP echo to a VIP and counts malformed frames by reason", async () => {
  requireRoot();
  await withLab({ servers: 1 }, async (lab) => {
    const paths = await tempPaths();
    const processes = startServers(lab);
    try {
      await configureLab(paths, lab);
      processes.push(await startDaemon(paths, lab));
      const ping = await nsExec(lab.client.ns, [
        "ping",
        "-c",
        "3",
        "-i",
        "0.2",
        "-W",
        "1",
        lab.vip,
      ]);
      assert.equal(ping.code, 0, ping.stdout + ping.stderr);
      assert.match(ping.stdout, /3 received/);

      // IHL 3 and a total length beyond the frame, each sent once to the balancer's MAC.
      const frames = `${paths.dir}/bad.trafgen`;
      const eth = `eth(da=${lab.balancer.mac}, sa=${lab.client.mac})`;
      const addrs = `saddr=${lab.client.ip}, daddr=${lab.vip}`;
      await Deno.writeTextFile(
        frames,
        `{ ${eth}, ipv4(ihl=3, ${addrs}), udp(sp=1000, dp=80), fill(0, 20) }\n` +
          `{ ${eth}, ipv4(len=1400, ${addrs}), udp(sp=1000, dp=80), fill(0, 20) }\n`,
      );
      const sent = await nsExec(lab.client.ns, [
        "trafgen",
        "-q",
        "-P",
        "1",
        "-i",
        frames,
        "-o",
        "eth0",
        "-n",
        "2",
      ]);
      assert.equal(sent.code, 0, sent.stderr);
      const s = await waitFor("the malformed drops", async () => {
        const s = await status(paths);
        return s.drops.malformed >= 2 ? s : null;
      });
      assert.equal(s.drops.malformed, 2);
      assert.equal(s.malformed.badIhl, 1);
      assert.equal(s.malformed.badLength, 1);

      // The daemon is still serving after bad frames.
      const ok = await nsExec(lab.client.ns, ["curl", "-s", "-m", "3", `http://${lab.vip}/`]);
      assert.equal(ok.stdout.trim(), `rs1 ${lab.client.ip}`);
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});
