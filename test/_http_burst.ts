/**
 * Run inside the client namespace: sends N HTTP GETs to a URL, each on a new
 * connection, and prints a JSON summary of the answers.
 * `deno run -A test/_http_burst.ts URL N`
 * @module
 */

const [url, count] = Deno.args;
const bodies: Record<string, number> = {};
let ok = 0;
let failed = 0;
const errors: string[] = [];
for (let i = 0; i < Number(count); i++) {
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    const response = await fetch(url, { client, signal: AbortSignal.timeout(5000) });
    const body = (await response.text()).trim();
    if (response.ok) {
      ok++;
      bodies[body] = (bodies[body] ?? 0) + 1;
    } else failed++;
  } catch (error) {
    failed++;
    if (errors.length < 5) errors.push(String(error));
  } finally {
    client.close();
  }
}
console.log(JSON.stringify({ ok, failed, bodies, errors }));
