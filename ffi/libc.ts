/**
 * The few libc calls dsr needs: `memcpy` from an address libpcap handed out
 * (declared with a `u64` source so no pointer object is made per packet),
 * `poll` to sleep on the capture descriptor, `sendmmsg` and `setsockopt` on
 * libpcap's own packet socket, `kill`, and `open`/`flock`/`close` for a
 * lock that fails at once instead of waiting (Deno's `FsFile.lock` waits).
 * @module
 */

const SYMBOLS = {
  // Its result (the destination) is not wanted: a `pointer` result is a new object per call.
  memcpy: { parameters: ["pointer", "u64", "usize"], result: "void" },
  poll: { parameters: ["pointer", "u64", "i32"], result: "i32" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
  sendmmsg: { parameters: ["i32", "pointer", "u32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "pointer", "u32"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  flock: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
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

const O_RDWR = 0o2;
const O_CREAT = 0o100;
const O_CLOEXEC = 0o2000000;
const LOCK_EX = 2;
const LOCK_NB = 4;

/**
 * Takes an exclusive lock on `path` (created 0600) without waiting. The
 * kernel drops it when the process dies, however it dies.
 * @returns a function that releases it, or "busy" when another process holds it.
 * @throws {Error} when the file cannot be opened (no directory, no permission).
 */
export function tryLockFile(path: string): (() => void) | "busy" {
  const libc = loadLibc();
  const fd = libc.open(new TextEncoder().encode(path + "\0"), O_RDWR | O_CREAT | O_CLOEXEC, 0o600);
  if (fd < 0) throw new Error(`cannot open ${path}`);
  if (libc.flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    libc.close(fd);
    return "busy";
  }
  return () => libc.close(fd);
}
