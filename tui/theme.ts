/**
 * Colours of the dashboard, in one place.
 * @module
 */

import type { RipState } from "../control/compile.ts";

/** A real server's state in colour: up green, down red, drain yellow, unresolved magenta. */
export const STATE_COLOR: Record<RipState, string> = {
  up: "green",
  down: "red",
  drain: "yellow",
  unresolved: "magenta",
};

/** VIP titles and sparklines. */
export const ACCENT = "cyan";

/** Errors: the daemon is down, a change was refused, a check failed. */
export const ALERT = "red";
