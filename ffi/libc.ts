/**
 * The few libc calls dsr needs: `memcpy` from an address libpcap handed out
 * (declared with a `u64` source so no pointer object is made per packet),
 * `poll` to sleep on the capture descriptor, and `kill`.
 * @module
 */

const SYMBOLS = {
  memcpy: { parameters: ["pointer", "u64", "usize"], result: "pointer" },
  poll: { parameters: ["pointer", "u64", "i32"], result: "i32" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The libc symbols dsr calls. */
export type LibC = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let cached: LibC | undefined;

/** Loads libc once per thread. */
export function loadLibc(): LibC {
  cached ??= Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  return cached;
}

/** `struct pollfd` events bit for readable data. */
export const POLLIN = 0x1;

const SIGNALS = { SIGTERM: 15, SIGKILL: 9 } as const;

/**
 * Signals a process by pid. `Deno.kill` needs the run permission for every
 * program, which the declared permission set deliberately does not grant.
 * @returns false when the process is gone (or not ours).
 */
export function killPid(pid: number, signal: keyof typeof SIGNALS): boolean {
  return loadLibc().kill(pid, SIGNALS[signal]) === 0;
}
