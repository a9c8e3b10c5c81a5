/**
 * Says whether a repeated event is worth logging again: each key at most
 * once per period. Keys older than the period are forgotten as time goes on,
 * so a stream of ever new keys (say, every MAC of a flooded segment claiming
 * a VIP) holds only the last period's keys instead of growing without bound.
 * @module
 */

/** Once per key per `periodMs`. */
export class OncePer {
  #last = new Map<string, number>();
  constructor(readonly periodMs: number) {}

  /** True when `key` was not let through within the period before `now` (ms); lets it through. */
  take(key: string, now: number): boolean {
    // Insertion order is time order (a key is re-inserted when let through): expire from the front.
    for (const [old, at] of this.#last) {
      if (now - at < this.periodMs) break;
      this.#last.delete(old);
    }
    if (this.#last.has(key)) return false;
    this.#last.set(key, now);
    return true;
  }

  /** Keys remembered now. */
  get size(): number {
    return this.#last.size;
  }
}
