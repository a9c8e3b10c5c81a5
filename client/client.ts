/**
 * The daemon client every program part shares (the command line, `dsr top`,
 * the lab): HTTP with JSON bodies over a {@linkcode Transport}, the daemon's
 * own socket on this machine or an ssh forward to a balancer's.
 * @module
 */

import { RuntimeError, UsageError, type UsageKind } from "../control/errors.ts";
import type { SshTarget } from "./ssh_url.ts";
import { type Transport, UnreachableError } from "./transport.ts";
import { openSshTunnel } from "./transport_ssh.ts";
import { unixTransport } from "./transport_unix.ts";

/**
 * Where the daemon and the state file are. With `host`, the daemon is on a
 * balancer reached through ssh, and `socket` and `state` (this machine's)
 * are not used.
 */
export interface Paths {
  socket: string;
  state: string;
  /** A balancer's daemon (`--host`); absent or null: this machine's. */
  host?: SshTarget | null;
  /** An ssh_config file for `ssh -F` (`--ssh-config`); absent or null: ssh's own. */
  sshConfig?: string | null;
}

/** Where `paths` point the client, for messages: the socket path, or the `ssh://` URL. */
export function labelOf(paths: Paths): string {
  return paths.host?.url ?? paths.socket;
}

/** A connection to a running daemon. */
export class DaemonClient {
  #client: Deno.HttpClient;
  /** Where the daemon is: its socket path, or the `ssh://` URL. */
  readonly label: string;

  private constructor(readonly transport: Transport) {
    this.label = transport.label;
    this.#client = Deno.createHttpClient({ proxy: { transport: "unix", path: transport.path } });
  }

  /**
   * Connects to the daemon at `paths`. On this machine: null when no daemon
   * listens (no socket file, or a stale one nobody accepts on). Through ssh
   * (`paths.host`): never null, a daemon that does not answer is an error.
   * @param options.timeoutMs how long ssh may take to connect (default 15 s)
   * @throws {UnreachableError} through ssh, with ssh's reason or why the daemon did not answer
   * @throws {RuntimeError} when the socket exists but refuses this user
   */
  static async connect(
    paths: Paths,
    options: { timeoutMs?: number } = {},
  ): Promise<DaemonClient | null> {
    if (paths.host) return await DaemonClient.#overSsh(paths.host, paths.sshConfig, options);
    try {
      await Deno.lstat(paths.socket);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw new RuntimeError(
        `cannot reach the daemon socket ${paths.socket}: ${(error as Error).message}`,
      );
    }
    const client = new DaemonClient(unixTransport(paths.socket));
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

  static async #overSsh(
    host: SshTarget,
    config: string | null | undefined,
    options: { timeoutMs?: number },
  ): Promise<DaemonClient> {
    const client = new DaemonClient(await openSshTunnel(host, { config, ...options }));
    try {
      await client.request("GET", "/v1/status");
      return client;
    } catch (error) {
      client.close();
      const reason = error instanceof UnreachableError ? error.reason : (error as Error).message;
      throw new UnreachableError(host.url, reason, {
        cause: error,
        message: `no dsr daemon answers at ${host.url}: ${reason}`,
      });
    }
  }

  /**
   * Connects to the daemon at `paths`, or says why it cannot.
   * @throws {UnreachableError} whose `reason` says why no daemon answers
   * @throws {RuntimeError} when the socket exists but refuses this user
   */
  static async reach(paths: Paths, options: { timeoutMs?: number } = {}): Promise<DaemonClient> {
    const client = await DaemonClient.connect(paths, options);
    if (client) return client;
    const transport = unixTransport(paths.socket);
    throw new UnreachableError(paths.socket, await transport.explain());
  }

  /**
   * Sends a request and returns the decoded JSON answer.
   * @param options.timeoutMs how long the daemon may take to answer; default 10 s
   * @throws {UsageError} for a 4xx answer
   * @throws {UnreachableError} when the daemon cannot be reached or does not answer
   * @throws {RuntimeError} when the daemon fails (5xx) or refuses this user
   */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    options: { timeoutMs?: number } = {},
  ): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`http://dsr${path}`, {
        method,
        client: this.#client,
        body: body === undefined ? undefined : JSON.stringify(body),
        headers: body === undefined ? undefined : { "content-type": "application/json" },
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
    } catch (error) {
      const reason = (error as Error).message;
      const cause = error instanceof Error && error.cause ? error.cause : error;
      if (cause instanceof Deno.errors.PermissionDenied || /permission denied/i.test(reason)) {
        throw new RuntimeError(
          `the daemon socket ${this.label} refused this user: permission denied (run as root)`,
        );
      }
      const why = await this.transport.explain(error);
      throw new UnreachableError(this.label, why, {
        cause,
        message: `the daemon on ${this.label} does not answer: ${why}`,
      });
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

  /** Releases the connection pool and the transport (an ssh process, its directory). */
  close(): void {
    this.#client.close();
    this.transport.close();
  }
}
