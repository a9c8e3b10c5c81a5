/**
 * `dsr lab demo`: a steady, bounded stream of requests from the lab's client
 * through the balancer (with a few long-lived connections), watched live. A
 * dual-stack lab gets a stream to each VIP, IPv4 and IPv6.
 * @module
 */

import { DaemonClient, type Paths } from "../client/mod.ts";
import type { Status } from "../control/status.ts";
import { hostPort } from "../dataplane/ip.ts";
import { selfCommand } from "./self.ts";
import type { Lab } from "./topology.ts";

/** The client's traffic, running until `seconds` pass or `stop` is called. */
export interface Traffic {
  stop(): Promise<void>;
  done: Promise<unknown>;
}

/** Starts `dsr lab traffic` in the lab's client namespace, to each of its VIPs. */
export function startTraffic(lab: Lab, options: { seconds: number; port: number }): Traffic {
  const urls = [`http://${lab.vip}:${options.port}/`];
  if (lab.vip6) urls.push(`http://[${lab.vip6}]:${options.port}/`);
  const streams = urls.map((url) => oneStream(lab, url, options.seconds));
  return {
    done: Promise.all(streams.map((s) => s.done)),
    async stop() {
      await Promise.all(streams.map((s) => s.stop()));
    },
  };
}

function oneStream(lab: Lab, url: string, seconds: number): Traffic {
  const child = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      lab.client.ns,
      ...selfCommand(),
      "lab",
      "traffic",
      "--url",
      url,
      "--seconds",
      String(seconds),
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  return {
    done: child.status,
    async stop() {
      // Demo traffic holds nothing worth finishing: long-lived requests would only delay the prompt.
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
    },
  };
}

function render(s: Status): string {
  const lines = [`dsr lab demo: ${s.iface} ${s.mac}  up ${s.uptimeSeconds}s  flows ${s.flows}`, ""];
  // IPv6 real servers are longer than 15 characters.
  const width = Math.max(15, ...s.vips.flatMap((v) => v.rips.map((r) => r.ip.length)));
  for (const v of s.vips) {
    lines.push(
      `${
        hostPort(v.vip, v.port)
      }/${v.proto} ${v.scheduler}  conns ${v.connections}  packets ${v.packets}`,
    );
    for (const r of v.rips) {
      lines.push(
        `  ${r.ip.padEnd(width)} ${r.state.padEnd(10)} active ${
          String(r.activeConns).padStart(4)
        }  inactive ${String(r.inactiveConns).padStart(4)}  conns ${
          String(r.connections).padStart(6)
        }  packets ${r.packets}`,
      );
    }
  }
  return lines.join("\n");
}

/** Without a terminal for `dsr top`: one status summary a second until the traffic ends. */
export async function plainView(paths: Paths, traffic: Traffic): Promise<void> {
  let finished = false;
  traffic.done.then(() => finished = true);
  while (!finished) {
    const client = await DaemonClient.connect(paths).catch(() => null);
    let view = `the lab balancer is not answering on ${paths.socket}`;
    if (client) {
      try {
        view = render(await client.request<Status>("GET", "/v1/status"));
      } catch (error) {
        view = (error as Error).message;
      } finally {
        client.close();
      }
    }
    console.log(view + "\n");
    await Promise.race([traffic.done, new Promise((r) => setTimeout(r, 1000))]);
  }
}
