/**
 * The daemons of an HA lab (`dsr lab up --ha vrrp|bgp`, SPEC §11): which
 * programs run where, with which configs. Each balancer runs dsr with the
 * same configuration; `vrrp` adds keepalived on each (configs printed by
 * `dsr ha keepalived`), `bgp` adds BIRD on each (printed by `dsr ha bird`)
 * and BIRD on the router, which merges the balancers' routes into one ECMP
 * route. The caller starts the processes (detached for the lab command,
 * watched by the tests).
 * @module
 */

import { dirname } from "node:path";
import { nsExec } from "./topology.ts";
import type { Lab, LabHost } from "./topology.ts";

/** Kernel table dsr --announce keeps on each BGP node. */
export const ANNOUNCE_TABLE = 100;
/** AS numbers: the balancers share one, the router has its own (eBGP). */
export const NODE_ASN = 65001;
export const ROUTER_ASN = 65000;
/** BGP timers on the router, as `dsr ha bird` sets them on the nodes. */
const HOLD_TIME_S = 3;

/** Where one balancer's daemon listens and keeps its state. */
export interface NodePaths {
  socket: string;
  state: string;
}

/** A program the lab runs: its namespace, argv, and a name for its log. */
export interface LabProcess {
  name: string;
  ns: string;
  argv: string[];
}

/**
 * The socket and state file of balancer `i`: the first uses the lab's own
 * (so `dsr status` works with no flags), the second the same names with
 * `.lb2` before the extension (`/run/dsr/dsr.lb2.sock`).
 */
export function nodePaths(paths: NodePaths, i: number): NodePaths {
  if (i === 0) return paths;
  const tag = (file: string) => {
    const dot = file.lastIndexOf(".");
    const slash = file.lastIndexOf("/");
    return dot > slash
      ? `${file.slice(0, dot)}.lb${i + 1}${file.slice(dot)}`
      : `${file}.lb${i + 1}`;
  };
  return { socket: tag(paths.socket), state: tag(paths.state) };
}

/** The router's BIRD config: a BGP session per balancer, their routes merged into one ECMP route. */
export function routerBirdConfig(lab: Lab): string {
  const router = lab.router;
  if (!router) throw new RangeError(`lab "${lab.prefix}" has no router (it is not --ha bgp)`);
  const sessions = lab.balancers.map((b) => `
protocol bgp from_${b.name} {
  local as ${ROUTER_ASN};
  neighbor ${b.ip} as ${NODE_ASN};
  hold time ${HOLD_TIME_S};
  keepalive time 1;
  graceful restart off;
  ipv4 {
    import all;
    export none;
  };
}
`).join("");
  return `# The lab router: learns the VIPs from every balancer over BGP and puts
# one multipath route per VIP into the kernel (ECMP over the balancers).
router id ${router.ip};

protocol device {
}

protocol kernel to_kernel {
  merge paths on;
  ipv4 {
    import none;
    export all;
  };
}
${sessions}`;
}

/**
 * Writes the HA configs of `lab` into `dir` (through `dsr ha keepalived` and
 * `dsr ha bird`, run in each balancer's namespace as an operator would) and
 * returns the processes to start: dsr on each balancer, then keepalived or
 * BIRD. They may start in any order: keepalived's check fails until dsr has
 * run 8 s, and BGP sessions come up when both ends run.
 * @param dsr argv that runs dsr (without global options)
 * @throws {Error} when `lab` has no HA topology or a config cannot be printed
 */
export async function haProcesses(
  lab: Lab,
  paths: NodePaths,
  dir: string,
  dsr: string[],
): Promise<LabProcess[]> {
  if (!lab.ha) throw new RangeError(`lab "${lab.prefix}" has a single balancer`);
  const out: LabProcess[] = [];
  for (const [i, node] of lab.balancers.entries()) {
    const own = nodePaths(paths, i);
    const global = ["--socket", own.socket, "--state", own.state];
    const start = [...dsr, ...global, "start", "--iface", node.iface];
    if (lab.ha === "vrrp") {
      out.push({ name: `${node.name}-dsr`, ns: node.ns, argv: [...start, "--role", "standby"] });
      const peer = lab.balancers[1 - i];
      const conf = await printed(node, `${dir}/${node.name}-keepalived.conf`, [
        ...dsr,
        ...global,
        "ha",
        "keepalived",
        "--iface",
        node.iface,
        "--peer",
        peer.ip,
        // High priorities: a backup waits (256 - priority) / 256 s beyond the
        // advert interval before it takes over (RFC 3768's skew).
        "--priority",
        i === 0 ? "250" : "240",
      ]);
      out.push({ name: `${node.name}-keepalived`, ns: node.ns, argv: keepalivedArgv(conf) });
    } else {
      const table = String(ANNOUNCE_TABLE);
      out.push({ name: `${node.name}-dsr`, ns: node.ns, argv: [...start, "--announce", table] });
      const conf = await printed(node, `${dir}/${node.name}-bird.conf`, [
        ...dsr,
        ...global,
        "ha",
        "bird",
        "--table",
        table,
        "--asn",
        String(NODE_ASN),
        "--peer",
        lab.router!.ip,
        "--peer-asn",
        String(ROUTER_ASN),
      ]);
      out.push({ name: `${node.name}-bird`, ns: node.ns, argv: birdArgv(conf) });
    }
  }
  if (lab.router) {
    const conf = `${dir}/router-bird.conf`;
    await Deno.writeTextFile(conf, routerBirdConfig(lab));
    out.push({ name: "router-bird", ns: lab.router.ns, argv: birdArgv(conf) });
  }
  return out;
}

/** keepalived in the foreground with its own pid files beside `conf`, logging to stdout. */
export function keepalivedArgv(conf: string): string[] {
  const base = conf.replace(/\.conf$/, "");
  return [
    "keepalived",
    "--dont-fork",
    "--log-console",
    "--log-detail",
    "--vrrp",
    "--no-syslog",
    "--use-file",
    conf,
    "--pid",
    `${base}.pid`,
    "--vrrp_pid",
    `${base}-vrrp.pid`,
    "--checkers_pid",
    `${base}-checkers.pid`,
  ];
}

/** BIRD in the foreground with its control socket and pid file beside `conf`. */
export function birdArgv(conf: string): string[] {
  const base = conf.replace(/\.conf$/, "");
  return ["bird", "-f", "-c", conf, "-s", `${base}.ctl`, "-P", `${base}.pid`];
}

/**
 * The gateways of the router's route to `vip` (several: ECMP), none while
 * no balancer announces it.
 */
export async function routerNextHops(lab: Lab, vip = lab.vip): Promise<string[]> {
  if (!lab.router) return [];
  const r = await nsExec(lab.router.ns, ["ip", "-j", "-4", "route", "show", `${vip}/32`]);
  if (r.code !== 0 || r.stdout.trim() === "") return [];
  const routes = JSON.parse(r.stdout) as {
    gateway?: string;
    nexthops?: { gateway: string }[];
  }[];
  return routes.flatMap((x) => x.nexthops?.map((n) => n.gateway) ?? (x.gateway ? [x.gateway] : []))
    .sort();
}

/** Runs a `dsr ha …` printer inside `node`'s namespace and writes its output to `file`. */
async function printed(node: LabHost, file: string, argv: string[]): Promise<string> {
  const r = await nsExec(node.ns, argv, { timeoutMs: 30_000 });
  if (r.code !== 0) {
    throw new Error(`${argv.slice(-8).join(" ")} failed in ${node.ns}: ${r.stderr.trim()}`);
  }
  await Deno.mkdir(dirname(file), { recursive: true });
  await Deno.writeTextFile(file, r.stdout);
  return file;
}
