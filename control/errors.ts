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

/** Which capacity a refused configuration goes beyond (SPEC §8). */
export type CapacityLimit =
  | "virtual services"
  | "real server entries"
  | "distinct real server addresses";

/**
 * A configuration asks for more than the data plane holds. Thrown before
 * anything is allocated or written, so the running configuration stays.
 */
export class CapacityError extends RuntimeError {
  /**
   * @param limit the capacity gone beyond
   * @param asked how many the configuration asks for
   * @param max the most the data plane holds
   */
  constructor(readonly limit: CapacityLimit, readonly asked: number, readonly max: number) {
    super(`too many ${limit}: ${asked} asked, at most ${max}`);
    this.name = "CapacityError";
  }
}
