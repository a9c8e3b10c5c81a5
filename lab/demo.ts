/**
 * `dsr lab demo`: traffic from the lab's client through the balancer, with a
 * live view of the balancer's status until the traffic ends or Ctrl-C.
 * @module
 */

import type { Paths } from "../cli/client.ts";
import { DaemonClient } from "../cli/client.ts";
import type { Status } from "../control/status.ts";
import { selfCommand } from "./self.ts";
import type { Lab } from "./topology.ts";

function render(s: Status): string {
  const lines = [`dsr lab demo: ${s.iface} ${s.mac}  up ${s.uptimeSeconds}s  flows ${s.flows}`, ""];
  for (const v of s.vips) {
    lines.push(
      `${v.vip}:${v.port}/${v.proto} ${v.scheduler}  conns ${v.connections}  packets ${v.packets}`,
    );
    for (const r of v.rips) {
      lines.push(
        `  ${r.ip.padEnd(15)} ${r.state.padEnd(10)} active ${
          String(r.activeConns).padStart(4)
        }  inactive ${String(r.inactiveConns).padStart(4)}  conns ${
          String(r.connections).padStart(6)
        }  packets ${r.packets}`,
      );
    }
  }
  lines.push("", "Ctrl-C stops the traffic; `dsr lab down` removes the lab.");
  return lines.join("\n");
}

/** Runs the demo for `seconds`. */
export async function runDemo(
  paths: Paths,
  lab: Lab,
  options: { seconds: number; port: number },
): Promise<void> {
  const traffic = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      lab.client.ns,
      ...selfCommand(),
      "lab",
      "traffic",
      "--url",
      `http://${lab.vip}:${options.port}/`,
      "--seconds",
      String(options.seconds),
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const stop = () => {
    try {
      traffic.kill("SIGTERM");
    } catch { /* already gone */ }
  };
  Deno.addSignalListener("SIGINT", stop);
  const done = traffic.status;
  let finished = false;
  done.then(() => finished = true);
  while (!finished) {
    const client = await DaemonClient.connect(paths.socket).catch(() => null);
    let view = "the lab balancer is not answering on " + paths.socket;
    if (client) {
      try {
        view = render(await client.request<Status>("GET", "/v1/status"));
      } catch (error) {
        view = (error as Error).message;
      } finally {
        client.close();
      }
    }
    console.log("\x1b[H\x1b[2J" + view);
    await Promise.race([done, new Promise((r) => setTimeout(r, 1000))]);
  }
  Deno.removeSignalListener("SIGINT", stop);
}
