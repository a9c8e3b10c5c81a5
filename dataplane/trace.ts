/**
 * `dsr trace`: which real server a flow gets now and why, decided the way
 * the forwarder decides a packet (an existing flow, else client persistence,
 * else the scheduler's pick, else the fallback, and the real server's MAC
 * must be known) but without a packet and without changing anything: no
 * flow is made or touched, and a stateful scheduler's (rr, wrr) state is put
 * back after its pick. Runs in the forwarding worker between batches, on
 * request; it may allocate, as nothing here is per packet.
 * @module
 */

import { formatIpv4, formatMac } from "./addr.ts";
import { formatIpv6, wordsToBytes } from "./addr6.ts";
import {
  FLOW_CLOSE,
  FLOW_ESTABLISHED,
  FLOW_FIN,
  FLOW_SYN,
  FLOW_UDP,
  type FlowTable,
} from "./flow_table.ts";
import { hashAddr, hashAddr6, hashFlow, hashFlow6 } from "./hash.ts";
import { pick, SCHED_MH, SCHED_SH, SCHEDULER_NAMES } from "./scheduler.ts";
import type { ServiceIndex } from "./service_index.ts";
import type { Program, SharedTables } from "./tables.ts";

/** The flow to explain. Addresses as the data plane keeps them. */
export interface TraceQuery {
  /** IPv4 client (unsigned 32-bit), or 0 with `client6`. */
  client: number;
  /** IPv6 client, four words; absent for IPv4. */
  client6?: Int32Array;
  /** Client port, or -1 when not given (no flow can be looked up then). */
  port: number;
  vip: number;
  vip6?: Int32Array;
  vipPort: number;
  /** IP protocol number (6 or 17). */
  proto: number;
}

/** Why a flow goes where it goes, or why it is dropped. */
export type TraceReason =
  | "flow"
  | "persist"
  | "schedule"
  | "fallback"
  | "noService"
  | "noBackend"
  | "unresolved"
  | "standby"
  | "needsPort";

/** The answer, as `dsr trace --json` prints it (SPEC §4). */
export interface TraceAnswer {
  verdict: "forward" | "drop";
  reason: TraceReason;
  /** The real server's address, or null. */
  rip: string | null;
  /** Its MAC as the data plane knows it, or null while unresolved. */
  mac: string | null;
  /** The Maglev table entry the pick read (`sh`, `mh`), or null. */
  slot: number | null;
  /** Entries of that table, or null. */
  ringSize: number | null;
  scheduler: string | null;
  /** The flow already in the table, or null. */
  flow: { state: string; idleSeconds: number; expiresInSeconds: number } | null;
  /** The client's persistence entry, when it decided. */
  persist: { expiresInSeconds: number } | null;
}

/** What the forwarder lends the trace: its program and tables, read only. */
export interface TraceTables {
  program: Program | null;
  index: ServiceIndex;
  flows: FlowTable;
  persist: Map<number, FlowTable>;
  /** 1 for a backend that may take new flows (by id). */
  usable: Uint8Array;
  shared: SharedTables;
}

const STATE_NAMES: Record<number, string> = {
  [FLOW_SYN]: "syn",
  [FLOW_ESTABLISHED]: "established",
  [FLOW_FIN]: "fin",
  [FLOW_CLOSE]: "close",
  [FLOW_UDP]: "udp",
};

function answer(reason: TraceReason, fields: Partial<TraceAnswer> = {}): TraceAnswer {
  return {
    verdict: "drop",
    reason,
    rip: null,
    mac: null,
    slot: null,
    ringSize: null,
    scheduler: null,
    flow: null,
    persist: null,
    ...fields,
  };
}

/** Seconds from `now` to `at` (both ms, low 32 bits), to the millisecond. */
function secondsUntil(at: number, now: number): number {
  return ((at - now) | 0) / 1000;
}

/**
 * Explains where `q` goes at `now` (ms, the low 32 bits count, as in the
 * loop). Reads the tables only, and leaves every scheduler as it found it.
 */
export function traceFlow(t: TraceTables, q: TraceQuery, now: number): TraceAnswer {
  const program = t.program;
  if (program === null) return answer("noService");
  const v6 = q.client6 !== undefined;
  const service = v6
    ? t.index.find6(q.vip6!, 0, q.vipPort, q.proto)
    : t.index.find(q.vip, q.vipPort, q.proto);
  if (service === null) return answer("noService");
  if (program.standby) return answer("standby");
  const scheduler = SCHEDULER_NAMES[service.sched.kind] ?? null;

  if (q.port >= 0) {
    const ports = ((q.port << 16) | q.vipPort) >>> 0;
    const slot = v6
      ? t.flows.lookup6(q.client6!, 0, ports, service.id)
      : t.flows.lookup(q.client, ports, service.id);
    if (slot >= 0) {
      const state = t.flows.state(slot);
      const expires = t.flows.expires(slot);
      const timeout = state === FLOW_ESTABLISHED
        ? t.flows.timeouts.tcp
        : state === FLOW_UDP
        ? t.flows.timeouts.udp
        : t.flows.timeouts.tcpfin;
      const flow = {
        state: STATE_NAMES[state] ?? String(state),
        idleSeconds: Math.max(0, -secondsUntil(expires - timeout, now)),
        expiresInSeconds: Math.max(0, secondsUntil(expires, now)),
      };
      return deliver(t, program, t.flows.backend(slot), { reason: "flow", scheduler, flow });
    }
  }

  const persist = service.persistMs > 0 ? t.persist.get(service.id) : undefined;
  if (persist) {
    const slot = v6
      ? persist.lookup6(q.client6!, 0, 0, service.id)
      : persist.lookup(q.client, 0, service.id);
    if (slot >= 0 && t.usable[persist.backend(slot)] === 1) {
      const expiresInSeconds = Math.max(0, secondsUntil(persist.expires(slot), now));
      return deliver(t, program, persist.backend(slot), {
        reason: "persist",
        scheduler,
        persist: { expiresInSeconds },
      });
    }
  }

  const sched = service.sched;
  const port = q.port < 0 ? 0 : q.port;
  const seed = (program.hashSeed ?? 0) | 0;
  const flowHash = v6
    ? hashFlow6({
      src6: q.client6!,
      dst6: q.vip6!,
      srcPort: port,
      dstPort: q.vipPort,
      protocol: q.proto,
    }, seed)
    : hashFlow(q.client, port, q.vip, q.vipPort, q.proto, seed);
  const srcHash = v6 ? hashAddr6(q.client6!, 0, seed) : hashAddr(q.client, seed);
  const dstHash = v6 ? hashAddr6(q.vip6!, 0, seed) : hashAddr(q.vip, seed);
  if (sched.kind === SCHED_MH && q.port < 0 && sched.ring.length > 0) {
    return answer("needsPort", { verdict: "forward", scheduler });
  }
  const hashed = sched.kind === SCHED_MH ? flowHash : sched.kind === SCHED_SH ? srcHash : dstHash;
  const ring = sched.ring.length;
  const slot = ring === 0 ? null : (hashed >>> 0) % ring;
  // pick() moves rr's cursor, wrr's weights, twos' random state and what
  // lblc/lblcr learn: all put back, the trace must change nothing.
  const scratch = sched.scratch.slice();
  const locality = sched.locality.slice();
  const backend = pick(sched, flowHash, srcHash, t.shared.active, t.shared.inactive, dstHash, now);
  sched.scratch.set(scratch);
  sched.locality.set(locality);
  if (backend >= 0) {
    return deliver(t, program, backend, {
      reason: "schedule",
      scheduler,
      slot,
      ringSize: ring || null,
    });
  }
  if (service.fallback >= 0) {
    return deliver(t, program, service.fallback, { reason: "fallback", scheduler });
  }
  return answer("noBackend", { scheduler });
}

/** Forwards to `backend` when its MAC is known, else the drop the forwarder counts. */
function deliver(
  t: TraceTables,
  program: Program,
  backend: number,
  fields: Partial<TraceAnswer>,
): TraceAnswer {
  const neighbor = program.backendNeighbor[backend] ?? -1;
  const rip = neighbor < 0 ? null : ripOf(program, neighbor);
  if (neighbor < 0 || t.shared.neighborSeen[neighbor] === 0) {
    return answer("unresolved", { ...fields, rip, reason: "unresolved" });
  }
  const mac = formatMac(t.shared.neighborMacs, neighbor * 8);
  return answer(fields.reason ?? "schedule", { ...fields, verdict: "forward", rip, mac });
}

function ripOf(program: Program, neighbor: number): string {
  const ip = program.neighborIps[neighbor];
  if (ip !== 0) return formatIpv4(ip);
  const words = program.neighborIps6;
  return words ? formatIpv6(wordsToBytes(words.subarray(neighbor * 4, neighbor * 4 + 4))) : "?";
}
