/**
 * `dsr lab up|down|demo` and the hidden `dsr lab serve` that the lab's real
 * servers run.
 * @module
 */

import { dirname } from "node:path";
import { addRip, addVip, delVip } from "../../control/config_ops.ts";
import { RuntimeError } from "../../control/errors.ts";
import { parseInteger } from "../../control/parse.ts";
import type { Status } from "../../control/status.ts";
import { serveLabHttp } from "../../lab/http_server.ts";
import { selfCommand, spawnDetached } from "../../lab/self.ts";
import { type Lab, labDescribe, labDown, labUp } from "../../lab/topology.ts";
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
        const rips = status.vips.find((v) => v.vip === lab.vip)?.rips ?? [];
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

/** Builds the lab, configures its VIP and starts servers and balancer. */
export async function bringUp(paths: Paths, servers: number): Promise<Lab> {
  if (await labDescribe(PREFIX)) {
    throw new RuntimeError(`the lab is already up (remove it with: dsr lab down)`);
  }
  const lab = await labUp({ prefix: PREFIX, servers });
  try {
    const ref = { vip: lab.vip, port: PORT, proto: "tcp" as const };
    await changeWhole(paths, (c) => {
      let next = c.vips.some((v) => v.vip === ref.vip && v.port === PORT && v.proto === "tcp")
        ? delVip(c, ref)
        : c;
      next = addVip(next, ref);
      for (const s of lab.servers) next = addRip(next, ref, { ip: s.ip });
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
export async function labUpCommand(paths: Paths, opts: { servers: string }): Promise<void> {
  const lab = await bringUp(paths, parseInteger(opts.servers, "--servers", 1, 20));
  console.log(
    `lab up: client ${lab.client.ip} (ip netns exec ${lab.client.ns} …), balancer ${lab.balancer.ip}, ` +
      `real servers ${lab.servers.map((s) => s.ip).join(" ")}, VIP ${lab.vip}:${PORT}`,
  );
  console.log(`try: ip netns exec ${lab.client.ns} curl -s http://${lab.vip}/   then: dsr status`);
}

/** `dsr lab down`: stops the lab's processes, removes its namespaces and its VIP. */
export async function labDownCommand(paths: Paths): Promise<void> {
  const lab = await labDescribe(PREFIX).catch(() => null);
  await labDown(PREFIX);
  const vip = lab?.vip ?? "198.18.0.100";
  await changeWhole(paths, (c) => {
    const ref = { vip, port: PORT, proto: "tcp" as const };
    return c.vips.some((v) => v.vip === vip && v.port === PORT && v.proto === "tcp")
      ? delVip(c, ref)
      : c;
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
