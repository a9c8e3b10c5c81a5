/**
 * Run inside the client namespace by bench/soak.ts: the lab's own demo
 * traffic (lab/traffic.ts), 20 HTTP GETs a second on fresh connections for
 * SECONDS, no long-lived streams; prints a JSON count at the end.
 * `deno run -A bench/_soak_http.ts URL SECONDS`
 * @module
 */

import { runTraffic } from "../lab/traffic.ts";

const [url, seconds] = Deno.args;
console.log(
  JSON.stringify(await runTraffic({ url, rate: 20, seconds: Number(seconds), longLived: 0 })),
);
