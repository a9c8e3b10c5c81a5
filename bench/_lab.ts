/**
 * Turns a lab (lab/topology.ts) into a benchmark bench: the client is the
 * generator, the real servers are the sinks, the balancer runs one forwarder
 * at a time. Everything here lives inside the lab's namespaces and goes with
 * them.
 * @module
 */

import { IngressDrop } from "../control/ingress_drop.ts";
import { formatIpv4, parseIpv4 } from "../dataplane/addr.ts";
import type { Lab, LabHost } from "../lab/topology.ts";
import { nsExec } from "../lab/topology.ts";
import type { ForwarderName } from "./_options.ts";

/** Core the generator (trafgen) and the harness run on. */
export const GENERATOR_CORE = 0;
/** Core the forwarder runs on: its process, and the balancer's receive path (RPS). */
export const FORWARDER_CORE = 1;

/**
 * The VIP each forwarder serves. All three run at once, each on its own VIP,
 * and a step offers traffic to one of them: so the forwarders take turns step
 * by step, under the same conditions, instead of one after the other over
 * minutes in which the machine's speed drifts.
 */
export function forwarderVips(lab: Lab): Record<ForwarderName, string> {
  const base = parseIpv4(lab.vip);
  return { dsr: lab.vip, c: formatIpv4(base + 1), kernel: formatIpv4(base + 2) };
}

/** {@link forwarderVips} in IPv6, for a dual-stack lab: 2001:2::100, ::101 and ::102. */
export function forwarderVips6(): Record<ForwarderName, string> {
  return { dsr: "2001:2::100", c: "2001:2::101", kernel: "2001:2::102" };
}

/**
 * Drops IPv4 frames to `vips` at the ingress of `iface` in `ns`, with dsr's
 * own filter (control/ingress_drop.ts) at tc priority `pref`.
 * @throws {Error} with tc's complaint
 */
export async function ingressDrop(
  ns: string,
  iface: string,
  vips: string[],
  pref: number,
): Promise<IngressDrop> {
  const drop = new IngressDrop(iface, { netns: ns, pref });
  const warning = await drop.sync(vips);
  if (warning) throw new Error(`${ns}: ${warning}`);
  return drop;
}

/**
 * Prepares the lab:
 * - static bridge entries for every host, so no frame is ever flooded, even
 *   for sinks that never speak (the C and kernel forwarders send no ARP);
 * - RPS on the balancer's eth0 to the forwarder's core, so the receive path
 *   of the balancer (capture, tc) runs there and not on the generator's core
 *   (`rps: false` leaves it on the generator's core, to see the forwarder's
 *   own cost without the inter-processor interrupts RPS sends);
 * - at each sink, a tc filter drops frames to the VIPs right after the
 *   interface counted them (dsr's own drop program, control/ingress_drop.ts),
 *   so sinks cost little and send nothing back.
 * @throws {Error} naming the command that failed
 */
export async function prepareLab(lab: Lab, options: { rps?: boolean } = {}): Promise<void> {
  for (const h of [lab.client, lab.balancer, ...lab.servers]) {
    const entry = ["bridge", "fdb", "replace", h.mac, "dev", `v-${h.name}`, "master", "static"];
    await nsExec(lab.bridgeNs, entry, { check: true });
  }
  const mask = options.rps === false ? "0" : (1 << FORWARDER_CORE).toString(16);
  await nsExec(lab.balancer.ns, [
    "sh",
    "-c",
    `echo ${mask} > /sys/class/net/${lab.balancer.iface}/queues/rx-0/rps_cpus`,
  ], { check: true });
  const vips = Object.values(forwarderVips(lab));
  // A dual-stack lab's sinks drop the IPv6 VIPs' frames the same way.
  if (lab.vip6) vips.push(...Object.values(forwarderVips6()));
  for (const sink of lab.servers) await ingressDrop(sink.ns, sink.iface, vips, 1);
}

/** The sinks' received frame counts, one per sink. */
export async function sinkCounts(lab: Lab): Promise<number[]> {
  return await Promise.all(lab.servers.map((s) => rxPackets(s)));
}

async function rxPackets(h: LabHost): Promise<number> {
  const out = await nsExec(h.ns, ["ip", "-j", "-s", "link", "show", "dev", h.iface], {
    check: true,
  });
  return JSON.parse(out.stdout)[0].stats64.rx.packets;
}

/**
 * Waits until no frame reaches the sinks any more: the pacer's queue and the
 * forwarder's ring are drained. Gives up quietly after `ms`.
 */
export async function quiesce(lab: Lab, ms = 3_000): Promise<void> {
  const deadline = performance.now() + ms;
  let last = -1;
  let still = 0;
  while (performance.now() < deadline) {
    const total = (await sinkCounts(lab)).reduce((a, b) => a + b, 0);
    still = total === last ? still + 1 : 0;
    if (still >= 2) return;
    last = total;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs `taskset` on every thread of `pid`. */
export async function pin(pid: number, core: number): Promise<void> {
  const out = await new Deno.Command("taskset", {
    args: ["-a", "-cp", String(core), String(pid)],
    stdout: "null",
    stdin: "null",
  }).output();
  if (!out.success) {
    throw new Error(
      `taskset -a -cp ${core} ${pid} failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
}
