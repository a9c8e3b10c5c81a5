/**
 * What the balancer needs to know about its host: the interface's MAC,
 * addresses, subnets and MTU, every locally owned address (a VIP must not be
 * one), and whether the kernel forwards. Read from `ip -j` and /proc.
 * @module
 */

import { type Ipv4Net, netContains, parseIpv4, prefixMask } from "../dataplane/addr.ts";
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
 * @throws {UsageError} when it does not exist or has no IPv4 address.
 */
export async function ifaceInfo(iface: string): Promise<IfaceInfo> {
  const all = await ipJson(["addr", "show"]);
  const link = all.find((l) => l.ifname === iface);
  if (!link) {
    const names = all.map((l) => l.ifname).join(", ");
    throw new UsageError(`interface ${iface} does not exist (this host has ${names})`);
  }
  const v4 = (link.addr_info ?? []).filter((a) => a.family === "inet");
  if (v4.length === 0 || !link.address) {
    throw new UsageError(
      `interface ${iface} has no IPv4 address: dsr needs one to resolve real servers`,
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
  };
}

/** Every IPv4 address owned by this host (network namespace), with its interface. */
export async function localAddresses(): Promise<{ ip: string; iface: string }[]> {
  const all = await ipJson(["addr", "show"]);
  return all.flatMap((l) =>
    (l.addr_info ?? []).filter((a) => a.family === "inet").map((a) => ({
      ip: a.local,
      iface: l.ifname,
    }))
  );
}

/** Whether `ip` lies on a subnet directly connected to the interface. */
export function isAdjacent(info: IfaceInfo, ip: string): boolean {
  const value = parseIpv4(ip);
  return info.subnets.some((net) => netContains(net, value));
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
