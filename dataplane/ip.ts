/**
 * Address text of either family, for the control plane and the command line:
 * which family a text is, its canonical form (IPv4 dotted quad, IPv6 RFC
 * 5952), whether it can be a VIP or real server, an order, and `host:port`
 * text (`198.18.0.100:80`, `[2001:2::100]:80`).
 * @module
 */

import { isIpv4, notUnicast, parseIpv4 } from "./addr.ts";
import { formatIpv6, notUnicast6, parseIpv6 } from "./addr6.ts";

/** An address family: 4 or 6. */
export type Family = 4 | 6;

/** The family of address text, or null when it is neither an IPv4 nor an IPv6 address. */
export function ipFamily(text: string): Family | null {
  if (isIpv4(text)) return 4;
  try {
    parseIpv6(text);
    return 6;
  } catch {
    return null;
  }
}

/**
 * The canonical text of an address: dotted quad, or RFC 5952 for IPv6.
 * @throws {TypeError} when `text` is no address.
 */
export function canonicalIp(text: string): string {
  if (isIpv4(text)) return text;
  return formatIpv6(parseIpv6(text));
}

/**
 * Why an address cannot be a VIP or real server (loopback, multicast, …),
 * or null when it can.
 * @throws {TypeError} when `text` is no address.
 */
export function notUnicastIp(text: string): string | null {
  return isIpv4(text) ? notUnicast(parseIpv4(text)) : notUnicast6(parseIpv6(text));
}

/** Orders addresses: IPv4 before IPv6, each by value. Texts that are no address sort last. */
export function compareIp(a: string, b: string): number {
  const key = (t: string): number[] => {
    const family = ipFamily(t);
    if (family === 4) return [4, parseIpv4(t)];
    if (family === 6) return [6, ...parseIpv6(t)];
    return [7];
  };
  const x = key(a), y = key(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** `198.18.0.100:80` or `[2001:2::100]:80`: an address and port as URLs and messages write them. */
export function hostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** "IPv4" or "IPv6", for messages. */
export function familyName(family: Family): string {
  return family === 4 ? "IPv4" : "IPv6";
}
