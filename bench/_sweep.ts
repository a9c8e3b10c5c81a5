/**
 * One sweep: a traffic type, a warm-up, one step per offered rate and
 * forwarder, then a binary search per forwarder for its highest loss-free
 * rate between its last loss-free step and its first lossy one. A forwarder
 * leaves the sweep after two steps in a row lose more than 10%: it is
 * saturated, and higher rates would only show it collapse further.
 *
 * A step disturbed by the rest of the machine is measured again, up to twice:
 * when other processes used more than 0.15 CPU meanwhile, or when the
 * generator fell short, with no loss, of a rate it has already reached in
 * this run (other network load on its core does not show as process time).
 * @module
 */

import type { Lab } from "../lab/topology.ts";
import type { Helpers } from "./_build.ts";
import type { RunningForwarder } from "./_forwarders.ts";
import { forwarderVips } from "./_lab.ts";
import type { BenchOptions } from "./_options.ts";
import { LOSS_FREE, type SweepResult } from "./_report.ts";
import { describe, measureStep, type StepResult } from "./_step.ts";
import { type Generator, makeGenerator, type TrafficProfile } from "./_traffic.ts";

/** Loss above which a step counts as saturated, and how many in a row end a sweep. */
const SATURATED_LOSS = 0.1;
const SATURATED_STEPS = 2;
/** The search stops once the bracket is this narrow, relative to its low end. */
const SEARCH_RESOLUTION = 0.02;
/** Other processes' CPU (in CPUs) above which a step is disturbed; and how often to retry. */
const DISTURBED_LOAD = 0.15;
const RETRIES = 2;

/** Where a sweep runs: the lab, the forwarders on it, the helpers, a scratch directory. */
export interface SweepEnv {
  lab: Lab;
  /** Running at once, each on its own VIP (`forwarderVips`). */
  fwds: RunningForwarder[];
  helpers: Helpers;
  dir: string;
  /** The highest rate the generator has offered in this run, shared by all sweeps. */
  generator: { maxPps: number };
}

/** One forwarder's part of a sweep. */
interface Lane {
  fwd: RunningForwarder;
  generator: Generator;
  steps: StepResult[];
  search: StepResult[];
  saturated: number;
  lo: number;
  hi: number;
}

/**
 * Runs the warm-up, every step of `options.rates` and the search for one
 * traffic profile, for every forwarder in turn at each rate (who goes first
 * rotates from rate to rate), so that all of them meet the machine in the
 * same state.
 * @param log called with a line after each step
 */
export async function sweep(
  env: SweepEnv,
  profile: TrafficProfile,
  options: BenchOptions,
  log: (line: string) => void,
): Promise<SweepResult[]> {
  const { lab } = env;
  const vips = forwarderVips(lab);
  const lanes: Lane[] = [];
  for (const fwd of env.fwds) {
    const generator = await makeGenerator({
      kind: options.generator,
      profile,
      lab,
      helpers: env.helpers,
      dir: env.dir,
      vip: vips[fwd.name],
    });
    lanes.push({ fwd, generator, steps: [], search: [], saturated: 0, lo: 0, hi: 0 });
  }
  // Warm-up: JIT, caches and (for udp) the flow table; not recorded.
  for (const lane of lanes) await lane.generator.offer(options.rates[0], options.warmupSeconds);
  const measure = async (lane: Lane, rate: number, tag: string) => {
    for (let attempt = 0;; attempt++) {
      const step = await measureStep(lab, lane.fwd, lane.generator, rate, options);
      env.generator.maxPps = Math.max(env.generator.maxPps, step.offeredPps);
      const why = disturbed(step, env.generator.maxPps);
      const line = describe(lane.fwd.name, profile.type, step);
      log(`${line}${tag}${why ? ` disturbed: ${why}` : ""}`);
      if (!why || attempt === RETRIES) return { ...step, retries: attempt };
    }
  };
  for (const [i, rate] of options.rates.entries()) {
    for (let k = 0; k < lanes.length; k++) {
      const lane = lanes[(i + k) % lanes.length];
      if (lane.saturated >= SATURATED_STEPS) continue;
      const step = await measure(lane, rate, "");
      lane.steps.push(step);
      lane.saturated = step.loss > SATURATED_LOSS ? lane.saturated + 1 : 0;
    }
  }
  for (const lane of lanes) Object.assign(lane, bracket(lane.steps));
  for (let i = 0; i < options.search; i++) {
    for (const lane of lanes) {
      const { lo, hi } = lane;
      if (lo <= 0 || hi - lo <= lo * SEARCH_RESOLUTION) continue;
      const rate = Math.round((lo + hi) / 2 / 1000) * 1000;
      const step = await measure(lane, rate, " (search)");
      lane.search.push(step);
      if (step.loss <= LOSS_FREE) lane.lo = rate;
      else if (!step.generatorLimited) lane.hi = rate;
      else lane.lo = 0; // the generator fell short, not the forwarder: nothing to learn here
    }
  }
  return lanes.map((lane) => ({
    forwarder: lane.fwd.name,
    traffic: profile.type,
    steps: lane.steps,
    search: lane.search,
  }));
}

/** Why a step does not measure the forwarder alone, or null. */
function disturbed(step: StepResult, generatorMaxPps: number): string | null {
  const load = step.otherCpuSeconds / step.seconds;
  if (load > DISTURBED_LOAD) return `other processes used ${load.toFixed(2)} CPU`;
  // Short of the target without loss: the rate that matters was never offered.
  if (step.generatorLimited && step.loss <= LOSS_FREE && step.targetPps < 0.9 * generatorMaxPps) {
    return `the generator sent ${step.offeredPps} pps but reached ${generatorMaxPps} before`;
  }
  return null;
}

/** The highest loss-free target and the lowest lossy target above it; both 0 when there is none. */
function bracket(steps: StepResult[]): { lo: number; hi: number } {
  const ok = steps.filter((s) => s.loss <= LOSS_FREE).map((s) => s.targetPps);
  const lo = ok.length > 0 ? Math.max(...ok) : 0;
  const lossy = steps.filter((s) => s.loss > LOSS_FREE && s.targetPps > lo && !s.generatorLimited);
  const hi = lossy.length > 0 ? Math.min(...lossy.map((s) => s.targetPps)) : 0;
  return lo > 0 && hi > 0 ? { lo, hi } : { lo: 0, hi: 0 };
}
