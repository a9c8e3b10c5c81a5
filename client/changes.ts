/**
 * How a command reaches the configuration: through the running daemon, or,
 * when none runs on this machine, the state file under an exclusive lock. A
 * socket that exists but refuses us, or a balancer named with `--host` whose
 * daemon does not answer, is an error, never a reason to edit a state file
 * behind a daemon's back.
 * @module
 */

import { type Config, withHashSeed } from "../control/config.ts";
import { hostPort } from "../dataplane/ip.ts";
import { diffConfig } from "../control/config_diff.ts";
import { RuntimeError } from "../control/errors.ts";
import { loadState, saveState, withStateLock } from "../control/state_file.ts";
import { checkCapacity } from "../control/compile.ts";
import { DaemonClient, type Paths } from "./client.ts";
import { UnreachableError } from "./transport.ts";

/** One change to the configuration, as the daemon is asked and as offline mode makes it. */
export interface Change {
  /** The request that makes the change on a running daemon. */
  request: { method: "POST" | "PATCH" | "DELETE" | "PUT"; path: string; body?: unknown };
  /** The same change on a document (the functions the daemon calls too). */
  offline: (config: Config) => Config;
}

/** `/v1/vips/198.18.0.100:80/tcp` or `/v1/vips/[2001:2::100]:80/tcp`, the path of a service. */
export function servicePath(ref: { vip: string; port: number; proto: string }): string {
  return `/v1/vips/${hostPort(ref.vip, ref.port)}/${ref.proto}`;
}

/**
 * Makes `change` wherever the configuration lives: through the running
 * daemon (one request, applied through its queue), or in the state file
 * under the exclusive lock when none runs on this machine.
 * @returns the daemon's answer, or, offline, the changes as lines.
 * @throws {UnreachableError} with `paths.host` when the balancer's daemon does not answer
 */
export async function makeChange(paths: Paths, change: Change): Promise<unknown> {
  const client = await DaemonClient.connect(paths);
  if (client) {
    try {
      return await client.request(change.request.method, change.request.path, change.request.body);
    } finally {
      client.close();
    }
  }
  return await withStateLock(paths.state, async () => {
    const before = await loadState(paths.state);
    // The seed is made on first use and kept by every later edit (SPEC §2).
    const next = withHashSeed(change.offline(before), before.hashSeed);
    // A seed made now is not a change the operator asked for: it is saved with theirs.
    const changes = diffConfig({ ...before, hashSeed: before.hashSeed ?? next.hashSeed }, next);
    // The daemon would refuse it at start: refuse it now, with the state file as it was.
    if (changes.length > 0) checkCapacity(next);
    if (changes.length > 0) await saveState(paths.state, next);
    return { changes };
  });
}

/**
 * Reads the configuration from the daemon, or from the state file when none runs on this machine.
 * @throws {UnreachableError} with `paths.host` when the balancer's daemon does not answer
 */
export async function readConfig(paths: Paths): Promise<Config> {
  const client = await DaemonClient.connect(paths);
  if (!client) return loadState(paths.state);
  try {
    return await client.request<Config>("GET", "/v1/config");
  } finally {
    client.close();
  }
}

/**
 * Connects to the daemon or explains that none runs.
 * @throws {RuntimeError} when no daemon answers at `paths`
 */
export async function requireDaemon(paths: Paths): Promise<DaemonClient> {
  try {
    return await DaemonClient.reach(paths);
  } catch (error) {
    if (error instanceof UnreachableError && !paths.host) {
      throw new RuntimeError(
        `no dsr daemon is running on ${paths.socket} (start one with: dsr start --iface IFACE)`,
      );
    }
    throw error;
  }
}
