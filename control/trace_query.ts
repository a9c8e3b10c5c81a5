/**
 * The question `dsr trace` asks (`GET /v1/trace`), from its query string
 * to what the data plane's trace reads: `client=ADDRESS`, optional
 * `port=N` (the client's port), `vip=VIP:PORT` and `proto=tcp|udp`.
 * @module
 */

import { isIpv4, parseIpv4 } from "../dataplane/addr.ts";
import { ipv6Words, parseIpv6 } from "../dataplane/addr6.ts";
import type { TraceQuery } from "../dataplane/trace.ts";
import { UsageError } from "./errors.ts";
import { parseInteger, parseIp, parseProto, parseVipPort } from "./parse.ts";

/** The question in words, as the answer repeats it. */
export interface TraceSubject {
  client: string;
  port: number | null;
  vip: string;
  vipPort: number;
  proto: "tcp" | "udp";
}

/**
 * Reads a trace question from query parameters.
 * @throws {UsageError} naming the parameter that is missing or malformed
 */
export function parseTraceParams(params: URLSearchParams): TraceSubject {
  const need = (name: string) => {
    const value = params.get(name);
    if (value === null) throw new UsageError(`missing parameter ${name}`, "invalid", name);
    return value;
  };
  const client = parseIp(need("client"), "client");
  const port = params.has("port") ? parseInteger(need("port"), "client port", 1, 65535) : null;
  const { vip, port: vipPort } = parseVipPort(need("vip"));
  const proto = parseProto(params.get("proto") ?? "tcp");
  if (isIpv4(client) !== isIpv4(vip)) {
    throw new UsageError(
      `client ${client} and VIP ${vip} are not of one address family`,
      "invalid",
      "client",
    );
  }
  return { client, port, vip, vipPort, proto };
}

/** The data plane's form of a question. */
export function traceQuery(s: TraceSubject): TraceQuery {
  const proto = s.proto === "tcp" ? 6 : 17;
  const port = s.port ?? -1;
  if (isIpv4(s.client)) {
    return { client: parseIpv4(s.client), port, vip: parseIpv4(s.vip), vipPort: s.vipPort, proto };
  }
  return {
    client: 0,
    client6: ipv6Words(parseIpv6(s.client)),
    port,
    vip: 0,
    vip6: ipv6Words(parseIpv6(s.vip)),
    vipPort: s.vipPort,
    proto,
  };
}
