import assert from "node:assert/strict";
import { Forwarder, VERDICT_FORWARD } from "../dataplane/forwarder.ts";
import type { SharedTables } from "../dataplane/tables.ts";
import type { ForwarderOptions } from "../dataplane/forwarder.ts";
import { FRAME_KINDS, MUTATIONS } from "../bench/fuzz/generate.ts";
import { clean, type FrameProcessor, type FuzzReport, runFuzz } from "../bench/fuzz/run.ts";
import { CHANGES } from "../bench/fuzz/world.ts";
import { LB_MAC_BYTES } from "../bench/fuzz/world.ts";

// The CI slice of `deno task fuzz` (bench/fuzz.ts): 100,000 frames with a
// fixed seed through the real forwarder and the reference model, and the
// harness shown able to fail: forwarders broken on purpose are caught.

const SEED = 20_260_101;

Deno.test("fuzz, 100k frames: no crash, nothing forwarded the model drops, no other server, no other disagreement", () => {
  const report = runFuzz({ frames: 100_000, seed: SEED });
  const summary = JSON.stringify({ failures: report.failures, details: report.details }, null, 1);
  assert.equal(report.frames, 100_000);
  assert.equal(report.failures.crash, 0, summary);
  assert.equal(report.failures.wrongForward, 0, summary);
  assert.equal(report.failures.serverDiff, 0, summary);
  assert.ok(clean(report), summary);
  for (const kind of FRAME_KINDS) {
    assert.ok(report.kinds[kind] > 100, `${kind}: ${report.kinds[kind]}`);
  }
  for (const m of MUTATIONS) assert.ok(report.mutations[m] > 1000, `${m}: ${report.mutations[m]}`);
  for (const c of CHANGES) assert.ok(report.changes[c] > 0, `no program with ${c}`);
  // Every way of forwarding, answering and dropping was reached, not only generated.
  const reached = [
    "forward:new",
    "forward:flow",
    "forward:fragment",
    "forward:pmtu",
    "reply:arp",
    "reply:na",
    "reply:echo",
    "reply:echo6",
    "drop:noService",
    "drop:noBackend",
    "drop:fragment",
    "drop:oversize",
    "drop:standby",
    "drop:icmpNoFlow",
    "drop:truncated",
    "drop:badVersion",
    "drop:badIhl",
    "drop:badLength",
    "drop:badL4",
    "drop:badArp",
    "drop:badExtension",
    "drop:longChain",
    "ignore:otherMac",
    "ignore:notOurs",
  ];
  for (const r of reached) assert.ok((report.verdicts[r] ?? 0) > 10, `${r}: ${report.verdicts[r]}`);
  assert.ok(report.exactBuffers > 5000 && report.sweeps > 100);
  assert.ok(
    report.legs[1] > 10_000 && report.outLegs[1] > 1000,
    `legs ${report.legs} ${report.outLegs}`,
  );
});

Deno.test("fuzz: the same seed gives the same run, frame for frame", () => {
  const a = runFuzz({ frames: 5_000, seed: 7 });
  const b = runFuzz({ frames: 5_000, seed: 7 });
  const strip = (r: FuzzReport) => ({ ...r, ms: 0, framesPerSecond: 0 });
  assert.deepEqual(strip(a), strip(b));
  const replay = runFuzz({ frames: 1235, seed: 7, describe: 1234 });
  assert.match(replay.described ?? "", /^frame 1234 \(seed 7\): .*\n {2}bytes: {5}[0-9a-f]+\n/);
  assert.match(replay.described ?? "", /agreed$/);
});

/** A real forwarder behind a wrapper that breaks it as `broken` says. */
function wrapped(
  broken: (fwd: Forwarder, frame: Uint8Array, len: number, tx: Uint8Array, now: number) => number,
) {
  return (shared: SharedTables, options: ForwarderOptions): FrameProcessor => {
    const fwd = new Forwarder(shared, options);
    return {
      process: (frame, len, tx, now) => broken(fwd, frame, len, tx, now),
      load: (p) => fwd.load(p),
      tick: (now, budget) => fwd.tick(now, budget),
      receiveOn: (leg) => fwd.receiveOn(leg),
      get outLeg() {
        return fwd.outLeg;
      },
      get flows() {
        return fwd.flows;
      },
      get vipClaims() {
        return fwd.vipClaims;
      },
      get replyLength() {
        return fwd.replyLength;
      },
    };
  };
}

Deno.test("fuzz catches a forwarder that acts on frames for another MAC (the defect of issue 19)", () => {
  const report = runFuzz({
    frames: 10_000,
    seed: SEED,
    makeForwarder: wrapped((fwd, frame, len, tx, now) => {
      // As before the destination-MAC check: whatever reaches the capture is taken as ours.
      if (len < 14) return fwd.process(frame, len, tx, now);
      const dst = frame.slice(0, 6);
      frame.set(LB_MAC_BYTES, 0);
      const verdict = fwd.process(frame, len, tx, now);
      if (verdict !== VERDICT_FORWARD) frame.set(dst, 0);
      return verdict;
    }),
  });
  assert.ok(report.failures.wrongForward > 10, JSON.stringify(report.failures));
  assert.equal(report.failures.crash, 0);
  const first = report.details.find((d) => d.kind === "wrongForward");
  assert.ok(
    first && first.hex.length > 0 && first.what.includes("model: ignore otherMac"),
    first?.what,
  );
});

Deno.test("fuzz catches a forwarder that sends a flow to another real server than the model's", () => {
  const report = runFuzz({
    frames: 10_000,
    seed: SEED,
    makeForwarder: wrapped((fwd, frame, len, tx, now) => {
      const verdict = fwd.process(frame, len, tx, now);
      // UDP over IPv6 with no extension header goes to the next real server's MAC.
      if (verdict === VERDICT_FORWARD && frame[12] === 0x86 && frame[20] === 17) frame[5] ^= 1;
      return verdict;
    }),
  });
  assert.ok(report.failures.serverDiff > 10, JSON.stringify(report.failures));
  assert.equal(report.failures.wrongForward, 0);
});

Deno.test("fuzz catches a forwarder that throws, and goes on with the next frame", () => {
  let thrown = 0;
  const report = runFuzz({
    frames: 10_000,
    seed: SEED,
    makeForwarder: wrapped((fwd, frame, len, tx, now) => {
      // A hop-by-hop header: as if the parser read past it.
      if (len > 54 && frame[12] === 0x86 && frame[20] === 0) {
        thrown++;
        throw new RangeError("offset is out of bounds");
      }
      return fwd.process(frame, len, tx, now);
    }),
  });
  assert.ok(thrown > 10);
  assert.equal(report.failures.crash, thrown);
  assert.equal(report.frames, 10_000);
});

Deno.test("fuzz catches a forwarder that forgets its flows' TCP states (connection counts and picks)", () => {
  const report = runFuzz({
    frames: 20_000,
    seed: SEED,
    makeForwarder: wrapped((fwd, frame, len, tx, now) => {
      // FIN segments are passed on as plain ACKs: the flow never leaves its state.
      const fin = frame[12] === 8 && frame[23] === 6 && len > 47 && (frame[47] & 1) === 1;
      if (fin) frame[47] &= ~1;
      const verdict = fwd.process(frame, len, tx, now);
      if (fin) frame[47] |= 1;
      return verdict;
    }),
  });
  assert.ok(
    report.failures.stateDiff + report.failures.serverDiff > 0,
    JSON.stringify(report.failures),
  );
});
