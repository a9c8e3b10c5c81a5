/**
 * dsr — a Layer 4 Direct Server Return load balancer. The one place that
 * reads `Deno.args` and calls `Deno.exit`.
 * @module
 */

import { main } from "./cli/main.ts";

Deno.exit(await main(Deno.args));
