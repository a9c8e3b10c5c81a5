/**
 * Run inside the client namespace by bench/soak.ts: 20 HTTP GETs a second,
 * each on a fresh connection, for S seconds; prints a JSON count at the end.
 * `deno run -A bench/_soak_http.ts URL SECONDS`
 * @module
 */

const [url, seconds] = Deno.args;
const end = Date.now() + Number(seconds) * 1000;
const counts = { ok: 0, failed: 0 };
while (Date.now() < end) {
  const tick = Date.now();
  await Promise.all(Array.from({ length: 20 }, async () => {
    const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
    try {
      const r = await fetch(url, { client, signal: AbortSignal.timeout(2000) });
      await r.text();
      r.ok ? counts.ok++ : counts.failed++;
    } catch {
      counts.failed++;
    } finally {
      client.close();
    }
  }));
  await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - tick))));
}
console.log(JSON.stringify(counts));
