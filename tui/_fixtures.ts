/**
 * Status documents for the dashboard's tests: a builder with sensible
 * defaults, and a fake data source that replays a recorded sequence.
 * @module
 */

import type { RipStatus, Status, VipStatus } from "../control/status.ts";
import type { RipPatch, RipRef, StatusSource } from "./source.ts";

/** A real server's status; fields not given are zero or healthy. */
export function rip(ip: string, fields: Partial<RipStatus> = {}): RipStatus {
  return {
    ip,
    mac: "02:00:c6:12:00:0b",
    weight: 1,
    state: "up",
    activeConns: 0,
    inactiveConns: 0,
    connections: 0,
    packets: 0,
    bytes: 0,
    check: { type: "tcp", ok: true, latencyMs: 0.4, at: "2026-01-01T00:00:00.000Z", error: null },
    ...fields,
  };
}

/** A VIP's status on port 80/tcp with `mh`, its counters the sums of its real servers'. */
export function vip(
  address: string,
  rips: RipStatus[],
  fields: Partial<VipStatus> = {},
): VipStatus {
  const total = (f: "packets" | "bytes" | "connections") => rips.reduce((a, r) => a + r[f], 0);
  return {
    vip: address,
    port: 80,
    proto: "tcp",
    scheduler: "mh",
    packets: total("packets"),
    bytes: total("bytes"),
    connections: total("connections"),
    rips,
    ...fields,
  };
}

/** A status document at `uptimeSeconds` with these VIPs. */
export function status(
  uptimeSeconds: number,
  vips: VipStatus[],
  fields: Partial<Status> = {},
): Status {
  return {
    iface: "eth0",
    mac: "02:00:c6:12:00:0a",
    uptimeSeconds,
    flows: 0,
    packets: { rx: 0, tx: 0, kernelDrops: 0 },
    dataplane: { heapUsedBytes: 0, batchMaxMs: 0 },
    drops: { noService: 0, malformed: 0, noBackend: 0, evicted: 0 },
    malformed: {},
    ha: { role: "active", since: "2026-01-01T00:00:00.000Z", transitions: 0 },
    announced: [],
    vips,
    ...fields,
  };
}

/** One PATCH the dashboard sent. */
export interface PatchCall {
  ref: RipRef;
  patch: RipPatch;
}

/**
 * Replays `docs` one per `status()` call, repeating the last one; an Error
 * in the sequence is thrown instead (the daemon is down). Records PATCHes
 * and, like the daemon, shows them in the documents that follow.
 */
export class FakeSource implements StatusSource {
  readonly label = "/run/dsr/test.sock";
  readonly patches: PatchCall[] = [];
  calls = 0;
  #docs: (Status | Error)[];
  #applied = new Map<string, RipPatch>();
  constructor(docs: (Status | Error)[]) {
    this.#docs = [...docs];
  }

  /** Adds documents to the sequence (the next poll returns the first of them). */
  push(...docs: (Status | Error)[]): void {
    this.calls = Math.min(this.calls, this.#docs.length);
    this.#docs.push(...docs);
  }

  status(): Promise<Status> {
    const next = this.#docs[Math.min(this.calls++, this.#docs.length - 1)];
    if (next instanceof Error) return Promise.reject(next);
    const doc = structuredClone(next);
    for (const v of doc.vips) {
      for (const r of v.rips) {
        const p = this.#applied.get(`${v.vip}:${v.port}/${v.proto} ${r.ip}`) ?? {};
        if (p.weight !== undefined) r.weight = p.weight;
        if (p.drain !== undefined && r.state !== "down" && r.state !== "unresolved") {
          r.state = p.drain ? "drain" : "up";
        }
      }
    }
    return Promise.resolve(doc);
  }

  patchRip(ref: RipRef, patch: RipPatch): Promise<void> {
    this.patches.push({ ref, patch });
    const key = `${ref.vip}:${ref.port}/${ref.proto} ${ref.ip}`;
    this.#applied.set(key, { ...this.#applied.get(key), ...patch });
    return Promise.resolve();
  }
}
