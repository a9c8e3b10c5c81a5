/**
 * Time as the daemon sees it: the wall clock and one-shot timers, injected
 * so tests drive health flaps, grace periods and refresh timers with fake
 * time instead of sleeping.
 * @module
 */

/** A timer handle, opaque to callers. */
export type TimerId = unknown;

/** The wall clock and one-shot timers. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `ms`. */
  setTimeout(fn: () => void, ms: number): TimerId;
  /** Cancels a timer; unknown or undefined ids are ignored. */
  clearTimeout(id: TimerId | undefined): void;
}

/** The real clock. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};
