/**
 * IPv6 beside IPv4 on one dual-stack lab, for SPEC §12's speed claim: one dsr
 * daemon serves an IPv4 VIP and an IPv6 VIP, and the C reference forwarder
 * (bench/c_forwarder.c) runs twice, once per family; the same generator
 * (bench/c_generator.c) offers the same traffic in either family. The four
 * lanes take turns at one rate, round after round, the order rotating, as
 * bench/ab.ts does for two builds (this VM's speed drifts by 10-20% over
 * minutes). Prints every step and, per lane, the median CPU per delivered
 * packet (the process's own, and core 1's) and loss, then the ratios
 * IPv6/IPv4 for dsr and for C, and dsr/C per family.
 *
 *   deno run -A bench/family_ab.ts PPS SECONDS ROUNDS [udp|syn]
 *
 * Every forwarder runs with one shared tc drop for all four VIPs (dsr with
 * `--no-ingress-drop`), so the kernel's work on a VIP frame is the same for
 * all of them.
 * @module
 */

import { labDown, labUp } from "../lab/topology.ts";
import { requireRoot, uniquePrefix } from "../test/_netns.ts";
import { buildHelpers } from "./_build.ts";
import { type RunningForwarder, startC, startDsr } from "./_forwarders.ts";
import {
  FORWARDER_CORE,
  forwarderVips,
  forwarderVips6,
  GENERATOR_CORE,
  ingressDrop,
  pin,
  prepareLab,
} from "./_lab.ts";
import { TRAFFIC_TYPES, type TrafficType } from "./_options.ts";
import { type Generator, makeGenerator, PROFILES } from "./_traffic.ts";
import { measureTurn, median, sum, type Turn } from "./_turn.ts";

const USAGE = "usage: deno run -A bench/family_ab.ts PPS SECONDS ROUNDS [udp|syn]";
const [pps, seconds, rounds] = Deno.args.slice(0, 3).map(Number);
const traffic = (Deno.args[3] ?? "udp") as TrafficType;
if (!(pps > 0 && seconds > 0 && rounds > 0) || !TRAFFIC_TYPES.includes(traffic)) {
  console.error(USAGE);
  Deno.exit(2);
}
requireRoot();

type Lane = "dsr4" | "dsr6" | "c4" | "c6";
const LANES: Lane[] = ["dsr4", "dsr6", "c4", "c6"];

interface Step extends Turn {
  lane: Lane;
  round: number;
}

await pin(Deno.pid, GENERATOR_CORE);
const dir = await Deno.makeTempDir({ prefix: "dsr-family-" });
const prefix = uniquePrefix();
const steps: Step[] = [];
try {
  const helpers = await buildHelpers(dir);
  const lab = await labUp({ prefix, servers: 3, ipv6: true });
  await prepareLab(lab);
  const vips: Record<Lane, string> = {
    dsr4: forwarderVips(lab).dsr,
    dsr6: forwarderVips6().dsr,
    c4: forwarderVips(lab).c,
    c6: forwarderVips6().c,
  };
  const drop = await ingressDrop(lab.balancer.ns, lab.balancer.iface, Object.values(vips), 100);
  const running: RunningForwarder[] = [];
  try {
    const dsr = await startDsr(lab, [vips.dsr4, vips.dsr6], ["--no-ingress-drop"]);
    running.push(dsr);
    const c4 = await startC(lab, helpers, vips.c4);
    running.push(c4);
    const c6 = await startC(lab, helpers, vips.c6);
    running.push(c6);
    for (const c of [c4, c6]) await pin(c.pid!, FORWARDER_CORE);
    const owner: Record<Lane, RunningForwarder> = { dsr4: dsr, dsr6: dsr, c4, c6 };
    const generators = {} as Record<Lane, Generator>;
    for (const lane of LANES) {
      generators[lane] = await makeGenerator({
        kind: "c",
        profile: PROFILES[traffic],
        lab,
        helpers,
        dir,
        vip: vips[lane],
      });
      await generators[lane].offer(20_000, 2); // warm-up
    }
    for (let round = 0; round < rounds; round++) {
      const order = LANES.map((_, i) => LANES[(i + round) % LANES.length]);
      for (const lane of order) {
        const turn = await measureTurn(lab, generators[lane], {
          pid: owner[lane].pid!,
          pps,
          seconds,
        });
        const step: Step = { lane, round, ...turn };
        steps.push(step);
        console.log(JSON.stringify(step, (_, v) => typeof v === "number" ? +v.toFixed(3) : v));
      }
    }
  } finally {
    for (const fwd of running.reverse()) await fwd.stop();
    await drop.remove();
  }
} finally {
  await labDown(prefix);
  await Deno.remove(dir, { recursive: true });
}

const of = (lane: Lane) => steps.filter((s) => s.lane === lane);
const loss = (lane: Lane) =>
  1 - sum(of(lane).map((s) => s.delivered)) / sum(of(lane).map((s) => s.offered));
for (const lane of LANES) {
  console.log(
    `${lane}: process ${median(of(lane).map((s) => s.processUs)).toFixed(2)} µs/pkt, core 1 ${
      median(of(lane).map((s) => s.coreUs)).toFixed(2)
    } µs/pkt, loss ${(loss(lane) * 100).toFixed(2)}%`,
  );
}
/** Median over rounds of b's measure over a's in the same round. */
const ratio = (b: Lane, a: Lane, key: "processUs" | "coreUs") =>
  median(of(a).map((x) => of(b).find((y) => y.round === x.round)![key] / x[key]));
for (const key of ["processUs", "coreUs"] as const) {
  console.log(
    `${key}: dsr IPv6/IPv4 ${ratio("dsr6", "dsr4", key).toFixed(3)}, C IPv6/IPv4 ${
      ratio("c6", "c4", key).toFixed(3)
    }, dsr/C IPv4 ${ratio("dsr4", "c4", key).toFixed(3)}, dsr/C IPv6 ${
      ratio("dsr6", "c6", key).toFixed(3)
    }`,
  );
}
