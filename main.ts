/**
 * dsr — a Layer 4 Direct Server Return load balancer. The one place that
 * reads `Deno.args` and calls `Deno.exit`. The commands keepalived runs
 * (`ha check`, `ha promote`, `ha demote`) are answered before the command
 * tree loads: they sit on a takeover's critical path.
 * @module
 */

import { FastHaError, parseFastHa, runFastHa } from "./cli/fast_ha.ts";

const fast = parseFastHa(Deno.args, (name) => Deno.env.get(name));
if (fast) {
  try {
    await runFastHa(fast);
    Deno.exit(0);
  } catch (error) {
    if (!(error instanceof FastHaError)) throw error;
    console.error(`dsr: error: ${error.message}`);
    Deno.exit(1);
  }
}
const { main } = await import("./cli/main.ts");
Deno.exit(await main(Deno.args));
