/**
 * The two kinds of failure a user sees. A {@link UsageError} is the user's
 * mistake (bad input, adding what exists): exit status 2. A
 * {@link RuntimeError} is the world's (I/O, permissions, a silent daemon):
 * exit status 1. Only the CLI root turns them into `dsr: error: …` and an
 * exit; the socket API turns them into HTTP statuses.
 * @module
 */

/** Which HTTP status a user's mistake maps to on the socket API. */
export type UsageKind = "invalid" | "conflict" | "missing";

/** The user asked for something wrong. */
export class UsageError extends Error {
  readonly exitCode = 2;
  /**
   * @param kind which HTTP status it maps to on the socket API
   * @param field the offending field's path, when one is to blame
   */
  constructor(
    message: string,
    readonly kind: UsageKind = "invalid",
    readonly field: string | null = null,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

/** Something failed at run time. */
export class RuntimeError extends Error {
  readonly exitCode = 1;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RuntimeError";
  }
}
