/**
 * `ssh://[USER@]HOST[:PORT][/SOCKET]`, how `--host` names a balancer's
 * daemon (SPEC §13), and the OpenSSH command line that forwards a local
 * socket to it. Pure: no process is started here.
 * @module
 */

import { UsageError } from "../control/errors.ts";

/** Where a balancer's daemon socket is, reached through ssh. */
export interface SshTarget {
  /** The text as given (for messages and `dsr status --json`). */
  url: string;
  /** Login name; null lets ssh choose (its config, or the local user). */
  user: string | null;
  /** Host name or address (IPv6 without brackets). */
  host: string;
  /** TCP port; null lets ssh choose (its config, or 22). */
  port: number | null;
  /** The daemon's socket on the balancer, an absolute path. */
  socket: string;
}

/** The daemon socket's path when the URL names none. */
export const DEFAULT_REMOTE_SOCKET = "/run/dsr/dsr.sock";

const FORM = "expected ssh://[USER@]HOST[:PORT][/SOCKET], e.g. ssh://root@lb1/run/dsr/dsr.sock";
const URL_RE = /^ssh:\/\/(?:([^@/]*)@)?(\[[^\]/]*\]|[^:/@[\]]*)(?::([^/]*))?(\/.*)?$/;
// What ssh takes as a login name or host without reading it as an option.
const USER_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;
const HOST_RE = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})$/;
const IPV6_RE = /^[0-9A-Fa-f:.]{2,45}$/;
// ':' separates the two ends of `ssh -L`; whitespace and controls never belong in a path we pass.
// deno-lint-ignore no-control-regex
const SOCKET_RE = /^\/[^\s:\x00-\x1f\x7f]*$/;

/**
 * Parses `--host` (or `DSR_HOST`).
 * @throws {UsageError} naming what is wrong with the text and the expected form
 */
export function parseSshUrl(text: string): SshTarget {
  const bad = (why: string) => new UsageError(`invalid --host "${text}": ${why}; ${FORM}`);
  const m = URL_RE.exec(text);
  if (!m) throw bad(text.startsWith("ssh://") ? "not a host" : "not an ssh:// URL");
  const [, user, rawHost, rawPort, path] = m;
  if (user !== undefined && !USER_RE.test(user)) throw bad(`bad user name "${user}"`);
  let host = rawHost;
  if (host.startsWith("[")) {
    host = host.slice(1, -1);
    if (!IPV6_RE.test(host) || !host.includes(":")) throw bad(`bad IPv6 address "${rawHost}"`);
  } else if (!HOST_RE.test(host)) {
    throw bad(host === "" ? "no host" : `bad host "${host}"`);
  }
  let port: number | null = null;
  if (rawPort !== undefined) {
    port = /^\d{1,5}$/.test(rawPort) ? Number(rawPort) : NaN;
    if (!(port >= 1 && port <= 65535)) throw bad(`bad port "${rawPort}" (1-65535)`);
  }
  const socket = path === undefined || path === "/" ? DEFAULT_REMOTE_SOCKET : path;
  if (!SOCKET_RE.test(socket)) {
    throw bad(`bad socket path "${socket}" (absolute, no ':' or spaces)`);
  }
  return { url: text, user: user ?? null, host, port, socket };
}

/**
 * The arguments of `ssh` that forward `local` (a Unix socket ssh creates)
 * to the daemon's socket on the target, in the foreground, without a shell
 * on the balancer and without ever asking a question on the terminal.
 * @param options.config an ssh_config file to read instead of ~/.ssh/config (`ssh -F`)
 * @param options.connectTimeout seconds for the TCP connection; default 10
 */
export function sshForwardArgs(
  target: SshTarget,
  local: string,
  options: { config?: string | null; connectTimeout?: number } = {},
): string[] {
  const args = [
    "-N",
    "-o",
    "ExitOnForwardFailure=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    `ConnectTimeout=${options.connectTimeout ?? 10}`,
    // A balancer that vanishes (power, network) ends the tunnel in 15 s, so `dsr top` reconnects.
    "-o",
    "ServerAliveInterval=5",
    "-o",
    "ServerAliveCountMax=3",
    // A shared master connection would keep our forward (and its socket) after we exit.
    "-o",
    "ControlPath=none",
  ];
  if (options.config) args.push("-F", options.config);
  if (target.port !== null) args.push("-p", String(target.port));
  if (target.user !== null) args.push("-l", target.user);
  args.push("-L", `${local}:${target.socket}`, "--", target.host);
  return args;
}
