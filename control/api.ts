/**
 * The control socket (SPEC §8): HTTP/1.1 and JSON on a Unix socket, mode
 * 0600 (0660 with a group). A thin layer: decode the request into a domain
 * type, call the same change functions the CLI's offline mode calls (through
 * the daemon's one queue), encode the answer. Every failure is a 4xx or 5xx
 * with a JSON error naming the field; no request can stop the daemon.
 * @module
 */

import { dirname } from "node:path";
import { z } from "zod";
import {
  type Config,
  ConfigError,
  NewVipSchema,
  parseConfig,
  RipPatchSchema,
  RipSchema,
  serviceKey,
  TimeoutsPatchSchema,
  validate,
  VipPatchSchema,
} from "./config.ts";
import {
  addRip,
  addVip,
  delRip,
  delVip,
  type ServiceRef,
  setRip,
  setTimeouts,
  setVip,
} from "./config_ops.ts";
import type { Daemon } from "./daemon.ts";
import { runDoctor } from "./doctor.ts";
import { CapacityError, RuntimeError, UsageError } from "./errors.ts";
import { parseIp, parseProto, parseVipPort } from "./parse.ts";
import { parseTraceParams } from "./trace_query.ts";

const MAX_BODY = 1 << 20;

/** `PUT /v1/ha`: the role keepalived's notify script asks for. */
const HaRoleSchema = z.strictObject({
  role: z.enum(["active", "standby"]),
  /** When the asking command started, ms since the epoch (orders keepalived's notify scripts). */
  at: z.number().positive().optional(),
});

/** An answer that is not 2xx, with the field it concerns. */
class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly field: string | null = null) {
    super(message);
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** Reads a JSON body of at most 1 MiB, without buffering a larger one. */
async function readJson(request: Request): Promise<unknown> {
  if (Number(request.headers.get("content-length") ?? "0") > MAX_BODY) {
    await request.body?.cancel();
    throw new HttpError(413, `body over ${MAX_BODY} bytes`);
  }
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  for await (const chunk of request.body ?? []) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, `body over ${MAX_BODY} bytes`);
    chunks.push(chunk as Uint8Array<ArrayBuffer>);
  }
  try {
    return JSON.parse(new TextDecoder().decode(await new Blob(chunks).arrayBuffer()));
  } catch {
    throw new HttpError(400, "body is not JSON");
  }
}

async function body<S extends z.ZodType>(request: Request, schema: S): Promise<z.infer<S>> {
  return validate(schema, await readJson(request));
}

/** `198.18.0.100:80` and `tcp` from the path. */
function serviceRef(addr: string, proto: string): ServiceRef {
  try {
    return { ...parseVipPort(decodeURIComponent(addr)), proto: parseProto(proto) };
  } catch (error) {
    throw new HttpError(400, (error as Error).message, "path");
  }
}

function findVip(config: Config, ref: ServiceRef) {
  const vip = config.vips.find((v) => serviceKey(v) === serviceKey(ref));
  if (!vip) throw new UsageError(`virtual service ${serviceKey(ref)} does not exist`, "missing");
  return vip;
}

function withoutRips<T extends { rips: unknown }>(vip: T): Omit<T, "rips"> {
  const { rips: _, ...rest } = vip;
  return rest;
}

/** A field of the whole document, named as a request about one VIP or RIP names it. */
const inVip = (path: string) => path.replace(/^vips\[\d+\]\./, "");
const inRip = (path: string) => path.replace(/^vips\[\d+\]\.rips\[\d+\]\./, "");

type Route = (daemon: Daemon, request: Request, params: string[]) => Promise<Response> | Response;

const ROUTES: [string, RegExp, Route][] = [
  ["GET", /^\/v1\/status$/, (d) => json(200, d.status())],
  ["GET", /^\/v1\/config$/, (d) => json(200, d.config)],
  ["PUT", /^\/v1\/config$/, async (d, r) => {
    const next = parseConfig(await readJson(r));
    // ?dry-run: judged against this host like a real change, and nothing changed.
    const dryRun = new URL(r.url).searchParams.has("dry-run");
    return json(200, { changes: await d.apply(next, { dryRun }) });
  }],
  ["PATCH", /^\/v1\/timeouts$/, async (d, r) => {
    const changes = await body(r, TimeoutsPatchSchema);
    return json(200, (await d.change((c) => setTimeouts(c, changes))).config.timeouts);
  }],
  ["POST", /^\/v1\/garp$/, async (d, r) => {
    const { vip } = await body(r, NewVipSchema.pick({ vip: true }));
    d.garp(vip);
    return new Response(null, { status: 204 });
  }],
  ["GET", /^\/v1\/doctor$/, async (d) => json(200, await runDoctor(d))],
  ["GET", /^\/v1\/trace$/, async (d, r) => {
    return json(200, await d.trace(parseTraceParams(new URL(r.url).searchParams)));
  }],
  ["GET", /^\/v1\/ha$/, (d) => json(200, d.ha)],
  ["PUT", /^\/v1\/ha$/, async (d, r) => {
    const { role, at } = await body(r, HaRoleSchema);
    return json(200, await d.setRole(role, at));
  }],
  ["GET", /^\/v1\/vips$/, (d) => json(200, d.config.vips)],
  ["POST", /^\/v1\/vips$/, async (d, r) => {
    const vip = await body(r, NewVipSchema);
    const { config } = await d.change((c) => addVip(c, vip), { field: inVip });
    return json(201, withoutRips(findVip(config, vip)));
  }],
  [
    "GET",
    /^\/v1\/vips\/([^/]+)\/(\w+)$/,
    (d, _r, [addr, proto]) => json(200, findVip(d.config, serviceRef(addr, proto))),
  ],
  ["PATCH", /^\/v1\/vips\/([^/]+)\/(\w+)$/, async (d, r, [addr, proto]) => {
    const ref = serviceRef(addr, proto);
    const changes = await body(r, VipPatchSchema);
    const { config } = await d.change((c) => setVip(c, ref, changes), { field: inVip });
    return json(200, withoutRips(findVip(config, ref)));
  }],
  ["DELETE", /^\/v1\/vips\/([^/]+)\/(\w+)$/, async (d, _r, [addr, proto]) => {
    const ref = serviceRef(addr, proto);
    await d.change((c) => delVip(c, ref));
    return new Response(null, { status: 204 });
  }],
  [
    "GET",
    /^\/v1\/vips\/([^/]+)\/(\w+)\/rips$/,
    (d, _r, [addr, proto]) => json(200, findVip(d.config, serviceRef(addr, proto)).rips),
  ],
  ["POST", /^\/v1\/vips\/([^/]+)\/(\w+)\/rips$/, async (d, r, [addr, proto]) => {
    const ref = serviceRef(addr, proto);
    const rip = await body(r, RipSchema);
    const { config } = await d.change((c) => addRip(c, ref, rip), { field: inRip });
    return json(201, findVip(config, ref).rips.find((x) => x.ip === rip.ip));
  }],
  ["PATCH", /^\/v1\/vips\/([^/]+)\/(\w+)\/rips\/([^/]+)$/, async (d, r, [addr, proto, ip]) => {
    const ref = serviceRef(addr, proto);
    const rip = ripIp(ip);
    const changes = await body(r, RipPatchSchema);
    const { config } = await d.change((c) => setRip(c, ref, rip, changes));
    return json(200, findVip(config, ref).rips.find((x) => x.ip === rip));
  }],
  ["DELETE", /^\/v1\/vips\/([^/]+)\/(\w+)\/rips\/([^/]+)$/, async (d, _r, [addr, proto, ip]) => {
    const ref = serviceRef(addr, proto);
    await d.change((c) => delRip(c, ref, ripIp(ip)));
    return new Response(null, { status: 204 });
  }],
];

function ripIp(text: string): string {
  try {
    return parseIp(decodeURIComponent(text), "real server");
  } catch (error) {
    throw new HttpError(400, (error as Error).message, "path");
  }
}

function route(daemon: Daemon, request: Request): Promise<Response> | Response {
  const { pathname } = new URL(request.url);
  let known = false;
  for (const [method, pattern, handler] of ROUTES) {
    const match = pattern.exec(pathname);
    if (!match) continue;
    known = true;
    if (method === request.method) return handler(daemon, request, match.slice(1));
  }
  if (known) throw new HttpError(405, `method ${request.method} is not allowed on ${pathname}`);
  throw new HttpError(404, `no such endpoint: ${pathname}`);
}

/** Maps an error to its HTTP answer; only a bug gives a 500. */
function failure(error: unknown): Response {
  if (error instanceof HttpError) {
    return json(error.status, { error: error.message, field: error.field });
  }
  if (error instanceof ConfigError) return json(422, { error: error.message, field: error.field });
  if (error instanceof UsageError) {
    const status = error.kind === "conflict" ? 409 : error.kind === "missing" ? 404 : 422;
    return json(status, { error: error.message, field: error.field });
  }
  // Beyond a capacity: the request was understood and refused whole (exit 1, SPEC §8).
  if (error instanceof CapacityError) return json(507, { error: error.message, field: null });
  const message = error instanceof RuntimeError
    ? error.message
    : `internal error: ${String(error)}`;
  return json(500, { error: message, field: null });
}

/** Who may use the socket besides root. */
export interface SocketAccess {
  /** Group allowed to use the socket (mode 0660); root only (0600) when absent. */
  gid?: number;
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
  access: SocketAccess = {},
): Promise<Deno.HttpServer> {
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path } });
  try {
    const r = await fetch("http://dsr/v1/status", { client, signal: AbortSignal.timeout(1000) });
    await r.body?.cancel();
    throw new RuntimeError(`another dsr daemon is running on socket ${path}`);
  } catch (error) {
    if (error instanceof RuntimeError) throw error;
    await Deno.remove(path).catch(() => {});
  } finally {
    client.close();
  }
  // Deno creates the socket 0755 (less the umask) and only then can it be
  // chmod'ed: listen inside a private 0700 directory, set the final mode, and
  // rename it into place, so the socket is never reachable wider than that.
  const hideout = await Deno.makeTempDir({ dir: dirname(path), prefix: ".dsr-sock-" });
  const hidden = `${hideout}/sock`;
  let server: Deno.HttpServer;
  try {
    server = Deno.serve(
      { path: hidden, signal, onListen() {} },
      async (request) => {
        try {
          return await route(daemon, request);
        } catch (error) {
          return failure(error);
        }
      },
    );
    if (access.gid !== undefined) {
      await Deno.chown(hidden, 0, access.gid);
      await Deno.chmod(hidden, 0o660);
    } else {
      await Deno.chmod(hidden, 0o600);
    }
    await Deno.rename(hidden, path);
  } finally {
    await Deno.remove(hideout, { recursive: true }).catch(() => {});
  }
  return server;
}
