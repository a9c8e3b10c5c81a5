/**
 * Small parsers for the argument types every command shares (VIP:PORT,
 * RIP[:PORT], protocol, counts, seconds). Each throws a {@link UsageError}
 * that names the value seen and the form expected.
 * @module
 */

import { isIpv4 } from "../dataplane/addr.ts";
import { canonicalIp, ipFamily, notUnicastIp } from "../dataplane/ip.ts";
import { MAX_SECONDS, type Proto } from "./config.ts";
import { UsageError } from "./errors.ts";

/**
 * An address and an optional port: `198.18.0.11`, `198.18.0.11:80`,
 * `2001:2::11` or `[2001:2::11]:80` (an IPv6 address with a port takes
 * brackets, RFC 3986); null when the text is none of these.
 */
function addressPort(text: string): { ip: string; port: string | undefined } | null {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  if (bracketed) {
    return ipFamily(bracketed[1]) === 6 ? { ip: bracketed[1], port: bracketed[2] } : null;
  }
  if (ipFamily(text) === 6) return { ip: text, port: undefined };
  const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(text);
  return m && isIpv4(m[1]) ? { ip: m[1], port: m[2] } : null;
}

/** `198.18.0.100:80` or `[2001:2::100]:80` → address (IPv6 in RFC 5952 form) and port. */
export function parseVipPort(text: string): { vip: string; port: number } {
  const a = addressPort(text);
  if (!a || a.port === undefined || Number(a.port) > 65535) {
    throw new UsageError(
      `invalid VIP:PORT "${text}": expected an address and a port, like 198.18.0.100:80 or [2001:2::100]:80`,
    );
  }
  refuseNonUnicast(a.ip, "VIP");
  return { vip: canonicalIp(a.ip), port: Number(a.port) };
}

/** `198.18.0.11`, `198.18.0.11:80`, `2001:2::11` or `[2001:2::11]:80` → address and optional port. */
export function parseRip(text: string): { ip: string; port: number | null } {
  const a = addressPort(text);
  if (!a || (a.port !== undefined && Number(a.port) > 65535)) {
    throw new UsageError(
      `invalid real server "${text}": expected an address, optionally with the VIP's port (198.18.0.11, 198.18.0.11:80, 2001:2::11, [2001:2::11]:80)`,
    );
  }
  refuseNonUnicast(a.ip, "real server");
  return { ip: canonicalIp(a.ip), port: a.port === undefined ? null : Number(a.port) };
}

/** A bare IPv4 or IPv6 address (IPv6 returned in RFC 5952 form). */
export function parseIp(text: string, what = "address"): string {
  if (ipFamily(text) === null) {
    throw new UsageError(
      `invalid ${what} "${text}": expected an IPv4 or IPv6 address like 198.18.0.11 or 2001:2::11`,
    );
  }
  refuseNonUnicast(text, what);
  return canonicalIp(text);
}

function refuseNonUnicast(ip: string, what: string): void {
  const problem = notUnicastIp(ip);
  if (problem !== null) {
    throw new UsageError(`invalid ${what} "${ip}": ${problem}, not a unicast host address`);
  }
}

/**
 * DR mode forwards frames unchanged, so a real server must listen on the VIP's port.
 * @throws {UsageError} when `ripPort` is given and differs from `vipPort`.
 */
export function refusePortTranslation(vipPort: number, ripPort: number | null): void {
  if (ripPort !== null && ripPort !== vipPort) {
    throw new UsageError(
      `port translation is not possible in DR mode (VIP port ${vipPort}, real server port ${ripPort})`,
    );
  }
}

/** `tcp` or `udp`. */
export function parseProto(text: string): Proto {
  if (text !== "tcp" && text !== "udp") {
    throw new UsageError(`invalid protocol "${text}": expected tcp or udp`);
  }
  return text;
}

/** A whole number within [min, max]; `what` names the option. */
export function parseInteger(text: string, what: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new UsageError(
      `invalid ${what} "${text}": expected a whole number from ${min} to ${max}`,
    );
  }
  return n;
}

/** A positive number of seconds (fractions allowed). */
export function parseSeconds(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || n <= 0) {
    throw new UsageError(`invalid ${what} "${text}": expected seconds, a number above 0`);
  }
  if (n > MAX_SECONDS) {
    throw new UsageError(
      `invalid ${what} "${text}": at most ${MAX_SECONDS} s (24.8 days): times are kept in 32-bit milliseconds`,
    );
  }
  return n;
}

/** `198.18.0.10:9100` or `:9100` (every address) → where to listen. */
export function parseListen(text: string, what: string): { hostname: string; port: number } {
  const m = /^(.*):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || (m[1] !== "" && !isIpv4(m[1])) || port < 1 || port > 65535) {
    throw new UsageError(
      `invalid ${what} "${text}": expected ADDR:PORT like 198.18.0.10:9100, or :9100`,
    );
  }
  return { hostname: m[1] || "0.0.0.0", port };
}
