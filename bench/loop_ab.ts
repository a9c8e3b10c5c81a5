/**
 * In-process A/B of the forwarding loop's batch, `ForwardingLoop.runBatch`,
 * on one leg, between this checkout (A) and another (B, `--b-root DIR`, e.g.
 * an export of the commit before two-legged balancers): each build's loop
 * drains 256-frame batches of a known flow's SYN from an in-memory PacketIo
 * that copies a prepared frame in and counts what is sent (no allocation,
 * no system call), so what is timed is the loop around `Forwarder.process`
 * and the forwarder itself. Timed in turns, a short slice each, as
 * `forwarder_ab.ts` does, so a loaded machine weighs on both alike. Prints
 * each build's median ns per frame and B/A.
 *
 *   deno run -A bench/loop_ab.ts --b-root DIR [--slices N]
 * @module
 */

import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { eth } from "../dataplane/_frame_builder.ts";
import { TCP_SYN } from "../dataplane/packet.ts";

const { values } = parseArgs({
  options: { "b-root": { type: "string" }, slices: { type: "string", default: "200" } },
});
if (!values["b-root"]) {
  console.error("usage: deno run -A bench/loop_ab.ts --b-root DIR [--slices N]");
  Deno.exit(2);
}
const SLICES = Number(values.slices);
const BATCHES = 8; // per slice: 2048 frames
const BATCH = 256;
const NOW = 1_000_000;
const VIP = "198.18.0.100";
const RIPS = [11, 12, 13].map((o, id) => ({
  id,
  ip: `198.18.0.${o}`,
  mac: `02:00:c6:12:00:${o.toString(16).padStart(2, "0")}`,
}));
const SYN = eth({ src: "02:00:c6:12:00:02", dst: "02:00:00:00:00:0a" })
  .ipv4({ src: "198.19.7.9", dst: VIP }).tcp({ sport: 40000, dport: 80, flags: TCP_SYN }).build();

/** Hands out BATCH copies of the SYN per batch and counts what is sent; allocates nothing. */
class ReplayIo {
  readonly rx = new Uint8Array(2048);
  readonly tx = new Uint8Array(2048);
  sent = 0;
  #left = 0;
  refill(): void {
    this.#left = BATCH;
  }
  next(): number {
    if (this.#left === 0) return 0;
    this.#left--;
    this.rx.set(SYN); // the frame as it arrives (the last one was rewritten in place)
    return SYN.length;
  }
  send(): boolean {
    this.sent++;
    return true;
  }
  forward(): boolean {
    this.sent++;
    return true;
  }
  flush(): number {
    return 0;
  }
  wait(): void {}
  setFilter(): void {}
  kernelDrops(): number {
    return 0;
  }
  close(): void {}
}

/** One build's loop on one ReplayIo, running the known flow's program. */
async function load(root: URL) {
  const at = (path: string) => new URL(path, root).href;
  const { buildProgram, resolve } = await import(at("dataplane/_program_builder.ts"));
  const { ForwardingLoop } = await import(at("dataplane/loop.ts"));
  const { createSharedTables } = await import(at("dataplane/tables.ts"));
  const shared = createSharedTables();
  const io = new ReplayIo();
  const loop = new ForwardingLoop(io, shared, { maxFlows: 1_000_000, clock: () => NOW });
  const program = buildProgram({ services: [{ id: 0, vip: VIP, port: 80, rips: RIPS }] });
  for (const rip of RIPS) resolve(shared, program, rip, Date.now() + 3_600_000);
  loop.post({ seq: 1, body: program });
  loop.applyPending();
  loop.tick(NOW); // the periodic work now, not inside a timed slice
  return (batches: number) => {
    for (let i = 0; i < batches; i++) {
      io.refill();
      loop.runBatch();
    }
    return io.sent;
  };
}

const roots = [new URL("../", import.meta.url), pathToFileURL(`${values["b-root"]}/`)];
const runs = await Promise.all(roots.map(load));
for (const run of runs) run(BATCHES * 20); // warm up both before timing either
const frames = BATCHES * BATCH;
const times: number[][] = [[], []];
for (let s = 0; s < SLICES; s++) {
  for (const b of s % 2 === 0 ? [0, 1] : [1, 0]) {
    const t0 = performance.now();
    runs[b](BATCHES);
    times[b].push((performance.now() - t0) * 1e6 / frames);
  }
}
const median = (xs: number[]) => xs.toSorted((x, y) => x - y)[xs.length >> 1];
const [a, b] = times.map(median);
console.log(
  `${"batch of a known flow's SYN, one leg".padEnd(46)} A ${a.toFixed(1).padStart(7)} ns  B ${
    b.toFixed(1).padStart(7)
  } ns  B/A ${(b / a).toFixed(3)}`,
);
