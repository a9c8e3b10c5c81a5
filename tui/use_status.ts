/**
 * The dashboard's feed: polls the data source every `interval` ms (the next
 * poll starts when the previous one has ended), folds each document into
 * the rates, and remembers why the last poll failed until one succeeds.
 * @module
 */

import { useCallback, useEffect, useRef, useState } from "react";
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

/**
 * Polls `source` while the component is mounted.
 * @returns the feed, and `refresh()` to poll now (after a change)
 */
export function useStatusFeed(
  source: StatusSource,
  interval: number,
): [Feed, () => void] {
  const [feed, setFeed] = useState<Feed>(() => ({
    status: null,
    rates: emptyRates(),
    error: null,
    received: 0,
  }));
  const poll = useRef<() => void>(() => {});

  useEffect(() => {
    let stopped = false;
    let busy = false;
    let again = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let rates = emptyRates();
    let received = 0;
    const tick = async () => {
      clearTimeout(timer);
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      try {
        const status = await source.status();
        rates = advanceRates(rates, status);
        received++;
        if (!stopped) setFeed({ status, rates, error: null, received });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        if (!stopped) setFeed((f) => ({ ...f, error: reason }));
      } finally {
        busy = false;
      }
      if (stopped) return;
      if (again) {
        again = false;
        tick();
      } else {
        timer = setTimeout(tick, interval);
      }
    };
    poll.current = () => void tick();
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [source, interval]);

  const refresh = useCallback(() => poll.current(), []);
  return [feed, refresh];
}
