/**
 * The first, rough forwarding-rate measurement, now a thin entry to the full
 * benchmark so its command keeps working: dsr alone, UDP, the default sweep,
 * results in a temporary directory. `deno task bench` compares dsr with a C
 * libpcap forwarder and the kernel.
 * `deno run -A bench/forwarding_rate.ts [seconds per step]`
 * @module
 */

import { main } from "./run.ts";

const seconds = Deno.args[0] ?? "5";
const out = await Deno.makeTempDir({ prefix: "dsr-forwarding-rate-" });
try {
  await main(["--forwarders", "dsr", "--traffic", "udp", "--seconds", seconds, "--out", out]);
} finally {
  await Deno.remove(out, { recursive: true });
}
