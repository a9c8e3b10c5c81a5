/**
 * The up/down verdict of one real server's health check, with rise and fall
 * as keepalived counts them: `rise` passes in a row bring a down server up,
 * `fall` failures in a row take an up server down. Transitions happen here
 * and nowhere else.
 * @module
 */

/** A check's verdict. */
export type Health = "up" | "down";

/** Thresholds of a {@link HealthState}. */
export interface Thresholds {
  rise: number;
  fall: number;
}

/** One real server's health, fed one check result at a time. */
export class HealthState {
  #state: Health;
  #passes = 0;
  #failures = 0;

  /** Starts `up`, as keepalived does without `alpha`: traffic flows until checks say otherwise. */
  constructor(public thresholds: Thresholds, initial: Health = "up") {
    this.#state = initial;
  }

  /** The verdict now. */
  get state(): Health {
    return this.#state;
  }

  /**
   * Records one result; returns the new state when it changed, else null.
   * New thresholds (a changed check) count from the next result on, and the
   * current state stands until they are crossed.
   */
  record(ok: boolean): Health | null {
    if (ok) {
      this.#failures = 0;
      this.#passes++;
      if (this.#state === "down" && this.#passes >= this.thresholds.rise) return this.#set("up");
    } else {
      this.#passes = 0;
      this.#failures++;
      if (this.#state === "up" && this.#failures >= this.thresholds.fall) return this.#set("down");
    }
    return null;
  }

  /** Replaces the thresholds and restarts the counts, keeping the state. */
  retune(thresholds: Thresholds): void {
    this.thresholds = thresholds;
    this.#passes = 0;
    this.#failures = 0;
  }

  #set(state: Health): Health {
    this.#state = state;
    this.#passes = 0;
    this.#failures = 0;
    return state;
  }
}
