/**
 * `dsr lab up|down|demo` and the hidden `dsr lab serve` that the lab's real
 * servers run. `lab up --ha vrrp|bgp` builds two balancers with keepalived
 * or BIRD (SPEC §11); the second balancer's socket and state file carry
 * `.lb2` in their names.
 * @module
 */

import { dirname } from "node:path";
import { addRip, addVip, delVip } from "../../control/config_ops.ts";
import { RuntimeError } from "../../control/errors.ts";
import { parseInteger } from "../../control/parse.ts";
import type { Status } from "../../control/status.ts";
import { serveLabHttp } from "../../lab/http_server.ts";
import { haProcesses, nodePaths, routerNextHops } from "../../lab/ha.ts";
import { selfCommand, spawnDetached } from "../../lab/self.ts";
import { type Lab, labDescribe, labDown, type LabHa, labUp } from "../../lab/topology.ts";
import { saveState, withStateLock } from "../../control/state_file.ts";
import { DaemonClient, makeChange, type Paths, readConfig } from "../../client/mod.ts";
import type { Config } from "../../control/config.ts";

const PREFIX = Deno.env.get("DSR_LAB_PREFIX") ?? "dsr-lab";
const PORT = 80;

/** A change of several objects at once: the whole document, offline or through the daemon. */
async function changeWhole(paths: Paths, fn: (config: Config) => Config): Promise<void> {
  const next = fn(await readConfig(paths));
  await makeChange(paths, {
    request: { method: "PUT", path: "/v1/config", body: next },
    offline: fn,
  });
}

async function waitForDaemon(paths: Paths, lab: Lab, ms: number): Promise<Status> {
  const deadline = Date.now() + ms;
  let last = "no answer";
  while (Date.now() < deadline) {
    const client = await DaemonClient.connect(paths).catch(() => null);
    if (client) {
      try {
        const status = await client.request<Status>("GET", "/v1/status");
        const rips = status.vips.filter((v) => v.vip === lab.vip || v.vip === lab.vip6)
          .flatMap((v) => v.rips);
        if (rips.length > 0 && rips.every((r) => r.state === "up" && r.mac)) return status;
        last = rips.map((r) => `${r.ip} ${r.state}`).join(", ");
      } finally {
        client.close();
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new RuntimeError(
    `the lab balancer did not come up within ${ms / 1000} s (${last}); see its log`,
  );
}

/** The status of balancer `i` of an HA lab, or null while it does not answer. */
async function nodeStatus(paths: Paths, i: number): Promise<Status | null> {
  const client = await DaemonClient.connect({ ...paths, ...nodePaths(paths, i) }).catch(() => null);
  if (!client) return null;
  try {
    return await client.request<Status>("GET", "/v1/status");
  } catch {
    return null;
  } finally {
    client.close();
  }
}

/** Waits until an HA lab serves: a balancer promoted by keepalived, or the router's ECMP route over both. */
async function waitForHa(paths: Paths, lab: Lab, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  let last = "no answer";
  while (Date.now() < deadline) {
    const nodes = await Promise.all(lab.balancers.map((_, i) => nodeStatus(paths, i)));
    last = nodes.map((s, i) =>
      `${lab.balancers[i].name}: ${s ? `${s.ha.role}, announced [${s.announced}]` : "no answer"}`
    ).join("; ");
    const ready = lab.ha === "vrrp"
      ? nodes.some((s) => s?.ha.role === "active")
      : (await routerNextHops(lab)).length === lab.balancers.length;
    if (ready) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new RuntimeError(
    `the lab's ${lab.ha} pair did not come up within ${ms / 1000} s (${last}); see its logs`,
  );
}

/** Builds the lab, configures its VIP and starts servers and balancer(s). */
export async function bringUp(
  paths: Paths,
  servers: number,
  ha: LabHa | null = null,
): Promise<Lab> {
  if (await labDescribe(PREFIX)) {
    throw new RuntimeError(`the lab is already up (remove it with: dsr lab down)`);
  }
  // Dual stack unless BGP: the lab's router speaks IPv4 only.
  const lab = await labUp({ prefix: PREFIX, servers, ha, ipv6: ha !== "bgp" });
  try {
    await changeWhole(paths, (c) => {
      let next = c;
      for (const vip of [lab.vip, lab.vip6]) {
        if (vip === undefined) continue;
        const ref = { vip, port: PORT, proto: "tcp" as const };
        if (next.vips.some((v) => v.vip === vip && v.port === PORT && v.proto === "tcp")) {
          next = delVip(next, ref);
        }
        next = addVip(next, ref);
        for (const s of lab.servers) {
          next = addRip(next, ref, { ip: vip === lab.vip ? s.ip : s.ip6! });
        }
      }
      return next;
    });
    const logDir = dirname(paths.socket);
    await Deno.mkdir(logDir, { recursive: true });
    for (const s of lab.servers) {
      spawnDetached(
        s.ns,
        [...selfCommand(), "lab", "serve", "--name", s.name],
        `${logDir}/lab-${s.name}.log`,
      );
    }
    if (lab.ha) {
      // Both balancers hold the same configuration (hash seed included).
      const config = await readConfig(paths);
      const second = nodePaths(paths, 1).state;
      await withStateLock(second, () => saveState(second, config));
      for (const p of await haProcesses(lab, paths, logDir, selfCommand())) {
        spawnDetached(p.ns, p.argv, `${logDir}/lab-${p.name}.log`);
      }
      // keepalived elects a master once dsr has run 8 s (its check's --min-uptime).
      await waitForHa(paths, lab, 40_000);
      return lab;
    }
    spawnDetached(
      lab.balancer.ns,
      [
        ...selfCommand(),
        "--socket",
        paths.socket,
        "--state",
        paths.state,
        "start",
        "--iface",
        lab.balancer.iface,
      ],
      `${logDir}/lab-balancer.log`,
    );
    await waitForDaemon(paths, lab, 10_000);
    return lab;
  } catch (error) {
    await labDown(PREFIX);
    throw error;
  }
}

/** `dsr lab up`. */
export async function labUpCommand(
  paths: Paths,
  opts: { servers: string; ha?: string },
): Promise<void> {
  const ha = opts.ha === undefined ? null : opts.ha as LabHa;
  const lab = await bringUp(paths, parseInteger(opts.servers, "--servers", 1, 20), ha);
  const balancers = lab.balancers.map((b) => b.ip).join(" and ");
  console.log(
    `lab up: client ${lab.client.ip} (ip netns exec ${lab.client.ns} …), ` +
      `balancer${lab.ha ? "s" : ""} ${balancers}, ` +
      `real servers ${lab.servers.map((s) => s.ip).join(" ")}, VIP ${lab.vip}:${PORT}`,
  );
  if (lab.vip6) {
    console.log(
      `dual stack: client ${lab.client.ip6}, balancer ${lab.balancer.ip6}, ` +
        `real servers ${lab.servers.map((s) => s.ip6).join(" ")}, VIP [${lab.vip6}]:${PORT}`,
    );
  }
  if (lab.ha === "vrrp") {
    console.log(
      `keepalived decides which balancer forwards; logs in ${dirname(paths.socket)}/lab-*.log`,
    );
  } else if (lab.ha === "bgp") {
    console.log(
      `both balancers announce the VIP over BGP to router ${lab.router!.ip} (ECMP); ` +
        `see: ip netns exec ${lab.router!.ns} ip route show ${lab.vip}`,
    );
  }
  console.log(`try: ip netns exec ${lab.client.ns} curl -s http://${lab.vip}/   then: dsr status`);
  if (lab.vip6) console.log(`     ip netns exec ${lab.client.ns} curl -s 'http://[${lab.vip6}]/'`);
  if (lab.ha) {
    console.log(`the second balancer: dsr --socket ${nodePaths(paths, 1).socket} status`);
  }
}

/** `dsr lab down`: stops the lab's processes, removes its namespaces and its VIP. */
export async function labDownCommand(paths: Paths): Promise<void> {
  const lab = await labDescribe(PREFIX).catch(() => null);
  await labDown(PREFIX);
  if (lab) {
    // Its balancers ran in the namespaces just removed: a socket file left
    // by one that was killed answers no one.
    for (const [i] of lab.balancers.entries()) {
      await Deno.remove(nodePaths(paths, i).socket).catch(() => {});
    }
  }
  // The second balancer's state file exists only for the lab.
  if (lab?.ha) await Deno.remove(nodePaths(paths, 1).state).catch(() => {});
  const vips = lab ? [lab.vip, ...lab.vip6 ? [lab.vip6] : []] : ["198.18.0.100", "2001:2::100"];
  await changeWhole(paths, (c) => {
    let next = c;
    for (const vip of vips) {
      const ref = { vip, port: PORT, proto: "tcp" as const };
      if (next.vips.some((v) => v.vip === vip && v.port === PORT && v.proto === "tcp")) {
        next = delVip(next, ref);
      }
    }
    return next;
  });
  console.log("lab down");
}

/**
 * `dsr lab demo`: the lab (built if needed), steady traffic from its client,
 * and `dsr top`. Quitting top stops the traffic and offers to take the lab down.
 */
export async function labDemoCommand(
  paths: Paths,
  opts: { servers: string; seconds: string },
): Promise<void> {
  const seconds = parseInteger(opts.seconds, "--seconds", 1, 86_400);
  const lab = (await labDescribe(PREFIX)) ??
    await bringUp(paths, parseInteger(opts.servers, "--servers", 1, 20));
  const { plainView, startTraffic } = await import("../../lab/demo.ts");
  const traffic = startTraffic(lab, { seconds, port: PORT });
  try {
    if (Deno.stdout.isTerminal() && Deno.stdin.isTerminal()) {
      await (await import("./top.ts")).top(paths, { interval: "1000" });
    } else {
      await plainView(paths, traffic);
    }
  } finally {
    await traffic.stop();
  }
  if (Deno.stdin.isTerminal()) {
    const answer = prompt("Traffic stopped. Take the lab down? [y/N]");
    if (answer?.trim().toLowerCase().startsWith("y")) return await labDownCommand(paths);
  }
  console.log("The lab is still up: dsr top watches it, dsr lab down removes it.");
}

/** `dsr lab serve`: a real server's HTTP server, until SIGTERM. */
export async function labServeCommand(opts: { name: string; port: string }): Promise<void> {
  const stop = new AbortController();
  for (const sig of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(sig, () => stop.abort());
  await serveLabHttp({
    name: opts.name,
    port: parseInteger(opts.port, "--port", 1, 65535),
    signal: stop.signal,
  });
}
