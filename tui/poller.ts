/**
 * Polls one data source: every `interval` ms (the next poll starts when the
 * previous one has ended), folding each document into the rates and
 * remembering why the last poll failed until one succeeds. Each node of a
 * multi-balancer view has its own, so each reconnects on its own.
 * @module
 */

import type { Status } from "../control/status.ts";
import { advanceRates, emptyRates, type Rates } from "./rates.ts";
import type { StatusSource } from "./source.ts";

/** What the last polls said. */
export interface Feed {
  /** The last document, null until one arrived. */
  status: Status | null;
  rates: Rates;
  /** Why the last poll failed; null when it succeeded. */
  error: string | null;
  /** Documents received so far. */
  received: number;
}

/** A feed before the first poll. */
export function emptyFeed(): Feed {
  return { status: null, rates: emptyRates(), error: null, received: 0 };
}

/** A running poller. */
export interface Poller {
  /** Polls now (after a change), or right after the poll under way. */
  refresh(): void;
  /** Stops polling; `onFeed` is not called again. */
  stop(): void;
}

/**
 * Starts polling `source` at once.
 * @param o.interval milliseconds between the end of a poll and the next
 * @param o.onFeed called with the new feed after every poll
 */
export function startPolling(
  source: StatusSource,
  o: { interval: number; onFeed: (feed: Feed) => void },
): Poller {
  const { interval, onFeed } = o;
  let stopped = false;
  let busy = false;
  let again = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let feed = emptyFeed();
  const tick = async () => {
    clearTimeout(timer);
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const status = await source.status();
      feed = {
        status,
        rates: advanceRates(feed.rates, status),
        error: null,
        received: feed.received + 1,
      };
    } catch (error) {
      feed = { ...feed, error: error instanceof Error ? error.message : String(error) };
    } finally {
      busy = false;
    }
    if (stopped) return;
    onFeed(feed);
    if (again) {
      again = false;
      tick();
    } else {
      timer = setTimeout(tick, interval);
    }
  };
  tick();
  return {
    refresh: () => void tick(),
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
