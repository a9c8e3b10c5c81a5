/**
 * Where a command finds the daemon and the state file: `--socket`,
 * `--state`, `--host` (repeatable for `dsr status` and `dsr top`) and
 * `--ssh-config`, each over its environment variable and default.
 * @module
 */

import { parseSshUrl, type Paths } from "../client/mod.ts";
import { UsageError } from "../control/errors.ts";

/** The daemon's socket when neither --socket nor DSR_SOCKET names one. */
export const DEFAULT_SOCKET = "/run/dsr/dsr.sock";
/** The state file when neither --state nor DSR_STATE names one. */
export const DEFAULT_STATE = "/var/lib/dsr/state.json";

/** The global options as commander hands them over. */
export interface GlobalOpts {
  socket?: string;
  state?: string;
  host?: string[];
  sshConfig?: string;
}

/** What `pathsOf` needs of a commander command. */
export interface CommandLike {
  name(): string;
  parent: CommandLike | null;
  optsWithGlobals(): GlobalOpts;
}

/** Commands that act on this machine only: `--host` would mislead. */
const HERE_ONLY = new Set(["start", "lab", "realserver"]);
/** Commands that show several balancers at once. */
const SEVERAL = new Set(["status", "top"]);

/** `["vip", "add"]`: the command's path below the root. */
function commandPath(cmd: CommandLike): string[] {
  const names: string[] = [];
  for (let c: CommandLike | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names;
}

/** Every --host given, or DSR_HOST when none was. */
function hostTexts(cmd: CommandLike, env: (name: string) => string | undefined): string[] {
  const given = cmd.optsWithGlobals().host ?? [];
  if (given.length > 0) return given;
  const fromEnv = env("DSR_HOST");
  return fromEnv ? [fromEnv] : [];
}

/**
 * The daemon and state file for one command, with the environment's
 * `DSR_SOCKET`, `DSR_STATE`, `DSR_HOST`, `DSR_SSH_CONFIG` under the options.
 * @param env reads an environment variable; default `Deno.env.get`
 * @throws {UsageError} for a bad `--host`, several of them where one is meant,
 *   or `--host` on a command that runs on this machine
 */
export function pathsOf(
  cmd: CommandLike,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): Paths {
  const o = cmd.optsWithGlobals();
  const path = commandPath(cmd);
  const local: Paths = {
    socket: o.socket ?? env("DSR_SOCKET") ?? DEFAULT_SOCKET,
    state: o.state ?? env("DSR_STATE") ?? DEFAULT_STATE,
  };
  if (HERE_ONLY.has(path[0])) {
    if ((o.host ?? []).length > 0) {
      throw new UsageError(
        `--host does not apply to dsr ${path.join(" ")}: it acts on this machine ` +
          "(run it on the balancer itself)",
      );
    }
    return local;
  }
  const hosts = hostTexts(cmd, env);
  if (hosts.length > 1 && !SEVERAL.has(path[0])) {
    throw new UsageError(
      `--host given ${hosts.length} times: only dsr status and dsr top show several balancers`,
    );
  }
  if (hosts.length === 0) return local;
  return { ...local, host: parseSshUrl(hosts[0]), sshConfig: o.sshConfig ?? env("DSR_SSH_CONFIG") };
}

/**
 * One `Paths` per `--host` for the commands that show several balancers;
 * a single entry (this machine's daemon, or the one host) otherwise.
 * @throws {UsageError} as {@linkcode pathsOf}
 */
export function everyPathsOf(
  cmd: CommandLike,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): Paths[] {
  const first = pathsOf(cmd, env);
  const hosts = hostTexts(cmd, env);
  if (hosts.length <= 1) return [first];
  return hosts.map((h) => ({ ...first, host: parseSshUrl(h) }));
}
