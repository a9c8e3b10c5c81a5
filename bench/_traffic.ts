/**
 * The offered load: frames to the VIP from the lab's client, at a set rate.
 *
 * Two generators send the same frames. `c` (the default, bench/c_generator.c)
 * sends a burst of a few frames every 100 us with one sendmmsg, timed on the
 * monotonic clock. `trafgen` is netsniff-ng's, paced by a TBF qdisc on the
 * client's eth0: trafgen's own `--rate Npps` is a per-second quota (it sends
 * each second's N frames back to back, then sleeps out the second: 50k frames
 * leave in about 0.15 s), a burst test rather than a rate. Through TBF the
 * average rate is right, but on this VM every throttled dequeue re-arms the
 * qdisc's timer (a VM exit) per frame: the generator's core is saturated and
 * the offered rate falls 15-30% short of the target, varying from run to run.
 * @module
 */

import { parseMac } from "../dataplane/addr.ts";
import type { Lab } from "../lab/topology.ts";
import type { Helpers } from "./_build.ts";
import { GENERATOR_CORE } from "./_lab.ts";
import type { GeneratorKind, TrafficType } from "./_options.ts";

/** A traffic type as trafgen builds it. */
export interface TrafficProfile {
  type: TrafficType;
  /** Ethernet frame length without FCS. */
  frameBytes: number;
  description: string;
}

export const PROFILES: Record<TrafficType, TrafficProfile> = {
  udp: {
    type: "udp",
    frameBytes: 60,
    description: "UDP to VIP:9, 12,288 flows from 4,096 clients in 198.19.0.0/20 (a flow " +
      "table hit after warm-up), 60-byte frames",
  },
  syn: {
    type: "syn",
    frameBytes: 58,
    description: "TCP SYN to VIP:80 from random 198.19.x.y and ports (a new flow per " +
      "packet, a SYN flood), 58-byte frames with an MSS option",
  },
};

/** Frames of the TBF token bucket: small, so frames leave evenly spaced. */
const BURST_FRAMES = 8;

function bytes(mac: string): string {
  return Array.from(parseMac(mac), (b) => `0x${b.toString(16).padStart(2, "0")}`).join(", ");
}

/**
 * The trafgen packet configuration of a traffic type.
 * @param addr.dstMac the balancer's MAC; `srcMac` the generator's; `vip` dotted quad
 */
export function trafgenConfig(
  type: TrafficType,
  addr: { dstMac: string; srcMac: string; vip: string },
): string {
  const vip = addr.vip.split(".").join(", ");
  const eth = `${bytes(addr.dstMac)}, ${bytes(addr.srcMac)}, c16(0x0800)`;
  if (type === "udp") {
    // Source 198.19.[0-15].[random]:[40000-40002]; the two counters step
    // together, so 48 (third octet, port) pairs times 256 last octets.
    return `{ ${eth},
  0x45, 0x00, c16(46), drnd(2), c16(0), 64, 17, csumip(14, 33),
  198, 19, dinc(0, 15), drnd(), ${vip},
  0x9c, dinc(0x40, 0x42), c16(9), c16(26), csumudp(14, 34),
  fill(0x41, 18) }\n`;
  }
  return `{ ${eth},
  0x45, 0x00, c16(44), drnd(2), c16(0x4000), 64, 6, csumip(14, 33),
  198, 19, drnd(), drnd(), ${vip},
  drnd(2), c16(80), drnd(4), c32(0), c16(0x6002), c16(64240), csumtcp(14, 34), c16(0),
  0x02, 0x04, 0x05, 0xb4 }\n`;
}

/** Offers one traffic profile from the lab's client, on the generator core. */
export interface Generator {
  /**
   * Sends frames at `pps` for `seconds`; returns the wall time it sent.
   * @throws {Error} with the generator's output when it fails
   */
  offer(pps: number, seconds: number): Promise<number>;
}

/** Where and what a generator sends. */
export interface GeneratorSetup {
  kind: GeneratorKind;
  profile: TrafficProfile;
  lab: Lab;
  helpers: Helpers;
  /** Scratch directory (trafgen's configuration and its temporary file). */
  dir: string;
  /** Where the frames go; default the lab's VIP. */
  vip?: string;
}

/**
 * Makes the generator of `setup.kind` for one traffic profile.
 * @throws {Error} when its configuration cannot be written
 */
export async function makeGenerator(setup: GeneratorSetup): Promise<Generator> {
  const { lab, profile } = setup;
  const client = lab.client;
  const addr = { dstMac: lab.balancer.mac, srcMac: client.mac, vip: setup.vip ?? lab.vip };
  if (setup.kind === "c") {
    return {
      async offer(pps, seconds) {
        const out = await run([
          ...["ip", "netns", "exec", client.ns, "taskset", "-c", String(GENERATOR_CORE)],
          ...[setup.helpers.cGenerator, client.iface, profile.type, String(pps), String(seconds)],
          ...[addr.dstMac, addr.srcMac, addr.vip],
        ], setup.dir);
        return JSON.parse(out).seconds;
      },
    };
  }
  const config = `${setup.dir}/${profile.type}-${addr.vip}.trafgen`;
  await Deno.writeTextFile(config, trafgenConfig(profile.type, addr));
  return {
    async offer(pps, seconds) {
      await setPace(client.ns, pps, profile.frameBytes);
      const started = performance.now();
      await run(
        [
          ...["ip", "netns", "exec", client.ns, "timeout", "-s", "INT", String(seconds)],
          ...["taskset", "-c", String(GENERATOR_CORE), "trafgen", "-i", config, "-o", "eth0"],
          // -P 1: one process; -Q: leave IRQ affinity alone; --no-sock-mem: leave the
          // host's sysctls alone; -q: through the qdisc (the pacer); -b: a quota never
          // reached, so the slow path, one sendto per frame.
          ...["-P", "1", "-Q", "--no-sock-mem", "-q", "-b", "100000000pps"],
        ],
        setup.dir,
        [124],
      );
      return (performance.now() - started) / 1000;
    },
  };
}

/** Paces frames leaving `ns`'s eth0 to `pps` frames of `frameBytes` with a TBF qdisc. */
async function setPace(ns: string, pps: number, frameBytes: number): Promise<void> {
  const bits = Math.round(pps * frameBytes * 8);
  await run([
    ...["ip", "netns", "exec", ns, "tc", "qdisc", "replace", "dev", "eth0", "root", "tbf"],
    ...["rate", `${bits}bit`, "burst", String(BURST_FRAMES * frameBytes), "limit", "1000000"],
  ]);
}

/** Runs `cmd`; returns its stdout. `ok` lists exit codes besides 0 that mean success. */
async function run(cmd: string[], cwd?: string, ok: number[] = []): Promise<string> {
  const out = await new Deno.Command(cmd[0], { args: cmd.slice(1), cwd, stdin: "null" }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b).trim();
  if (out.code !== 0 && !ok.includes(out.code)) {
    throw new Error(
      `Command failed (exit ${out.code}): ${cmd.join(" ")}: ${text(out.stderr)} ${
        text(out.stdout)
      }`,
    );
  }
  return text(out.stdout);
}
