/**
 * The health checks of SPEC §3, each answering ok or an error text: `tcp`
 * connects to RIP:port, `http`/`https` GET a path and expect a status, `udp`
 * and `dns` exchange one datagram (see udp_probe.ts), `ping` runs ping(8),
 * `exec` runs the operator's program, and `dr` sends the DR-path probe
 * through the data plane.
 * @module
 */

import { basename } from "node:path";
import type { Check, Proto } from "./config.ts";
import type { ProbeResult } from "./dataplane_host.ts";
import { httpStatus } from "./http_probe.ts";
import { run, runGroup } from "./run.ts";
import { dnsCheck, udpCheck } from "./udp_probe.ts";

/** Everything a check needs to know about its target. */
export interface ProbeTarget {
  type: Exclude<Check["type"], "none">;
  ip: string;
  /** Port of the check (the service's unless overridden). */
  port: number;
  path: string;
  expect: number;
  vip: string;
  /** The VIP's own port, where the DR-path probe goes. */
  vipPort: number;
  /** The service's protocol (given to `exec` checks; tcp when absent). */
  proto?: Proto;
  /** The real server's neighbour slot, for the DR-path probe. */
  neighbor: number;
  /** The type's own settings, as in {@link Check}. */
  host?: string;
  insecure?: boolean;
  send?: string;
  receive?: string;
  query?: string;
  command?: string[];
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

/**
 * Connects, then closes with a FIN and never a RST: a RST is what a close
 * with unread data sends (a server's banner, as SSH and SMTP send at once),
 * and servers log it as an error (keepalived's TCP_CHECK drew that
 * complaint). So the check shuts its side down first and reads what comes
 * until the server closes, off the check's clock.
 */
async function tcp(t: ProbeTarget, ms: number): Promise<string | null> {
  const connecting = Deno.connect({ hostname: t.ip, port: t.port });
  try {
    const conn = await timeout(ms, connecting, `connect to ${t.ip}:${t.port}`);
    closeGently(conn, ms);
    return null;
  } catch (error) {
    // A connect that finishes after the timeout must still be closed.
    connecting.then((c) => closeGently(c, ms), () => {});
    return (error as Error).message;
  }
}

/** Sends FIN, drains until the peer's FIN or `ms`, then closes. */
async function closeGently(conn: Deno.Conn, ms: number): Promise<void> {
  const timer = setTimeout(() => conn.close(), ms);
  try {
    await conn.closeWrite();
    const sink = new Uint8Array(4096);
    while (await conn.read(sink) !== null) { /* discard */ }
    clearTimeout(timer);
    conn.close();
  } catch {
    // closed by the timer, or reset by the peer: nothing left to do
    clearTimeout(timer);
  }
}

async function http(t: ProbeTarget, ms: number): Promise<string | null> {
  const tls = t.type === "https";
  const url = `${t.type}://${t.host ?? t.ip}:${t.port}${t.path}`;
  const via = t.host ? ` (at ${t.ip})` : "";
  try {
    const status = await httpStatus({
      ip: t.ip,
      port: t.port,
      path: t.path,
      host: t.host,
      tls: tls ? { insecure: t.insecure } : undefined,
    }, ms);
    return status === t.expect ? null : `GET ${url}${via} answered ${status}, expected ${t.expect}`;
  } catch (error) {
    return `GET ${url}${via} failed: ${(error as Error).message}`;
  }
}

/** ICMP echo through ping(8), which holds the raw socket capability dsr does not need. */
async function ping(t: ProbeTarget, ms: number): Promise<string | null> {
  const seconds = String(Math.max(0.001, ms / 1000));
  const r = await run(["ping", "-n", "-q", "-c", "1", "-W", seconds, t.ip], {
    timeoutMs: ms + 1000,
  });
  if (r.ok) return null;
  if (r.code === 1) return `no echo reply from ${t.ip} within ${ms} ms`;
  return `ping ${t.ip} failed: ${
    (r.stderr.trim().split("\n").at(-1) ?? "").trim() || `exit ${r.code}`
  }`;
}

/** The operator's program, argv as configured, with the service in its environment. */
async function exec(t: ProbeTarget, ms: number): Promise<string | null> {
  const argv = t.command ?? [];
  const name = basename(argv[0] ?? "");
  try {
    const r = await runGroup(argv, {
      timeoutMs: ms,
      env: {
        DSR_VIP: t.vip,
        DSR_PORT: String(t.vipPort),
        DSR_PROTO: t.proto ?? "tcp",
        DSR_RIP: t.ip,
      },
    });
    if (r.timedOut) return `${name} killed at the timeout (${ms} ms)`;
    if (r.code === 0) return null;
    const last = r.output.trim().split("\n").at(-1)?.trim() ?? "";
    const how = r.signal ? `was killed by ${r.signal}` : `exited ${r.code}`;
    return `${name} ${how}${last ? `: ${last.slice(0, 200)}` : ""}`;
  } catch (error) {
    return `cannot run ${argv[0]}: ${(error as Error).message}`;
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
    switch (t.type) {
      case "tcp":
        return await tcp(t, ms);
      case "http":
      case "https":
        return await http(t, ms);
      case "udp":
        return await udpCheck(t, ms);
      case "dns":
        return await dnsCheck({ ip: t.ip, port: t.port, query: t.query ?? "." }, ms);
      case "ping":
        return await ping(t, ms);
      case "exec":
        return await exec(t, ms);
    }
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
