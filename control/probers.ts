/**
 * The three health checks of SPEC §3, each answering ok or an error text:
 * `tcp` connects to RIP:port, `http` GETs http://RIP:port/path and expects a
 * status, `dr` sends the DR-path probe through the data plane.
 * @module
 */

import type { ProbeResult } from "./dataplane_host.ts";
import { httpStatus } from "./http_probe.ts";

/** Everything a check needs to know about its target. */
export interface ProbeTarget {
  type: "tcp" | "http" | "dr";
  ip: string;
  /** Port of the check (the service's unless overridden). */
  port: number;
  path: string;
  expect: number;
  vip: string;
  /** The VIP's own port, where the DR-path probe goes. */
  vipPort: number;
  /** The real server's neighbour slot, for the DR-path probe. */
  neighbor: number;
}

/** Runs one check; resolves with null when it passed, else the reason it failed. */
export type Prober = (target: ProbeTarget, timeoutMs: number) => Promise<string | null>;

function timeout<T>(ms: number, work: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    work,
    new Promise<never>((_, reject) =>
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)
    ),
  ]).finally(() => clearTimeout(timer));
}

async function tcp(t: ProbeTarget, ms: number): Promise<string | null> {
  const connecting = Deno.connect({ hostname: t.ip, port: t.port });
  try {
    (await timeout(ms, connecting, `connect to ${t.ip}:${t.port}`)).close();
    return null;
  } catch (error) {
    // A connect that finishes after the timeout must still be closed.
    connecting.then((c) => c.close(), () => {});
    return (error as Error).message;
  }
}

async function http(t: ProbeTarget, ms: number): Promise<string | null> {
  const url = `http://${t.ip}:${t.port}${t.path}`;
  try {
    const status = await httpStatus({ ip: t.ip, port: t.port, path: t.path }, ms);
    return status === t.expect ? null : `GET ${url} answered ${status}, expected ${t.expect}`;
  } catch (error) {
    return `GET ${url} failed: ${(error as Error).message}`;
  }
}

/** The probers of a running daemon; `dr` goes through its data plane. */
export function realProber(
  probe: (
    neighbor: number,
    vip: string,
    port: number,
    ms: number,
  ) => Promise<ProbeResult | "unresolved">,
): Prober {
  return async (t, ms) => {
    if (t.type === "tcp") return await tcp(t, ms);
    if (t.type === "http") return await http(t, ms);
    // No slot yet: the program that adds this real server is not in force.
    const answer = t.neighbor < 0 ? "unresolved" : await probe(t.neighbor, t.vip, t.vipPort, ms);
    if (answer === "syn-ack") return null;
    if (answer === "unresolved") return `the MAC of ${t.ip} is not known (no answer to ARP)`;
    if (answer === "rst") {
      return `${t.ip} holds ${t.vip} but nothing listens on port ${t.vipPort} (RST)`;
    }
    return `no answer from ${t.ip} for ${t.vip}:${t.vipPort} within ${ms} ms (is ${t.vip} on its loopback?)`;
  };
}
