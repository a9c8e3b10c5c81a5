/**
 * The fuzz run: frames from {@link FrameGenerator} through a real
 * {@link Forwarder} and the {@link ReferenceModel} side by side, on a
 * virtual clock that crosses the 32-bit wrap, with programs changing now and
 * then and the once-a-second sweep the worker loop does. Each frame's
 * verdict, destination MAC, chosen backend, bytes, reply, counters and VIP
 * claims are compared; at each sweep, the flow count and every backend's
 * active and inactive connections. Everything is a function of the seed.
 * @module
 */

import {
  Forwarder,
  type ForwarderOptions,
  VERDICT_DROP,
  VERDICT_FORWARD,
  VERDICT_REPLY,
} from "../../dataplane/forwarder.ts";
import { MALFORMED_REASONS } from "../../dataplane/packet.ts";
import {
  B_PACKETS,
  B_STRIDE,
  createSharedTables,
  G_ARP_REPLIES,
  G_DROP_FRAGMENT,
  G_DROP_ICMP_NO_FLOW,
  G_DROP_MALFORMED,
  G_DROP_NO_BACKEND,
  G_DROP_NO_SERVICE,
  G_DROP_OVERSIZE,
  G_DROP_STANDBY,
  G_ICMP_REPLIES,
  G_MALFORMED_BASE,
  G_NA_REPLIES,
  G_OTHER_MAC,
  G_PMTU_FORWARDED,
  G_SIZE,
  MAX_BACKENDS,
  type Program,
  type SharedTables,
} from "../../dataplane/tables.ts";
import {
  FRAME_KINDS,
  FrameGenerator,
  type FrameKind,
  type Generated,
  MUTATIONS,
} from "./generate.ts";
import { type Outcome, ReferenceModel } from "./model.ts";
import { Prng, withSeededRandom } from "./prng.ts";
import {
  BASE,
  buildVariant,
  CHANGES,
  drawVariant,
  initialNeighbors,
  LB_MAC_BYTES,
  LEGS,
  ripMac,
  slotOf,
  type Variant,
  worldBackendIds,
} from "./world.ts";
import { parseMac } from "../../dataplane/addr.ts";

/** What the harness needs of a forwarder: `Forwarder`'s interface, so a broken one can stand in. */
export interface FrameProcessor {
  process(frame: Uint8Array, len: number, tx: Uint8Array, now: number): number;
  load(program: Program): void;
  tick(now: number, budget: number): void;
  /** The leg the next frames come from. */
  receiveOn(leg: number): void;
  /** The leg the last forwarded frame leaves by. */
  readonly outLeg: number;
  readonly flows: { readonly size: number };
  readonly vipClaims: unknown[];
  readonly replyLength: number;
}

/** Options of {@link runFuzz}. */
export interface FuzzOptions {
  /** Frames to run. */
  frames: number;
  /** The run's seed (unsigned 32-bit). */
  seed: number;
  /** Makes the forwarder under test; default a real {@link Forwarder}. */
  makeForwarder?: (shared: SharedTables, options: ForwarderOptions) => FrameProcessor;
  /** Failures described in full (the rest are only counted); default 20. */
  keepFailures?: number;
  /** Describe this frame index in full, failing or not (replay). */
  describe?: number;
  /** Called every `progressEvery` frames. */
  onProgress?: (done: number, elapsedMs: number) => void;
  progressEvery?: number;
}

/** Ways the forwarder and the model can disagree. */
export const FAILURE_KINDS = [
  "crash",
  "wrongForward",
  "serverDiff",
  "missedForward",
  "verdictDiff",
  "frameChanged",
  "replyDiff",
  "counterDiff",
  "claimDiff",
  "stateDiff",
] as const;
/** A way to disagree. */
export type FailureKind = typeof FAILURE_KINDS[number];

/** One disagreement, with what replaying it needs. */
export interface Failure {
  index: number;
  kind: FailureKind;
  frameKind: FrameKind | "sweep";
  mutation: string;
  what: string;
  hex: string;
}

/** The outcome of a run. */
export interface FuzzReport {
  seed: number;
  frames: number;
  ms: number;
  framesPerSecond: number;
  kinds: Record<string, number>;
  mutations: Record<string, number>;
  /** Agreed outcomes, `verdict` and `verdict:reason`. */
  verdicts: Record<string, number>;
  failures: Record<FailureKind, number>;
  /** Later fragments the data plane lost to another datagram in its direct-mapped table. */
  fragmentsOverwritten: number;
  programs: number;
  /** Programs loaded with each change (`standby`, `drain`, …). */
  changes: Record<string, number>;
  sweeps: number;
  /** Frames handed over in a buffer of exactly their length (the rest in a 64 KiB one with stale bytes after). */
  exactBuffers: number;
  /** The most flows the tables held at a sweep (they must stay below the flow table's size). */
  peakFlows: number;
  /** Frames received on each leg, and frames forwarded by each (agreed). */
  legs: [number, number];
  outLegs: [number, number];
  details: Failure[];
  /** The frame asked for with `describe`. */
  described: string | null;
}

/** Flow table size for the run: far above what the generated clients can fill (checked each sweep). */
export const FUZZ_MAX_FLOWS = 1 << 18;
/** The virtual clock starts a minute before the 32-bit millisecond counter wraps (as `now | 0`). */
const START_MS = 2 ** 31 - 60_000;
const SWEEP_BUDGET = 1 << 24;
const FIRST_CHANGES_EVERY = 10_000;

const VERDICTS = ["", "forward", "reply", "drop", "ignore"];

const DROP_COUNTERS: Record<string, number> = {
  noService: G_DROP_NO_SERVICE,
  noBackend: G_DROP_NO_BACKEND,
  fragment: G_DROP_FRAGMENT,
  oversize: G_DROP_OVERSIZE,
  standby: G_DROP_STANDBY,
  icmpNoFlow: G_DROP_ICMP_NO_FLOW,
};
const REPLY_COUNTERS: Record<string, number> = {
  arp: G_ARP_REPLIES,
  na: G_NA_REPLIES,
  echo: G_ICMP_REPLIES,
  echo6: G_ICMP_REPLIES,
};

/** The global counters `outcome` must move by one each. */
function countersOf(o: Outcome): number[] {
  if (o.verdict === "drop" && o.reason === "malformed") {
    return [G_DROP_MALFORMED, G_MALFORMED_BASE + MALFORMED_REASONS.indexOf(o.malformed!)];
  }
  if (o.verdict === "drop") return [DROP_COUNTERS[o.reason]];
  if (o.verdict === "reply") return [REPLY_COUNTERS[o.reason]];
  if (o.verdict === "ignore" && o.reason === "otherMac") return [G_OTHER_MAC];
  if (o.verdict === "forward" && o.reason === "pmtu") return [G_PMTU_FORWARDED];
  return [];
}

const hexOf = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const macText = (b: Uint8Array | null, at = 0) =>
  b === null
    ? "none"
    : Array.from(b.subarray(at, at + 6), (x) => x.toString(16).padStart(2, "0")).join(":");

function describeOutcome(o: Outcome): string {
  const parts = [o.verdict, o.reason];
  if (o.malformed) parts.push(o.malformed);
  if (o.verdict === "forward") {
    parts.push(`backend ${o.backend} (service ${o.service}) at ${macText(o.mac)}`);
  }
  if (o.claims) parts.push(`${o.claims} claim`);
  return parts.join(" ");
}

/** Runs `options.frames` frames; never throws for a disagreement (it is counted and described). */
export function runFuzz(options: FuzzOptions): FuzzReport {
  const seed = options.seed >>> 0;
  const keep = options.keepFailures ?? 20;
  const frames = new FrameGenerator(new Prng(seed));
  const world = new Prng(seed ^ 0x5bd1e995);
  const shared = createSharedTables();
  const make = options.makeForwarder ??
    ((s: SharedTables, o: ForwarderOptions) => new Forwarder(s, o));
  const fwd = withSeededRandom(world, () => make(shared, { maxFlows: FUZZ_MAX_FLOWS }));
  const model = new ReferenceModel(MAX_BACKENDS);
  const backendIds = worldBackendIds();
  const hashSeed = world.u32() | 0;

  const report: FuzzReport = {
    seed,
    frames: 0,
    ms: 0,
    framesPerSecond: 0,
    kinds: Object.fromEntries(FRAME_KINDS.map((k) => [k, 0])),
    mutations: Object.fromEntries(MUTATIONS.map((m) => [m, 0])),
    verdicts: {},
    failures: Object.fromEntries(FAILURE_KINDS.map((k) => [k, 0])) as Record<FailureKind, number>,
    fragmentsOverwritten: 0,
    programs: 0,
    changes: Object.fromEntries(CHANGES.map((c) => [c, 0])),
    sweeps: 0,
    exactBuffers: 0,
    peakFlows: 0,
    legs: [0, 0],
    outLegs: [0, 0],
    details: [],
    described: null,
  };
  const fail = (kind: FailureKind, index: number, g: Generated | null, what: string) => {
    report.failures[kind]++;
    if (report.details.length < keep) {
      report.details.push({
        index,
        kind,
        frameKind: g?.kind ?? "sweep",
        mutation: g?.mutation ?? "",
        what,
        hex: g ? hexOf(g.bytes) : "",
      });
    }
  };

  let variant: Variant | null = null;
  let generation = 0;
  const loadVariant = (next: Variant) => {
    const program = withSeededRandom(
      world,
      () => buildVariant(next, variant, { generation: ++generation, hashSeed }),
    );
    model.load(program);
    fwd.load(program);
    variant = next;
    report.programs++;
    for (const c of CHANGES) if (next[c]) report.changes[c]++;
    return program;
  };
  const first = loadVariant(BASE);
  for (const ip of initialNeighbors()) {
    const slot = slotOf(first, ip);
    const mac = parseMac(ripMac(ip));
    shared.neighborMacs.set(mac, slot * 8);
    shared.neighborSeen[slot] = Date.now();
    model.learn(slot, mac);
  }

  const rx = new Uint8Array(65536);
  const tx = new Uint8Array(65536);
  const before = new Float64Array(G_SIZE);
  let now = START_MS;
  let second = Math.floor(now / 1000);
  const started = performance.now();
  const every = options.progressEvery ?? 1_000_000;

  for (let index = 0; index < options.frames; index++) {
    // The clock: mostly a millisecond or two between frames, now and then a long quiet spell.
    now += world.chance(0.00005) ? world.range(5_000, 120_000) : world.pick([0, 0, 1, 1, 1, 2, 3]);
    if (Math.floor(now / 1000) !== second) {
      second = Math.floor(now / 1000);
      sweep(index);
    }
    // Each change alone for 10,000 frames first (so a short run sees every one), then a
    // program with changes drawn at random every 25,000 frames or so.
    const step = index / FIRST_CHANGES_EVERY;
    if (index > 0 && Number.isInteger(step) && step <= CHANGES.length + 1) {
      loadVariant(step > CHANGES.length ? BASE : { ...BASE, [CHANGES[step - 1]]: true });
    } else if (index > FIRST_CHANGES_EVERY * (CHANGES.length + 1) && world.chance(1 / 25_000)) {
      loadVariant(drawVariant(() => world.u32() / 2 ** 32, 0.15));
    }

    const g = frames.next();
    report.kinds[g.kind]++;
    report.mutations[g.mutation]++;
    const input = g.bytes;
    const len = input.length;
    // A fifth of the frames come in on the second leg, most of them addressed to its MAC.
    const leg = world.chance(0.2) ? 1 : 0;
    if (
      leg === 1 && len >= 6 && LB_MAC_BYTES.every((b, i) => input[i] === b) && world.chance(0.9)
    ) {
      input.set(LEGS[1].mac, 0);
    }
    report.legs[leg]++;
    // The worker hands frames over in 64 KiB slots holding the bytes of earlier frames past
    // `len`; a buffer of exactly the frame's length shows any read past its end as well.
    let buffer: Uint8Array;
    if (world.chance(0.125)) {
      buffer = input.slice();
      report.exactBuffers++;
    } else {
      rx.set(input, 0);
      if (world.chance(0.25)) { for (let i = len; i < len + 16; i++) rx[i] = world.byte(); }
      buffer = rx;
    }

    const expected = model.decide(input, now, leg);
    fwd.receiveOn(leg);
    before.set(shared.global);
    const counted = expected.backend >= 0
      ? shared.backends[expected.backend * B_STRIDE + B_PACKETS]
      : 0;
    let verdict: number;
    try {
      verdict = fwd.process(buffer, len, tx, now | 0);
    } catch (e) {
      const what = `threw ${e instanceof Error ? e.stack : String(e)}`;
      fail("crash", index, g, what);
      if (index === options.describe) {
        report.described = `frame ${index} (seed ${seed}): ${g.kind}, mutation ${g.mutation}, ` +
          `${len} bytes, leg ${leg}\n  bytes:     ${hexOf(input)}\n  crash: ${what}`;
      }
      report.frames = index + 1;
      continue;
    }
    const problem = compare(index, g, expected, verdict, buffer, counted);
    fwd.vipClaims.length = 0;
    if (index === options.describe) {
      report.described = [
        `frame ${index} (seed ${seed}): ${g.kind}, mutation ${g.mutation}, ${len} bytes, ` +
        `clock ${now | 0}, leg ${leg}, ${buffer === rx ? "64 KiB buffer" : "exact buffer"}`,
        `  bytes:     ${hexOf(input)}`,
        `  model:     ${describeOutcome(expected)}`,
        `  forwarder: ${VERDICTS[verdict] ?? verdict}` +
        (verdict === VERDICT_FORWARD ? ` to ${macText(buffer)} by leg ${fwd.outLeg}` : "") +
        (verdict === VERDICT_REPLY ? ` ${hexOf(tx.subarray(0, fwd.replyLength))}` : ""),
        `  counters moved: ${
          [...shared.global].map((v, i) => v - before[i] ? `${i}:+${v - before[i]}` : "")
            .filter(Boolean).join(" ") || "none"
        }`,
        `  ${problem ?? "agreed"}`,
      ].join("\n");
    }
    if (problem === null) {
      report.verdicts[expected.verdict] = (report.verdicts[expected.verdict] ?? 0) + 1;
      const key = `${expected.verdict}:${expected.malformed ?? expected.reason}`;
      report.verdicts[key] = (report.verdicts[key] ?? 0) + 1;
      if (expected.verdict === "forward") report.outLegs[expected.leg]++;
    }
    report.frames = index + 1;
    if (options.onProgress && (index + 1) % every === 0) {
      options.onProgress(index + 1, performance.now() - started);
    }
  }
  report.ms = performance.now() - started;
  report.framesPerSecond = report.frames / (report.ms / 1000);
  return report;

  /** The worker's once-a-second work, then the tables compared. */
  function sweep(index: number): void {
    fwd.tick(now | 0, SWEEP_BUDGET);
    model.sweep(now);
    model.assertRoom(FUZZ_MAX_FLOWS);
    report.peakFlows = Math.max(report.peakFlows, model.flows.size);
    report.sweeps++;
    if (fwd.flows.size !== model.flows.size) {
      fail(
        "stateDiff",
        index,
        null,
        `${fwd.flows.size} flows, the model holds ${model.flows.size}`,
      );
    }
    for (const id of backendIds) {
      if (shared.active[id] !== model.active[id] || shared.inactive[id] !== model.inactive[id]) {
        fail(
          "stateDiff",
          index,
          null,
          `backend ${id}: active/inactive ${shared.active[id]}/${shared.inactive[id]}, ` +
            `the model ${model.active[id]}/${model.inactive[id]}`,
        );
        break;
      }
    }
  }

  /** Why the forwarder's handling of the frame is not the model's, or null (a failure is counted). */
  function compare(
    index: number,
    g: Generated,
    expected: Outcome,
    verdict: number,
    buffer: Uint8Array,
    counted: number,
  ): string | null {
    const input = g.bytes;
    const len = input.length;
    const got = VERDICTS[verdict];
    const say = (kind: FailureKind, what: string) => {
      const text = `${what} (model: ${describeOutcome(expected)}; forwarder: ${got ?? verdict})`;
      fail(kind, index, g, text);
      return `${kind}: ${text}`;
    };
    if (got === undefined || verdict === 0) return say("verdictDiff", `verdict ${verdict}`);
    const moved = (i: number) => shared.global[i] - before[i];
    // The one thing the model cannot know: the direct-mapped fragment table gave the
    // datagram's slot to a datagram remembered after it, and the later fragment is dropped
    // as `fragment` where the model forwards it (or drops it for another reason). Tolerated
    // only then, and the model forgets the datagram as the table did.
    const f = expected.followed;
    const later = f !== null &&
      (f.v6 ? model.lastRemembered.v6 : model.lastRemembered.v4) > f.order;
    if (
      f !== null && later && verdict === VERDICT_DROP && moved(G_DROP_FRAGMENT) === 1 &&
      !(expected.verdict === "drop" && expected.reason === "fragment")
    ) {
      model.forgetFragment(f);
      report.fragmentsOverwritten++;
      return null;
    }
    if (got !== expected.verdict) {
      if (verdict === VERDICT_FORWARD) {
        return say("wrongForward", `forwarded to ${macText(buffer)}`);
      }
      if (expected.verdict === "forward") return say("missedForward", "not forwarded");
      return say("verdictDiff", "another verdict");
    }
    if (verdict === VERDICT_FORWARD) {
      const mac = expected.mac!;
      for (let i = 0; i < 6; i++) {
        if (buffer[i] !== mac[i]) return say("serverDiff", `sent to ${macText(buffer)}`);
      }
      const now = shared.backends[expected.backend * B_STRIDE + B_PACKETS];
      if (now - counted !== 1) {
        return say(
          "serverDiff",
          `backend ${expected.backend}'s packet counter moved by ${now - counted}`,
        );
      }
      const from = expected.from!;
      for (let i = 0; i < 6; i++) {
        if (buffer[6 + i] !== from[i]) {
          return say("serverDiff", `sent from ${macText(buffer, 6)}, not its leg's MAC`);
        }
      }
      if (fwd.outLeg !== expected.leg) return say("serverDiff", `sent by leg ${fwd.outLeg}`);
      for (let i = 12; i < len; i++) {
        if (buffer[i] !== input[i]) return say("frameChanged", `byte ${i} changed`);
      }
    } else {
      for (let i = 0; i < len; i++) {
        if (buffer[i] !== input[i]) {
          return say("frameChanged", `byte ${i} of a frame not forwarded changed`);
        }
      }
    }
    if (verdict === VERDICT_REPLY) {
      const why = expected.checkReply!(tx.subarray(0, fwd.replyLength));
      if (why !== null) return say("replyDiff", why);
    }
    const counters = countersOf(expected);
    for (let i = 0; i < G_SIZE; i++) {
      const want = counters.includes(i) ? 1 : 0;
      if (moved(i) !== want) {
        return say("counterDiff", `global counter ${i} moved by ${moved(i)}, not ${want}`);
      }
    }
    if (fwd.vipClaims.length !== expected.claims) {
      return say("claimDiff", `${fwd.vipClaims.length} VIP claims, not ${expected.claims}`);
    }
    return null;
  }
}

/** Whether a report shows no disagreement at all. */
export function clean(report: FuzzReport): boolean {
  return FAILURE_KINDS.every((k) => report.failures[k] === 0);
}
