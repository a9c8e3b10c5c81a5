/**
 * `dsr ha bird`: the BIRD 2 config of one node of an active/active group
 * (SPEC §11). `dsr start --announce TABLE` keeps one route per announceable
 * VIP in kernel table TABLE; BIRD learns that table from netlink and
 * announces exactly it over BGP to the router, which spreads flows over the
 * nodes with ECMP.
 * @module
 */

import { isIpv4 } from "../dataplane/addr.ts";
import { UsageError } from "./errors.ts";

/** What the config is made of. */
export interface BirdOptions {
  /** Kernel table dsr --announce keeps. */
  table: number;
  /** This node's AS number. */
  asn: number;
  /** The router's address. */
  peer: string;
  /** The router's AS number. */
  peerAsn: number;
  /** BGP router id (an IPv4 address): this node's address towards the router. */
  routerId: string;
}

/**
 * BGP timers. A node that dies without a word (power, kill -9 of BIRD) is
 * dropped from the router's ECMP group when the hold timer expires: 3 s,
 * the least RFC 4271 allows, instead of BIRD's 240 s default. A node whose
 * dsr stops cleanly withdraws at once (dsr empties the table on SIGTERM).
 */
export const HOLD_TIME_S = 3;
export const KEEPALIVE_TIME_S = 1;

/**
 * Parses an AS number (1 to 4294967295).
 * @throws {UsageError} naming the option
 */
export function parseAsn(text: string, what: string): number {
  const n = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 0xffffffff) {
    throw new UsageError(`invalid ${what} "${text}": expected an AS number from 1 to 4294967295`);
  }
  return n;
}

/**
 * The bird.conf text.
 * @throws {UsageError} for an address that is not IPv4
 */
export function birdConfig(o: BirdOptions): string {
  for (const [what, ip] of [["--peer", o.peer], ["--router-id", o.routerId]]) {
    if (!isIpv4(ip)) throw new UsageError(`invalid ${what} "${ip}": expected an IPv4 address`);
  }
  return `# bird.conf for one dsr node (printed by: dsr ha bird)
# dsr start --announce ${o.table} keeps one route per announceable VIP in kernel
# table ${o.table}; this config announces exactly that table to the router.

router id ${o.routerId};

protocol device {
}

# Learns what dsr puts into table ${o.table}, from netlink at once; never
# writes to the kernel.
protocol kernel dsr_vips {
  kernel table ${o.table};
  learn;
  ipv4 {
    import all;
    export none;
  };
}

protocol bgp dsr_uplink {
  local as ${o.asn};
  neighbor ${o.peer} as ${o.peerAsn};
  hold time ${HOLD_TIME_S};
  keepalive time ${KEEPALIVE_TIME_S};
  # A router keeping a dead node's routes as stale would send it flows.
  graceful restart off;
  ipv4 {
    import none;
    export where proto = "dsr_vips";
    next hop self;
  };
}
`;
}
