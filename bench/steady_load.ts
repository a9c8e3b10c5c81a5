/**
 * One forwarder under steady load, for profiling: builds the benchmark's lab,
 * starts `FORWARDER` (dsr, c or kernel) alone, offers `TRAFFIC` (udp or syn)
 * at `PPS` for `SECONDS` and prints what the sinks got and core 1's busy time
 * per delivered packet. While it runs, `perf record -C 1 -g -- sleep 6` sees
 * the forwarder's core (for JavaScript symbols, start it with
 * `DENO_V8_FLAGS=--perf-basic-prof`). For dsr it also prints the longest its
 * loop stayed away from the capture ring in any second of the run
 * (`batchMaxMs`): how long a frame arriving meanwhile waited.
 *
 *   deno run -A bench/steady_load.ts FORWARDER PPS SECONDS [udp|syn] [--ingress-drop] [--no-rps]
 *
 * `--no-rps` leaves the balancer's receive path on the generator's core, so
 * core 1 carries the forwarder and its sends only.
 *
 * One run is one sample: this VM's speed drifts by 10-20% over minutes, so
 * compare two builds by alternating runs, several of each.
 * @module
 */

import { labDown, labUp } from "../lab/topology.ts";
import { requireRoot, uniquePrefix } from "../test/_netns.ts";
import { buildHelpers } from "./_build.ts";
import { busySeconds, coreTimes, processCpu } from "./_counters.ts";
import { startForwarder } from "./_forwarders.ts";
import {
  FORWARDER_CORE,
  forwarderVips,
  GENERATOR_CORE,
  pin,
  prepareLab,
  sinkCounts,
} from "./_lab.ts";
import { type ForwarderName, FORWARDERS, TRAFFIC_TYPES, type TrafficType } from "./_options.ts";
import { makeGenerator, PROFILES } from "./_traffic.ts";

const USAGE =
  "usage: deno run -A bench/steady_load.ts dsr|c|kernel PPS SECONDS [udp|syn] [--ingress-drop] [--no-rps]";
const flags = Deno.args.filter((a) => a.startsWith("--"));
const [name, pps, seconds, traffic = "udp"] = Deno.args.filter((a) => !a.startsWith("--"));
if (
  !FORWARDERS.includes(name as ForwarderName) || !(Number(pps) > 0) || !(Number(seconds) > 0) ||
  !TRAFFIC_TYPES.includes(traffic as TrafficType) ||
  flags.some((f) => f !== "--ingress-drop" && f !== "--no-rps")
) {
  console.error(USAGE);
  Deno.exit(2);
}
requireRoot();
await pin(Deno.pid, GENERATOR_CORE);
const dir = await Deno.makeTempDir({ prefix: "dsr-steady-" });
const prefix = uniquePrefix();
try {
  const helpers = await buildHelpers(dir);
  const lab = await labUp({ prefix, servers: 3 });
  await prepareLab(lab, { rps: !flags.includes("--no-rps") });
  const fwd = await startForwarder(name as ForwarderName, lab, {
    helpers,
    ingressDrop: flags.includes("--ingress-drop"),
  });
  try {
    const generator = await makeGenerator({
      kind: "c",
      profile: PROFILES[traffic as TrafficType],
      lab,
      helpers,
      dir,
      vip: forwarderVips(lab)[name as ForwarderName],
    });
    await generator.offer(20_000, 2); // warm-up
    await new Promise((r) => setTimeout(r, 1000));
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const cpu = async () => {
      if (fwd.pid === null) return 0;
      const { user, system } = await processCpu(fwd.pid);
      return user + system;
    };
    const [sinks0, cores0, cpu0] = [sum(await sinkCounts(lab)), await coreTimes(), await cpu()];
    console.log(`offering ${pps} pps for ${seconds} s to ${name} (pid ${fwd.pid ?? "none"})`);
    // dsr publishes its longest batch once a second: read it twice as often.
    let batchMaxMs = 0;
    const watch = fwd.batchMaxMs && setInterval(() => {
      fwd.batchMaxMs!().then((ms) => batchMaxMs = Math.max(batchMaxMs, ms), () => {});
    }, 500);
    const sent = await generator.offer(Number(pps), Number(seconds));
    await new Promise((r) => setTimeout(r, 1000));
    if (watch) clearInterval(watch);
    const [sinks1, cores1, cpu1] = [sum(await sinkCounts(lab)), await coreTimes(), await cpu()];
    const delivered = sinks1 - sinks0;
    const offered = Math.round(Number(pps) * sent);
    const busy = busySeconds(cores1, cores0)[FORWARDER_CORE];
    console.log(JSON.stringify({
      offered,
      delivered,
      loss: Math.round((1 - delivered / offered) * 1e5) / 1e5,
      core1UsPerPacket: Math.round((busy / delivered) * 1e8) / 100,
      processUsPerPacket: fwd.pid === null
        ? null
        : Math.round(((cpu1 - cpu0) / delivered) * 1e8) / 100,
      batchMaxMs: watch ? batchMaxMs : null,
    }));
  } finally {
    await fwd.stop();
  }
} finally {
  await labDown(prefix);
  await Deno.remove(dir, { recursive: true });
}
