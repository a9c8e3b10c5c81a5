/**
 * keepalived's health checkers as dsr checks (see import_keepalived.ts for
 * the mapping and why).
 * @module
 */

import { type Check, defaultCheck } from "./config.ts";
import { splitCommand } from "./command_line.ts";
import type { Statement } from "./_keepalived_parse.ts";
import type { Reader, Timing } from "./_keepalived_reader.ts";
import { ImportError } from "./import_result.ts";

/** keepalived's checker names and the check each becomes. */
export const CHECKERS: Record<string, Check["type"]> = {
  TCP_CHECK: "tcp",
  HTTP_GET: "http",
  SSL_GET: "https",
  MISC_CHECK: "exec",
  UDP_CHECK: "udp",
  DNS_CHECK: "dns",
  PING_CHECK: "ping",
};

/** Checkers with no dsr equivalent. */
export const UNSUPPORTED_CHECKERS = new Set(["SMTP_CHECK", "BFD_CHECK", "FILE_CHECK"]);

/** The dsr check for checker block `c` of a real server on `rsPort`. */
export function readChecker(
  r: Reader,
  c: Statement,
  { rsPort, base }: { rsPort: number; base: Timing },
): Check {
  const type = CHECKERS[c.key];
  const block = c.block ?? [];
  const timing = r.timing(block, base);
  const retry = timing.retry ?? (type === "dns" ? 3 : type === "exec" ? 0 : 1);
  const check: Check = {
    ...defaultCheck("tcp"),
    type,
    interval: timing.delayLoop,
    timeout: timing.connectTimeout,
    rise: 1,
    fall: Math.min(100, retry + 1),
  };
  let urlSeen = false;
  let urlHost: string | null = null;
  for (const s of block) {
    switch (s.key) {
      case "connect_port": {
        const p = r.port(s, s.args[0]);
        if (p !== rsPort) check.port = p;
        break;
      }
      case "connect_ip":
        throw new ImportError(
          s.line,
          "connect_ip: a dsr check goes to the real server's own address",
        );
      case "url":
        if (urlSeen) r.warn(s, "url left out: dsr checks one path, the first url");
        else urlHost = url(r, s, check);
        urlSeen = true;
        break;
      case "misc_path":
        try {
          check.command = splitCommand(s.args.join(" "));
        } catch (error) {
          throw new ImportError(s.line, `misc_path: ${(error as Error).message}`);
        }
        if (!check.command[0].startsWith("/")) {
          throw new ImportError(
            s.line,
            `misc_path: "${check.command[0]}" must be an absolute path`,
          );
        }
        break;
      case "misc_timeout":
        check.timeout = r.number(s, 0.001);
        break;
      case "name":
        check.query = s.args[0];
        break;
      case "type":
        if ((s.args[0] ?? "").toUpperCase() !== "A") {
          r.warn(s, `type ${s.args[0]} left out: the dns check asks for A records`);
        }
        break;
      case "payload":
      case "require_reply":
        udpData(s, check);
        break;
      case "min_reply_length":
      case "max_reply_length":
        r.warn(s, `${s.key} left out: the udp check takes any reply`);
        break;
      case "delay_loop":
      case "connect_timeout":
      case "retry":
      case "nb_get_retry":
      case "virtualhost":
        break;
      default:
        r.other(s);
    }
  }
  if (type === "http" || type === "https") {
    const host = urlHost ?? timing.virtualhost;
    if (host) check.host = host;
    // SSL_GET does not verify the certificate; dsr's https does unless told.
    if (type === "https") check.insecure = true;
  }
  if (type === "dns" && check.query === undefined) {
    r.warn(c, 'DNS_CHECK without name asks for "." (keepalived\'s default), type A');
    check.query = ".";
  }
  if (type === "exec" && check.command === undefined) {
    throw new ImportError(c.line, "MISC_CHECK without misc_path");
  }
  return check;
}

/** Reads a url block into `check`; returns its own virtualhost, if any. */
function url(r: Reader, u: Statement, check: Check): string | null {
  let host: string | null = null;
  for (const s of u.block ?? []) {
    if (s.key === "path") check.path = s.args[0] ?? "/";
    else if (s.key === "virtualhost") host = s.args[0] ?? null;
    else if (s.key === "status_code") {
      const single = s.args.length === 1 && /^\d{3}$/.test(s.args[0]);
      const first = Number(/^(\d{3})/.exec(s.args[0] ?? "")?.[1] ?? 200);
      if (!single) {
        r.warn(s, `status_code ${s.args.join(" ")}: dsr expects one status, ${first}`);
      }
      check.expect = first;
    } else if (s.key === "digest" || s.key.startsWith("regex")) {
      r.warn(s, `${s.key} left out: the http check compares the status only`);
    } else r.other(s);
  }
  return host;
}

function udpData(s: Statement, check: Check): void {
  if (s.args.length === 0) return; // require_reply alone: any reply, as dsr's udp check
  const hex = s.args.join("").replace(/\s/g, "");
  const bytes = /^[0-9a-fA-F]*$/.test(hex) && hex.length % 2 === 0
    ? new Uint8Array(hex.match(/../g)?.map((b) => parseInt(b, 16)) ?? [])
    : null;
  const text = bytes ? new TextDecoder("utf-8", { fatal: false }).decode(bytes) : null;
  if (!text || !/^[\x20-\x7e\r\n\t]*$/.test(text)) {
    throw new ImportError(
      s.line,
      `${s.key} ${s.args.join(" ")}: the udp check sends and expects text; this is not`,
    );
  }
  if (s.key === "payload") check.send = text;
  else check.receive = text;
}
