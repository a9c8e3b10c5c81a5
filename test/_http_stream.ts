/**
 * Run inside the client namespace: a new connection to URL every 20 ms until
 * killed, printing `<epoch ms> <body>` per answer (`<epoch ms> ERROR …` on
 * failure), so a test can tell when a change started to show. Each request
 * gives up after TIMEOUT ms (default 2000).
 * `deno run -A test/_http_stream.ts URL [TIMEOUT]`
 * @module
 */

const [url, timeout = "2000"] = Deno.args;
let stop = false;
Deno.addSignalListener("SIGTERM", () => stop = true);
while (!stop) {
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    const r = await fetch(url, { client, signal: AbortSignal.timeout(Number(timeout)) });
    console.log(`${Date.now()} ${(await r.text()).trim()}`);
  } catch (error) {
    console.log(`${Date.now()} ERROR ${(error as Error).message}`);
  } finally {
    client.close();
  }
  await new Promise((r) => setTimeout(r, 20));
}
