/**
 * The data-plane benchmark: dsr against a minimal C libpcap forwarder and the
 * kernel's own path (tc), on one namespace network per run. A paced generator
 * in the lab's client (bench/c_generator.c, or trafgen) offers UDP and TCP SYN
 * frames to the VIP at a sweep of rates on core 0; the forwarder runs on core
 * 1; the real servers are sinks that count what arrives. Prints a table,
 * writes `latest.json` and `latest.svg`.
 *
 *   deno task bench [--quick] [--seconds N] [--rates 20k,50k,…] [--traffic udp,syn]
 *                   [--forwarders kernel,c,dsr] [--generator c|trafgen] [--ingress-drop]
 *                   [--out DIR]
 *
 * Needs root, gcc and libpcap-dev (and netsniff-ng for trafgen). See bench/README.md.
 * @module
 */

import { fileURLToPath } from "node:url";
import { type Lab, labDown, labUp } from "../lab/topology.ts";
import { requireRoot, uniquePrefix } from "../test/_netns.ts";
import { buildHelpers, type Helpers, requireTools } from "./_build.ts";
import { busySeconds, coreTimes } from "./_counters.ts";
import { type RunningForwarder, startForwarder } from "./_forwarders.ts";
import { FORWARDER_CORE, GENERATOR_CORE, pin, prepareLab } from "./_lab.ts";
import { type BenchOptions, FORWARDERS, parseBenchArgs } from "./_options.ts";
import { summarize, type SweepResult, table, type TrafficSummary } from "./_report.ts";
import { chart } from "./_svg.ts";
import { sweep } from "./_sweep.ts";
import { PROFILES } from "./_traffic.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const RESULTS_DIR = `${ROOT}bench/results`;

/** The JSON document a run writes. */
export interface BenchResult {
  date: string;
  host: { kernel: string; cpus: number; cpuModel: string };
  options: BenchOptions;
  /** Busy fraction of each core over one idle second before the run (other load). */
  idleBusy: number[];
  setup: Record<string, string>;
  sweeps: SweepResult[];
  summary: TrafficSummary[];
}

const SETUP = {
  generator: "core 0, in the lab client. c: bench/c_generator.c, a burst of rate x 100 us " +
    "frames every 100 us, one sendmmsg each; trafgen: trafgen -P 1 -q paced by a TBF qdisc " +
    "(its own --rate sends each second's quota in one burst)",
  forwarderCore: "core 1: the forwarder process (taskset -a) and the balancer's receive path " +
    "(RPS on its eth0); also the bridge and sink receive work of forwarded frames",
  dsr: "dsr start --iface eth0, UDP service VIP:9 and TCP VIP:80 (mh, checks off), 3 real " +
    "servers; dsr drops VIP frames at tc ingress after its capture (unless --dsr-no-ingress-drop)",
  c: "bench/c_forwarder.c: pcap_next_ex + MAC rewrite + pcap_inject, direction in, immediate " +
    "mode, 32 MiB buffer, filter 'dst host VIP', sink = source port % 3",
  kernel: "bench/tc_bpf.c: ingress qdisc + cls_bpf direct-action program (rewrite MACs, " +
    "bpf_redirect egress to eth0); act_pedit, act_skbedit, act_gact and cls_flower are not " +
    "built into this kernel",
  sinks: "3 real servers; delivered = their eth0 rx counters; a tc filter (dsr's cBPF drop " +
    "program) drops the frames after counting",
  turns: "all three forwarders run at once, each on its own VIP (dsr .100, C .101, kernel .102); " +
    "each step offers traffic to one of them, in turns, who goes first rotating by rate",
};

async function hostInfo(): Promise<BenchResult["host"]> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown";
  const kernel = (await Deno.readTextFile("/proc/sys/kernel/osrelease")).trim();
  return { kernel, cpus: navigator.hardwareConcurrency, cpuModel: model };
}

async function idleBusy(): Promise<number[]> {
  const a = await coreTimes();
  await new Promise((r) => setTimeout(r, 1000));
  const b = await coreTimes();
  return busySeconds(b, a).map((x) => Math.round((x / (b.wall - a.wall)) * 100) / 100);
}

/** Formats result files as `deno fmt --check` expects them in the repository; best effort. */
async function tidy(files: string[]): Promise<void> {
  await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "-q", ...files],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output().catch(() => {});
}

/** The forwarders running now, so a signal can stop them before the lab goes. */
let running: RunningForwarder[] = [];

async function stopAll(): Promise<void> {
  // Reverse order: the kernel forwarder's qdisc goes last (see startForwarder).
  for (const fwd of running.reverse()) await fwd.stop();
  running = [];
}

async function runSweeps(lab: Lab, helpers: Helpers, dir: string, options: BenchOptions) {
  const sweeps: SweepResult[] = [];
  const generator = { maxPps: 0 };
  try {
    for (const name of FORWARDERS.filter((f) => options.forwarders.includes(f))) {
      running.push(
        await startForwarder(name, lab, {
          helpers,
          ingressDrop: options.ingressDrop,
          dsrNoIngressDrop: options.dsrNoIngressDrop,
        }),
      );
    }
    for (const traffic of options.traffic) {
      const env = { lab, fwds: running, helpers, dir, generator };
      sweeps.push(...await sweep(env, PROFILES[traffic], options, console.log));
    }
  } finally {
    await stopAll();
  }
  return sweeps;
}

/**
 * Runs the benchmark described by `args` and writes its results.
 * @throws {RangeError} for bad options; {Error} when the machine cannot run it
 */
export async function main(args: string[]): Promise<BenchResult> {
  const options = parseBenchArgs(args, RESULTS_DIR);
  requireRoot();
  await requireTools(options.generator === "trafgen");
  if (navigator.hardwareConcurrency < 2) throw new Error("The benchmark needs two cores");
  // The harness and everything it starts stays off the forwarder's core.
  await pin(Deno.pid, GENERATOR_CORE);
  const dir = await Deno.makeTempDir({ prefix: "dsr-bench-" });
  const prefix = uniquePrefix();
  const cleanup = async () => {
    await stopAll();
    await labDown(prefix);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const onSignal = () => cleanup().finally(() => Deno.exit(130));
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    const helpers = await buildHelpers(dir);
    const idle = await idleBusy();
    if (idle[FORWARDER_CORE] > 0.05) {
      console.log(
        `warning: core ${FORWARDER_CORE} is ${idle[FORWARDER_CORE] * 100}% busy ` +
          `before the run; results will be noisy`,
      );
    }
    const lab = await labUp({ prefix, servers: 3 });
    await prepareLab(lab);
    const sweeps = await runSweeps(lab, helpers, dir, options);
    const summary = options.traffic.map((t) => summarize(t, sweeps));
    const result: BenchResult = {
      date: new Date().toISOString(),
      host: await hostInfo(),
      options,
      idleBusy: idle,
      setup: SETUP,
      sweeps,
      summary,
    };
    await Deno.mkdir(options.outDir, { recursive: true });
    await Deno.writeTextFile(
      `${options.outDir}/latest.json`,
      JSON.stringify(result, null, 2) + "\n",
    );
    const caption = `${result.host.cpuModel}, ${result.host.cpus} cores, Linux ` +
      `${result.host.kernel}; ${options.seconds} s per step; ${result.date.slice(0, 16)}Z`;
    await Deno.writeTextFile(`${options.outDir}/latest.svg`, chart(sweeps, caption));
    await tidy([`${options.outDir}/latest.json`, `${options.outDir}/latest.svg`]);
    if (options.ingressDrop) console.log("\n(c ran with --ingress-drop, the tc drop dsr installs)");
    if (options.dsrNoIngressDrop) console.log("\n(dsr ran with --no-ingress-drop)");
    console.log(table(sweeps, summary));
    console.log(`\nwrote ${options.outDir}/latest.json and latest.svg`);
    return result;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await cleanup();
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (error) {
    console.error(`bench: error: ${error instanceof Error ? error.message : error}`);
    Deno.exit(error instanceof RangeError ? 2 : 1);
  }
}
