/**
 * One daemon per control socket. `dsr start` claims the socket before it
 * touches anything else (capture, GARP, offloads, tc), so a second start on
 * the same socket exits at once instead of announcing VIPs and, on its way
 * out, removing the first daemon's tc filter (SPEC §8).
 * @module
 */

import { dirname } from "node:path";
import { tryLockFile } from "../ffi/libc.ts";
import { RuntimeError } from "./errors.ts";

/** A claimed socket path; release it when the daemon stops. */
export interface InstanceClaim {
  release(): void;
}

/**
 * Claims `socket` for this process: an exclusive lock on `${socket}.lock`,
 * taken without waiting and dropped by the kernel when the process dies.
 * A daemon of an older build holds no lock, so a socket that answers is
 * refused as well.
 * @throws {RuntimeError} naming the socket when another daemon holds it, or
 *   when the lock file cannot be made.
 */
export async function claimSocket(socket: string): Promise<InstanceClaim> {
  const busy = () => new RuntimeError(`another dsr daemon is running on socket ${socket}`);
  await Deno.mkdir(dirname(socket), { recursive: true, mode: 0o755 });
  let release: (() => void) | "busy";
  try {
    release = tryLockFile(`${socket}.lock`);
  } catch (error) {
    throw new RuntimeError(
      `cannot lock ${socket}.lock: ${(error as Error).message} (is its directory writable?)`,
    );
  }
  if (release === "busy") throw busy();
  if (await answers(socket)) {
    release();
    throw busy();
  }
  return { release };
}

async function answers(socket: string): Promise<boolean> {
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  try {
    const r = await fetch("http://dsr/v1/status", { client, signal: AbortSignal.timeout(1000) });
    await r.body?.cancel();
    return true;
  } catch {
    return false;
  } finally {
    client.close();
  }
}
