/**
 * The few libc calls dsr needs: `memcpy` from an address libpcap handed out
 * (declared with a `u64` source so no pointer object is made per packet),
 * `poll` to sleep on the capture descriptor, `sendmmsg` and `setsockopt` on
 * libpcap's own packet socket, and `kill`.
 * @module
 */

const SYMBOLS = {
  // Its result (the destination) is not wanted: a `pointer` result is a new object per call.
  memcpy: { parameters: ["pointer", "u64", "usize"], result: "void" },
  poll: { parameters: ["pointer", "u64", "i32"], result: "i32" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
  sendmmsg: { parameters: ["i32", "pointer", "u32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "pointer", "u32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The libc symbols dsr calls. */
export type LibC = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let cached: LibC | undefined;

/** Loads libc once per thread. */
export function loadLibc(): LibC {
  cached ??= Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  return cached;
}

/** `setsockopt` level and option of a packet socket that skip the qdisc layer on send. */
export const SOL_PACKET = 263;
export const PACKET_QDISC_BYPASS = 20;
/** Size of `struct mmsghdr` and `struct iovec` on 64-bit Linux. */
export const MMSGHDR_SIZE = 64;
export const IOVEC_SIZE = 16;

/** `struct pollfd` events bit for readable data. */
export const POLLIN = 0x1;
/** `struct pollfd` events bit for room to write. */
export const POLLOUT = 0x4;

const SIGNALS = { SIGTERM: 15, SIGKILL: 9 } as const;

/**
 * Signals a process by pid. `Deno.kill` needs the run permission for every
 * program, which the declared permission set deliberately does not grant.
 * @returns false when the process is gone (or not ours).
 */
export function killPid(pid: number, signal: keyof typeof SIGNALS): boolean {
  return loadLibc().kill(pid, SIGNALS[signal]) === 0;
}
