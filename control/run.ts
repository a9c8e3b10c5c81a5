/**
 * The one way dsr runs another program (ip, tc, ethtool, sysctl, …): an argv
 * array, never a shell string, and always a deadline, so a wedged tool can
 * neither hang the daemon's queue nor leave a zombie. Built on dax-sh, which
 * escapes every argument and kills the child at its timeout.
 * @module
 */

import $ from "dax-sh";
import { RuntimeError } from "./errors.ts";

/** What a finished program gave; `stdout` and `stderr` are untrimmed text. */
export interface RunResult {
  ok: boolean;
  code: number;
  stdout: string;
  stderr: string;
  /** It was killed at its deadline. */
  timedOut: boolean;
}

/** Options of {@link run}. */
export interface RunOptions {
  /** Deadline in ms (default 10 s): the child is killed then and the run fails. */
  timeoutMs?: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/** Debian packages that bring the tools dsr runs, for the "not installed" line. */
const PACKAGES: Record<string, string> = {
  ip: "iproute2",
  tc: "iproute2",
  ethtool: "ethtool",
  sysctl: "procps",
};

/** The exit status dax reports for a child killed at its timeout. */
const TIMEOUT_CODE = 124;
/** The exit status dax reports for a program it cannot find. */
const NOT_FOUND_CODE = 127;

function notInstalled(cmd: string, reason: string): RuntimeError {
  const pkg = PACKAGES[cmd];
  return new RuntimeError(`cannot run ${cmd}${pkg ? ` (install ${pkg})` : ""}: ${reason}`);
}

/**
 * Runs `argv` to completion or to its deadline. A non-zero exit is a result,
 * not an error.
 * @throws {RuntimeError} only when the program cannot be started at all (not installed).
 */
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const started = performance.now();
  let result;
  try {
    result = await $`${[...argv]}`
      .env(options.env ?? {})
      .stdin("null")
      .stdout("piped")
      .stderr("piped")
      .timeout(timeoutMs)
      .noThrow()
      .quiet();
  } catch (error) {
    throw notInstalled(argv[0], (error as Error).message);
  }
  if (result.code === NOT_FOUND_CODE && /command not found/.test(result.stderr)) {
    throw notInstalled(argv[0], "command not found");
  }
  const timedOut = result.code === TIMEOUT_CODE && performance.now() - started >= timeoutMs - 5;
  return {
    ok: result.code === 0,
    code: result.code,
    stdout: result.stdout,
    stderr: timedOut ? `timed out after ${timeoutMs / 1000} s` : result.stderr,
    timedOut,
  };
}

/**
 * Runs `argv` and returns its stdout.
 * @throws {RuntimeError} naming the command and its error output when it fails or times out.
 */
export async function runChecked(
  argv: readonly string[],
  options: RunOptions = {},
): Promise<string> {
  const r = await run(argv, options);
  if (!r.ok) throw new RuntimeError(`${argv.join(" ")} failed: ${r.stderr.trim()}`);
  return r.stdout;
}
