/**
 * Options of the forwarding benchmark (`deno task bench [options]`) and their
 * parser. The full run sweeps both traffic types at ten rates; `--quick` is
 * the CI smoke run: one traffic type, three low rates, short steps.
 * @module
 */

import { parseArgs } from "node:util";

/** What the frames are: UDP on known flows, or a TCP SYN per new flow. */
export type TrafficType = "udp" | "syn";
/** The three forwarders compared. */
export type ForwarderName = "kernel" | "c" | "dsr";
/** What offers the frames: bench/c_generator.c, or trafgen paced by TBF. */
export type GeneratorKind = "c" | "trafgen";

export const TRAFFIC_TYPES: readonly TrafficType[] = ["udp", "syn"];
export const FORWARDERS: readonly ForwarderName[] = ["kernel", "c", "dsr"];

/** Everything a run needs to know; see {@linkcode parseBenchArgs} for defaults. */
export interface BenchOptions {
  quick: boolean;
  /** Seconds of traffic per step. */
  seconds: number;
  /** Offered rates of the sweep, packets per second, ascending. */
  rates: number[];
  traffic: TrafficType[];
  forwarders: ForwarderName[];
  generator: GeneratorKind;
  /** C runs with the tc filter dropping VIP frames after capture that dsr installs itself (see _forwarders.ts). */
  ingressDrop: boolean;
  /** dsr runs with `--no-ingress-drop`: the kernel's IP stack routes and drops every VIP frame. */
  dsrNoIngressDrop: boolean;
  /** Seconds of traffic at the lowest rate before the sweep, not recorded. */
  warmupSeconds: number;
  /** Binary-search steps for the highest loss-free rate after the sweep. */
  search: number;
  /** Pause between steps, ms (lets dsr's once-a-second kernel drop counter catch up). */
  pauseMs: number;
  /** Directory for latest.json and latest.svg. */
  outDir: string;
}

/** The default sweep: from well below to just above what this 2-core machine can generate. */
export const FULL_RATES = [
  20_000,
  50_000,
  80_000,
  110_000,
  140_000,
  170_000,
  200_000,
  250_000,
  300_000,
  350_000,
];
export const QUICK_RATES = [5_000, 10_000, 20_000];

const USAGE = `usage: deno task bench [--quick] [--seconds N] [--rates a,b,c] [--traffic udp,syn]
                       [--forwarders kernel,c,dsr] [--generator c|trafgen] [--ingress-drop]
                       [--dsr-no-ingress-drop] [--out DIR]`;

/**
 * Parses the benchmark's argv.
 * @throws {RangeError} naming the bad option and the value seen (with the usage)
 */
export function parseBenchArgs(args: string[], defaultOutDir: string): BenchOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        quick: { type: "boolean", default: false },
        seconds: { type: "string" },
        rates: { type: "string" },
        traffic: { type: "string" },
        forwarders: { type: "string" },
        generator: { type: "string" },
        "ingress-drop": { type: "boolean", default: false },
        "dsr-no-ingress-drop": { type: "boolean", default: false },
        out: { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new RangeError(`${(error as Error).message}\n${USAGE}`);
  }
  const quick = parsed.quick ?? false;
  const seconds = parsed.seconds === undefined ? (quick ? 2 : 5) : Number(parsed.seconds);
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 600) {
    throw new RangeError(`--seconds must be 1 to 600, got "${parsed.seconds}"\n${USAGE}`);
  }
  const generator = parsed.generator ?? "c";
  if (generator !== "c" && generator !== "trafgen") {
    throw new RangeError(`--generator takes c or trafgen, got "${generator}"\n${USAGE}`);
  }
  const rates = parsed.rates === undefined
    ? (quick ? QUICK_RATES : FULL_RATES)
    : parsed.rates.split(",").map((r) => parseRate(r));
  return {
    quick,
    seconds,
    rates: [...rates].sort((a, b) => a - b),
    traffic: list(parsed.traffic, TRAFFIC_TYPES, quick ? ["udp"] : TRAFFIC_TYPES, "--traffic"),
    forwarders: list(parsed.forwarders, FORWARDERS, FORWARDERS, "--forwarders"),
    generator,
    ingressDrop: parsed["ingress-drop"] ?? false,
    dsrNoIngressDrop: parsed["dsr-no-ingress-drop"] ?? false,
    warmupSeconds: quick ? 1 : 2,
    search: quick ? 0 : 3,
    pauseMs: quick ? 400 : 1_100,
    outDir: parsed.out ?? defaultOutDir,
  };
}

/** `50000`, `50k` or `1.5M` packets per second. */
function parseRate(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*$/.exec(text);
  const value = m ? Number(m[1]) * (m[2] === "" ? 1 : /k/i.test(m[2]) ? 1e3 : 1e6) : NaN;
  if (!Number.isFinite(value) || value < 100 || value > 10_000_000) {
    throw new RangeError(`--rates takes rates of 100 to 10M packets/s, got "${text}"\n${USAGE}`);
  }
  return Math.round(value);
}

function list<T extends string>(
  text: string | undefined,
  allowed: readonly T[],
  fallback: readonly T[],
  flag: string,
): T[] {
  if (text === undefined) return [...fallback];
  const items = text.split(",").map((s) => s.trim());
  const bad = items.find((s) => !allowed.includes(s as T));
  if (bad !== undefined || items.length === 0) {
    throw new RangeError(`${flag} takes ${allowed.join(", ")}; got "${bad ?? text}"\n${USAGE}`);
  }
  // Keep the canonical order, so tables and charts always read the same way.
  return allowed.filter((a) => items.includes(a));
}
