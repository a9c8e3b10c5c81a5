/**
 * The HTTP(S) health check's request, spoken straight over a TCP (or TLS)
 * connection to the real server. `fetch` would honour HTTP_PROXY,
 * http_proxy and ALL_PROXY from the daemon's environment and check the proxy
 * instead of the server (SPEC §3); a check needs only the status line, so
 * one GET with `Connection: close` is all there is to speak.
 * @module
 */

import { type ByteConn, connectTls } from "./tls_conn.ts";

/** Where and what to GET. */
export interface HttpProbeTarget {
  ip: string;
  port: number;
  path: string;
  /** Host header and, over TLS, the SNI name and the name the certificate must carry; default the IP. */
  host?: string;
  /**
   * Speak TLS, sending `host` as SNI. The certificate must chain to a trusted
   * root (`caCerts` adds some) and name `host`, unless `insecure`.
   */
  tls?: { insecure?: boolean; caCerts?: string[] };
}

/** Longest status line and headers read before giving up on an answer. */
const MAX_HEAD = 16 * 1024;

/**
 * GETs `target` and resolves with the answer's status code.
 * @throws {Error} with a short reason (refused, reset, timed out, not HTTP)
 */
export async function httpStatus(target: HttpProbeTarget, timeoutMs: number): Promise<number> {
  const signal = AbortSignal.timeout(timeoutMs);
  const timedOut = new Promise<never>((_, reject) =>
    signal.addEventListener(
      "abort",
      () => reject(new Error(`timed out after ${timeoutMs} ms`)),
      { once: true },
    )
  );
  timedOut.catch(() => {});
  const opened: Promise<ByteConn> = target.tls
    ? connectTls({
      ip: target.ip,
      port: target.port,
      servername: target.host,
      insecure: target.tls.insecure,
      caCerts: target.tls.caCerts,
    }, signal)
    : Deno.connect({ hostname: target.ip, port: target.port });
  try {
    const c = await Promise.race([opened, timedOut]);
    const host = target.host ?? (target.ip.includes(":") ? `[${target.ip}]` : target.ip);
    const request = `GET ${target.path} HTTP/1.1\r\nHost: ${host}\r\n` +
      `User-Agent: dsr-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n`;
    await Promise.race([writeAll(c, new TextEncoder().encode(request)), timedOut]);
    return await Promise.race([readStatus(c), timedOut]);
  } finally {
    // Closed once, whenever it opens: also a connect that finishes after the deadline.
    opened.then((c) => {
      try {
        c.close();
      } catch {
        // a read or write in flight closed it already
      }
    }, () => {});
  }
}

async function writeAll(conn: ByteConn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

async function readStatus(conn: ByteConn): Promise<number> {
  const buf = new Uint8Array(MAX_HEAD);
  let len = 0;
  for (;;) {
    const n = await conn.read(buf.subarray(len));
    if (n === null) break;
    len += n;
    const text = new TextDecoder().decode(buf.subarray(0, len));
    const eol = text.indexOf("\r\n");
    if (eol >= 0) return parseStatusLine(text.slice(0, eol));
    if (len === buf.length) break;
  }
  throw new Error(len === 0 ? "closed without an answer" : "the answer is not HTTP");
}

/**
 * The status code of an HTTP/1.x status line.
 * @throws {Error} when `line` is not one
 */
export function parseStatusLine(line: string): number {
  const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(line);
  if (!m) throw new Error(`the answer is not HTTP: ${JSON.stringify(line.slice(0, 40))}`);
  return Number(m[1]);
}
