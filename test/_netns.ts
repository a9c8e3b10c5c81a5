/**
 * Helpers for end-to-end tests on namespace networks: a private lab per test,
 * processes inside namespaces, and polling for what the wire takes time to show.
 * @module
 */

import { type Lab, labDown, type LabOptions, labUp } from "../lab/topology.ts";

/** A process running inside a namespace, see {@linkcode nsSpawn}. */
export interface NsProcess {
  child: Deno.ChildProcess;
  /** SIGTERM, then SIGKILL after 3 s; resolves once the process and its output are done. */
  kill(): Promise<void>;
  /** Everything it wrote so far, stdout and stderr interleaved. */
  output(): string;
}

/** A unique, short prefix for one test: `"dsrt-"` and 4 random base36 characters. */
export function uniquePrefix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return "dsrt-" + Array.from(bytes, (b) => (b % 36).toString(36)).join("");
}

/**
 * Runs `fn` with a fresh lab under a unique prefix, removing the lab
 * afterwards even when `fn` throws.
 * @throws whatever {@linkcode labUp} or `fn` throws
 */
export async function withLab<T>(
  options: Omit<LabOptions, "prefix">,
  fn: (lab: Lab) => Promise<T>,
): Promise<T> {
  const prefix = uniquePrefix();
  try {
    return await fn(await labUp({ ...options, prefix }));
  } finally {
    await labDown(prefix);
  }
}

/**
 * Starts `cmd` inside namespace `ns` (`ip netns exec`), collecting its output.
 * The caller must `kill()` it before the test ends.
 * @param options.env extra environment variables
 */
export function nsSpawn(
  ns: string,
  cmd: string[],
  options: { env?: Record<string, string> } = {},
): NsProcess {
  // `ip netns exec` execs the command in place, so signals reach it directly.
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", ns, ...cmd],
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let log = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) log += text;
  };
  const drained = Promise.all([collect(child.stdout), collect(child.stderr)]);
  let ended = false;
  const status = child.status.finally(() => ended = true);
  return {
    child,
    output: () => log,
    async kill() {
      if (!ended) {
        signal(child, "SIGTERM");
        const timer = setTimeout(() => signal(child, "SIGKILL"), 3000);
        await status;
        clearTimeout(timer);
      }
      await status;
      await drained;
    },
  };
}

function signal(child: Deno.ChildProcess, sig: Deno.Signal): void {
  try {
    child.kill(sig);
  } catch {
    // exited in the meantime
  }
}

/**
 * Polls `fn` every 50 ms until it returns something truthy, and returns that.
 * A throw from `fn` counts as "not yet".
 * @param ms how long to wait; default 5000
 * @throws {Error} naming `what` (and the last error from `fn`) on timeout
 */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T> | T,
  ms = 5000,
): Promise<Exclude<T, null | undefined | false | 0 | "">> {
  const deadline = performance.now() + ms;
  let lastError: unknown;
  while (true) {
    try {
      const value = await fn();
      if (value) return value as Exclude<T, null | undefined | false | 0 | "">;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() >= deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : "";
      throw new Error(`Timed out after ${ms} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Makes sure end-to-end tests can build namespaces here.
 * @throws {Error} when not running as root or `ip netns` does not work
 */
export function requireRoot(): void {
  if (Deno.uid() !== 0) {
    throw new Error(`End-to-end tests need root (uid 0), running as uid ${Deno.uid()}`);
  }
  let ok = false;
  let why = "";
  try {
    const out = new Deno.Command("ip", { args: ["netns", "list"] }).outputSync();
    ok = out.success;
    why = new TextDecoder().decode(out.stderr).trim();
  } catch (error) {
    why = error instanceof Error ? error.message : String(error);
  }
  if (!ok) throw new Error(`End-to-end tests need a working "ip netns" (iproute2): ${why}`);
}
