/**
 * Keeps the kernel's own IP stack away from frames to the VIPs. The capture
 * already has each of them (packet sockets see a frame before tc ingress), and
 * the balancer does not hold the VIPs, so the kernel would only route each
 * frame, fail, and free what it allocated: 10–15% of a core at 150k packets
 * per second (bench/README.md), and a second copy of every packet should
 * `net.ipv4.ip_forward` be on. A classic BPF program in a tc ingress filter
 * (direct action) drops IPv4 frames whose destination is a VIP and lets every
 * other frame through; a second one, at the next priority, does the same for
 * IPv6 frames to the IPv6 VIPs (Neighbor Solicitations go to a multicast
 * address, never to a VIP, so they pass).
 *
 * The filter sits at its own priority on the interface's clsact (or an
 * existing ingress) qdisc; `remove` takes away exactly what was added. A
 * filter left by a daemon that died is replaced by the next one, which also
 * takes over the clsact qdisc when that filter is all it holds: the dead
 * daemon added it, so it goes with the next stop rather than stay, empty.
 * @module
 */

import { parseIpv4 } from "../dataplane/addr.ts";
import { ipv6Words, parseIpv6 } from "../dataplane/addr6.ts";
import { runTool, type ToolRun } from "./tool.ts";

/** tc priority of the daemon's filter: one number, so replacing and removing it touch nothing else. */
export const INGRESS_DROP_PREF = 213;
/** A cBPF conditional jump reaches at most 255 instructions ahead. */
export const MAX_DROPPED_VIPS = 250;
/** IPv6 VIPs in one drop filter: eight instructions each, within the same jump limit. */
export const MAX_DROPPED_VIPS6 = 31;

const TC_ACT_UNSPEC = 0xffffffff; // -1: "no verdict", the next filter decides
const TC_ACT_SHOT = 2;

/**
 * The classic BPF program, in tc's `bytecode` syntax, that returns "drop" for
 * an IPv4 packet to one of `vips` and "no verdict" for any other. cls_bpf
 * runs its program on the frame from the Ethernet header even at ingress, so
 * the IPv4 destination is at byte 14 + 16.
 * @throws {RangeError} with more than {@link MAX_DROPPED_VIPS} VIPs
 */
export function dropProgram(vips: readonly number[]): string {
  if (vips.length > MAX_DROPPED_VIPS) {
    throw new RangeError(`at most ${MAX_DROPPED_VIPS} VIPs fit one drop filter`);
  }
  const n = vips.length;
  const code: [number, number, number, number][] = [[0x20, 0, 0, 30]]; // ld [30]
  // jeq #vip: on a match jump to the last instruction (drop), else fall through
  vips.forEach((vip, i) => code.push([0x15, n - i, 0, vip >>> 0]));
  code.push([0x06, 0, 0, TC_ACT_UNSPEC], [0x06, 0, 0, TC_ACT_SHOT]);
  return [String(code.length), ...code.map((c) => c.join(" "))].join(",");
}

/**
 * {@link dropProgram} for IPv6: "drop" for an IPv6 packet to one of `vips`
 * (four words each, `addr6.ts`), whose destination is at byte 14 + 24.
 * @throws {RangeError} with more than {@link MAX_DROPPED_VIPS6} VIPs
 */
export function dropProgram6(vips: readonly Int32Array[]): string {
  if (vips.length > MAX_DROPPED_VIPS6) {
    throw new RangeError(`at most ${MAX_DROPPED_VIPS6} IPv6 VIPs fit one drop filter`);
  }
  const n = vips.length;
  const drop = n * 8 + 1;
  const code: [number, number, number, number][] = [];
  vips.forEach((vip, i) => {
    const next = (i + 1) * 8;
    for (let w = 0; w < 4; w++) {
      code.push([0x20, 0, 0, 38 + w * 4]); // ld [38 + 4w]
      const at = code.length; // the jeq's own index
      // jeq #word: a differing word goes on to the next VIP; the last matching one drops
      if (w < 3) code.push([0x15, 0, next - at - 1, vip[w] >>> 0]);
      else code.push([0x15, drop - at - 1, 0, vip[w] >>> 0]);
    }
  });
  code.push([0x06, 0, 0, TC_ACT_UNSPEC], [0x06, 0, 0, TC_ACT_SHOT]);
  return [String(code.length), ...code.map((c) => c.join(" "))].join(",");
}

/** Where an {@link IngressDrop} goes besides its interface. */
export interface IngressDropOptions {
  /** Network namespace of the interface (tc -n); default the daemon's own. */
  netns?: string;
  /** tc priority of the filter; default {@link INGRESS_DROP_PREF}. */
  pref?: number;
}

/** One address family's filter: its tc protocol and priority, and what it holds. */
interface Family {
  proto: "ip" | "ipv6";
  pref: string;
  /** The program in place, "" for none, null before the first sync. */
  installed: string | null;
  /** The most VIPs one filter holds. */
  max: number;
  /** The filter's program for `vips` (at most `max`, sorted, unique); "" for none. */
  program(vips: string[]): string;
  /** The VIPs it drops, for messages. */
  what: string;
  /** What the kernel does with a frame the filter leaves it, for messages: "will …" and "…s". */
  kernel: [will: string, does: string];
}

/** The tc ingress drop of one interface. */
export class IngressDrop {
  #madeQdisc = false;
  readonly #netns: string[];
  readonly #v4: Family;
  readonly #v6: Family;

  constructor(readonly iface: string, options: IngressDropOptions = {}) {
    this.#netns = options.netns === undefined ? [] : ["-n", options.netns];
    const pref = options.pref ?? INGRESS_DROP_PREF;
    this.#v4 = {
      proto: "ip",
      pref: String(pref),
      installed: null,
      max: MAX_DROPPED_VIPS,
      program: (vips) => vips.length === 0 ? "" : dropProgram(vips.map(parseIpv4)),
      what: "VIPs",
      kernel: ["route and drop", "routes and drops"],
    };
    // A priority holds filters of one protocol: IPv6 takes the next one.
    this.#v6 = {
      proto: "ipv6",
      pref: String(pref + 1),
      installed: null,
      max: MAX_DROPPED_VIPS6,
      program: (vips) =>
        vips.length === 0 ? "" : dropProgram6(vips.map((v) => ipv6Words(parseIpv6(v)))),
      what: "IPv6 VIPs",
      kernel: ["drop", "drops"],
    };
  }

  /**
   * Makes the filters drop frames to exactly `vips` (none: no filter); a
   * warning when tc refused, in which case the kernel keeps seeing them.
   */
  async sync(vips: readonly string[]): Promise<string | null> {
    const warning6 = await this.#sync(this.#v6, vips.filter((v) => v.includes(":")));
    const warning = await this.#sync(this.#v4, vips.filter((v) => !v.includes(":")));
    return warning ?? warning6;
  }

  async #sync(f: Family, vips: string[]): Promise<string | null> {
    const unique = [...new Set(vips)].sort();
    const program = f.program(unique.slice(0, f.max));
    if (program === f.installed) return null;
    if (program === "") {
      await this.#deleteFilter(f);
      return null;
    }
    const qdisc = await this.#ensureQdisc();
    if (qdisc) return qdisc;
    const set = await this.#tc([
      ...["filter", "replace", "dev", this.iface, "ingress", "protocol", f.proto],
      ...["pref", f.pref, "handle", "1", "bpf", "da", "bytecode", program],
    ]);
    if (!set.ok) {
      f.installed = "";
      return `cannot drop frames to the ${f.what} at ${this.iface}'s ingress (tc: ${set.out}); ` +
        `the kernel will ${f.kernel[0]} each one, which costs CPU`;
    }
    f.installed = program;
    return unique.length > f.max
      ? `only ${f.max} ${f.what} fit the ingress drop; the kernel ${f.kernel[1]} frames to the rest`
      : null;
  }

  /**
   * Removes the filters (also one a killed daemon left at our priority), and
   * the qdisc when this object added it and nothing else uses it.
   */
  async remove(): Promise<void> {
    for (const f of [this.#v4, this.#v6]) if (f.installed !== "") await this.#deleteFilter(f);
    if (!this.#madeQdisc) return;
    const left = await this.#tc(["filter", "show", "dev", this.iface, "ingress"]);
    const leftEgress = await this.#tc(["filter", "show", "dev", this.iface, "egress"]);
    if (left.ok && left.out === "" && leftEgress.ok && leftEgress.out === "") {
      await this.#tc(["qdisc", "del", "dev", this.iface, "clsact"]);
    }
    this.#madeQdisc = false;
  }

  async #deleteFilter(f: Family): Promise<void> {
    await this.#tc([
      "filter",
      "del",
      "dev",
      this.iface,
      "ingress",
      "protocol",
      f.proto,
      "pref",
      f.pref,
    ]);
    f.installed = "";
  }

  /** Adds a clsact qdisc unless the interface has one or an ingress qdisc; a warning on failure. */
  async #ensureQdisc(): Promise<string | null> {
    const shown = await this.#tc(["-j", "qdisc", "show", "dev", this.iface]);
    if (!shown.ok) {
      return `cannot read the qdiscs of ${this.iface} (is tc installed?): ${shown.out}`;
    }
    let kinds: string[] = [];
    try {
      kinds = (JSON.parse(shown.out) as { kind: string }[]).map((q) => q.kind);
    } catch {
      // older tc without JSON: fall through and try to add
    }
    if (kinds.includes("ingress")) return null;
    if (kinds.includes("clsact")) {
      // Before our first filter, a filter at our priority can only be a dead
      // daemon's; later it is ours, on a qdisc that may be the operator's.
      if (this.#v4.installed === null) this.#madeQdisc = await this.#onlyOurFilter();
      return null;
    }
    const add = await this.#tc(["qdisc", "add", "dev", this.iface, "clsact"]);
    if (!add.ok) return `cannot add a clsact qdisc to ${this.iface} (tc: ${add.out})`;
    this.#madeQdisc = true;
    return null;
  }

  /** Whether the clsact qdisc holds nothing but a filter at our priority (a dead daemon's). */
  async #onlyOurFilter(): Promise<boolean> {
    const filters = [];
    for (const direction of ["ingress", "egress"]) {
      const shown = await this.#tc(["-j", "filter", "show", "dev", this.iface, direction]);
      if (!shown.ok) return false;
      try {
        filters.push(...(JSON.parse(shown.out || "[]") as { pref?: number }[]));
      } catch {
        return false; // older tc without JSON: keep the qdisc
      }
    }
    return filters.length > 0 &&
      filters.every((f) => String(f.pref) === this.#v4.pref || String(f.pref) === this.#v6.pref);
  }

  #tc(args: string[]): Promise<ToolRun> {
    return runTool("tc", [...this.#netns, ...args]);
  }
}
