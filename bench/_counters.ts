/**
 * The counters a step reads before and after: interface packet counters inside
 * a namespace, a process's CPU time, per-core busy time and the kernel's
 * per-core backlog statistics. All read-only.
 * @module
 */

import { nsExec } from "../lab/topology.ts";

/** Linux reports process and core times in USER_HZ ticks, 100 per second on x86. */
const TICKS_PER_SECOND = 100;

/** Packet counters of one interface. */
export interface LinkCounters {
  rxPackets: number;
  txPackets: number;
  rxDropped: number;
  txDropped: number;
}

/**
 * Reads `ip -s link` of `iface` inside namespace `ns`.
 * @throws {Error} when the interface cannot be read
 */
export async function linkCounters(ns: string, iface = "eth0"): Promise<LinkCounters> {
  const out = await nsExec(ns, ["ip", "-j", "-s", "link", "show", "dev", iface], { check: true });
  const [link] = JSON.parse(out.stdout);
  const s = link.stats64;
  return {
    rxPackets: s.rx.packets,
    txPackets: s.tx.packets,
    rxDropped: s.rx.dropped,
    txDropped: s.tx.dropped,
  };
}

/** CPU time of a process (all threads), seconds: utime and stime of `/proc/<pid>/stat`. */
export interface ProcessCpu {
  user: number;
  system: number;
}

/**
 * Reads the CPU time a process has used.
 * @throws {Error} when the process is gone
 */
export async function processCpu(pid: number): Promise<ProcessCpu> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // Fields after the command name, which may contain spaces, start at field 3.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return {
    user: Number(fields[11]) / TICKS_PER_SECOND,
    system: Number(fields[12]) / TICKS_PER_SECOND,
  };
}

/** Idle time of each core and the wall clock, seconds. */
export interface CoreTimes {
  /** `performance.now()` in seconds when read. */
  wall: number;
  /** Idle (and iowait) seconds since boot per core: measured exactly on tickless kernels. */
  idle: number[];
}

/**
 * Reads the per-core idle time of `/proc/stat`. Busy time is then wall time
 * minus idle time: the busy columns of `/proc/stat` are sampled at each timer
 * tick and run well off on a VM whose cores idle and wake thousands of times
 * a second.
 */
export async function coreTimes(): Promise<CoreTimes> {
  const idle: number[] = [];
  const text = await Deno.readTextFile("/proc/stat");
  const wall = performance.now() / 1000;
  for (const line of text.split("\n")) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    // user nice system idle iowait irq softirq steal guest guest_nice
    const t = m[2].trim().split(/\s+/).map(Number);
    idle[Number(m[1])] = (t[3] + t[4]) / TICKS_PER_SECOND;
  }
  return { wall, idle };
}

/** Busy seconds of each core between two readings. */
export function busySeconds(after: CoreTimes, before: CoreTimes): number[] {
  const wall = after.wall - before.wall;
  return after.idle.map((idle, i) =>
    Math.min(wall, Math.max(0, wall - (idle - (before.idle[i] ?? 0))))
  );
}

/** The kernel's per-core receive backlog counters (`/proc/net/softnet_stat`). */
export interface Softnet {
  /** Frames dropped because the core's backlog queue was full (netdev_max_backlog). */
  dropped: number[];
  /** Times the receive softirq ran out of budget with work left. */
  squeezed: number[];
}

/** Reads `/proc/net/softnet_stat` (one line of hex columns per core). */
export async function softnet(): Promise<Softnet> {
  const dropped: number[] = [];
  const squeezed: number[] = [];
  const lines = (await Deno.readTextFile("/proc/net/softnet_stat")).trim().split("\n");
  lines.forEach((line, i) => {
    const cols = line.trim().split(/\s+/).map((h) => parseInt(h, 16));
    // Newer kernels end each line with the core's index; older ones list cores in order.
    const core = cols.length >= 13 ? cols[12] : i;
    dropped[core] = cols[1];
    squeezed[core] = cols[2];
  });
  return { dropped, squeezed };
}

/** `after - before`, element by element. */
export function minus(after: number[], before: number[]): number[] {
  return after.map((v, i) => v - (before[i] ?? 0));
}

/** CPU seconds used so far by each user process, by pid; kernel threads left out. */
export type ProcessTimes = Map<number, number>;

/**
 * Reads the CPU time of every user process except those in `skip` (pids) or
 * whose command is in `skipNames`: what else is running on the machine.
 */
export async function processTimes(
  skip: Set<number>,
  skipNames: Set<string>,
): Promise<ProcessTimes> {
  const times: ProcessTimes = new Map();
  for await (const entry of Deno.readDir("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid) || skip.has(pid)) continue;
    let stat: string;
    try {
      stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    } catch {
      continue; // ended meanwhile
    }
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Kernel threads are children of kthreadd (pid 2); their work is ours (softirq).
    if (pid === 2 || fields[1] === "2" || skipNames.has(comm)) continue;
    times.set(pid, (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND);
  }
  return times;
}

/** CPU seconds other processes used between two readings (processes that ended are missed). */
export function otherCpuSeconds(after: ProcessTimes, before: ProcessTimes): number {
  let sum = 0;
  for (const [pid, t] of after) sum += t - (before.get(pid) ?? 0);
  return sum;
}
