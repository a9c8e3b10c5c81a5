/**
 * Fuzz the data plane against its reference model: random and mutated frames
 * of every kind (Ethernet, ARP, IPv4, IPv6 and its extension headers,
 * fragments, TCP, UDP, ICMP, ICMPv6 and NDP, truncations, lying lengths)
 * through a real `Forwarder` and `bench/fuzz/model.ts` side by side. Fails
 * (exit 1) on any crash, any frame forwarded that the model drops, any other
 * server than the model's, or any other disagreement, and prints how to
 * replay each. Everything follows from the seed.
 *
 * `deno task fuzz [--frames N=10000000] [--seed S] [--replay SEED:INDEX] [--json]`
 * @module
 */

import { parseArgs } from "node:util";
import { clean, FAILURE_KINDS, type FuzzReport, runFuzz } from "./fuzz/run.ts";

const USAGE =
  "usage: deno task fuzz [--frames N=10000000] [--seed S] [--replay SEED:INDEX] [--json]";

function usage(problem: string): never {
  console.error(`fuzz: ${problem}\n${USAGE}`);
  Deno.exit(2);
}

function integer(text: string, name: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    usage(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return n;
}

function parse() {
  try {
    return parseArgs({
      args: Deno.args,
      options: {
        frames: { type: "string", default: "10000000" },
        seed: { type: "string" },
        replay: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }).values;
  } catch (e) {
    usage(e instanceof Error ? e.message : String(e));
  }
}

const values = parse();
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}

const n = (x: number) => x.toLocaleString("en-US");

if (values.replay !== undefined) {
  const m = /^(\d+):(\d+)$/.exec(values.replay);
  if (!m) usage(`--replay takes SEED:INDEX, got "${values.replay}"`);
  const seed = integer(m[1], "the seed", 0, 0xffffffff);
  const index = integer(m[2], "the index", 0, 1e9);
  const report = runFuzz({ frames: index + 1, seed, describe: index });
  console.log(report.described);
  Deno.exit(report.described?.endsWith("agreed") ? 0 : 1);
}

const frames = integer(values.frames, "--frames", 1, 1e9);
const seed = values.seed === undefined
  ? crypto.getRandomValues(new Uint32Array(1))[0]
  : integer(values.seed, "--seed", 0, 0xffffffff);
console.error(
  `fuzz: seed ${seed}, ${n(frames)} frames (deno task fuzz --frames ${frames} --seed ${seed})`,
);
const report = runFuzz({
  frames,
  seed,
  progressEvery: Math.max(100_000, Math.min(1_000_000, Math.ceil(frames / 10))),
  onProgress: (done, ms) =>
    console.error(`  ${n(done)} frames, ${n(Math.round(done / (ms / 1000)))} frames/s`),
});
print(report);
Deno.exit(clean(report) ? 0 : 1);

function print(r: FuzzReport): void {
  const by = (prefix: string) =>
    Object.entries(r.verdicts).filter(([k]) => k.startsWith(`${prefix}:`))
      .sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k.slice(prefix.length + 1)} ${n(v)}`)
      .join(", ");
  const wrong = r.failures.wrongForward;
  const others = FAILURE_KINDS.filter((k) => !["crash", "wrongForward", "serverDiff"].includes(k))
    .reduce((sum, k) => sum + r.failures[k], 0);
  console.log(
    [
      `fuzz: ${n(r.frames)} frames in ${(r.ms / 1000).toFixed(1)} s, ${
        n(Math.round(r.framesPerSecond))
      } frames/s, seed ${r.seed}`,
      `  crashes ${r.failures.crash}, forwarded where the model drops ${wrong}, ` +
      `server differences ${r.failures.serverDiff}, other disagreements ${others}`,
      `  later fragments lost to another datagram in the direct-mapped fragment table (tolerated): ${r.fragmentsOverwritten}`,
      ...["forward", "reply", "drop", "ignore"].map((v) =>
        `  ${v} ${n(r.verdicts[v] ?? 0)}: ${by(v) || "-"}`
      ),
      `  kinds: ${Object.entries(r.kinds).map(([k, v]) => `${k} ${n(v)}`).join(", ")}`,
      `  mutations: ${Object.entries(r.mutations).map(([k, v]) => `${k} ${n(v)}`).join(", ")}`,
      `  programs ${r.programs}, sweeps ${n(r.sweeps)}, most flows held ${n(r.peakFlows)}, ` +
      `frames in a buffer of their own length ${n(r.exactBuffers)}`,
      `  legs: received ${n(r.legs[0])} / ${n(r.legs[1])}, forwarded ${n(r.outLegs[0])} / ${
        n(r.outLegs[1])
      }`,
    ].join("\n"),
  );
  if (!clean(r)) {
    console.log(
      `  disagreements: ${
        FAILURE_KINDS.filter((k) => r.failures[k]).map((k) => `${k} ${r.failures[k]}`).join(", ")
      }`,
    );
    for (const d of r.details) {
      console.log(`  #${d.index} ${d.kind} (${d.frameKind}, ${d.mutation || "-"}): ${d.what}`);
      // A sweep's finding comes before frame `index`: the run up to it shows it again.
      console.log(
        d.frameKind === "sweep"
          ? `    again: deno task fuzz --seed ${r.seed} --frames ${d.index + 1}`
          : `    replay: deno task fuzz --replay ${r.seed}:${d.index}`,
      );
    }
  }
  if (values.json) console.log(JSON.stringify({ ...r, details: r.details }));
}
