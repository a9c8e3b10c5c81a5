/**
 * A client for the daemon's control socket (SPEC §8) used straight from the
 * test process: HTTP/1.1 over the socket file, answers read whole and decoded.
 * @module
 */

import assert from "node:assert/strict";
import type { DsrPaths } from "./_dsr.ts";

/** One answer of the control socket. */
export interface ApiAnswer {
  status: number;
  contentType: string | null;
  /** The body parsed as JSON, or `undefined` when it is empty or not JSON. */
  json: unknown;
  text: string;
}

/** What to send with {@linkcode ApiClient.request}. */
export interface RequestOptions {
  /** A value sent as JSON (`content-type: application/json`). */
  json?: unknown;
  /** A body sent as it is (still labelled `application/json`). */
  raw?: string | Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array<ArrayBuffer>>;
}

/** Talks to one daemon's control socket; close it when done. */
export class ApiClient {
  #client: Deno.HttpClient;

  /** @param socket path of the daemon's Unix socket */
  constructor(readonly socket: string) {
    this.#client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  }

  /**
   * Sends `method path` (e.g. `GET /v1/status`) and reads the whole answer.
   * @throws {TypeError} when the socket cannot be reached
   */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<ApiAnswer> {
    const body = options.json !== undefined ? JSON.stringify(options.json) : options.raw;
    const response = await fetch(`http://dsr${path}`, {
      method,
      client: this.#client,
      body,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return {
      status: response.status,
      contentType: response.headers.get("content-type"),
      json,
      text,
    };
  }

  /**
   * Sends a request that must succeed with `status` and returns its JSON body.
   * @throws {AssertionError} naming the request and the answer otherwise
   */
  async ok(
    method: string,
    path: string,
    status: number,
    options: RequestOptions = {},
  ): Promise<unknown> {
    const answer = await this.request(method, path, options);
    assert.equal(
      answer.status,
      status,
      `${method} ${path} answered ${answer.status}: ${answer.text}`,
    );
    if (status === 204) assert.equal(answer.text, "", `${method} ${path}: 204 has no body`);
    else assert.match(answer.contentType ?? "", /^application\/json/, `${method} ${path}`);
    return answer.json;
  }

  /** Closes the connections. */
  close(): void {
    this.#client.close();
  }
}

/** The state file, parsed. */
export async function readState(paths: DsrPaths): Promise<unknown> {
  return JSON.parse(await Deno.readTextFile(paths.state));
}

/**
 * Runs a command to its end, without stdin.
 * @returns exit code and decoded output
 */
export async function run(
  cmd: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdin: "null" }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}
