/**
 * The node's high-availability role (SPEC §11): active or standby, since
 * when, and how many times it changed. keepalived decides the role and dsr
 * obeys (`dsr ha promote|demote`, `PUT /v1/ha`); this module holds the state,
 * its transitions and the gratuitous ARP schedule a promotion starts. Time
 * and timers are injected, so tests run on a fake clock.
 * @module
 */

import { type Clock, realClock, type TimerId } from "./clock.ts";

/** What a node does: forwards and owns the VIPs, or waits. */
export type Role = "active" | "standby";

/** The roles, for parsers and messages. */
export const ROLES: readonly Role[] = ["active", "standby"];

/** The role state, a plain value. */
export interface HaState {
  role: Role;
  /** When the node took this role (start included), ms since the epoch. */
  since: number;
  /** Role changes since start. */
  transitions: number;
}

/** `GET /v1/ha`, and `"ha"` in the status document. */
export interface HaStatus {
  role: Role;
  /** ISO-8601. */
  since: string;
  transitions: number;
}

/**
 * After a promotion, gratuitous ARP goes out for every VIP at once and again
 * after 1, 2 and 5 s: a router or client that missed the first (a busy
 * switch, a cache entry refreshed from the old MAC just before) picks up the
 * new owner within seconds, not at its ARP cache's expiry.
 */
export const GARP_AFTER_PROMOTION_MS: readonly number[] = [0, 1_000, 2_000, 5_000];

/** The state a node starts in. */
export function initialHaState(role: Role, now: number): HaState {
  return { role, since: now, transitions: 0 };
}

/**
 * The state after being told to take `role` at `now`: the same object when
 * the node has that role already (promote and demote are idempotent, as
 * keepalived may repeat them), else a new one counting the transition.
 */
export function nextHaState(state: HaState, role: Role, now: number): HaState {
  if (state.role === role) return state;
  return { role, since: now, transitions: state.transitions + 1 };
}

/** The JSON view of a state. */
export function haStatus(state: HaState): HaStatus {
  return {
    role: state.role,
    since: new Date(state.since).toISOString(),
    transitions: state.transitions,
  };
}

/** Options of {@link HaRole}. */
export interface HaRoleOptions {
  /** Role at start; default "active". */
  role?: Role;
  /** Sends a gratuitous ARP for every VIP (called on the promotion schedule). */
  garp: () => void;
  /** Time and timers; default the real clock. */
  clock?: Clock;
}

/**
 * The role of a running node: its state, and the GARP schedule a promotion
 * starts. A demotion cancels what is left of the schedule at once, so a
 * standby never announces a VIP.
 */
export class HaRole {
  #state: HaState;
  #pending: TimerId[] = [];
  readonly #garp: () => void;
  readonly #clock: Clock;

  constructor(options: HaRoleOptions) {
    this.#clock = options.clock ?? realClock;
    this.#garp = options.garp;
    this.#state = initialHaState(options.role ?? "active", this.#clock.now());
  }

  /** The state now. */
  get state(): HaState {
    return this.#state;
  }

  /** The node is the standby. */
  get standby(): boolean {
    return this.#state.role === "standby";
  }

  /**
   * Takes `role`. Promotion sends GARP at once and schedules the rest of
   * {@link GARP_AFTER_PROMOTION_MS}; demotion cancels it. The caller applies
   * the role to the data plane first, so the first GARP never precedes
   * forwarding.
   * @returns whether the role changed
   */
  set(role: Role): boolean {
    const next = nextHaState(this.#state, role, this.#clock.now());
    if (next === this.#state) return false;
    this.#state = next;
    this.#cancel();
    if (role === "active") {
      for (const ms of GARP_AFTER_PROMOTION_MS) {
        if (ms === 0) this.#sendGarp();
        else this.#pending.push(this.#clock.setTimeout(() => this.#sendGarp(), ms));
      }
    }
    return true;
  }

  /** Cancels pending GARPs (at stop). */
  dispose(): void {
    this.#cancel();
  }

  #sendGarp(): void {
    // A timer that fires in the same turn as a demotion must not announce.
    if (this.#state.role !== "active") return;
    try {
      this.#garp();
    } catch {
      // A failed announcement must not stop the schedule or the daemon.
    }
  }

  #cancel(): void {
    for (const id of this.#pending) this.#clock.clearTimeout(id);
    this.#pending = [];
  }
}
