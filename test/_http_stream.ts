/**
 * Run inside the client namespace: a new connection to URL every 20 ms until
 * killed, printing `<epoch ms> <body>` per answer (`<epoch ms> ERROR …` on
 * failure), so a test can tell when a change started to show.
 * `deno run -A test/_http_stream.ts URL`
 * @module
 */

const [url] = Deno.args;
let stop = false;
Deno.addSignalListener("SIGTERM", () => stop = true);
while (!stop) {
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    const r = await fetch(url, { client, signal: AbortSignal.timeout(2000) });
    console.log(`${Date.now()} ${(await r.text()).trim()}`);
  } catch (error) {
    console.log(`${Date.now()} ERROR ${(error as Error).message}`);
  } finally {
    client.close();
  }
  await new Promise((r) => setTimeout(r, 20));
}
