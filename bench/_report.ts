/**
 * What a run concludes: per forwarder and traffic type the highest loss-free
 * rate, the CPU per forwarded packet at the highest rate every forwarder
 * sustains, the dsr/C and dsr/kernel ratios, and the table printed at the end.
 * @module
 */

import type { ForwarderName, TrafficType } from "./_options.ts";
import type { StepResult } from "./_step.ts";

/** Loss at or under this counts as loss-free. */
export const LOSS_FREE = 0.001;

/** One forwarder's sweep of one traffic type. */
export interface SweepResult {
  forwarder: ForwarderName;
  traffic: TrafficType;
  steps: StepResult[];
  /** Steps of the binary search for the highest loss-free rate. */
  search: StepResult[];
}

/** The conclusions for one traffic type. */
export interface TrafficSummary {
  traffic: TrafficType;
  /** Per forwarder: highest offered rate with loss ≤ 0.1%, or null when no step was. */
  lossFreePps: Partial<Record<ForwarderName, number | null>>;
  /** Per forwarder: that rate was the generator's limit or the last step, so the real one is higher. */
  lossFreeIsLowerBound: Partial<Record<ForwarderName, boolean>>;
  /** Target rate of the step where CPU per packet is compared (highest all sustain). */
  cpuRatePps: number;
  processUsPerPacket: Partial<Record<ForwarderName, number | null>>;
  forwarderCoreUsPerPacket: Partial<Record<ForwarderName, number | null>>;
  ratios: {
    lossFreeDsrToC: number | null;
    lossFreeDsrToKernel: number | null;
    processCpuDsrToC: number | null;
    coreCpuDsrToC: number | null;
    coreCpuDsrToKernel: number | null;
  };
}

function lossFree(sweep: SweepResult): { pps: number | null; lowerBound: boolean } {
  const all = [...sweep.steps, ...sweep.search];
  let best: StepResult | null = null;
  for (const s of all) {
    if (s.loss <= LOSS_FREE && (!best || s.offeredPps > best.offeredPps)) best = s;
  }
  if (!best) return { pps: null, lowerBound: false };
  // Nothing above it lost packets: the forwarder's own limit is higher still.
  const top = best.offeredPps;
  const lossyAbove = all.some((s) => s.loss > LOSS_FREE && s.offeredPps > top);
  return { pps: top, lowerBound: best.generatorLimited || !lossyAbove };
}

const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a == null || b == null || b === 0 ? null : Math.round((a / b) * 1000) / 1000;

/** Summarises the sweeps of one traffic type. */
export function summarize(traffic: TrafficType, sweeps: SweepResult[]): TrafficSummary {
  const mine = sweeps.filter((s) => s.traffic === traffic);
  const lossFreePps: TrafficSummary["lossFreePps"] = {};
  const lossFreeIsLowerBound: TrafficSummary["lossFreeIsLowerBound"] = {};
  for (const s of mine) {
    const r = lossFree(s);
    lossFreePps[s.forwarder] = r.pps;
    lossFreeIsLowerBound[s.forwarder] = r.lowerBound;
  }
  // The highest target every forwarder carried loss-free, else the lowest target.
  const targets = [...new Set(mine.flatMap((s) => s.steps.map((x) => x.targetPps)))];
  const sustained = targets.filter((t) =>
    mine.every((s) => (s.steps.find((x) => x.targetPps === t)?.loss ?? 1) <= LOSS_FREE)
  );
  const cpuRatePps = sustained.length > 0 ? Math.max(...sustained) : Math.min(...targets);
  const processUsPerPacket: TrafficSummary["processUsPerPacket"] = {};
  const forwarderCoreUsPerPacket: TrafficSummary["forwarderCoreUsPerPacket"] = {};
  for (const s of mine) {
    const step = s.steps.find((x) => x.targetPps === cpuRatePps);
    processUsPerPacket[s.forwarder] = step?.processUsPerPacket ?? null;
    forwarderCoreUsPerPacket[s.forwarder] = step?.forwarderCoreUsPerPacket ?? null;
  }
  return {
    traffic,
    lossFreePps,
    lossFreeIsLowerBound,
    cpuRatePps,
    processUsPerPacket,
    forwarderCoreUsPerPacket,
    ratios: {
      lossFreeDsrToC: ratio(lossFreePps.dsr, lossFreePps.c),
      lossFreeDsrToKernel: ratio(lossFreePps.dsr, lossFreePps.kernel),
      processCpuDsrToC: ratio(processUsPerPacket.dsr, processUsPerPacket.c),
      coreCpuDsrToC: ratio(forwarderCoreUsPerPacket.dsr, forwarderCoreUsPerPacket.c),
      coreCpuDsrToKernel: ratio(forwarderCoreUsPerPacket.dsr, forwarderCoreUsPerPacket.kernel),
    },
  };
}

const num = (n: number) => n.toLocaleString("en-US");
const pad = (s: string, n: number) => s.padStart(n);

/** The text table of a run: one block per traffic type. */
export function table(sweeps: SweepResult[], summaries: TrafficSummary[]): string {
  const out: string[] = [];
  for (const sum of summaries) {
    const mine = sweeps.filter((s) => s.traffic === sum.traffic);
    const names = mine.map((s) => s.forwarder);
    out.push(`\n== ${sum.traffic}: delivered / offered (loss) per step`);
    out.push(pad("target pps", 11) + names.map((n) => pad(n, 30)).join(""));
    const targets = [...new Set(mine.flatMap((s) => s.steps.map((x) => x.targetPps)))];
    for (const target of targets.sort((a, b) => a - b)) {
      const cells = mine.map((s) => {
        const x = s.steps.find((x) => x.targetPps === target);
        if (!x) return pad("(saturated)", 30);
        const mark = x.generatorLimited ? "*" : " ";
        const loss = `${(Math.max(0, x.loss) * 100).toFixed(2)}%`;
        return pad(`${num(x.deliveredPps)}/${num(x.offeredPps)}${mark}(${loss})`, 30);
      });
      out.push(pad(num(target), 11) + cells.join(""));
    }
    const lf = names.map((n) => {
      const v = sum.lossFreePps[n];
      return pad(v == null ? "none" : `${sum.lossFreeIsLowerBound[n] ? "≥ " : ""}${num(v)}`, 30);
    });
    out.push(pad("loss-free", 11) + lf.join(""));
    const cpu = (v: number | null | undefined) => v == null ? "–" : v.toFixed(2);
    const row = (label: string, values: Partial<Record<ForwarderName, number | null>>) =>
      out.push(pad(label, 11) + names.map((n) => pad(cpu(values[n]), 30)).join(""));
    out.push(`CPU per forwarded packet at ${num(sum.cpuRatePps)} pps (µs):`);
    row("process", sum.processUsPerPacket);
    row("core 1", sum.forwarderCoreUsPerPacket);
    const r = sum.ratios;
    const f = (v: number | null) => v === null ? "–" : v.toFixed(2);
    out.push(
      `dsr/C: loss-free rate ${f(r.lossFreeDsrToC)}, process CPU/pkt ${f(r.processCpuDsrToC)}, ` +
        `core CPU/pkt ${f(r.coreCpuDsrToC)}`,
    );
    out.push(
      `dsr/kernel: loss-free rate ${f(r.lossFreeDsrToKernel)}, core CPU/pkt ` +
        `${f(r.coreCpuDsrToKernel)}`,
    );
  }
  out.push(
    "\n* generator below 95% of the target: the generator, not the forwarder, was the limit",
  );
  return out.join("\n");
}
