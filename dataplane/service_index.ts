/**
 * Finds the service of a packet by VIP, port and protocol without touching a
 * Map per packet: VIPs sit in a small open-addressing table of typed arrays
 * and each VIP's few services are scanned in order, exact port first, then the
 * VIP's all-ports (port 0) service. IPv6 VIPs have a table of their own,
 * four words a key.
 * @module
 */

import { AddressTable6 } from "./address_table6.ts";
import { mix32 } from "./hash.ts";
import type { ServiceProgram } from "./tables.ts";

/** Service lookup rebuilt by every program load. */
export class ServiceIndex {
  /** IPv4 VIPs as signed 32-bit words: callers may pass either form (see `#slot`). */
  #keys = new Int32Array(0);
  #lists = new Int32Array(0);
  #mask = 0;
  #byVip: ServiceProgram[][] = [];
  #byId: (ServiceProgram | undefined)[] = [];
  /** IPv6 VIP → index into `#byVip`. */
  #vips6 = new AddressTable6();

  /** Replaces the index with `services`. */
  build(services: readonly ServiceProgram[]): void {
    const v6 = services.filter((s) => s.vip6 !== undefined);
    services = services.filter((s) => s.vip6 === undefined);
    // Grouped in one pass: filtering every service per VIP was quadratic
    // (16 million steps per program load at 4096 VIPs).
    const groups = new Map<number, ServiceProgram[]>();
    for (const s of services) {
      const list = groups.get(s.vip >>> 0);
      if (list) list.push(s);
      else groups.set(s.vip >>> 0, [s]);
    }
    const vips = [...groups.keys()];
    let capacity = 8;
    while (capacity < vips.length * 2) capacity *= 2;
    this.#keys = new Int32Array(capacity);
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
      this.#byVip.push(groups.get(vip)!.sort((a, b) => b.port - a.port));
    }
    for (const s of services) this.#byId[s.id] = s;
    this.#build6(v6);
  }

  #build6(services: readonly ServiceProgram[]): void {
    const lists = new Map<string, ServiceProgram[]>();
    for (const s of services) {
      const key = Array.from(s.vip6!).join(",");
      const list = lists.get(key);
      if (list) list.push(s);
      else lists.set(key, [s]);
    }
    const entries: [Int32Array, number, number][] = [];
    for (const list of lists.values()) {
      entries.push([list[0].vip6!, 0, this.#byVip.length]);
      this.#byVip.push(list.sort((a, b) => b.port - a.port));
    }
    this.#vips6 = new AddressTable6(entries);
    for (const s of services) this.#byId[s.id] = s;
  }

  /** Whether the IPv6 address in `addr[at, at + 4)` is a configured VIP. */
  hasVip6(addr: Int32Array, at: number): boolean {
    return this.#vips6.get(addr, at) >= 0;
  }

  /** The service for a packet to the IPv6 address in `addr[at, at + 4)`, port and protocol, or null. */
  find6(addr: Int32Array, at: number, port: number, proto: number): ServiceProgram | null {
    const list = this.#vips6.get(addr, at);
    if (list < 0) return null;
    return this.#match(this.#byVip[list], port, proto);
  }

  #slot(ip: number): number {
    // Signed or unsigned, the same 32 bits: the fast path passes signed
    // words, as an unsigned one above 2^31 would be boxed in a heap number.
    const key = ip | 0;
    let i = mix32(key) & this.#mask;
    const lists = this.#lists;
    if (lists.length === 0) return -1;
    while (lists[i] !== -1) {
      if (this.#keys[i] === key) return lists[i];
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
