/**
 * One sweep: a forwarder, a traffic type, a warm-up, one step per offered
 * rate, then a binary search for the highest loss-free rate between the last
 * loss-free step and the first lossy one. A sweep stops after two steps in a
 * row lose more than 10%: the forwarder is saturated, and higher rates would
 * only show it collapse further.
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
import type { BenchOptions } from "./_options.ts";
import { LOSS_FREE } from "./_report.ts";
import { describe, measureStep, type StepResult } from "./_step.ts";
import { makeGenerator, type TrafficProfile } from "./_traffic.ts";

/** Loss above which a step counts as saturated, and how many in a row end a sweep. */
const SATURATED_LOSS = 0.1;
const SATURATED_STEPS = 2;
/** The search stops once the bracket is this narrow, relative to its low end. */
const SEARCH_RESOLUTION = 0.02;
/** Other processes' CPU (in CPUs) above which a step is disturbed; and how often to retry. */
const DISTURBED_LOAD = 0.15;
const RETRIES = 2;

/** Where a sweep runs: the lab, the forwarder on it, the helpers, a scratch directory. */
export interface SweepEnv {
  lab: Lab;
  fwd: RunningForwarder;
  helpers: Helpers;
  dir: string;
  /** The highest rate the generator has offered in this run, shared by all sweeps. */
  generator: { maxPps: number };
}

/** The steps of a sweep and of its search. */
export interface SweepSteps {
  steps: StepResult[];
  search: StepResult[];
}

/**
 * Runs the warm-up, every step of `options.rates` and the search for one
 * traffic profile.
 * @param log called with a line after each step
 */
export async function sweep(
  env: SweepEnv,
  profile: TrafficProfile,
  options: BenchOptions,
  log: (line: string) => void,
): Promise<SweepSteps> {
  const { lab, fwd } = env;
  const generator = await makeGenerator({
    kind: options.generator,
    profile,
    lab,
    helpers: env.helpers,
    dir: env.dir,
  });
  // Warm-up: JIT, caches and (for udp) the flow table; not recorded.
  await generator.offer(options.rates[0], options.warmupSeconds);
  const measure = async (rate: number, tag: string) => {
    for (let attempt = 0;; attempt++) {
      const step = await measureStep(lab, fwd, generator, rate, options);
      env.generator.maxPps = Math.max(env.generator.maxPps, step.offeredPps);
      const why = disturbed(step, env.generator.maxPps);
      log(`${describe(fwd.name, profile.type, step)}${tag}${why ? ` disturbed: ${why}` : ""}`);
      if (!why || attempt === RETRIES) return { ...step, retries: attempt };
    }
  };
  const steps: StepResult[] = [];
  let saturated = 0;
  for (const rate of options.rates) {
    if (saturated >= SATURATED_STEPS) break;
    const step = await measure(rate, "");
    steps.push(step);
    saturated = step.loss > SATURATED_LOSS ? saturated + 1 : 0;
  }
  const search: StepResult[] = [];
  let { lo, hi } = bracket(steps);
  for (let i = 0; i < options.search && lo > 0 && hi - lo > lo * SEARCH_RESOLUTION; i++) {
    const rate = Math.round((lo + hi) / 2 / 1000) * 1000;
    const step = await measure(rate, " (search)");
    search.push(step);
    if (step.loss <= LOSS_FREE) lo = rate;
    else if (!step.generatorLimited) hi = rate;
    else break; // the generator fell short, not the forwarder: nothing to learn here
  }
  return { steps, search };
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
