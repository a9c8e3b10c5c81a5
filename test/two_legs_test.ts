/**
 * End to end: the DR part of the Linux kernel's own IPVS selftest
 * (tools/testing/selftests/net/netfilter/ipvs.sh, `test_dr`) with dsr in
 * place of ipvsadm, through the real CLI, daemon and libpcap. Its topology:
 *
 *   ns0 (client)  br0 = veth01 + veth02, 10.0.0.2/24, VIP routed via 10.0.0.1
 *   ns1 (balancer) veth10 10.0.0.1/24 (clients' leg), veth12 172.16.0.1/24 (servers' leg)
 *   ns2 (real server) veth21 172.16.0.2/24 behind the balancer, veth20 10.0.0.3/24
 *       back to the client (the third link), VIP on lo with the ARP problem solved
 *
 * here in our test ranges (198.18.10.0/24, 198.18.11.0/24, VIP 198.18.12.110,
 * port 8080 as there). The balancer takes the VIP's traffic on its clients'
 * leg and sends it out of its other leg, where the real server is; the real
 * server answers the client over the third link. The selftest's socat gives
 * way to HTTP.
 * @module
 */

import assert from "node:assert/strict";
import { labDown, nsExec } from "../lab/topology.ts";
import { run } from "../control/run.ts";
import { DSR, dsr, dsrOk, status, stopAll, tempPaths } from "./_dsr.ts";
import { type NsProcess, nsSpawn, requireRoot, uniquePrefix, waitFor } from "./_netns.ts";

const PORT = 8080;
const VIP = "198.18.12.110";
const CIP = "198.18.10.2"; // the client, on br0
const GIP = "198.18.10.1"; // the balancer's clients' leg (veth10): the client's gateway for the VIP
const DIP = "198.18.11.1"; // the balancer's servers' leg (veth12)
const RIP = "198.18.11.2"; // the real server behind the balancer (veth21)
const SIP = "198.18.10.3"; // the real server's third link, to the client (veth20)
const REQUESTS = 20;
/** As the lab's veths: every frame leaves finished, as from a real NIC. */
const FINISHED = ["tx", "off", "tso", "off", "gso", "off"];

interface Topology {
  client: string;
  balancer: string;
  server: string;
}

async function ip(args: string[]): Promise<void> {
  const r = await run(["ip", ...args], { timeoutMs: 10_000 });
  if (!r.ok) throw new Error(`ip ${args.join(" ")}: ${r.stderr.trim()}`);
}

async function inNs(ns: string, cmd: string[]): Promise<string> {
  return (await nsExec(ns, cmd, { check: true, timeoutMs: 20_000 })).stdout;
}

/** ipvs.sh's setup(), namespaces named so `labDown(prefix)` removes them. */
async function setup(prefix: string): Promise<Topology> {
  const t = { client: `${prefix}-client`, balancer: `${prefix}-lb`, server: `${prefix}-rs1` };
  for (const ns of [t.client, t.balancer, t.server]) {
    await ip(["netns", "add", ns]);
    await ip(["-n", ns, "link", "set", "lo", "up"]);
    // No IPv6 chatter (DAD, router solicitations) on these wires.
    await inNs(ns, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
    await inNs(ns, ["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"]);
  }
  await ip(["-n", t.client, "link", "add", "veth01", "type", "veth", "peer", "name", "veth10"]
    .concat(["netns", t.balancer]));
  await ip(["-n", t.client, "link", "add", "veth02", "type", "veth", "peer", "name", "veth20"]
    .concat(["netns", t.server]));
  await ip(["-n", t.balancer, "link", "add", "veth12", "type", "veth", "peer", "name", "veth21"]
    .concat(["netns", t.server]));
  const links: [string, string[]][] = [
    [t.client, ["veth01", "veth02"]],
    [t.balancer, ["veth10", "veth12"]],
    [t.server, ["veth20", "veth21"]],
  ];
  for (const [ns, names] of links) {
    for (const name of names) await inNs(ns, ["ethtool", "-K", name, ...FINISHED, "gro", "off"]);
  }

  await ip(["-n", t.client, "link", "add", "br0", "type", "bridge", "forward_delay", "0"]);
  await inNs(t.client, [
    "sysctl",
    "-qw",
    "net.bridge.bridge-nf-call-iptables=0",
    "net.bridge.bridge-nf-call-ip6tables=0",
    "net.bridge.bridge-nf-call-arptables=0",
  ]).catch(() => ""); // only there when br_netfilter is loaded
  for (const port of ["veth01", "veth02"]) {
    await ip(["-n", t.client, "link", "set", port, "master", "br0", "up"]);
  }
  await ip(["-n", t.client, "link", "set", "br0", "up"]);
  await ip(["-n", t.client, "addr", "add", `${CIP}/24`, "dev", "br0"]);

  await ip(["-n", t.balancer, "addr", "add", `${GIP}/24`, "dev", "veth10"]);
  await ip(["-n", t.balancer, "addr", "add", `${DIP}/24`, "dev", "veth12"]);
  for (const name of ["veth10", "veth12"]) await ip(["-n", t.balancer, "link", "set", name, "up"]);

  await ip(["-n", t.server, "addr", "add", `${RIP}/24`, "dev", "veth21"]);
  await ip(["-n", t.server, "addr", "add", `${SIP}/24`, "dev", "veth20"]);
  for (const name of ["veth20", "veth21"]) await ip(["-n", t.server, "link", "set", name, "up"]);

  // test_dr(), but for what IPVS alone needs: dsr wants the kernel not to
  // forward (it warns otherwise), and a VIP on the balancer's lo would make
  // its kernel answer and reset the connections (dsr refuses to start).
  await ip(["-n", t.client, "route", "add", VIP, "via", GIP, "dev", "br0"]);
  await inNs(t.balancer, ["sysctl", "-qw", "net.ipv4.ip_forward=0"]);
  // avoid incorrect arp response; avoid reverse route lookup (as ipvs.sh)
  await inNs(t.server, [
    "sysctl",
    "-qw",
    "net.ipv4.conf.all.arp_ignore=1",
    "net.ipv4.conf.all.arp_announce=2",
    "net.ipv4.conf.all.rp_filter=0",
    "net.ipv4.conf.veth21.rp_filter=0",
  ]);
  await ip(["-n", t.server, "addr", "add", `${VIP}/32`, "dev", "lo"]);
  return t;
}

/** An interface's transmitted packets, from `ip -s`. */
async function txPackets(ns: string, dev: string): Promise<number> {
  const [link] = JSON.parse(await inNs(ns, ["ip", "-j", "-s", "link", "show", "dev", dev]));
  return link.stats64.tx.packets;
}

/** Whether dsr's tc ingress drop (pref 213) sits on `dev`. */
async function hasIngressDrop(ns: string, dev: string): Promise<boolean> {
  const out = await inNs(ns, ["tc", "filter", "show", "dev", dev, "ingress"]);
  return /pref 213 /.test(out);
}

Deno.test("the DR topology of the kernel's IPVS selftest (ipvs.sh test_dr) with dsr in place of ipvsadm: the VIP taken on the clients' leg, sent out of the servers' leg, answered over the third link", async () => {
  requireRoot();
  const prefix = uniquePrefix();
  const paths = await tempPaths();
  const processes: NsProcess[] = [];
  try {
    const t = await setup(prefix);
    // ipvsadm -A -t VIP:8080 -s rr; ipvsadm -a -t VIP:8080 -r RIP:8080 (DR is ipvsadm's default)
    await dsrOk(paths, ["vip", "add", `${VIP}:${PORT}`, "--scheduler", "rr"]);
    await dsrOk(paths, ["rip", "add", `${VIP}:${PORT}`, RIP]);

    const server = nsSpawn(t.server, [
      ...DSR,
      "lab",
      "serve",
      "--name",
      "rs1",
      "--port",
      `${PORT}`,
    ]);
    processes.push(server);
    await waitFor("the real server to listen", async () => {
      const r = await nsExec(t.server, ["curl", "-sf", "-m", "1", `http://${RIP}:${PORT}/`]);
      return r.code === 0;
    }, 15_000);

    const daemon = nsSpawn(t.balancer, [
      ...DSR,
      "--socket",
      paths.socket,
      "--state",
      paths.state,
      "start",
      "--iface",
      "veth10",
      "--iface",
      "veth12",
    ]);
    processes.push(daemon);
    const [veth21] = JSON.parse(
      await inNs(t.server, ["ip", "-j", "link", "show", "dev", "veth21"]),
    );
    try {
      await waitFor("the real server behind the other leg to be up and resolved", async () => {
        const rip = (await status(paths)).vips[0].rips[0];
        return rip.state === "up" && rip.mac === veth21.address;
      }, 15_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}\ndaemon output:\n${daemon.output()}`);
    }
    const before = await status(paths);
    assert.equal(before.iface, "veth10");
    assert.deepEqual(before.ifaces, ["veth10", "veth12"]);
    assert.match(daemon.output(), /forwarding on veth10 \([0-9a-f:]{17}\) and veth12 /);
    assert.match(await dsrOk(paths, ["status"]), /^veth10 [0-9a-f:]{17} {2}legs veth10 veth12 {2}/);
    for (const dev of ["veth10", "veth12"]) {
      assert.ok(await hasIngressDrop(t.balancer, dev), `ingress drop on ${dev}`);
    }

    const repliesBefore = await txPackets(t.server, "veth20");
    const toClientBefore = await txPackets(t.balancer, "veth10");
    for (let i = 0; i < REQUESTS; i++) {
      const r = await nsExec(t.client, ["curl", "-sS", "-m", "5", `http://${VIP}:${PORT}/`], {
        timeoutMs: 10_000,
      });
      assert.equal(r.code, 0, `request ${i}: ${r.stderr}`);
      // The real server saw the client itself: DR is transparent.
      assert.equal(r.stdout, `rs1 ${CIP}\n`);
    }
    const after = await status(paths);
    const rip = after.vips[0].rips[0];
    assert.equal(rip.connections, REQUESTS);
    assert.ok(rip.packets >= REQUESTS * 4, `packets to the real server: ${rip.packets}`);
    // The answers left the real server by the third link, never by the balancer.
    const replies = (await txPackets(t.server, "veth20")) - repliesBefore;
    assert.ok(replies >= REQUESTS * 3, `real server → client over veth20: ${replies} packets`);
    const toClient = (await txPackets(t.balancer, "veth10")) - toClientBefore;
    assert.ok(toClient <= 4, `balancer → clients' leg: ${toClient} packets (ARP at most)`);

    // A real server on neither leg's subnet is refused, naming both.
    const far = await dsr(paths, ["rip", "add", `${VIP}:${PORT}`, "198.18.13.5"]);
    assert.equal(far.code, 2, far.stderr);
    assert.match(
      far.stderr,
      /is not on 198\.18\.10\.0\/24 of veth10 or 198\.18\.11\.0\/24 of veth12/,
    );

    await daemon.kill();
    for (const dev of ["veth10", "veth12"]) {
      assert.ok(!(await hasIngressDrop(t.balancer, dev)), `ingress drop left on ${dev}`);
    }
  } finally {
    await stopAll(processes);
    await labDown(prefix);
    await Deno.remove(paths.dir, { recursive: true }).catch(() => {});
  }
});
