/**
 * The control socket (SPEC §8): HTTP/1.1 and JSON on a Unix socket, mode
 * 0600. A thin layer: decode the request, call the daemon, encode the answer.
 * Every failure is a 4xx or 5xx with a JSON error; no request can stop the
 * daemon.
 * @module
 */

import { dirname } from "node:path";
import { ConfigError, parseConfig } from "./config.ts";
import type { Daemon } from "./daemon.ts";
import { RuntimeError, UsageError } from "./errors.ts";

const MAX_BODY = 1 << 20;

class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly field?: string) {
    super(message);
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** Reads a JSON body of at most 1 MiB. */
async function readJson(request: Request): Promise<unknown> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY) throw new HttpError(413, `body over ${MAX_BODY} bytes`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body ?? []) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, `body over ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) bytes.set(c, (at += c.length) - c.length);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new HttpError(400, "body is not JSON");
  }
}

async function route(daemon: Daemon, request: Request): Promise<Response> {
  const { pathname } = new URL(request.url);
  const method = request.method;
  if (pathname === "/v1/status" && method === "GET") return json(200, daemon.status());
  if (pathname === "/v1/config" && method === "GET") return json(200, daemon.config);
  if (pathname === "/v1/config" && method === "PUT") {
    const config = parseConfig(await readJson(request));
    return json(200, { changes: await daemon.apply(config) });
  }
  if (pathname === "/v1/garp" && method === "POST") {
    const body = await readJson(request) as { vip?: unknown };
    if (typeof body?.vip !== "string") {
      throw new HttpError(422, "vip: expected an IPv4 address", "vip");
    }
    daemon.garp(body.vip);
    return new Response(null, { status: 204 });
  }
  throw new HttpError(404, `no such endpoint: ${method} ${pathname}`);
}

/** Maps an error to its HTTP answer. */
function failure(error: unknown): Response {
  if (error instanceof HttpError) {
    return json(error.status, { error: error.message, field: error.field ?? null });
  }
  if (error instanceof ConfigError) return json(422, { error: error.message, field: error.field });
  if (error instanceof UsageError) {
    const status = error.kind === "conflict" ? 409 : error.kind === "missing" ? 404 : 422;
    return json(status, { error: error.message, field: null });
  }
  const message = error instanceof RuntimeError
    ? error.message
    : `internal error: ${String(error)}`;
  return json(500, { error: message, field: null });
}

/**
 * Serves the control API on `path` until `signal` aborts. A stale socket file
 * is replaced; a live one (another daemon) is an error.
 * @throws {RuntimeError} when another daemon answers on `path`.
 */
export async function serveApi(
  daemon: Daemon,
  path: string,
  signal: AbortSignal,
): Promise<Deno.HttpServer> {
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o755 });
  try {
    const client = Deno.createHttpClient({ proxy: { transport: "unix", path } });
    try {
      await fetch("http://dsr/v1/status", { client, signal: AbortSignal.timeout(1000) }).then((r) =>
        r.body?.cancel()
      );
      throw new RuntimeError(`another dsr daemon is running on socket ${path}`);
    } finally {
      client.close();
    }
  } catch (error) {
    if (error instanceof RuntimeError) throw error;
    await Deno.remove(path).catch(() => {});
  }
  const server = Deno.serve(
    { path, signal, onListen() {} },
    (request) => route(daemon, request).catch(failure),
  );
  // Deno creates the socket 0755; only root may drive the balancer.
  await Deno.chmod(path, 0o600);
  return server;
}
