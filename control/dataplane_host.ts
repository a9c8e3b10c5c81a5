/**
 * The control thread's handle on the forwarding worker: starts it on an
 * interface, posts programs and commands in order, and exposes the shared
 * tables for status. Posting never waits on the worker.
 * @module
 */

import { parseIpv4 } from "../dataplane/addr.ts";
import { ipv6Words, parseIpv6 } from "../dataplane/addr6.ts";
import type { LoopCommand, LoopMessage } from "../dataplane/loop.ts";
import {
  createSharedTables,
  M_APPLIED,
  M_POSTED,
  M_STOP,
  type Program,
  type SharedTables,
} from "../dataplane/tables.ts";
import type { TraceAnswer, TraceQuery } from "../dataplane/trace.ts";
import type { WorkerInit, WorkerReport } from "../dataplane/worker.ts";
import { RuntimeError } from "./errors.ts";

/** What a DR-path probe saw. */
export type ProbeResult = "syn-ack" | "rst" | "timeout";

const PROBE_PORT_BASE = 61_000;
const PROBE_PORTS = 1_000;

/** A running data plane. */
export class DataplaneHost {
  readonly shared: SharedTables = createSharedTables();
  #worker: Worker | null = null;
  #seq = 0;
  #stopped: Promise<void> | null = null;
  #probes = new Map<number, (answer: ProbeResult) => void>();
  #claims = new Set<(vip: string, mac: string) => void>();
  #probeId = 0;
  #traces = new Map<number, (answer: TraceAnswer) => void>();
  #traceId = 0;
  #probePort = 0;
  /** Called when the worker dies on its own (libpcap error). */
  onFailure: (message: string) => void = () => {};

  /**
   * Starts the worker on `ifaces` (the balancer's legs, one for most) and
   * waits until libpcap has opened every one.
   * @throws {RuntimeError} with libpcap's reason when it cannot.
   */
  async start(ifaces: readonly string[], maxFlows: number): Promise<void> {
    const worker = new Worker(new URL("../dataplane/worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker = worker;
    let settle!: (report: WorkerReport) => void;
    const first = new Promise<WorkerReport>((resolve) => settle = resolve);
    let stopped!: () => void;
    this.#stopped = new Promise<void>((resolve) => stopped = resolve);
    let ready = false;
    worker.onmessage = (event: MessageEvent<WorkerReport>) => {
      const report = event.data;
      if (report.type === "probe") {
        this.#probes.get(report.id)?.(report.answer);
      } else if (report.type === "trace") {
        this.#traces.get(report.id)?.(report.answer);
      } else if (report.type === "vip-claim") {
        for (const listener of this.#claims) listener(report.vip, report.mac);
      } else if (!ready) {
        ready = report.type === "ready";
        settle(report);
        if (!ready) stopped();
      } else {
        if (report.type === "error") this.onFailure(report.message);
        stopped();
      }
    };
    worker.onerror = (event) => {
      event.preventDefault();
      const message = event.message ?? "forwarding worker failed";
      if (!ready) settle({ type: "error", message });
      else this.onFailure(message);
      stopped();
    };
    const init: WorkerInit = { type: "init", ifaces: [...ifaces], shared: this.shared, maxFlows };
    worker.postMessage(init);
    const report = await first;
    if (report.type !== "ready") {
      worker.terminate();
      this.#worker = null;
      throw new RuntimeError(
        report.type === "error" ? report.message : "forwarding worker stopped",
      );
    }
  }

  #post(body: Program | LoopCommand): void {
    if (!this.#worker) return;
    const message: LoopMessage = { seq: ++this.#seq, body };
    this.#worker.postMessage(message);
    // The loop yields to its event loop only when it sees this word move.
    Atomics.store(this.shared.mailbox, M_POSTED, this.#seq);
  }

  /** Replaces the running program. */
  publish(program: Program): void {
    this.#post(program);
  }

  /** Announces `vip` now: a gratuitous ARP, or for IPv6 an unsolicited Neighbor Advertisement. */
  garp(vip: string): void {
    if (vip.includes(":")) this.#post({ type: "garp6", vip: ipv6Words(parseIpv6(vip)) });
    else this.#post({ type: "garp", vip: parseIpv4(vip) });
  }

  /**
   * Sends a DR-path probe to `vip:port` framed to neighbour `neighbor`'s MAC
   * and resolves with the answer, or "timeout" after `timeoutMs`.
   */
  probe(neighbor: number, vip: string, port: number, timeoutMs: number): Promise<ProbeResult> {
    const id = ++this.#probeId;
    // Source ports from a block of our own; the kernel resets the SYN-ACK as it owns no such socket.
    const srcPort = PROBE_PORT_BASE + (this.#probePort++ % PROBE_PORTS);
    const seq = crypto.getRandomValues(new Uint32Array(1))[0];
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#probes.delete(id);
        this.#post({ type: "probe-cancel", srcPort });
        resolve("timeout");
      }, timeoutMs);
      this.#probes.set(id, (answer) => {
        clearTimeout(timer);
        this.#probes.delete(id);
        resolve(answer);
      });
      const v6 = vip.includes(":");
      this.#post({
        type: "probe",
        id,
        neighbor,
        vip: v6 ? 0 : parseIpv4(vip),
        ...v6 ? { vip6: ipv6Words(parseIpv6(vip)) } : {},
        port,
        srcPort,
        seq,
      });
    });
  }

  /**
   * Asks the worker where a flow goes now (`dsr trace`); it answers between
   * two batches, from the tables the packets use.
   * @throws {RuntimeError} when the worker does not answer within `timeoutMs`
   */
  trace(query: TraceQuery, timeoutMs = 2000): Promise<TraceAnswer> {
    const id = ++this.#traceId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#traces.delete(id);
        reject(new RuntimeError(`the forwarding worker did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#traces.set(id, (answer) => {
        clearTimeout(timer);
        this.#traces.delete(id);
        resolve(answer);
      });
      this.#post({ type: "trace", id, query });
    });
  }

  /**
   * Asks who has `vip` (ARP, or a Neighbor Solicitation for IPv6) and
   * collects, for `windowMs`, the MACs of every other host that answers.
   */
  async whoHas(vip: string, windowMs: number): Promise<string[]> {
    const macs = new Set<string>();
    const listener = (claimed: string, mac: string) => {
      if (claimed === vip) macs.add(mac);
    };
    this.#claims.add(listener);
    try {
      if (vip.includes(":")) this.#post({ type: "whohas6", vip: ipv6Words(parseIpv6(vip)) });
      else this.#post({ type: "whohas", vip: parseIpv4(vip) });
      await new Promise((r) => setTimeout(r, windowMs));
    } finally {
      this.#claims.delete(listener);
    }
    return [...macs];
  }

  /**
   * Calls `listener` whenever another host claims a VIP (address text) in ARP
   * or a Neighbor Advertisement; returns a function that stops it.
   */
  onVipClaim(listener: (vip: string, mac: string) => void): () => void {
    this.#claims.add(listener);
    return () => this.#claims.delete(listener);
  }

  /** Generation of the program the worker runs. */
  get appliedGeneration(): number {
    return Atomics.load(this.shared.mailbox, M_APPLIED);
  }

  /** Stops the loop and waits for the worker to close the interface (2 s at most). */
  async stop(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    this.#worker = null;
    Atomics.store(this.shared.mailbox, M_STOP, 1);
    await Promise.race([this.#stopped, new Promise((resolve) => setTimeout(resolve, 2000))]);
    worker.terminate();
  }
}
