/**
 * `dsr trace CLIENT[:PORT] VIP:PORT [--proto tcp|udp] [--json]`: asks the
 * running daemon where that flow goes now and why, without a packet.
 * @module
 */

import { type Paths, requireDaemon } from "../../client/mod.ts";
import { UsageError } from "../../control/errors.ts";
import { parseRip, parseVipPort } from "../../control/parse.ts";
import type { TraceSubject } from "../../control/trace_query.ts";
import type { TraceAnswer } from "../../dataplane/trace.ts";
import { protoOf } from "../options.ts";
import { printJson } from "../print.ts";

/** A trace answer as the daemon sends it. */
export type Trace = TraceSubject & TraceAnswer;

/** The query string of `GET /v1/trace` for the command line's arguments. */
export function traceRequest(client: string, service: string, proto?: string): string {
  let c: { ip: string; port: number | null };
  try {
    c = parseRip(client);
  } catch {
    throw new UsageError(
      `invalid CLIENT[:PORT] "${client}": expected an address, optionally with a port (198.18.0.2, 198.18.0.2:40000, [2001:2::2]:40000)`,
    );
  }
  const { vip, port } = parseVipPort(service);
  const params = new URLSearchParams({
    client: c.ip,
    vip: `${vip.includes(":") ? `[${vip}]` : vip}:${port}`,
  });
  if (c.port !== null) params.set("port", String(c.port));
  params.set("proto", protoOf({ proto }));
  return `/v1/trace?${params}`;
}

const s = (seconds: number) => `${seconds.toFixed(1)} s`;

/** The answer in a sentence or two, for people. */
export function describeTrace(t: Trace): string {
  const host = (ip: string) => (ip.includes(":") ? `[${ip}]` : ip);
  const from = t.port === null ? t.client : `${host(t.client)}:${t.port}`;
  const head = `${from} → ${host(t.vip)}:${t.vipPort}/${t.proto}:`;
  const to = `${t.rip} (${t.mac ?? "MAC unknown"})`;
  const why: Record<string, string> = {
    flow: t.flow
      ? `existing flow, ${t.flow.state}, idle ${s(t.flow.idleSeconds)}, expires in ${
        s(t.flow.expiresInSeconds)
      }`
      : "existing flow",
    persist: `client persistence (--persist), expires in ${s(t.persist?.expiresInSeconds ?? 0)}`,
    schedule: t.slot === null
      ? `new flow, ${t.scheduler} picks it now`
      : `new flow, ${t.scheduler} picks it: Maglev slot ${t.slot} of ${t.ringSize}`,
    fallback: "no real server is usable: the fallback (sorry) server",
  };
  switch (t.reason) {
    case "noService":
      return `${head} drop: no such service (counted as noService)`;
    case "noBackend":
      return `${head} drop: no real server is usable and there is no fallback (counted as noBackend)`;
    case "unresolved":
      return `${head} drop: the MAC of ${t.rip} is not known yet (no answer to ARP; counted as noBackend)`;
    case "standby":
      return `${head} drop: this node is the standby and forwards nothing`;
    case "needsPort":
      return `${head} ${t.scheduler} hashes the client's port too: give CLIENT:PORT`;
    default:
      return `${head} forward to ${to}\n  ${why[t.reason] ?? t.reason}`;
  }
}

/** `dsr trace`. */
export async function trace(
  paths: Paths,
  client: string,
  service: string,
  opts: { proto?: string; json?: boolean },
): Promise<void> {
  const path = traceRequest(client, service, opts.proto);
  const daemon = await requireDaemon(paths);
  let answer: Trace;
  try {
    answer = await daemon.request<Trace>("GET", path);
  } finally {
    daemon.close();
  }
  if (opts.json) printJson(answer);
  else console.log(describeTrace(answer));
}
