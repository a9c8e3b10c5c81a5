/**
 * The port between the daemon client and how it reaches a daemon: every
 * transport ends in a Unix socket on this machine that speaks the daemon's
 * HTTP API, the daemon's own socket or the local end of an ssh forward.
 * @module
 */

import { RuntimeError } from "../control/errors.ts";

/** A way to the daemon's HTTP API. */
export interface Transport {
  /** Where the daemon is, for messages: its socket path, or the `ssh://` URL. */
  readonly label: string;
  /** The Unix socket on this machine that leads to the daemon. */
  readonly path: string;
  /**
   * Why a request that failed with `error` got no answer, in a few words
   * (`"no such socket (is the daemon running?)"`); `error` undefined when
   * the daemon was simply not there.
   */
  explain(error?: unknown): Promise<string>;
  /** Releases what the transport holds (an ssh process, a private directory). */
  close(): void;
}

/**
 * No daemon answers where the command looked: `reason` says why in a few
 * words (the dashboard shows it), the message names the place too.
 */
export class UnreachableError extends RuntimeError {
  /**
   * @param label where the daemon was looked for: a socket path or an `ssh://` URL
   * @param reason why it did not answer
   * @param options.message the whole message; default `cannot reach the dsr daemon at LABEL: REASON`
   */
  constructor(
    readonly label: string,
    readonly reason: string,
    options: ErrorOptions & { message?: string } = {},
  ) {
    super(options.message ?? `cannot reach the dsr daemon at ${label}: ${reason}`, options);
    this.name = "UnreachableError";
  }
}
