/**
 * The dashboard's data source in `dsr top`: the daemon's control socket
 * (`GET /v1/status`, `PATCH /v1/vips/{vip}:{port}/{proto}/rips/{ip}`). It
 * connects lazily and again after any failure, so a daemon that restarts is
 * picked up by the next poll.
 * @module
 */

import { DaemonClient, servicePath } from "../cli/client.ts";
import { UsageError } from "../control/errors.ts";
import type { Status } from "../control/status.ts";
import type { RipPatch, RipRef, StatusSource } from "./source.ts";

/** Why the daemon on `path` cannot be reached, in a few words. */
async function whyUnreachable(path: string, error?: unknown): Promise<string> {
  try {
    await Deno.lstat(path);
  } catch {
    return "no such socket (is the daemon running?)";
  }
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const message = cause instanceof Error ? cause.message : String(cause ?? "");
  if (error === undefined || /connection refused|os error 111/i.test(message)) {
    return "connection refused (no daemon accepts on the socket)";
  }
  if (error instanceof Error && /permission denied/i.test(error.message)) return error.message;
  // Deno's fetch says "error sending request for url (…): client error (Connect): …".
  return message.replace(/^error sending request for url \([^)]*\): /, "");
}

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

/** The daemon's socket as a {@linkcode StatusSource}. */
export class DaemonSource implements StatusSource {
  #client: DaemonClient | null = null;
  #timeout: number;

  /**
   * @param label the socket path
   * @param options.timeoutMs how long a request may take before the daemon counts as not
   *   answering (a daemon that hangs, or is stopping); default 3000
   */
  constructor(readonly label: string, options: { timeoutMs?: number } = {}) {
    this.#timeout = options.timeoutMs ?? 3000;
  }

  async #connected(): Promise<DaemonClient> {
    if (this.#client) return this.#client;
    let client: DaemonClient | null;
    try {
      client = await within(DaemonClient.connect(this.label), this.#timeout);
    } catch (error) {
      if (error instanceof Deno.errors.TimedOut) throw new Error(error.message);
      throw new Error(await whyUnreachable(this.label, error));
    }
    if (!client) throw new Error(await whyUnreachable(this.label));
    return this.#client = client;
  }

  async #request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const client = await this.#connected();
    try {
      return await within(client.request<T>(method, path, body), this.#timeout);
    } catch (error) {
      // The daemon answered and refused (4xx): keep the connection, pass its words on.
      if (error instanceof UsageError) throw new Error(error.message);
      this.close();
      if (error instanceof Deno.errors.TimedOut) throw new Error(error.message);
      throw new Error(await whyUnreachable(this.label, error));
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
