/**
 * A/B of two dsr builds on one lab, for changes smaller than this VM's drift
 * (10-20% over minutes; see bench/README.md): build A (this checkout) and
 * build B (`--b-root`, default this checkout too, with `--b-env` settings)
 * run at the same time, each on its own VIP, and take turns at one rate,
 * round after round, who goes first alternating. Prints every step and, per
 * build, the median CPU per delivered packet (core 1, and the process), with
 * the ratio B/A of each round.
 *
 *   deno run -A bench/ab.ts [--b-root DIR] [--b-env K=V]... PPS SECONDS ROUNDS [udp|syn]
 *
 * Both run with `--no-ingress-drop` under one shared drop filter, so the
 * only difference between them is the build.
 * @module
 */

import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { labDown, labUp } from "../lab/topology.ts";
import { dsrArgv } from "../test/_dsr.ts";
import { requireRoot, uniquePrefix } from "../test/_netns.ts";
import { buildHelpers } from "./_build.ts";
import { type RunningForwarder, startDsr } from "./_forwarders.ts";
import { forwarderVips, GENERATOR_CORE, ingressDrop, pin, prepareLab } from "./_lab.ts";
import { TRAFFIC_TYPES, type TrafficType } from "./_options.ts";
import { makeGenerator, PROFILES } from "./_traffic.ts";
import { measureTurn, median, sum, type Turn } from "./_turn.ts";

const USAGE =
  "usage: deno run -A bench/ab.ts [--b-root DIR] [--b-env K=V]... PPS SECONDS ROUNDS [udp|syn]";
const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: { "b-root": { type: "string" }, "b-env": { type: "string", multiple: true } },
});
const [pps, seconds, rounds] = positionals.slice(0, 3).map(Number);
const traffic = (positionals[3] ?? "udp") as TrafficType;
if (!(pps > 0 && seconds > 0 && rounds > 0) || !TRAFFIC_TYPES.includes(traffic)) {
  console.error(USAGE);
  Deno.exit(2);
}
const HERE = fileURLToPath(new URL("..", import.meta.url));
const bRoot = values["b-root"] ? values["b-root"].replace(/\/?$/, "/") : null;
const bEnv = values["b-env"] ?? [];
requireRoot();

interface Step extends Turn {
  build: "A" | "B";
  round: number;
}

await pin(Deno.pid, GENERATOR_CORE);
const dir = await Deno.makeTempDir({ prefix: "dsr-ab-" });
const prefix = uniquePrefix();
const steps: Step[] = [];
try {
  const helpers = await buildHelpers(dir);
  const lab = await labUp({ prefix, servers: 3 });
  await prepareLab(lab);
  const vips = { A: forwarderVips(lab).dsr, B: forwarderVips(lab).c };
  const drop = await ingressDrop(lab.balancer.ns, lab.balancer.iface, [vips.A, vips.B], 100);
  const running: RunningForwarder[] = [];
  try {
    const a = await startDsr(lab, vips.A, ["--no-ingress-drop"]);
    running.push(a);
    const bArgv = [...(bEnv.length > 0 ? ["env", ...bEnv] : []), ...dsrArgv(bRoot ?? HERE)];
    const b = await startDsr(lab, vips.B, ["--no-ingress-drop"], bArgv);
    running.push(b);
    const lanes = { A: a, B: b };
    const generators = {
      A: await makeGenerator({
        kind: "c",
        profile: PROFILES[traffic],
        lab,
        helpers,
        dir,
        vip: vips.A,
      }),
      B: await makeGenerator({
        kind: "c",
        profile: PROFILES[traffic],
        lab,
        helpers,
        dir,
        vip: vips.B,
      }),
    };
    for (const build of ["A", "B"] as const) await generators[build].offer(20_000, 2); // warm-up
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? (["A", "B"] as const) : (["B", "A"] as const);
      for (const build of order) {
        const turn = await measureTurn(lab, generators[build], {
          pid: lanes[build].pid!,
          pps,
          seconds,
        });
        const step: Step = { build, round, ...turn };
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

const of = (build: "A" | "B") => steps.filter((s) => s.build === build);
const ratios = (key: "coreUs" | "processUs") =>
  of("A").map((a) => of("B").find((b) => b.round === a.round)![key] / a[key]);
for (const key of ["coreUs", "processUs"] as const) {
  const r = ratios(key);
  console.log(
    `${key}: A ${median(of("A").map((s) => s[key])).toFixed(2)}, B ${
      median(of("B").map((s) => s[key])).toFixed(2)
    } µs/pkt; B/A per round median ${median(r).toFixed(3)} (${Math.min(...r).toFixed(3)} … ${
      Math.max(...r).toFixed(3)
    })`,
  );
}
const loss = (build: "A" | "B") =>
  1 - sum(of(build).map((s) => s.delivered)) / sum(of(build).map((s) => s.offered));
console.log(`loss: A ${(loss("A") * 100).toFixed(2)}%, B ${(loss("B") * 100).toFixed(2)}%`);
