/**
 * A {@link Clock} for unit tests: time stands still until {@link FakeClock.tick}
 * moves it, running each due timer in order and letting the promises it
 * starts settle before the next.
 * @module
 */

import type { Clock, TimerId } from "./clock.ts";

/** Lets pending promise callbacks run (a real macrotask turn). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Fake time, starting at `start` ms since the epoch. */
export class FakeClock implements Clock {
  #now: number;
  #next = 1;
  #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerId {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(id: TimerId | undefined): void {
    if (typeof id === "number") this.#timers.delete(id);
  }

  /** How many timers are pending. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time on by `ms`, running every timer that falls due on the way. */
  async tick(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= end && (!due || entry[1].at < due[1].at)) due = entry;
      }
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = Math.max(this.#now, due[1].at);
      due[1].fn();
      await settle();
    }
    this.#now = end;
    await settle();
  }
}
