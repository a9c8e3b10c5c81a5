/**
 * The dashboard's feed as a React hook: a {@linkcode startPolling} poller
 * while the component is mounted, or a feed polled elsewhere (the
 * multi-balancer view polls every node and hands the selected one down).
 * @module
 */

import { useCallback, useEffect, useRef, useState } from "react";
import { emptyFeed, type Feed, startPolling } from "./poller.ts";
import type { StatusSource } from "./source.ts";

export type { Feed } from "./poller.ts";

/** A feed polled elsewhere, and how to ask for a poll now. */
export interface ExternalFeed {
  feed: Feed;
  refresh: () => void;
}

/**
 * Polls `source` while the component is mounted, unless `options.external` is given.
 * @param options.external a feed polled elsewhere, used instead
 * @returns the feed, and `refresh()` to poll now (after a change)
 */
export function useStatusFeed(
  source: StatusSource,
  interval: number,
  options: { external?: ExternalFeed } = {},
): [Feed, () => void] {
  const { external } = options;
  const [feed, setFeed] = useState<Feed>(emptyFeed);
  const poller = useRef<{ refresh(): void } | null>(null);
  const polled = external === undefined;

  useEffect(() => {
    if (!polled) return;
    const p = startPolling(source, { interval, onFeed: setFeed });
    poller.current = p;
    return () => p.stop();
  }, [source, interval, polled]);

  const refresh = useCallback(() => poller.current?.refresh(), []);
  return external ? [external.feed, external.refresh] : [feed, refresh];
}
