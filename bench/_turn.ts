/**
 * One turn of an in-run A/B (bench/ab.ts, bench/family_ab.ts): a lane's
 * generator offers a rate for a while on a quiet lab, and the turn reports
 * what the sinks received and the CPU each delivered packet cost, core 1's
 * and the forwarder process's own.
 * @module
 */

import type { Lab } from "../lab/topology.ts";
import { busySeconds, coreTimes, processCpu } from "./_counters.ts";
import { FORWARDER_CORE, quiesce, sinkCounts } from "./_lab.ts";
import type { Generator } from "./_traffic.ts";

/** What one turn measured. */
export interface Turn {
  offered: number;
  delivered: number;
  /** Core 1's busy time per delivered packet, µs. */
  coreUs: number;
  /** The forwarder process's CPU per delivered packet, µs. */
  processUs: number;
}

/** The sum of `xs`. */
export const sum = (xs: number[]): number => xs.reduce((x, y) => x + y, 0);

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Offers `pps` for `seconds` through `generator` to the forwarder `pid`, and measures it. */
export async function measureTurn(
  lab: Lab,
  generator: Generator,
  options: { pid: number; pps: number; seconds: number },
): Promise<Turn> {
  const cpu = async () => {
    const { user, system } = await processCpu(options.pid);
    return user + system;
  };
  await quiesce(lab);
  await new Promise((r) => setTimeout(r, 300));
  const [s0, c0, p0] = [sum(await sinkCounts(lab)), await coreTimes(), await cpu()];
  const sent = await generator.offer(options.pps, options.seconds);
  await quiesce(lab);
  const [s1, c1, p1] = [sum(await sinkCounts(lab)), await coreTimes(), await cpu()];
  const delivered = s1 - s0;
  return {
    offered: Math.round(options.pps * sent),
    delivered,
    coreUs: busySeconds(c1, c0)[FORWARDER_CORE] / delivered * 1e6,
    processUs: (p1 - p0) / delivered * 1e6,
  };
}
