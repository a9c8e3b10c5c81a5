/**
 * The commands keepalived runs — `dsr ha check` every 2 s, `dsr ha promote`
 * and `dsr ha demote` on a transition — answered without loading the
 * command tree. They sit on the takeover's critical path and on every
 * check: loading commander, zod and the rest costs 0.3 to 0.7 s of CPU on a
 * loaded host, this module about a tenth of that. It takes only the plain
 * forms (`[--socket PATH] ha check [--min-uptime S]`, `ha promote`,
 * `ha demote`); anything else, `--host` or `-h` included, goes to the full
 * command line, which gives the same answers.
 * @module
 */

const DEFAULT_SOCKET = "/run/dsr/dsr.sock";
/** How long one question to the daemon, or to `ip`, may take: well inside keepalived's 5 s. */
const DEADLINE_MS = 2_000;

/** What the fast path parsed. */
export interface FastHaCommand {
  socket: string;
  action: "check" | "promote" | "demote";
  minUptime: number;
}

/**
 * Recognizes the plain forms; null for anything else (the full command line
 * then parses it and reports any mistake).
 */
export function parseFastHa(
  args: readonly string[],
  env: (name: string) => string | undefined,
): FastHaCommand | null {
  if (env("DSR_HOST")) return null;
  let socket = env("DSR_SOCKET") ?? DEFAULT_SOCKET;
  let i = 0;
  for (; i < args.length && args[i] !== "ha"; i++) {
    const a = args[i];
    if (a === "--socket" && i + 1 < args.length) socket = args[++i];
    else if (a.startsWith("--socket=")) socket = a.slice("--socket=".length);
    else return null;
  }
  const action = args[i + 1];
  if (action !== "check" && action !== "promote" && action !== "demote") return null;
  const rest = args.slice(i + 2);
  let minUptime = 0;
  if (action === "check" && rest.length > 0) {
    const value = rest[0] === "--min-uptime" && rest.length === 2
      ? rest[1]
      : rest.length === 1 && rest[0].startsWith("--min-uptime=")
      ? rest[0].slice("--min-uptime=".length)
      : null;
    if (value === null || !/^\d{1,4}$/.test(value) || Number(value) > 3600) return null;
    minUptime = Number(value);
  } else if (rest.length > 0) return null;
  if (socket === "") return null;
  return { socket, action, minUptime };
}

/** A failure of the fast path, shown as `dsr: error: …` with exit status 1. */
export class FastHaError extends Error {}

/**
 * Runs a parsed command.
 * @throws {FastHaError} naming what failed
 */
export async function runFastHa(c: FastHaCommand): Promise<void> {
  if (c.action === "check") return await check(c.socket, c.minUptime);
  const role = c.action === "promote" ? "active" : "standby";
  // When this command started: the daemon drops a request older than the
  // last it applied (keepalived's notify scripts may finish out of order).
  const r = await ask(c.socket, "PUT", "/v1/ha", { role, at: performance.timeOrigin });
  if (!r.ok) throw new FastHaError(r.error);
}

/**
 * `ha check`: the daemon answers, has run `minUptime` seconds, and its
 * interface is up.
 * @throws {FastHaError} saying which of them fails
 */
export async function check(socket: string, minUptime: number): Promise<void> {
  const r = await ask(socket, "GET", "/v1/status");
  if (!r.ok) throw new FastHaError(r.error);
  const { iface, uptimeSeconds } = r.body as { iface: string; uptimeSeconds: number };
  if (uptimeSeconds < minUptime) {
    throw new FastHaError(
      `the daemon started ${uptimeSeconds} s ago, less than --min-uptime ${minUptime}`,
    );
  }
  const state = await linkState(iface);
  // UNKNOWN: a driver that reports no carrier (dummy, tun) while the link is up.
  if (state !== "UP" && state !== "UNKNOWN") {
    throw new FastHaError(`interface ${iface} of the daemon is ${state.toLowerCase()}`);
  }
}

type Answer = { ok: true; body: unknown } | { ok: false; error: string };

/** One request on the daemon's socket, with a deadline. */
async function ask(socket: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socket } });
  try {
    const r = await fetch(`http://dsr${path}`, {
      method,
      client,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? undefined : { "content-type": "application/json" },
      signal: AbortSignal.timeout(DEADLINE_MS),
    });
    const text = await r.text();
    const data = text ? JSON.parse(text) : null;
    if (r.ok) return { ok: true, body: data };
    return { ok: false, error: data?.error ?? `HTTP ${r.status}` };
  } catch (error) {
    const cause = (error as Error).cause ?? error;
    if (cause instanceof Deno.errors.NotFound || cause instanceof Deno.errors.ConnectionRefused) {
      return {
        ok: false,
        error: `no dsr daemon is running on ${socket} (start one with: dsr start --iface IFACE)`,
      };
    }
    return {
      ok: false,
      error: `the daemon on ${socket} does not answer: ${(error as Error).message}`,
    };
  } finally {
    client.close();
  }
}

/**
 * The operational state of `iface` from `ip -j link` (Deno reads nothing
 * under /sys without every permission): "UP", "DOWN", "UNKNOWN", … or
 * "GONE". One argv, no shell, killed at the deadline; the process helper of
 * control/run.ts would cost more to load than the whole check.
 */
async function linkState(iface: string): Promise<string> {
  const out = await new Deno.Command("ip", {
    args: ["-j", "link", "show", "dev", iface],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
    signal: AbortSignal.timeout(DEADLINE_MS),
  }).output().catch(() => null);
  if (!out?.success) return "GONE";
  const [link] = JSON.parse(new TextDecoder().decode(out.stdout) || "[]") as {
    operstate?: string;
    flags?: string[];
  }[];
  if (!link) return "GONE";
  if (!link.flags?.includes("UP")) return "DOWN";
  return link.operstate ?? "UNKNOWN";
}
