/**
 * What the balancer needs to know about its host: the interface's MAC,
 * addresses, subnets and MTU, every locally owned address (a VIP must not be
 * one), and whether the kernel forwards. Read from `ip -j` and /proc.
 * @module
 */

import { formatNet, type Ipv4Net, netContains, parseIpv4, prefixMask } from "../dataplane/addr.ts";
import {
  canonicalIpv6,
  formatNet6,
  type Ipv6Net,
  ipv6Net,
  net6Contains,
  notUnicast6,
  parseIpv6,
} from "../dataplane/addr6.ts";
import { RuntimeError, UsageError } from "./errors.ts";
import { run, runChecked } from "./run.ts";

/** The balancer's interface. */
export interface IfaceInfo {
  name: string;
  mac: string;
  mtu: number;
  /** IPv4 addresses on the interface, first is the source of ARP requests and probes. */
  addresses: string[];
  /** Directly connected IPv4 networks. */
  subnets: Ipv4Net[];
  /**
   * Global IPv6 addresses on the interface (RFC 5952), the first the source
   * of Neighbor Solicitations and DR-path probes; absent or empty without.
   */
  addresses6?: string[];
  /** Directly connected IPv6 networks (of the global addresses). */
  subnets6?: Ipv6Net[];
}

interface IpAddrJson {
  ifname: string;
  address?: string;
  mtu?: number;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

async function ipJson(args: string[]): Promise<IpAddrJson[]> {
  return JSON.parse(await runChecked(["ip", "-j", ...args]) || "[]");
}

/**
 * Describes `iface`.
 * @throws {UsageError} when it does not exist or has neither an IPv4 nor a global IPv6 address.
 */
export async function ifaceInfo(iface: string): Promise<IfaceInfo> {
  const all = await ipJson(["addr", "show"]);
  const link = all.find((l) => l.ifname === iface);
  if (!link) {
    const names = all.map((l) => l.ifname).join(", ");
    throw new UsageError(`interface ${iface} does not exist (this host has ${names})`);
  }
  const v4 = (link.addr_info ?? []).filter((a) => a.family === "inet");
  // Link-local addresses (fe80::/10) lie on every link: no real server is chosen by one.
  const v6 = (link.addr_info ?? []).filter((a) =>
    a.family === "inet6" && notUnicast6(parseIpv6(a.local)) === null
  );
  if ((v4.length === 0 && v6.length === 0) || !link.address) {
    throw new UsageError(
      `interface ${iface} has no IPv4 or global IPv6 address: dsr needs one to resolve real servers`,
    );
  }
  return {
    name: iface,
    mac: link.address,
    mtu: link.mtu ?? 1500,
    addresses: v4.map((a) => a.local),
    subnets: v4.map((a) => {
      const ip = parseIpv4(a.local);
      return { base: (ip & prefixMask(a.prefixlen)) >>> 0, prefix: a.prefixlen };
    }),
    addresses6: v6.map((a) => canonicalIpv6(a.local)),
    subnets6: v6.map((a) => ipv6Net(parseIpv6(a.local), a.prefixlen)),
  };
}

/** Every address owned by this host (network namespace), IPv6 in RFC 5952 form, with its interface. */
export async function localAddresses(): Promise<{ ip: string; iface: string }[]> {
  const all = await ipJson(["addr", "show"]);
  return all.flatMap((l) =>
    (l.addr_info ?? []).filter((a) => a.family === "inet" || a.family === "inet6").map((a) => ({
      ip: a.family === "inet6" ? canonicalIpv6(a.local) : a.local,
      iface: l.ifname,
    }))
  );
}

/**
 * Whether `ip` (either family) lies on a subnet directly connected to the
 * interface, or to one of the legs of a balancer with several.
 */
export function isAdjacent(info: IfaceInfo | readonly IfaceInfo[], ip: string): boolean {
  return legOf(info, ip) >= 0;
}

/**
 * The leg (index into `legs`) whose subnets hold `ip` (either family), the
 * first listed when several do; -1 when none does.
 */
export function legOf(legs: IfaceInfo | readonly IfaceInfo[], ip: string): number {
  const all = asLegs(legs);
  if (ip.includes(":")) {
    const bytes = parseIpv6(ip);
    return all.findIndex((info) => (info.subnets6 ?? []).some((net) => net6Contains(net, bytes)));
  }
  const value = parseIpv4(ip);
  return all.findIndex((info) => info.subnets.some((net) => netContains(net, value)));
}

/**
 * Why `ip` is not adjacent, for messages: `is not on 198.18.0.0/24 of eth0`
 * (`… of eth0 or 198.18.1.0/24 of eth1` over several legs), or `is IPv6 and
 * eth0 has no IPv6 subnet`.
 */
export function notAdjacentText(info: IfaceInfo | readonly IfaceInfo[], ip: string): string {
  const v6 = ip.includes(":");
  const legs = asLegs(info);
  const on = legs.flatMap((leg) => {
    const nets = v6 ? (leg.subnets6 ?? []).map(formatNet6) : leg.subnets.map(formatNet);
    return nets.length === 0 ? [] : [`${nets.join(", ")} of ${leg.name}`];
  });
  if (on.length === 0) {
    const family = v6 ? "IPv6" : "IPv4";
    const names = legs.map((leg) => leg.name).join(", ");
    return `is ${family} and ${names} ${legs.length > 1 ? "have" : "has"} no ${family} subnet`;
  }
  return `is not on ${on.join(" or ")}`;
}

function asLegs(info: IfaceInfo | readonly IfaceInfo[]): readonly IfaceInfo[] {
  return "name" in info ? [info] : info;
}

/**
 * Reads a sysctl of this network namespace. Through `sysctl` rather than
 * /proc/sys, which Deno only opens with every permission granted.
 * @throws {RuntimeError} when it cannot be read.
 */
export async function readSysctl(key: string): Promise<string> {
  const r = await run(["sysctl", "-n", key]);
  if (!r.ok) throw new RuntimeError(`cannot read ${key}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** Whether the kernel forwards IPv4 (net.ipv4.ip_forward). */
export async function ipForwarding(): Promise<boolean> {
  return (await readSysctl("net.ipv4.ip_forward")) === "1";
}

/** Whether the kernel forwards IPv6 (net.ipv6.conf.all.forwarding). */
export async function ipv6Forwarding(): Promise<boolean> {
  return (await readSysctl("net.ipv6.conf.all.forwarding")) === "1";
}
