/**
 * One feed per balancer for the multi-balancer view: a poller of its own for
 * each data source, so a node that stops answering is retried by itself and
 * never holds up the others.
 * @module
 */

import { useEffect, useRef, useState } from "react";
import { emptyFeed, type Feed, type Poller, startPolling } from "./poller.ts";
import type { StatusSource } from "./source.ts";
import type { ExternalFeed } from "./use_status.ts";

/**
 * Polls every source while the component is mounted.
 * @param sources keep the same array between renders (a new one restarts every poller)
 * @returns a feed and its `refresh()` per source, in the same order
 */
export function useFeeds(sources: readonly StatusSource[], interval: number): ExternalFeed[] {
  const [feeds, setFeeds] = useState<Feed[]>(() => sources.map(emptyFeed));
  const pollers = useRef<Poller[]>([]);
  useEffect(() => {
    const started = sources.map((source, i) =>
      startPolling(source, {
        interval,
        onFeed: (feed) => setFeeds((before) => before.map((old, j) => j === i ? feed : old)),
      })
    );
    pollers.current = started;
    return () => started.forEach((p) => p.stop());
  }, [sources, interval]);
  return sources.map((_, i) => ({
    feed: feeds[i] ?? emptyFeed(),
    refresh: () => pollers.current[i]?.refresh(),
  }));
}
