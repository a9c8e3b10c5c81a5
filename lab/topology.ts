/**
 * The lab network: a client, the balancer and N real servers, each in a
 * network namespace of its own, joined by a bridge that lives in one more
 * namespace. Nothing is created in the host's own namespace: every veth pair
 * is born inside the bridge namespace with its peer sent straight to its host.
 *
 * With `ha` (SPEC §11) there are two balancers on the bridge (`lb` and
 * `lb2`). `vrrp` keeps the client on the bridge too; `bgp` puts it behind a
 * router (`router`, on the bridge and on a link of its own to the client)
 * that reaches the VIP through the balancers by ECMP, and the real servers
 * answer the client through that router.
 * @module
 */

import { run } from "../control/run.ts";
import { formatIpv4, netContains, parseIpv4 } from "../dataplane/addr.ts";
import { killPid } from "../ffi/libc.ts";

/** What to build; every field has a default. */
export interface LabOptions {
  /** Namespace name prefix; default `"dsr-lab"`. */
  prefix?: string;
  /** Number of real servers, 1 to 20; default 3. */
  servers?: number;
  /** Virtual IP, inside 198.18.0.0/15; default `"198.18.0.100"`. */
  vip?: string;
  /** Two balancers for a keepalived pair or a BGP group; default none (one balancer). */
  ha?: LabHa | null;
  /**
   * Dual stack (SPEC §12): every host also on 2001:2::/64 (`2001:2::10` the
   * balancer, `::11`… the real servers, `::2` the client) and a second VIP,
   * 2001:2::100, on the real servers' `lo`. Not with `ha: "bgp"`. Default false.
   */
  ipv6?: boolean;
}

/** The HA topologies of `dsr lab up --ha`. */
export type LabHa = "vrrp" | "bgp";

/** One host of the lab and its interface towards the bridge. */
export interface LabHost {
  name: string;
  ns: string;
  iface: string;
  ip: string;
  mac: string;
  /** Its address on 2001:2::/64 in a dual-stack lab. */
  ip6?: string;
}

/** A lab as built (or as found by {@linkcode labDescribe}). */
export interface Lab {
  prefix: string;
  subnet: string;
  vip: string;
  bridgeNs: string;
  client: LabHost;
  /** The first balancer (`balancers[0]`). */
  balancer: LabHost;
  /** Every balancer: one, or two with `ha`. */
  balancers: LabHost[];
  servers: LabHost[];
  ha: LabHa | null;
  /** With `bgp`: the router, by its address on the bridge (eth0); null otherwise. */
  router: LabHost | null;
  /** The IPv6 VIP of a dual-stack lab (2001:2::100); absent otherwise. */
  vip6?: string;
}

/** The IPv6 subnet of a dual-stack lab. */
export const SUBNET6 = "2001:2::/64";
/** The IPv6 VIP of a dual-stack lab. */
export const VIP6 = "2001:2::100";

const DEFAULT_PREFIX = "dsr-lab";
const SUBNET = "198.18.0.0/24";
const LAB_NET = { base: parseIpv4("198.18.0.0"), prefix: 24 };
const RANGE = { base: LAB_NET.base, prefix: 15 };
const PREFIX_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
const FINISHED_FRAMES = ["tx", "off", "tso", "off", "gso", "off"];
/** With `bgp`: the link between router (eth1, .1) and client (eth0, .2). */
const CLIENT_NET = "198.18.1.0/24";
const ROUTER_CLIENT_IP = "198.18.1.1";
const BGP_CLIENT_IP = "198.18.1.2";

/** How long a lab command may run before it is killed and counts as failed. */
const EXEC_TIMEOUT_MS = 120_000;

/**
 * Runs a command inside namespace `ns` (`ip netns exec`).
 * @param options.check throw when the exit status is not 0 (default false)
 * @param options.timeoutMs kill it after this long (default 120 s): it then fails with exit 124
 * @throws {Error} naming the command and its stderr when `check` is set and it fails
 */
export function nsExec(
  ns: string,
  cmd: string[],
  options: { check?: boolean; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return exec(["ip", "netns", "exec", ns, ...cmd], options.check ?? false, options.timeoutMs);
}

/**
 * Builds the lab described in SPEC section 9. On failure it removes what it
 * made before throwing.
 * @throws {RangeError} for a bad prefix, server count or VIP
 * @throws {Error} when the prefix is already in use, or naming the command that failed
 */
export async function labUp(options: LabOptions = {}): Promise<Lab> {
  const lab = plan(options);
  const existing = await labNamespaces(lab.prefix);
  if (existing.length > 0) {
    throw new Error(
      `Cannot build lab "${lab.prefix}": namespaces already exist (${existing.join(", ")}); ` +
        `remove them with labDown first`,
    );
  }
  const hosts = [lab.client, ...lab.balancers, ...lab.servers, ...(lab.router ? [lab.router] : [])];
  try {
    for (const ns of [lab.bridgeNs, ...hosts.map((h) => h.ns)]) {
      await exec(["ip", "netns", "add", ns]);
    }
    // IPv6 off before any veth exists: no DAD, router solicitations or MLD
    // chatter on a wire the tests capture. A dual-stack lab keeps it on its
    // hosts, quiet but for MLD.
    await settled(
      [lab.bridgeNs, ...hosts.map((h) => h.ns)].map((ns) =>
        quietNamespace(ns, lab.vip6 !== undefined && ns !== lab.bridgeNs)
      ),
    );
    const br = lab.bridgeNs;
    await exec(["ip", "-n", br, "link", "add", "br0", "mtu", "1500", "type", "bridge"]);
    // Without STP and forward delay a new port forwards at once, not after 30 s.
    await exec(["ip", "-n", br, "link", "set", "br0", "type", "bridge", "forward_delay", "0"]);
    await exec(["ip", "-n", br, "link", "set", "br0", "type", "bridge", "stp_state", "0"]);
    // br_netfilter, when loaded, would send bridged frames through iptables.
    await nsExec(br, [
      "sysctl",
      "-w",
      "net.bridge.bridge-nf-call-iptables=0",
      "net.bridge.bridge-nf-call-ip6tables=0",
      "net.bridge.bridge-nf-call-arptables=0",
    ]);
    await exec(["ip", "-n", br, "link", "set", "br0", "up"]);
    // Behind a router, the client is not on the bridge.
    const bridged = lab.ha === "bgp" ? hosts.filter((h) => h !== lab.client) : hosts;
    await settled(bridged.map((h) => plugHost(lab, h)));
    if (lab.router) await plugClientBehindRouter(lab, lab.router);
    return lab;
  } catch (error) {
    await labDown(lab.prefix);
    throw error;
  }
}

/**
 * Removes the lab's namespaces (`${prefix}-br`, `-client`, `-lb`, `-lb2`, `-router`, `-rsN`),
 * first ending the processes still running inside them. No error when absent.
 * @throws {RangeError} for a bad prefix
 */
export async function labDown(prefix: string = DEFAULT_PREFIX): Promise<void> {
  checkPrefix(prefix);
  const namespaces = await labNamespaces(prefix);
  // A process left inside keeps its namespace alive after the name is gone.
  await endProcesses(async () => (await Promise.all(namespaces.map(namespacePids))).flat());
  for (const ns of namespaces) await exec(["ip", "netns", "del", ns], false);
}

/**
 * Reconstructs the lab from the live namespaces.
 * @returns null when no namespace of the lab exists
 * @throws {Error} when the lab exists only in part
 */
export async function labDescribe(prefix: string = DEFAULT_PREFIX): Promise<Lab | null> {
  checkPrefix(prefix);
  const namespaces = await labNamespaces(prefix);
  if (namespaces.length === 0) return null;
  const names = namespaces.map((ns) => ns.slice(prefix.length + 1));
  const serverNames = names.filter((n) => /^rs\d+$/.test(n))
    .sort((a, b) => Number(a.slice(2)) - Number(b.slice(2)));
  const missing = ["br", "client", "lb"].filter((n) => !names.includes(n));
  if (missing.length > 0 || serverNames.length === 0) {
    throw new Error(
      `Lab "${prefix}" is incomplete (found ${namespaces.join(", ")}); remove it with labDown`,
    );
  }
  const host = async (name: string): Promise<LabHost> => {
    const ns = `${prefix}-${name}`;
    const [link] = await ipJson(ns, ["addr", "show", "dev", "eth0"]);
    const inet = link.addr_info.find((a) => a.family === "inet");
    if (!inet) throw new Error(`Lab "${prefix}": ${ns} has no IPv4 address on eth0`);
    const inet6 = link.addr_info.find((a) => a.family === "inet6" && !a.local.startsWith("fe80"));
    const ip6 = inet6 ? { ip6: inet6.local } : {};
    return { name, ns, iface: "eth0", ip: inet.local, mac: link.address, ...ip6 };
  };
  const ha: LabHa | null = names.includes("router") ? "bgp" : names.includes("lb2") ? "vrrp" : null;
  const lbs = ha ? ["lb", "lb2"] : ["lb"];
  const [client, router, ...rest] = await Promise.all(
    ["client", ha === "bgp" ? "router" : "lb", ...lbs, ...serverNames].map(host),
  );
  const balancers = rest.slice(0, lbs.length);
  const servers = rest.slice(lbs.length);
  const [lo] = await ipJson(servers[0].ns, ["addr", "show", "dev", "lo"]);
  const vip = lo.addr_info.find((a) => a.family === "inet" && !a.local.startsWith("127."));
  if (!vip) throw new Error(`Lab "${prefix}": ${servers[0].ns} has no VIP on lo`);
  const vip6 = lo.addr_info.find((a) => a.family === "inet6" && a.local !== "::1");
  return {
    ...skeleton(prefix, vip.local),
    ...vip6 ? { vip6: vip6.local } : {},
    client,
    balancer: balancers[0],
    balancers,
    servers,
    ha,
    router: ha === "bgp" ? router : null,
  };
}

function plan(options: LabOptions): Lab {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  checkPrefix(prefix);
  const count = options.servers ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > 20) {
    throw new RangeError(`Cannot build lab: servers must be 1 to 20, got ${count}`);
  }
  const vip = options.vip ?? "198.18.0.100";
  const ha = options.ha ?? null;
  if (ha !== null && ha !== "vrrp" && ha !== "bgp") {
    throw new RangeError(`Cannot build lab: ha must be "vrrp" or "bgp", got "${ha}"`);
  }
  if (options.ipv6 && ha === "bgp") {
    throw new RangeError("Cannot build lab: the bgp lab is IPv4 only (its router speaks IPv4)");
  }
  // The host's last IPv4 octet, read as IPv6 text: 198.18.0.11 is 2001:2::11.
  const dual = (h: LabHost): LabHost =>
    options.ipv6 ? { ...h, ip6: `2001:2::${h.ip.split(".")[3]}` } : h;
  const hostOctets = [2, 10, ...Array.from({ length: count }, (_, i) => 11 + i)];
  if (ha) hostOctets.push(9);
  if (ha === "bgp") hostOctets.push(1);
  const clash = hostOctets.some((o) => `198.18.0.${o}` === vip) ||
    vip === "198.18.0.0" || vip === "198.18.0.255";
  if (!netContains(RANGE, parseIpv4(vip)) || clash) {
    throw new RangeError(
      `Cannot build lab: VIP ${vip} must lie in 198.18.0.0/15 and not be a lab host address`,
    );
  }
  const servers = Array.from(
    { length: count },
    (_, i) => dual(labHost(prefix, `rs${i + 1}`, 11 + i)),
  );
  const balancers = [labHost(prefix, "lb", 10), ...(ha ? [labHost(prefix, "lb2", 9)] : [])].map(
    dual,
  );
  const client = ha === "bgp"
    ? { ...labHost(prefix, "client", 2), ip: BGP_CLIENT_IP, mac: "02:00:c6:12:01:02" }
    : dual(labHost(prefix, "client", 2));
  return {
    ...skeleton(prefix, vip),
    ...options.ipv6 ? { vip6: VIP6 } : {},
    client,
    balancer: balancers[0],
    balancers,
    servers,
    ha,
    router: ha === "bgp" ? labHost(prefix, "router", 1) : null,
  };
}

function skeleton(prefix: string, vip: string) {
  return { prefix, subnet: SUBNET, vip, bridgeNs: `${prefix}-br` };
}

function labHost(prefix: string, name: string, octet: number): LabHost {
  const hex = octet.toString(16).padStart(2, "0");
  const ip = formatIpv4(LAB_NET.base + octet);
  return { name, ns: `${prefix}-${name}`, iface: "eth0", ip, mac: `02:00:c6:12:00:${hex}` };
}

function checkPrefix(prefix: string): void {
  if (!PREFIX_RE.test(prefix)) {
    throw new RangeError(
      `Invalid lab prefix "${prefix}": use up to 32 letters, digits, "-", "_" or "."`,
    );
  }
}

async function quietNamespace(ns: string, ipv6: boolean): Promise<void> {
  await exec(["ip", "-n", ns, "link", "set", "lo", "up"]);
  if (!ipv6) {
    await nsExec(ns, [
      "sysctl",
      "-w",
      "net.ipv6.conf.all.disable_ipv6=1",
      "net.ipv6.conf.default.disable_ipv6=1",
    ]);
    return;
  }
  // On, for the interfaces made next, without duplicate address detection,
  // router solicitations or router advertisements taken; forwarding off.
  await nsExec(ns, [
    "sysctl",
    "-w",
    "net.ipv6.conf.default.accept_dad=0",
    "net.ipv6.conf.default.dad_transmits=0",
    "net.ipv6.conf.default.router_solicitations=0",
    "net.ipv6.conf.default.accept_ra=0",
    "net.ipv6.conf.all.forwarding=0",
  ], { check: true });
}

/** Joins one host to the bridge and gives it its role. */
async function plugHost(lab: Lab, h: LabHost): Promise<void> {
  const br = lab.bridgeNs;
  const port = `v-${h.name}`;
  // Born in the bridge namespace, the peer moved at once: no name ever
  // appears in the host's namespace, where it could clash.
  await exec(["ip", "-n", br, "link", "add", port, "mtu", "1500", "type", "veth"].concat(
    ["peer", "name", "eth0", "mtu", "1500", "address", h.mac, "netns", h.ns],
  ));
  await exec(["ip", "-n", br, "link", "set", port, "master", "br0", "up"]);
  // Frames must leave each host finished (checksummed, segmented), as from a
  // real NIC: a packet socket would otherwise capture and re-send them unfinished.
  await nsExec(br, ["ethtool", "-K", port, ...FINISHED_FRAMES, "gro", "off"], { check: true });
  const balancer = lab.balancers.includes(h);
  const offloads = balancer ? ["gro", "off", "lro", "off"] : [];
  await nsExec(h.ns, ["ethtool", "-K", "eth0", ...FINISHED_FRAMES, ...offloads], { check: true });
  await exec(["ip", "-n", h.ns, "addr", "add", `${h.ip}/24`, "dev", "eth0"]);
  if (h.ip6) await exec(["ip", "-n", h.ns, "addr", "add", `${h.ip6}/64`, "dev", "eth0", "nodad"]);
  await exec(["ip", "-n", h.ns, "link", "set", "eth0", "up"]);
  if (balancer) {
    await nsExec(h.ns, ["sysctl", "-w", "net.ipv4.ip_forward=0"], { check: true });
  } else if (h === lab.router) {
    await nsExec(h.ns, [
      "sysctl",
      "-w",
      "net.ipv4.ip_forward=1",
      // Replies from the real servers come from the VIP, whose route points
      // back at the balancers on this very link: no reverse-path filter.
      "net.ipv4.conf.all.rp_filter=0",
      "net.ipv4.conf.default.rp_filter=0",
      // ECMP on the 5-tuple of every packet, as a hardware router hashes:
      // policy 1 would keep a local socket's hash, which TCP changes on
      // every retransmission timeout (HA-FACTS).
      "net.ipv4.fib_multipath_hash_policy=3",
      "net.ipv4.fib_multipath_hash_fields=0x0037",
    ], { check: true });
  } else if (h === lab.client) {
    // A VIP outside the /24 still sits on this segment: reach it on-link.
    if (!netContains(LAB_NET, parseIpv4(lab.vip))) {
      await exec(["ip", "-n", h.ns, "route", "add", `${lab.vip}/32`, "dev", "eth0"]);
    }
  } else {
    await exec(["ip", "-n", h.ns, "addr", "add", `${lab.vip}/32`, "dev", "lo"]);
    // An IPv6 VIP needs no sysctl: Linux answers no NS for an address on lo (SPEC §12).
    if (lab.vip6) await exec(["ip", "-n", h.ns, "addr", "add", `${lab.vip6}/128`, "dev", "lo"]);
    // Behind a router, the client is reached through it (the replies skip the balancers).
    if (lab.router) {
      await exec(["ip", "-n", h.ns, "route", "add", CLIENT_NET, "via", lab.router.ip]);
    }
    // Only the balancer may answer ARP for the VIP (SPEC section 6).
    await nsExec(h.ns, [
      "sysctl",
      "-w",
      "net.ipv4.conf.all.arp_ignore=1",
      "net.ipv4.conf.all.arp_announce=2",
      "net.ipv4.conf.eth0.arp_ignore=1",
      "net.ipv4.conf.eth0.arp_announce=2",
    ], { check: true });
  }
}

/** With `bgp`: the client on a link of its own to the router's second leg. */
async function plugClientBehindRouter(lab: Lab, router: LabHost): Promise<void> {
  const c = lab.client;
  await exec(["ip", "-n", router.ns, "link", "add", "eth1", "mtu", "1500", "type", "veth"].concat(
    ["peer", "name", "eth0", "mtu", "1500", "address", c.mac, "netns", c.ns],
  ));
  await nsExec(router.ns, ["ethtool", "-K", "eth1", ...FINISHED_FRAMES, "gro", "off"], {
    check: true,
  });
  await nsExec(c.ns, ["ethtool", "-K", "eth0", ...FINISHED_FRAMES], { check: true });
  await exec(["ip", "-n", router.ns, "addr", "add", `${ROUTER_CLIENT_IP}/24`, "dev", "eth1"]);
  await exec(["ip", "-n", router.ns, "link", "set", "eth1", "up"]);
  await exec(["ip", "-n", c.ns, "addr", "add", `${c.ip}/24`, "dev", "eth0"]);
  await exec(["ip", "-n", c.ns, "link", "set", "eth0", "up"]);
  await exec(["ip", "-n", c.ns, "route", "add", "default", "via", ROUTER_CLIENT_IP]);
}

async function labNamespaces(prefix: string): Promise<string[]> {
  const { stdout } = await exec(["ip", "-j", "netns", "list"]);
  const all = stdout.trim() === "" ? [] : JSON.parse(stdout) as { name: string }[];
  const own = new RegExp(`^${prefix.replaceAll(".", "\\.")}-(br|client|lb|lb2|router|rs\\d+)$`);
  return all.map((n) => n.name).filter((name) => own.test(name)).sort();
}

async function namespacePids(ns: string): Promise<number[]> {
  const { stdout } = await exec(["ip", "netns", "pids", ns], false);
  return stdout.split(/\s+/).filter((s) => s !== "").map(Number);
}

async function endProcesses(list: () => Promise<number[]>): Promise<void> {
  const signal = (pids: number[], sig: "SIGTERM" | "SIGKILL") => {
    for (const pid of pids) {
      killPid(pid, sig);
    }
  };
  let pids = await list();
  signal(pids, "SIGTERM");
  for (let waited = 0; pids.length > 0 && waited < 3000; waited += 50) {
    await new Promise((r) => setTimeout(r, 50));
    pids = await list();
  }
  signal(pids, "SIGKILL");
}

interface IpLink {
  address: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
}

async function ipJson(ns: string, args: string[]): Promise<IpLink[]> {
  const { stdout } = await exec(["ip", "-j", "-n", ns, ...args]);
  return JSON.parse(stdout);
}

async function settled(work: Promise<unknown>[]): Promise<void> {
  // Wait for every step, so cleanup never races a command still running.
  const failed = (await Promise.allSettled(work)).find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

async function exec(
  cmd: string[],
  check = true,
  timeoutMs = EXEC_TIMEOUT_MS,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const result = await run(cmd, { timeoutMs });
  if (check && !result.ok) {
    throw new Error(
      `Command failed (exit ${result.code}): ${cmd.join(" ")}: ${result.stderr.trim()}`,
    );
  }
  return result;
}
