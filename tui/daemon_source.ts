/**
 * The dashboard's data source in `dsr top`: a daemon's control API
 * (`GET /v1/status`, `PATCH /v1/vips/{vip}:{port}/{proto}/rips/{ip}`), on
 * this machine's socket or a balancer's through ssh. It connects lazily and
 * again after any failure, so a daemon that restarts (or an ssh connection
 * that drops) is picked up by the next poll.
 * @module
 */

import {
  DaemonClient,
  labelOf,
  type Paths,
  servicePath,
  SSH_TIMEOUT_MS,
  UnreachableError,
} from "../client/mod.ts";
import { UsageError } from "../control/errors.ts";
import type { Status } from "../control/status.ts";
import { whyUnreachable } from "../client/transport_unix.ts";
import type { RipPatch, RipRef, StatusSource } from "./source.ts";

/**
 * Settles as `promise` does, or rejects with {@linkcode Deno.errors.TimedOut}
 * after `ms` (what `promise` does later is then ignored).
 */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Deno.errors.TimedOut(`no answer within ${ms / 1000} s`)),
      ms,
    );
  });
  promise.catch(() => {});
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Where a source finds its daemon: `Paths` without the state file. */
export type Where = Omit<Paths, "state">;

/** A daemon's control API as a {@linkcode StatusSource}. */
export class DaemonSource implements StatusSource {
  #client: DaemonClient | null = null;
  #timeout: number;
  #where: Paths;
  /** The socket path, or the `ssh://` URL. */
  readonly label: string;

  /**
   * @param where the daemon's socket path, or where to find the daemon (`host` for ssh)
   * @param options.timeoutMs how long a request may take before the daemon counts as not
   *   answering (a daemon that hangs, or is stopping); default 3000. Connecting through
   *   ssh may take up to {@linkcode SSH_TIMEOUT_MS} on top.
   */
  constructor(where: string | Where, options: { timeoutMs?: number } = {}) {
    this.#where = typeof where === "string"
      ? { socket: where, state: "" }
      : { ...where, state: "" };
    this.label = labelOf(this.#where);
    this.#timeout = options.timeoutMs ?? 3000;
  }

  async #connected(): Promise<DaemonClient> {
    if (this.#client) return this.#client;
    const ssh = Boolean(this.#where.host);
    const pending = DaemonClient.reach(this.#where);
    try {
      return this.#client = await within(pending, this.#timeout + (ssh ? SSH_TIMEOUT_MS : 0));
    } catch (error) {
      // A connection that comes up after we gave up is not kept (nor its ssh process).
      pending.then((late) => late.close(), () => {});
      throw new Error(await this.#why(error));
    }
  }

  async #why(error: unknown): Promise<string> {
    if (error instanceof UnreachableError) return error.reason;
    if (error instanceof Deno.errors.TimedOut) return error.message;
    return await whyUnreachable(this.#where.socket, error);
  }

  async #request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const client = await this.#connected();
    try {
      return await within(client.request<T>(method, path, body), this.#timeout);
    } catch (error) {
      // The daemon answered and refused (4xx): keep the connection, pass its words on.
      if (error instanceof UsageError) throw new Error(error.message);
      this.close();
      throw new Error(await this.#why(error));
    }
  }

  /** `GET /v1/status`; throws an Error saying why the daemon cannot be reached. */
  status(): Promise<Status> {
    return this.#request<Status>("GET", "/v1/status");
  }

  /** `PATCH …/rips/{ip}`; throws an Error with the daemon's answer when refused. */
  async patchRip(ref: RipRef, patch: RipPatch): Promise<void> {
    await this.#request("PATCH", `${servicePath(ref)}/rips/${ref.ip}`, patch);
  }

  /** Drops the connection (the next call connects again). */
  close(): void {
    this.#client?.close();
    this.#client = null;
  }
}
