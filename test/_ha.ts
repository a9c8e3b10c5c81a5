/**
 * An HA lab for end-to-end tests: the lab topology of `dsr lab up --ha`
 * under a unique prefix, the VIP configured the same on both balancers, the
 * real servers' HTTP servers, and the daemons of lab/ha.ts (dsr, keepalived,
 * BIRD), each watched by the test and removed afterwards even on failure.
 * @module
 */

import { haProcesses, nodePaths, routerNextHops } from "../lab/ha.ts";
import type { Lab, LabHa } from "../lab/topology.ts";
import {
  configureLab,
  DSR,
  type DsrPaths,
  startServers,
  status,
  stopAll,
  tempPaths,
} from "./_dsr.ts";
import { type NsProcess, nsSpawn, requireRoot, waitFor, withLab } from "./_netns.ts";

/** A running HA lab. */
export interface HaLab {
  lab: Lab;
  /** The dsr paths of balancer `i`. */
  node(i: number): DsrPaths;
  /** Every process by name (`lb-dsr`, `lb2-keepalived`, `router-bird`, `rs1`, …). */
  processes: Map<string, NsProcess>;
  /** The outputs of every process, for a failure message. */
  logs(): string;
}

/**
 * Runs `fn` with an HA lab of `ha` kind and `servers` real servers, ready:
 * with `vrrp`, one balancer promoted by keepalived; with `bgp`, the router's
 * ECMP route over both balancers.
 */
export async function withHaLab(
  ha: LabHa,
  servers: number,
  fn: (h: HaLab) => Promise<void>,
): Promise<void> {
  requireRoot();
  await withLab({ servers, ha }, async (lab) => {
    const paths = await tempPaths();
    const processes = new Map<string, NsProcess>();
    const node = (i: number): DsrPaths => ({ ...paths, ...nodePaths(paths, i) });
    const logs = () =>
      [...processes].map(([name, p]) => `--- ${name}\n${p.output().slice(-3000)}`).join("\n");
    try {
      await configureLab(paths, lab, "mh");
      // Both balancers hold the same configuration, hash seed included.
      await Deno.copyFile(paths.state, node(1).state);
      startServers(lab).forEach((p, i) => processes.set(lab.servers[i].name, p));
      for (const p of await haProcesses(lab, paths, paths.dir, DSR)) {
        processes.set(p.name, nsSpawn(p.ns, p.argv));
      }
      const h: HaLab = { lab, node, processes, logs };
      await waitFor(`the ${ha} lab to serve`, () => ready(h), 40_000)
        .catch((error) => {
          throw new Error(`${error.message}\n${logs()}`);
        });
      await fn(h);
    } finally {
      await stopAll([...processes.values()]);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
}

async function ready(h: HaLab): Promise<boolean> {
  const up = async (i: number) => {
    const s = await status(h.node(i)).catch(() => null);
    return s !== null && s.vips.every((v) => v.rips.every((r) => r.state === "up" && r.mac));
  };
  if (h.lab.ha === "vrrp") {
    return (await activeNode(h)) !== null && await up(0) && await up(1);
  }
  return (await routerNextHops(h.lab)).length === 2 && await up(0) && await up(1);
}

/** The index of the balancer whose dsr is active, or null (none or both). */
export async function activeNode(h: HaLab): Promise<number | null> {
  const roles = await Promise.all(
    [0, 1].map((i) => status(h.node(i)).then((s) => s.ha.role, () => null)),
  );
  const active = roles.flatMap((r, i) => r === "active" ? [i] : []);
  return active.length === 1 ? active[0] : null;
}

/**
 * A machine dying, not shutting down: every process of namespace `ns` is
 * stopped at once, its link goes down (so not even the kernel's FIN for a
 * killed process's TCP session leaves it), and the processes are killed.
 * @returns when it died, ms since the epoch
 */
export async function crash(ns: string): Promise<number> {
  const out = await new Deno.Command("ip", { args: ["netns", "pids", ns] }).output();
  const pids = new TextDecoder().decode(out.stdout).split(/\s+/).filter(Boolean).map(Number);
  for (const pid of pids) Deno.kill(pid, "SIGSTOP");
  const at = Date.now();
  await new Deno.Command("ip", { args: ["-n", ns, "link", "set", "eth0", "down"] }).output();
  for (const pid of pids) Deno.kill(pid, "SIGKILL");
  return at;
}
