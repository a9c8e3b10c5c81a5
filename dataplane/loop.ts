/**
 * The forwarding loop: drains frames from a PacketIo through the Forwarder,
 * sends what it decides, and between batches does the periodic work (flow
 * expiry, neighbour resolution, gauges) and swaps in new programs. It never
 * throws per packet and never logs.
 *
 * A balancer with several legs (`--iface` more than once) has one PacketIo
 * per leg: each batch drains every leg in turn, a forwarded frame leaves by
 * its real server's leg, an answer (ARP, NDP, echo) by the leg it came in
 * on, and announcements go out on every leg.
 * @module
 */

import { writeTcpSyn, writeTcpSyn6 } from "./dr_probe.ts";
import { writeArpRequest, writeGarp } from "./frames.ts";
import { type SolicitFields, writeNeighborSolicit, writeUnsolicitedAdvert } from "./frames6.ts";
import { Forwarder, VERDICT_FORWARD, VERDICT_REPLY } from "./forwarder.ts";
import type { PacketIo } from "./packet_io.ts";
import { type TraceAnswer, traceFlow, type TraceQuery } from "./trace.ts";
import {
  captureFilter,
  G_BATCH_MAX_MS,
  G_DROP_SEND,
  G_FLOWS,
  G_HEAP_USED,
  G_KERNEL_DROPS,
  G_RX,
  G_TX,
  type LegProgram,
  M_APPLIED,
  M_POSTED,
  M_STOP,
  type Program,
  programLegs,
  type SharedTables,
} from "./tables.ts";

/** Frames handled between two looks at the clock and the mailbox. */
const BATCH = 256;
/** Longest sleep while idle: bounds how late a new program is applied. */
const IDLE_WAIT_MS = 10;
const TICK_MS = 50;
const ARP_EVERY_MS = 1_000;
/** A neighbour confirmed less than this long ago is not asked again. */
const ARP_REFRESH_MS = 15_000;

/** A command from the control thread besides a program. */
export type LoopCommand =
  | { type: "garp"; vip: number }
  /** An unsolicited Neighbor Advertisement for an IPv6 VIP (four words). */
  | { type: "garp6"; vip: Int32Array }
  /** Asks "who-has vip"; every other host that answers shows up as a claim. */
  | { type: "whohas"; vip: number }
  /** A Neighbor Solicitation for an IPv6 VIP; every other host that answers is a claim. */
  | { type: "whohas6"; vip: Int32Array }
  /** Sends a DR-path probe SYN to vip:port framed to a neighbour's MAC. */
  | {
    type: "probe";
    id: number;
    neighbor: number;
    vip: number;
    port: number;
    srcPort: number;
    seq: number;
    /** An IPv6 VIP (four words): then the probe is an IPv6 SYN and `vip` is 0. */
    vip6?: Int32Array;
  }
  /** Gives up on a probe that timed out. */
  | { type: "probe-cancel"; srcPort: number }
  /** Explains where a flow goes now (`dsr trace`), answered by a `trace` report. */
  | { type: "trace"; id: number; query: TraceQuery };

/** What the loop reports to the control thread. */
export type LoopReport =
  | { type: "probe"; id: number; answer: "syn-ack" | "rst" }
  /** Another host claims a VIP (address text) in ARP or a Neighbor Advertisement. */
  | { type: "vip-claim"; vip: string; mac: string }
  | { type: "trace"; id: number; answer: TraceAnswer };

/** What the control thread posts; `seq` is then stored in the mailbox's M_POSTED word. */
export interface LoopMessage {
  seq: number;
  body: Program | LoopCommand;
}

/** Options of a {@link ForwardingLoop}. */
export interface LoopOptions {
  maxFlows?: number;
  /** Receives probe answers and VIP claims; default drops them. */
  report?: (report: LoopReport) => void;
  /** Clock in ms; injected by tests. Default `Date.now`. */
  clock?: () => number;
  /**
   * Blocks until a frame may be waiting on any leg or `ms` passes. Default:
   * the one leg's `wait`; with several legs, each leg's in turn for a share
   * of `ms` (the worker passes one `poll` on every leg instead).
   */
  wait?: (ms: number) => void;
}

/** Runs the data plane of one interface, or of each leg of a balancer with several. */
export class ForwardingLoop {
  readonly forwarder: Forwarder;
  /** The first leg's PacketIo (the only one of a balancer with one leg). */
  readonly io: PacketIo;
  /** One PacketIo per leg, in the order of the program's legs. */
  readonly ios: readonly PacketIo[];
  #wait: (ms: number) => void;
  /** The last batch read a full BATCH on some leg: more may be waiting. */
  #busy = false;
  #pending: (Program | LoopCommand)[] = [];
  #received = 0;
  #clock: () => number;
  #lastTick = 0;
  #lastArp = 0;
  #expireBudget: number;
  /** The longest batch (or program load) since the last report, in ms. */
  #batchMax = 0;
  #report: (report: LoopReport) => void;
  #solicitFields: SolicitFields = {
    mac: new Uint8Array(6),
    src: new Int32Array(4),
    srcAt: 0,
    target: new Int32Array(4),
    targetAt: 0,
  };

  /**
   * @param io the PacketIo of each leg, or of the one interface
   * @throws {RangeError} when `io` is an empty list
   */
  constructor(
    io: PacketIo | readonly PacketIo[],
    readonly shared: SharedTables,
    options: LoopOptions = {},
  ) {
    const ios = Array.isArray(io) ? [...io] : [io as PacketIo];
    if (ios.length === 0) throw new RangeError("ForwardingLoop needs at least one PacketIo");
    this.ios = ios;
    this.io = ios[0];
    this.#wait = options.wait ?? (ios.length === 1 ? (ms) => this.io.wait(ms) : (ms) => {
      for (const leg of ios) leg.wait(ms / ios.length);
    });
    const maxFlows = options.maxFlows ?? 1_000_000;
    this.forwarder = new Forwarder(shared, { maxFlows });
    this.#clock = options.clock ?? Date.now;
    this.#report = options.report ?? (() => {});
    // Visit every row of the table twice a second.
    this.#expireBudget = Math.ceil((maxFlows * TICK_MS) / 500);
  }

  /** Queues a program or command; applied before the next batch. */
  post(message: LoopMessage): void {
    this.#pending.push(message.body);
    this.#received = Math.max(this.#received, message.seq);
  }

  /** Applies queued programs and commands in order. */
  applyPending(): void {
    const start = this.#clock();
    const pending = this.#pending;
    this.#pending = [];
    for (const message of pending) {
      if ("type" in message) this.#command(message);
      else this.#load(message);
    }
    const took = this.#clock() - start;
    if (took > this.#batchMax) this.#batchMax = took;
  }

  #load(program: Program): void {
    this.forwarder.load(program);
    const legs = programLegs(program);
    // Each leg lets through its own address's probe answers.
    this.ios.forEach((io, i) => {
      const leg = legs[i] ?? legs[0];
      io.setFilter(captureFilter({ ...program, ip: leg.ip, ip6: leg.ip6 }));
    });
    for (const vip of program.garp) this.#garp(vip);
    for (const vip of program.garp6 ?? []) this.#garp6(vip);
    this.#lastArp = 0; // ask for new neighbours now, not in a second
    Atomics.store(this.shared.mailbox, M_APPLIED, program.generation);
  }

  #command(c: LoopCommand): void {
    const program = this.forwarder.program;
    if (c.type === "garp") this.#garp(c.vip);
    else if (c.type === "garp6") this.#garp6(c.vip);
    else if (c.type === "probe-cancel") this.forwarder.probes.drop(c.srcPort);
    else if (c.type === "trace") {
      // Between batches, on the packet path's clock: the answer is what the next packet would get.
      const answer = traceFlow(this.forwarder.tracing, c.query, this.#clock() | 0);
      this.#report({ type: "trace", id: c.id, answer });
    } else if (program && c.type === "whohas") {
      // Whoever claims the VIP, on whichever leg.
      this.#legs(program).forEach((leg, i) => {
        this.#send(writeArpRequest(this.ios[i].tx, leg.mac, leg.ip, c.vip), i);
      });
    } else if (program && c.type === "whohas6") {
      this.#legs(program).forEach((leg, i) => {
        if (leg.ip6 !== undefined) this.#solicit(i, leg, c.vip, 0);
      });
    } else if (program && c.type === "probe" && c.vip6 !== undefined) {
      // From the real server's leg: its MAC, its IPv6 address (without one
      // no IPv6 real server is compiled on it) and its wire.
      const i = this.#legOf(program, c.neighbor);
      const leg = this.#legs(program)[i];
      if (leg.ip6 === undefined) return;
      const n = c.neighbor * 8;
      this.forwarder.probes.add(c.id, 0, c.port, c.srcPort, c.seq, c.vip6);
      this.#send(
        writeTcpSyn6(this.ios[i].tx, {
          srcMac: leg.mac,
          dstMac: this.shared.neighborMacs.subarray(n, n + 6),
          src: leg.ip6,
          dst: c.vip6,
          srcPort: c.srcPort,
          dstPort: c.port,
          seq: c.seq,
        }),
        i,
      );
    } else if (program && c.type === "probe") {
      const i = this.#legOf(program, c.neighbor);
      const leg = this.#legs(program)[i];
      const n = c.neighbor * 8;
      this.forwarder.probes.add(c.id, c.vip, c.port, c.srcPort, c.seq);
      this.#send(
        writeTcpSyn(this.ios[i].tx, {
          srcMac: leg.mac,
          dstMac: this.shared.neighborMacs.subarray(n, n + 6),
          srcIp: leg.ip,
          dstIp: c.vip,
          srcPort: c.srcPort,
          dstPort: c.port,
          seq: c.seq,
        }),
        i,
      );
    }
  }

  /** The program's legs this loop has a PacketIo for (a program never names more legs than that). */
  #legs(program: Program): LegProgram[] {
    const legs = programLegs(program);
    return legs.length > this.ios.length ? legs.slice(0, this.ios.length) : legs;
  }

  /** The leg a neighbour slot is reached by. */
  #legOf(program: Program, neighbor: number): number {
    const leg = program.neighborLeg?.[neighbor] ?? 0;
    return leg < this.ios.length ? leg : 0;
  }

  /** Sends `len` bytes of leg `leg`'s tx buffer out of that leg. */
  #send(len: number, leg: number): void {
    const io = this.ios[leg];
    if (!io.send(io.tx, len)) this.shared.global[G_DROP_SEND]++;
  }

  /** A gratuitous ARP for `vip` on every leg, from each leg's MAC. */
  #garp(vip: number): void {
    const program = this.forwarder.program;
    // A standby must not pull the VIP's traffic towards itself; a routed node need not.
    if (!program || program.standby || program.routed) return;
    this.#legs(program).forEach((leg, i) => {
      this.#send(writeGarp(this.ios[i].tx, leg.mac, vip), i);
    });
  }

  #garp6(vip: Int32Array): void {
    const program = this.forwarder.program;
    if (!program || program.standby || program.routed) return;
    this.#legs(program).forEach((leg, i) => {
      this.#send(writeUnsolicitedAdvert(this.ios[i].tx, leg.mac, vip, 0), i);
    });
  }

  /**
   * A Neighbor Solicitation on leg `i` (from its MAC and IPv6 address) for
   * the address in `target[at, at + 4)`.
   */
  #solicit(i: number, leg: LegProgram, target: Int32Array, at: number): void {
    const s = this.#solicitFields;
    s.mac = leg.mac;
    s.src = leg.ip6!;
    s.target = target;
    s.targetAt = at;
    this.#send(writeNeighborSolicit(this.ios[i].tx, s), i);
  }

  /**
   * Handles up to one batch of frames from each leg; returns how many were
   * read, -1 once an I/O closed.
   */
  runBatch(): number {
    const ios = this.ios;
    const fwd = this.forwarder;
    const g = this.shared.global;
    const now = this.#clock();
    // The packet path takes the time as 32-bit ms (wrapping every 49.7 days;
    // every comparison of it is wrap-safe): a Date.now() double passed on
    // would be boxed in a new heap number per packet, the worker's garbage.
    const now32 = now | 0;
    // Received and sent frames are counted once per batch, not per frame.
    let total = 0;
    let sent = 0;
    let len = 0;
    let closed = false;
    let busy = false;
    for (let leg = 0; leg < ios.length; leg++) {
      const io = ios[leg];
      fwd.receiveOn(leg);
      let n = 0;
      for (; n < BATCH; n++) {
        len = io.next();
        if (len <= 0) break;
        const verdict = fwd.process(io.rx, len, io.tx, now32);
        if (verdict === VERDICT_FORWARD) {
          // By the real server's leg; the same leg sends from its own slot.
          const out = fwd.outLeg;
          if (out === leg ? io.send(io.rx, len) : ios[out].forward(io, len)) sent++;
          else g[G_DROP_SEND]++;
        } else if (verdict === VERDICT_REPLY) {
          // An answer leaves by the leg its question came in on.
          if (io.send(io.tx, fwd.replyLength)) sent++;
          else g[G_DROP_SEND]++;
        }
      }
      total += n;
      if (n === BATCH) busy = true;
      if (len < 0) closed = true;
    }
    let failed = 0;
    for (let leg = 0; leg < ios.length; leg++) failed += ios[leg].flush();
    g[G_RX] += total;
    g[G_TX] += sent - failed;
    g[G_DROP_SEND] += failed;
    this.#busy = busy;
    if (closed) return -1;
    if (now - this.#lastTick >= TICK_MS) this.tick(now);
    if (fwd.probeAnswers.length > 0 || fwd.vipClaims.length > 0) this.#flushReports();
    // Frames that came meanwhile waited this long for the loop, periodic work
    // included. Inline, not a call: a call would box the double per batch.
    const took = this.#clock() - now;
    if (took > this.#batchMax) this.#batchMax = took;
    return total;
  }

  #flushReports(): void {
    const fwd = this.forwarder;
    for (const a of fwd.probeAnswers) this.#report({ type: "probe", ...a });
    for (const c of fwd.vipClaims) this.#report({ type: "vip-claim", ...c });
    fwd.probeAnswers = [];
    fwd.vipClaims = [];
  }

  /** Periodic work: expiry, gauges, neighbour resolution. */
  tick(now: number): void {
    this.#lastTick = now;
    this.forwarder.tick(now, this.#expireBudget);
    const g = this.shared.global;
    g[G_FLOWS] = this.forwarder.flows.size;
    if (now - this.#lastArp >= ARP_EVERY_MS) {
      this.#lastArp = now;
      let drops = 0;
      for (const io of this.ios) drops += io.kernelDrops();
      g[G_KERNEL_DROPS] = drops;
      g[G_HEAP_USED] = Deno.memoryUsage().heapUsed;
      g[G_BATCH_MAX_MS] = this.#batchMax;
      this.#batchMax = 0;
      this.#resolveNeighbors(Date.now());
    }
  }

  /** Asks every neighbour not confirmed lately for its MAC, on its own leg. */
  #resolveNeighbors(wallNow: number): void {
    const program = this.forwarder.program;
    if (!program) return;
    const legs = this.#legs(program);
    const seen = this.shared.neighborSeen;
    const ips = program.neighborIps;
    const ips6 = program.neighborIps6;
    for (let slot = 0; slot < ips.length; slot++) {
      if (wallNow - seen[slot] < ARP_REFRESH_MS) continue;
      if (ips[slot] !== 0) {
        const i = this.#legOf(program, slot);
        this.#send(writeArpRequest(this.ios[i].tx, legs[i].mac, legs[i].ip, ips[slot]), i);
      } else if (ips6 !== undefined) {
        const w = slot * 4;
        if ((ips6[w] | ips6[w + 1] | ips6[w + 2] | ips6[w + 3]) !== 0) {
          const i = this.#legOf(program, slot);
          if (legs[i].ip6 !== undefined) this.#solicit(i, legs[i], ips6, w);
        }
      }
    }
  }

  /**
   * Runs until the mailbox says stop or the I/O closes. Yields to the event
   * loop only when a program was posted, so messages reach `post`.
   */
  async run(): Promise<void> {
    const mailbox = this.shared.mailbox;
    while (Atomics.load(mailbox, M_STOP) === 0) {
      if (Atomics.load(mailbox, M_POSTED) > this.#received) {
        // The message is on its way: let the event loop deliver it.
        await new Promise((resolve) => setTimeout(resolve, 0));
        continue;
      }
      if (this.#pending.length > 0) this.applyPending();
      const n = this.runBatch();
      if (n < 0) break;
      // A batch that stopped short on every leg emptied the rings: wait for
      // the next frame rather than ask again, since asking an empty ring
      // costs libpcap a poll system call (three instead of four per wake-up).
      if (!this.#busy) this.#wait(IDLE_WAIT_MS);
    }
  }
}
