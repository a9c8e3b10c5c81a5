/**
 * Finds the service of a packet by VIP, port and protocol without touching a
 * Map per packet: VIPs sit in a small open-addressing table of typed arrays
 * and each VIP's few services are scanned in order, exact port first, then the
 * VIP's all-ports (port 0) service.
 * @module
 */

import { mix32 } from "./hash.ts";
import type { ServiceProgram } from "./tables.ts";

/** Service lookup rebuilt by every program load. */
export class ServiceIndex {
  #keys = new Uint32Array(0);
  #lists = new Int32Array(0);
  #mask = 0;
  #byVip: ServiceProgram[][] = [];
  #byId: (ServiceProgram | undefined)[] = [];

  /** Replaces the index with `services`. */
  build(services: readonly ServiceProgram[]): void {
    const vips = [...new Set(services.map((s) => s.vip >>> 0))];
    let capacity = 8;
    while (capacity < vips.length * 2) capacity *= 2;
    this.#keys = new Uint32Array(capacity);
    this.#lists = new Int32Array(capacity).fill(-1);
    this.#mask = capacity - 1;
    this.#byVip = [];
    this.#byId = [];
    for (const vip of vips) {
      let i = mix32(vip) & this.#mask;
      while (this.#lists[i] !== -1) i = (i + 1) & this.#mask;
      this.#keys[i] = vip;
      this.#lists[i] = this.#byVip.length;
      // Exact ports before the wildcard so a specific service wins.
      this.#byVip.push(services.filter((s) => s.vip >>> 0 === vip).sort((a, b) => b.port - a.port));
    }
    for (const s of services) this.#byId[s.id] = s;
  }

  #slot(ip: number): number {
    let i = mix32(ip) & this.#mask;
    const lists = this.#lists;
    if (lists.length === 0) return -1;
    while (lists[i] !== -1) {
      if (this.#keys[i] === ip) return lists[i];
      i = (i + 1) & this.#mask;
    }
    return -1;
  }

  /** Whether `ip` is a configured VIP. */
  hasVip(ip: number): boolean {
    return this.#slot(ip) >= 0;
  }

  /** The service for a packet to ip:port/proto, or null. */
  find(ip: number, port: number, proto: number): ServiceProgram | null {
    const list = this.#slot(ip);
    if (list < 0) return null;
    const services = this.#byVip[list];
    for (let i = 0; i < services.length; i++) {
      const s = services[i];
      if (s.proto === proto && (s.port === port || s.port === 0)) return s;
    }
    return null;
  }

  /** The service with this id, or null. */
  byId(id: number): ServiceProgram | null {
    return this.#byId[id] ?? null;
  }
}
