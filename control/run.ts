/**
 * The one way dsr runs another program (ip, tc, ethtool, sysctl, …): an argv
 * array, never a shell string, and always a deadline, so a wedged tool can
 * neither hang the daemon's queue nor leave a zombie. Built on dax-sh, which
 * escapes every argument and kills the child at its timeout.
 * @module
 */

import $ from "dax-sh";
import { killPid } from "../ffi/libc.ts";
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
  ping: "iputils-ping",
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

/** Options of {@link runGroup}. */
export interface RunGroupOptions {
  /** Deadline in ms: the whole process group is killed (SIGKILL) then. */
  timeoutMs: number;
  /** Extra environment variables, over the daemon's own. */
  env?: Record<string, string>;
  /** Most bytes of output kept (stdout and stderr together, the last ones win); default 1024. */
  maxOutput?: number;
}

/** What a {@link runGroup} run gave. */
export interface RunGroupResult {
  code: number;
  /** The signal that ended it, or null. */
  signal: string | null;
  timedOut: boolean;
  /** The end of its output, decoded. */
  output: string;
}

/**
 * Runs `argv` (no shell) in a session and process group of its own, for
 * programs an operator supplies (the `exec` health check). dax's timeout
 * signals only the child and then waits for its output to close, which a
 * grandchild (`sleep` under a script) would hold open: here the whole group
 * gets SIGKILL at the deadline, and again once the child exits so nothing it
 * started lingers; the child is always reaped.
 * @throws {Deno.errors.NotFound} when the program does not exist
 */
export async function runGroup(
  argv: readonly string[],
  options: RunGroupOptions,
): Promise<RunGroupResult> {
  const max = options.maxOutput ?? 1024;
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    // setsid(): the child leads a new process group, so one kill reaches all it starts.
    detached: true,
  }).spawn();
  let kept = new Uint8Array(0);
  const readers = [child.stdout.getReader(), child.stderr.getReader()];
  const keep = async (reader: ReadableStreamDefaultReader<Uint8Array>) => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      const both = new Uint8Array(kept.length + r.value.length);
      both.set(kept);
      both.set(r.value, kept.length);
      kept = both.subarray(Math.max(0, both.length - max));
    }
  };
  const drained = Promise.all(readers.map(keep)).catch(() => {});
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killPid(-child.pid, "SIGKILL");
  }, options.timeoutMs);
  try {
    const status = await child.status;
    // Whatever the program left running in its group goes with it.
    killPid(-child.pid, "SIGKILL");
    // A descendant that left the group (a daemon) may hold the pipes open: read no longer than 100 ms.
    let wait: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([drained, new Promise((r) => wait = setTimeout(r, 100))]);
    clearTimeout(wait);
    for (const reader of readers) reader.cancel().catch(() => {});
    return {
      code: status.code,
      signal: status.signal,
      timedOut,
      output: new TextDecoder().decode(kept),
    };
  } finally {
    clearTimeout(timer);
  }
}
