/**
 * The addresses of a compiled program in the data plane's forms, either
 * family: a VIP as an IPv4 number or four IPv6 words, neighbour slots in the
 * IPv4 table or the IPv6 one (made only when a real server is IPv6), the
 * VIPs to announce by gratuitous ARP or unsolicited Neighbor Advertisement,
 * and the balancer's own source addresses.
 * @module
 */

import { parseIpv4 } from "../dataplane/addr.ts";
import { ipv6Words, parseIpv6 } from "../dataplane/addr6.ts";
import { MAX_NEIGHBORS, type Program, type ServiceProgram } from "../dataplane/tables.ts";
import type { IfaceInfo } from "./netinfo.ts";

const words = (text: string) => ipv6Words(parseIpv6(text));

/** A service's VIP fields: `vip` for IPv4, `vip6` (and `vip` 0) for IPv6. */
export function vipFields(text: string): Pick<ServiceProgram, "vip" | "vip6"> {
  return text.includes(":") ? { vip: 0, vip6: words(text) } : { vip: parseIpv4(text) };
}

/** The neighbour address tables of a program, filled slot by slot. */
export class NeighborAddresses {
  /** IPv4 address per slot. */
  readonly ips = new Uint32Array(MAX_NEIGHBORS);
  /** IPv6 address per slot, four words each; made by the first IPv6 address. */
  ips6: Int32Array | undefined;

  /** Records `text` (either family) as the address of `slot`. */
  set(slot: number, text: string): void {
    if (!text.includes(":")) {
      this.ips[slot] = parseIpv4(text);
      return;
    }
    this.ips6 ??= new Int32Array(MAX_NEIGHBORS * 4);
    this.ips6.set(words(text), slot * 4);
  }
}

/**
 * The program's announcements: the VIPs of `vips` (text) not in `announced`,
 * as IPv4 numbers for gratuitous ARP and IPv6 words for unsolicited NA.
 */
export function announcements(
  vips: Iterable<string>,
  announced: ReadonlySet<string>,
): Pick<Program, "garp" | "garp6"> {
  const fresh = [...vips].filter((v) => !announced.has(v));
  return {
    garp: fresh.filter((v) => !v.includes(":")).map(parseIpv4),
    garp6: fresh.filter((v) => v.includes(":")).map(words),
  };
}

/**
 * The balancer's source addresses on `iface`: its first IPv4 address (0
 * without one: ARP then asks as a probe does) and its first global IPv6 one.
 */
export function ownAddresses(iface: IfaceInfo): Pick<Program, "ip" | "ip6"> {
  const ip = iface.addresses.length > 0 ? parseIpv4(iface.addresses[0]) : 0;
  const v6 = iface.addresses6 ?? [];
  return v6.length > 0 ? { ip, ip6: words(v6[0]) } : { ip };
}
