/**
 * One step of a sweep: wait until nothing is in flight, read every counter,
 * offer traffic at one rate for a fixed time, wait until the sinks stop
 * receiving, read every counter again. A step reports differences, so no
 * counter needs resetting.
 * @module
 */

import type { Lab } from "../lab/topology.ts";
import {
  busySeconds,
  type CoreTimes,
  coreTimes,
  type LinkCounters,
  linkCounters,
  minus,
  otherCpuSeconds,
  type ProcessCpu,
  processCpu,
  type ProcessTimes,
  processTimes,
  softnet,
} from "./_counters.ts";
import type { ForwarderStats, RunningForwarder } from "./_forwarders.ts";
import { FORWARDER_CORE, GENERATOR_CORE, quiesce, sinkCounts } from "./_lab.ts";
import type { BenchOptions } from "./_options.ts";
import type { Generator } from "./_traffic.ts";

/** What one step measured. */
export interface StepResult {
  targetPps: number;
  /** Wall time the generator sent for. */
  seconds: number;
  /** Frames the generator's eth0 sent. */
  offered: number;
  /** Frames the sinks' interfaces received. */
  delivered: number;
  /** The balancer's eth0 over the step: frames in, frames out, frames it dropped. */
  balancer: { rx: number; tx: number; rxDropped: number; txDropped: number };
  offeredPps: number;
  deliveredPps: number;
  /** 1 - delivered / offered (slightly negative when ARP reaches the sinks). */
  loss: number;
  /** The generator could not reach 95% of the target. */
  generatorLimited: boolean;
  deliveredPerSink: number[];
  /** utime + stime of the forwarder's process, all threads; null for the kernel. */
  processCpuSeconds: number | null;
  /** Busy time of the forwarder core (process, softirq, sinks' receive path). */
  forwarderCoreSeconds: number;
  /** Busy fraction of the forwarder core over the step (offer and drain). */
  forwarderCoreBusy: number;
  generatorCoreSeconds: number;
  processUsPerPacket: number | null;
  forwarderCoreUsPerPacket: number;
  /** The forwarder's own counters over the step. */
  forwarder: ForwarderStats;
  /** Frames the kernel dropped per core for a full backlog queue. */
  backlogDrops: number[];
  /** Receive softirq runs per core that ran out of budget. */
  squeezed: number[];
  /** CPU seconds used meanwhile by other processes on the machine (noise; see README). */
  otherCpuSeconds: number;
  /** Times the step was measured again because it was disturbed (see _sweep.ts). */
  retries?: number;
}

interface Snapshot {
  client: number;
  balancer: LinkCounters;
  sinks: number[];
  process: ProcessCpu | null;
  cores: CoreTimes;
  backlogDrops: number[];
  squeezed: number[];
  others: ProcessTimes;
}

/** Processes whose CPU time is part of the measurement, not noise. */
const OWN = new Set(["c_generator", "trafgen", "c_forwarder", "timeout", "taskset", "ip"]);

async function snapshot(lab: Lab, fwd: RunningForwarder): Promise<Snapshot> {
  const skip = new Set([Deno.pid, ...(fwd.pid === null ? [] : [fwd.pid])]);
  const [client, balancer, sinks, process, cores, net, others] = await Promise.all([
    linkCounters(lab.client.ns),
    linkCounters(lab.balancer.ns),
    sinkCounts(lab),
    fwd.pid === null ? null : processCpu(fwd.pid),
    coreTimes(),
    softnet(),
    processTimes(skip, OWN),
  ]);
  return {
    client: client.txPackets,
    balancer,
    sinks,
    process,
    cores,
    backlogDrops: net.dropped,
    squeezed: net.squeezed,
    others,
  };
}

function statsDelta(after: ForwarderStats, before: ForwarderStats): ForwarderStats {
  const d = (a: number | null, b: number | null) => a === null || b === null ? null : a - b;
  return {
    received: d(after.received, before.received),
    forwarded: d(after.forwarded, before.forwarded),
    captureDrops: d(after.captureDrops, before.captureDrops),
    sendFailures: d(after.sendFailures, before.sendFailures),
  };
}

/**
 * Measures one step at `rate`.
 * @throws {Error} when the generator or a counter cannot be read
 */
export async function measureStep(
  lab: Lab,
  fwd: RunningForwarder,
  generator: Generator,
  rate: number,
  options: Pick<BenchOptions, "seconds" | "pauseMs">,
): Promise<StepResult> {
  await quiesce(lab);
  await new Promise((r) => setTimeout(r, options.pauseMs));
  const statsBefore = await fwd.stats();
  const before = await snapshot(lab, fwd);
  const seconds = await generator.offer(rate, options.seconds);
  await quiesce(lab);
  const after = await snapshot(lab, fwd);
  // dsr refreshes its capture drop counter once a second.
  await new Promise((r) => setTimeout(r, options.pauseMs));
  const stats = statsDelta(await fwd.stats(), statsBefore);
  return result(rate, seconds, before, after, stats);
}

function result(
  targetPps: number,
  seconds: number,
  before: Snapshot,
  after: Snapshot,
  forwarder: ForwarderStats,
): StepResult {
  const offered = after.client - before.client;
  const deliveredPerSink = minus(after.sinks, before.sinks);
  const delivered = deliveredPerSink.reduce((a, b) => a + b, 0);
  const busy = busySeconds(after.cores, before.cores);
  // utime + stime is exact (the kernel scales both to the task's measured run time); the split
  // between them is sampled at the tick, and on a VM ticks land in the kernel far too often.
  const cpu = after.process && before.process
    ? after.process.user + after.process.system - before.process.user - before.process.system
    : null;
  const window = after.cores.wall - before.cores.wall;
  const perPacket = (s: number) => delivered > 0 ? (s / delivered) * 1e6 : 0;
  return {
    targetPps,
    seconds: round(seconds, 3),
    offered,
    delivered,
    balancer: {
      rx: after.balancer.rxPackets - before.balancer.rxPackets,
      tx: after.balancer.txPackets - before.balancer.txPackets,
      rxDropped: after.balancer.rxDropped - before.balancer.rxDropped,
      txDropped: after.balancer.txDropped - before.balancer.txDropped,
    },
    offeredPps: Math.round(offered / seconds),
    deliveredPps: Math.round(delivered / seconds),
    loss: offered > 0 ? round(1 - delivered / offered, 6) : 0,
    generatorLimited: offered / seconds < 0.95 * targetPps,
    deliveredPerSink,
    processCpuSeconds: cpu === null ? null : round(cpu, 2),
    forwarderCoreSeconds: round(busy[FORWARDER_CORE], 2),
    forwarderCoreBusy: round(busy[FORWARDER_CORE] / window, 3),
    generatorCoreSeconds: round(busy[GENERATOR_CORE], 2),
    processUsPerPacket: cpu === null ? null : round(perPacket(cpu), 3),
    forwarderCoreUsPerPacket: round(perPacket(busy[FORWARDER_CORE]), 3),
    forwarder,
    backlogDrops: minus(after.backlogDrops, before.backlogDrops),
    squeezed: minus(after.squeezed, before.squeezed),
    otherCpuSeconds: round(otherCpuSeconds(after.others, before.others), 2),
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** One line about a step, for the log. */
export function describe(name: string, type: string, s: StepResult): string {
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const cpu = s.processUsPerPacket === null ? "" : ` proc ${s.processUsPerPacket.toFixed(2)}µs/pkt`;
  const drops = s.forwarder.captureDrops === null ? "" : ` ring drops ${s.forwarder.captureDrops}`;
  const busy = pct(s.forwarderCoreBusy);
  return `${name.padEnd(6)} ${type} ${String(s.targetPps).padStart(7)} pps: offered ` +
    `${s.offeredPps} delivered ${s.deliveredPps} loss ${pct(s.loss)}${cpu} core 1 ${busy} ` +
    `${s.forwarderCoreUsPerPacket.toFixed(2)}µs/pkt${drops} backlog drops ` +
    `${s.backlogDrops[FORWARDER_CORE] ?? 0} other load ${
      (s.otherCpuSeconds / s.seconds).toFixed(2)
    }` +
    `${s.generatorLimited ? " (generator-limited)" : ""}`;
}
