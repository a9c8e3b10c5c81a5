/**
 * The three forwarders the benchmark compares, each started in the lab's
 * balancer namespace and pinned to the forwarder core:
 * - `dsr`: the real daemon, a UDP service on VIP:9 and a TCP one on VIP:80,
 *   every sink a real server (health checks off: sinks answer nothing);
 * - `c`: bench/c_forwarder.c, plain libpcap (pcap_next_ex, pcap_inject);
 * - `kernel`: bench/tc_bpf.c, a tc ingress filter that rewrites the MACs and
 *   redirects the frame out of eth0, all in the kernel's receive path.
 *
 * All three run at once, each on its own VIP (`forwarderVips`), and the
 * generator addresses one at a time; frames to the others' VIPs only pass
 * their capture filters and tc programs.
 *
 * dsr drops frames to its VIP at tc ingress after its capture has copied them
 * (packet sockets see a frame before tc ingress), which spares the kernel's IP
 * stack from routing and dropping every one of them: control/ingress_drop.ts.
 * With `ingressDrop` the C forwarder gets the same drop; with
 * `dsrNoIngressDrop` dsr runs without its own.
 * @module
 */

import type { Lab } from "../lab/topology.ts";
import { hostPort } from "../dataplane/ip.ts";
import { ApiClient } from "../test/_api.ts";
import { dsrOk, startDaemon, status, tempPaths } from "../test/_dsr.ts";
import type { Status } from "../control/status.ts";
import { type NsProcess, nsSpawn, waitFor } from "../test/_netns.ts";
import { nsExec } from "../lab/topology.ts";
import type { Helpers } from "./_build.ts";
import type { IngressDrop } from "../control/ingress_drop.ts";
import { FORWARDER_CORE, forwarderVips, ingressDrop, pin } from "./_lab.ts";
import type { ForwarderName } from "./_options.ts";

/** What a forwarder says it did, cumulative; null where it cannot tell. */
export interface ForwarderStats {
  /** Frames it read from the capture. */
  received: number | null;
  /** Frames it sent on. */
  forwarded: number | null;
  /** Frames the kernel dropped because the capture ring was full (pcap_stats). */
  captureDrops: number | null;
  /** Sends that failed. */
  sendFailures: number | null;
}

/** A forwarder running on the balancer. */
export interface RunningForwarder {
  name: ForwarderName;
  /** The process whose CPU time is measured, or null for the kernel. */
  pid: number | null;
  stats(): Promise<ForwarderStats>;
  /**
   * dsr only: the longest its loop stayed away from the capture ring in the
   * last second (`dataplane.batchMaxMs` of its status), read over the control
   * socket so that no process is started while the forwarder is measured.
   */
  batchMaxMs?(): Promise<number>;
  /** Stops it and removes what it set up; never throws. */
  stop(): Promise<void>;
}

const NO_STATS: ForwarderStats = {
  received: null,
  forwarded: null,
  captureDrops: null,
  sendFailures: null,
};

/**
 * Starts forwarder `name` on the lab's balancer, serving its own VIP
 * (`forwarderVips`). Start the kernel's first: its tc_bpf makes the ingress
 * qdisc that dsr's drop filter then joins; stop in the reverse order.
 * @throws {Error} when it cannot start (with its output)
 */
export async function startForwarder(
  name: ForwarderName,
  lab: Lab,
  options: { helpers: Helpers; ingressDrop: boolean; dsrNoIngressDrop?: boolean },
): Promise<RunningForwarder> {
  const { helpers } = options;
  const vip = forwarderVips(lab)[name];
  if (name === "kernel") return await startKernel(lab, helpers, vip);
  if (name === "dsr") {
    return await startDsr(lab, vip, options.dsrNoIngressDrop ? ["--no-ingress-drop"] : []);
  }
  const fwd = await startC(lab, helpers, vip);
  if (!options.ingressDrop) return fwd;
  const lb = lab.balancer;
  let drop: IngressDrop;
  try {
    drop = await ingressDrop(lb.ns, lb.iface, [vip], C_DROP_PREF);
  } catch (error) {
    await fwd.stop();
    throw error;
  }
  return {
    ...fwd,
    async stop() {
      await drop.remove();
      await fwd.stop();
    },
  };
}

/** tc priority of the C forwarder's drop filter (dsr's is 213, the kernel forwarder's 1). */
const C_DROP_PREF = 100;

/**
 * Starts dsr serving `vip` (or several, either family: an IPv6 VIP gets the
 * sinks' IPv6 addresses); `argv` runs another build (bench/ab.ts).
 * @throws {Error} when it cannot start (with its output)
 */
export async function startDsr(
  lab: Lab,
  vip: string | string[],
  extra: string[],
  argv?: string[],
): Promise<RunningForwarder> {
  const paths = { ...await tempPaths(), argv };
  let daemon: NsProcess | null = null;
  try {
    for (const address of typeof vip === "string" ? [vip] : vip) {
      for (const [port, proto] of [["9", "udp"], ["80", "tcp"]]) {
        const service = hostPort(address, Number(port));
        await dsrOk(paths, ["vip", "add", service, "--proto", proto, "--check", "none"]);
        for (const s of lab.servers) {
          const ip = address.includes(":") ? s.ip6! : s.ip;
          await dsrOk(paths, ["rip", "add", service, ip, "--proto", proto]);
        }
      }
    }
    daemon = await startDaemon(paths, lab, extra);
    const pid = daemon.child.pid;
    await pin(pid, FORWARDER_CORE);
    const running = daemon;
    const api = new ApiClient(paths);
    return {
      name: "dsr",
      pid,
      async batchMaxMs() {
        return ((await api.send("GET /v1/status")).json as Status).dataplane.batchMaxMs;
      },
      async stats() {
        const s = await status(paths);
        return {
          received: s.packets.rx,
          forwarded: s.packets.tx,
          captureDrops: s.packets.kernelDrops,
          sendFailures: s.drops.sendFailed ?? null,
        };
      },
      async stop() {
        api.close();
        await running.kill();
        await Deno.remove(paths.dir, { recursive: true }).catch(() => {});
      },
    };
  } catch (error) {
    await daemon?.kill();
    await Deno.remove(paths.dir, { recursive: true }).catch(() => {});
    throw error;
  }
}

/**
 * Starts the C forwarder serving `vip` (either family).
 * @throws {Error} when it cannot open the interface (with its output)
 */
export async function startC(lab: Lab, helpers: Helpers, vip: string): Promise<RunningForwarder> {
  const sinks = lab.servers.map((s) => s.mac).join(",");
  const proc = nsSpawn(lab.balancer.ns, [
    ...["taskset", "-c", String(FORWARDER_CORE), helpers.cForwarder],
    ...[lab.balancer.iface, vip, lab.balancer.mac, sinks],
  ]);
  const lines = () => proc.output().split("\n").filter((l) => /^\{.*\}$/.test(l));
  try {
    await waitFor("the C forwarder to open eth0", () => lines().length > 0, 5_000);
  } catch (error) {
    await proc.kill();
    throw new Error(`${(error as Error).message}\nc_forwarder output:\n${proc.output()}`);
  }
  return {
    name: "c",
    pid: proc.child.pid,
    async stats() {
      const seen = lines().length;
      proc.child.kill("SIGUSR1");
      await waitFor("the C forwarder's counters", () => lines().length > seen, 2_000);
      const s = JSON.parse(lines()[seen]);
      return {
        received: s.received,
        forwarded: s.forwarded,
        captureDrops: s.pcapDrop,
        sendFailures: s.injectFailed,
      };
    },
    stop: () => proc.kill(),
  };
}

async function startKernel(lab: Lab, helpers: Helpers, vip: string): Promise<RunningForwarder> {
  const lb = lab.balancer;
  const sinks = lab.servers.map((s) => s.mac).join(",");
  await nsExec(lb.ns, [helpers.tcBpf, "forward", lb.iface, vip, lb.mac, sinks], {
    check: true,
  });
  return {
    name: "kernel",
    pid: null,
    stats: () => Promise.resolve(NO_STATS),
    async stop() {
      await nsExec(lb.ns, ["tc", "qdisc", "del", "dev", lb.iface, "ingress"]);
    },
  };
}
