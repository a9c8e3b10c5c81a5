/**
 * What a Linux real server looks like to `dsr realserver` (SPEC §6, §12): its
 * addresses, the interfaces facing the balancer and the ARP sysctls, and the
 * rules that say whether a VIP and those sysctls are right. An IPv4 VIP goes
 * on `lo` as /32 with the ARP sysctls set; an IPv6 VIP as /128 and nothing
 * else, as Linux answers no Neighbor Solicitation arriving on one interface
 * for an address of another. Pure: the facts come from `ip -j addr show` and
 * `sysctl`, read in `system.ts`.
 * @module
 */

import { canonicalIpv6, notUnicast6, parseIpv6 } from "../dataplane/addr6.ts";

/** A command line, as argv. */
export type Cmd = string[];

/** One IPv4 or global IPv6 address of the host. */
export interface Address {
  ip: string;
  prefix: number;
  iface: string;
}

/** What setup, check and remove decide from. */
export interface Facts {
  /** Every IPv4 and global IPv6 address (RFC 5952) of the host (network namespace). */
  addresses: Address[];
  /** Whether `lo` is up: addresses on a down `lo` are not local, so the VIP would not be either. */
  loUp: boolean;
  /** Interfaces facing the balancer: up, with an IPv4 address, other than `lo`. */
  facing: string[];
  /** Current values of the ARP sysctls that were read, by full key. */
  sysctls: Record<string, number>;
}

/** The two sysctls that solve the ARP problem. */
export type ArpName = "arp_ignore" | "arp_announce";

/** Both of them, in the order they are set and shown. */
export const ARP_NAMES: readonly ArpName[] = ["arp_ignore", "arp_announce"];

/** The value setup writes. */
export const ARP_TARGET: Record<ArpName, number> = { arp_ignore: 1, arp_announce: 2 };

/**
 * Whether a value keeps the VIP on `lo` out of ARP. The kernel uses the
 * larger of `all` and the interface's value. arp_ignore 1, 2 and 8 all refuse
 * to answer for an address that is not on the incoming interface; 3 answers
 * for any global address (our VIP is one) and 4-7 answer for everything.
 * arp_announce above 2 falls back to 0's behaviour in the kernel's switch.
 */
export function arpValueOk(name: ArpName, value: number): boolean {
  return name === "arp_ignore" ? value === 1 || value === 2 || value === 8 : value === 2;
}

/**
 * The sysctl key of `name` for `scope` (`all` or an interface). A dot in an
 * interface name (`eth0.100`) is written `/`, as `sysctl` expects.
 */
export function arpKey(scope: string, name: ArpName): string {
  return `net.ipv4.conf.${scope.replaceAll(".", "/")}.${name}`;
}

/** `all` first, then each facing interface: every scope setup sets. */
export function arpScopes(facts: Pick<Facts, "facing">): string[] {
  return ["all", ...facts.facing];
}

/** The subset of one `ip -j addr show` entry these checks read. */
export interface IpLink {
  ifname: string;
  flags?: string[];
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** Turns `ip -j addr show` into facts (sysctls to be filled in by the caller). */
export function parseLinks(links: IpLink[]): Omit<Facts, "sysctls"> {
  const v4 = (l: IpLink) => (l.addr_info ?? []).filter((a) => a.family === "inet");
  // Link-local and ::1 cannot be VIPs, so they are not looked at.
  const v6 = (l: IpLink) =>
    (l.addr_info ?? []).filter((a) =>
      a.family === "inet6" && notUnicast6(parseIpv6(a.local)) === null
    );
  const up = (l: IpLink) => (l.flags ?? []).includes("UP");
  return {
    addresses: links.flatMap((l) => [
      ...v4(l).map((a) => ({ ip: a.local, prefix: a.prefixlen, iface: l.ifname })),
      ...v6(l).map((a) => ({ ip: canonicalIpv6(a.local), prefix: a.prefixlen, iface: l.ifname })),
    ]),
    loUp: links.some((l) => l.ifname === "lo" && up(l)),
    facing: links.filter((l) => l.ifname !== "lo" && up(l) && v4(l).length > 0)
      .map((l) => l.ifname),
  };
}

/** The prefix a VIP has on `lo`: a host route, /32 or /128. */
export function hostPrefix(vip: string): number {
  return vip.includes(":") ? 128 : 32;
}

/** Where a VIP stands on this host. */
export interface VipState {
  /** On `lo` as /32 (IPv6: /128), `lo` up, and nowhere else. */
  ok: boolean;
  /** Only missing from `lo` (or `lo` down): setup can fix it alone. */
  fixable: boolean;
  /** What was seen, e.g. `198.18.0.100/32 on lo` or `absent`. */
  found: string;
  /** The commands that put it right. */
  fix: Cmd[];
}

/** Describes a VIP: where it is, and what would put it as /32 (/128) on `lo` only. */
export function vipState(facts: Facts, vip: string): VipState {
  const prefix = hostPrefix(vip);
  const held = facts.addresses.filter((a) => a.ip === vip);
  const onLo = held.some((a) => a.iface === "lo" && a.prefix === prefix);
  // Anywhere else it is wrong: a wider prefix on lo makes the host claim its
  // neighbours' addresses, and a VIP on a LAN interface is answered in ARP
  // (or Neighbor Discovery) whatever arp_ignore says.
  const stray = held.filter((a) => !(a.iface === "lo" && a.prefix === prefix));
  const fix: Cmd[] = stray.map((a) => ["ip", "addr", "del", `${a.ip}/${a.prefix}`, "dev", a.iface]);
  if (!onLo) fix.push(["ip", "addr", "add", `${vip}/${prefix}`, "dev", "lo"]);
  if (!facts.loUp) fix.push(["ip", "link", "set", "lo", "up"]);
  const where = held.map((a) => `${a.ip}/${a.prefix} on ${a.iface}`).join(", ") || "absent";
  return {
    ok: fix.length === 0,
    fixable: stray.length === 0,
    found: facts.loUp ? where : `${where}; lo is down`,
    fix,
  };
}

/** Prints a command the way an operator would type it. */
export function formatCmd(cmd: Cmd): string {
  return cmd.join(" ");
}
