/**
 * Keeps the data-plane benchmark from rotting: `bench/run.ts --quick` runs as
 * a subprocess on a namespace lab of its own and must write its JSON and chart
 * with every forwarder delivering at the lowest rate; `bench/ab.ts` runs two
 * rounds at a low rate.
 */

import assert from "node:assert/strict";
import type { BenchResult } from "../bench/run.ts";
import { requireRoot } from "./_netns.ts";

const RUN = new URL("../bench/run.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

Deno.test("bench --quick measures dsr, the C forwarder and the kernel and writes JSON and an SVG chart", async () => {
  requireRoot();
  const out = await Deno.makeTempDir({ prefix: "dsr-bench-smoke-" });
  try {
    const started = performance.now();
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", CONFIG, RUN, "--quick", "--out", out],
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
    assert.equal(run.code, 0, `bench/run.ts --quick exited ${run.code}:\n${text}`);
    // About 40 s here; far more means --quick stopped being quick.
    assert.ok(performance.now() - started < 120_000, "the quick run took over 120 s");

    const result: BenchResult = JSON.parse(await Deno.readTextFile(`${out}/latest.json`));
    assert.deepEqual(result.sweeps.map((s) => s.forwarder).sort(), ["c", "dsr", "kernel"]);
    const lowest = Math.min(...result.options.rates);
    for (const sweep of result.sweeps) {
      const step = sweep.steps.find((s) => s.targetPps === lowest);
      assert.ok(step, `${sweep.forwarder} has no step at ${lowest} pps`);
      assert.ok(step.offered > 0, `the generator offered nothing to ${sweep.forwarder}`);
      // The forwarders run at once on their own VIPs: each step's frames are one forwarder's.
      assert.ok(
        step.delivered >= 0.95 * step.offered,
        `${sweep.forwarder} delivered ${step.delivered} of ${step.offered} at ${lowest} pps`,
      );
    }
    assert.equal(result.summary.length, result.options.traffic.length);

    const svg = await Deno.readTextFile(`${out}/latest.svg`);
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.ok(svg.trimEnd().endsWith("</svg>"));
    for (const name of ["dsr", "C libpcap", "kernel (tc BPF)"]) assert.ok(svg.includes(name));
    assert.equal((svg.match(/<polyline /g) ?? []).length, result.sweeps.length);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

const AB = new URL("../bench/ab.ts", import.meta.url).pathname;

Deno.test("bench/ab.ts runs two dsr builds in turns and prints every step and the ratios", async () => {
  requireRoot();
  // B is this checkout too, started through `env` as another build would be.
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, AB, "--b-env", "DSR_AB_SMOKE=1", "5000", "1", "2"],
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
  assert.equal(run.code, 0, `bench/ab.ts exited ${run.code}:\n${text}`);
  const steps = text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  assert.deepEqual(steps.map((s) => `${s.build}${s.round}`), ["A0", "B0", "B1", "A1"]);
  for (const s of steps) {
    assert.ok(s.offered > 0 && s.delivered >= 0.95 * s.offered, JSON.stringify(s));
    assert.ok(s.coreUs > 0 && s.processUs > 0, JSON.stringify(s));
  }
  assert.match(text, /^coreUs: A [\d.]+, B [\d.]+ µs\/pkt; B\/A per round median [\d.]+/m);
  assert.match(text, /^processUs: /m);
});
