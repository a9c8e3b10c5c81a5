/**
 * How a command reaches the configuration: through the running daemon's
 * socket, or, when none runs, the state file under an exclusive lock. A
 * socket that exists but refuses us is an error, never a reason to edit the
 * file behind the daemon's back.
 * @module
 */

import type { Config } from "../control/config.ts";
import { diffConfig } from "../control/config_diff.ts";
import { RuntimeError, UsageError, type UsageKind } from "../control/errors.ts";
import { loadState, saveState, withStateLock } from "../control/state_file.ts";

/** Where the daemon and the state file are. */
export interface Paths {
  socket: string;
  state: string;
}

/** A connection to a running daemon. */
export class DaemonClient {
  #client: Deno.HttpClient;
  private constructor(readonly path: string) {
    this.#client = Deno.createHttpClient({ proxy: { transport: "unix", path } });
  }

  /**
   * Connects to the daemon on `path`; null when no daemon listens there
   * (no socket file, or a stale one nobody accepts on).
   * @throws {RuntimeError} when the socket exists but refuses this user.
   */
  static async connect(path: string): Promise<DaemonClient | null> {
    try {
      await Deno.lstat(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw new RuntimeError(`cannot reach the daemon socket ${path}: ${(error as Error).message}`);
    }
    const client = new DaemonClient(path);
    try {
      await client.request("GET", "/v1/status");
      return client;
    } catch (error) {
      client.close();
      const cause = (error as Error).cause ?? error;
      if (cause instanceof Deno.errors.ConnectionRefused || cause instanceof Deno.errors.NotFound) {
        return null;
      }
      throw error;
    }
  }

  /**
   * Sends a request and returns the decoded JSON answer.
   * @throws {UsageError} for a 4xx answer, {RuntimeError} when the daemon fails or cannot be reached.
   */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`http://dsr${path}`, {
        method,
        client: this.#client,
        body: body === undefined ? undefined : JSON.stringify(body),
        headers: body === undefined ? undefined : { "content-type": "application/json" },
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      const reason = (error as Error).message;
      const cause = error instanceof Error && error.cause ? error.cause : error;
      if (cause instanceof Deno.errors.PermissionDenied || /permission denied/i.test(reason)) {
        throw new RuntimeError(
          `the daemon socket ${this.path} refused this user: permission denied (run as root)`,
        );
      }
      throw new RuntimeError(`the daemon on ${this.path} does not answer: ${reason}`, { cause });
    }
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (response.ok) return data as T;
    const message = data?.error ?? `HTTP ${response.status}`;
    if (response.status >= 500) throw new RuntimeError(message);
    const kind: UsageKind = response.status === 409
      ? "conflict"
      : response.status === 404
      ? "missing"
      : "invalid";
    throw new UsageError(message, kind);
  }

  /** Releases the connection pool. */
  close(): void {
    this.#client.close();
  }
}

/** One change to the configuration, as the daemon is asked and as offline mode makes it. */
export interface Change {
  /** The request that makes the change on a running daemon. */
  request: { method: "POST" | "PATCH" | "DELETE" | "PUT"; path: string; body?: unknown };
  /** The same change on a document (the functions the daemon calls too). */
  offline: (config: Config) => Config;
}

/** `/v1/vips/198.18.0.100:80/tcp`, the path of a service. */
export function servicePath(ref: { vip: string; port: number; proto: string }): string {
  return `/v1/vips/${ref.vip}:${ref.port}/${ref.proto}`;
}

/**
 * Makes `change` wherever the configuration lives: through the running
 * daemon (one request, applied through its queue), or in the state file
 * under the exclusive lock when none runs.
 * @returns the daemon's answer, or, offline, the changes as lines.
 */
export async function makeChange(paths: Paths, change: Change): Promise<unknown> {
  const client = await DaemonClient.connect(paths.socket);
  if (client) {
    try {
      return await client.request(change.request.method, change.request.path, change.request.body);
    } finally {
      client.close();
    }
  }
  return await withStateLock(paths.state, async () => {
    const before = await loadState(paths.state);
    const next = change.offline(before);
    const changes = diffConfig(before, next);
    if (changes.length > 0) await saveState(paths.state, next);
    return { changes };
  });
}

/** Reads the configuration from the daemon, or from the state file when none runs. */
export async function readConfig(paths: Paths): Promise<Config> {
  const client = await DaemonClient.connect(paths.socket);
  if (!client) return loadState(paths.state);
  try {
    return await client.request<Config>("GET", "/v1/config");
  } finally {
    client.close();
  }
}

/**
 * Connects to the daemon or explains that none runs.
 * @throws {RuntimeError} when no daemon listens on the socket.
 */
export async function requireDaemon(paths: Paths): Promise<DaemonClient> {
  const client = await DaemonClient.connect(paths.socket);
  if (!client) {
    throw new RuntimeError(
      `no dsr daemon is running on ${paths.socket} (start one with: dsr start --iface IFACE)`,
    );
  }
  return client;
}
