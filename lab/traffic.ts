/**
 * A steady, bounded stream of HTTP requests for the lab demo: `rate`
 * requests a second for `seconds`, each on a fresh connection so the balancer
 * schedules every one, plus a few long-lived streaming connections.
 * @module
 */

/** What {@link runTraffic} sends. */
export interface TrafficOptions {
  url: string;
  /** Requests per second; default 20. */
  rate?: number;
  seconds: number;
  /** Concurrent long-lived connections (GET /stream); default 2. */
  longLived?: number;
  signal?: AbortSignal;
}

/** Sends the traffic; resolves with counts when done or aborted. */
export async function runTraffic(options: TrafficOptions): Promise<{ ok: number; failed: number }> {
  const rate = options.rate ?? 20;
  const end = Date.now() + options.seconds * 1000;
  const counts = { ok: 0, failed: 0 };
  const live = () => Date.now() < end && !options.signal?.aborted;
  const one = async (path: string) => {
    const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
    try {
      const r = await fetch(new URL(path, options.url), {
        client,
        signal: AbortSignal.timeout(30_000),
      });
      await r.text();
      r.ok ? counts.ok++ : counts.failed++;
    } catch {
      counts.failed++;
    } finally {
      client.close();
    }
  };
  const streams = Array.from({ length: options.longLived ?? 2 }, async () => {
    while (live()) await one("/stream?n=100");
  });
  const inflight = new Set<Promise<void>>();
  while (live()) {
    const p = one("/");
    inflight.add(p);
    p.finally(() => inflight.delete(p));
    await new Promise((r) => setTimeout(r, 1000 / rate));
  }
  await Promise.all([...inflight, ...streams]);
  return counts;
}
