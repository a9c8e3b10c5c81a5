/**
 * Finds the service of a packet by VIP, port and protocol without touching a
 * Map per packet: VIPs sit in a small open-addressing table of typed arrays
 * and each VIP's few services are scanned in order, exact port first, then the
 * VIP's all-ports (port 0) service. IPv6 VIPs have a table of their own,
 * four words a key.
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
  #keys6 = new Int32Array(0);
  #lists6 = new Int32Array(0);
  #mask6 = 0;

  /** Replaces the index with `services`. */
  build(services: readonly ServiceProgram[]): void {
    const v6 = services.filter((s) => s.vip6 !== undefined);
    services = services.filter((s) => s.vip6 === undefined);
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
    this.#build6(v6);
  }

  #build6(services: readonly ServiceProgram[]): void {
    const byText = new Map<string, ServiceProgram[]>();
    for (const s of services) {
      const key = Array.from(s.vip6!).join(",");
      byText.set(key, [...byText.get(key) ?? [], s]);
    }
    let capacity = 8;
    while (capacity < byText.size * 2) capacity *= 2;
    this.#keys6 = new Int32Array(capacity * 4);
    this.#lists6 = new Int32Array(capacity).fill(-1);
    this.#mask6 = capacity - 1;
    for (const list of byText.values()) {
      const vip = list[0].vip6!;
      let i = mix32(vip[0] ^ vip[1] ^ vip[2] ^ vip[3]) & this.#mask6;
      while (this.#lists6[i] !== -1) i = (i + 1) & this.#mask6;
      this.#keys6.set(vip.subarray(0, 4), i * 4);
      this.#lists6[i] = this.#byVip.length;
      this.#byVip.push(list.sort((a, b) => b.port - a.port));
    }
    for (const s of services) this.#byId[s.id] = s;
  }

  #slot6(addr: Int32Array, at: number): number {
    const lists = this.#lists6;
    if (lists.length === 0) return -1;
    const keys = this.#keys6;
    const a0 = addr[at], a1 = addr[at + 1], a2 = addr[at + 2], a3 = addr[at + 3];
    // The keys are the configuration's VIPs, not a sender's choice: a cheap hash will do.
    for (let i = mix32(a0 ^ a1 ^ a2 ^ a3) & this.#mask6;; i = (i + 1) & this.#mask6) {
      const list = lists[i];
      if (list === -1) return -1;
      const k = i << 2;
      if (keys[k] === a0 && keys[k + 1] === a1 && keys[k + 2] === a2 && keys[k + 3] === a3) {
        return list;
      }
    }
  }

  /** Whether the IPv6 address in `addr[at, at + 4)` is a configured VIP. */
  hasVip6(addr: Int32Array, at: number): boolean {
    return this.#slot6(addr, at) >= 0;
  }

  /** The service for a packet to the IPv6 address in `addr[at, at + 4)`, port and protocol, or null. */
  find6(addr: Int32Array, at: number, port: number, proto: number): ServiceProgram | null {
    const list = this.#slot6(addr, at);
    if (list < 0) return null;
    return this.#match(this.#byVip[list], port, proto);
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
    return this.#match(this.#byVip[list], port, proto);
  }

  #match(services: ServiceProgram[], port: number, proto: number): ServiceProgram | null {
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
