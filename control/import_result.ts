/**
 * What the importers (`dsr config import`) give back, and the error they
 * throw naming the line of the source file that dsr cannot carry over.
 * @module
 */

import type { Config } from "./config.ts";
import { UsageError } from "./errors.ts";

/** A configuration document, and what was left out on the way (one line each). */
export interface ImportResult {
  config: Config;
  /** `line 12: digest ignored (…)`: kept out of the document, said once. */
  warnings: string[];
}

/** A line of the source that has no dsr equivalent (NAT, tunnels, …): exit 2. */
export class ImportError extends UsageError {
  constructor(readonly line: number, reason: string) {
    super(`line ${line}: ${reason}`);
    this.name = "ImportError";
  }
}
