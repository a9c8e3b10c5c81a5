/**
 * Shell completion: `dsr completion bash|zsh|fish|powershell` prints a
 * script that calls back `dsr complete -- WORDS…`; both come from
 * @bomb.sh/tab, which reads the command tree, so completions never drift
 * from the commands. VIP:PORT and real server arguments are completed with
 * the names the daemon holds (through `--host` when the line names one), or
 * the state file when no daemon runs here.
 * @module
 */

import type { Command } from "@commander-js/extra-typings";
import { DaemonClient, type Paths } from "../client/mod.ts";
import type { Config } from "../control/config.ts";
import { loadState } from "../control/state_file.ts";
import { type CommandLike, pathsOf } from "./where.ts";

// deno-lint-ignore no-explicit-any
type AnyCommand = Command<any, any, any>;

/** How long a TAB may wait for the daemon (ssh included) before completing without names. */
const NAMES_TIMEOUT_MS = 5000;

/** The global options a completed line may carry, and whether they take a value. */
const GLOBAL_VALUES = new Set(["--host", "--socket", "--state", "--ssh-config"]);

/**
 * The global options and positional words of a command line being completed:
 * `["--host", "ssh://lb1", "rip", "del", "198.18.0.100:80", ""]` gives
 * `{ host: ["ssh://lb1"] }` and `["rip", "del", "198.18.0.100:80", ""]`.
 */
export function splitWords(words: readonly string[]): {
  globals: { host: string[]; socket?: string; state?: string; sshConfig?: string };
  positional: string[];
  proto: string | null;
} {
  const globals: { host: string[]; socket?: string; state?: string; sshConfig?: string } = {
    host: [],
  };
  const positional: string[] = [];
  let proto: string | null = null;
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    const [flag, inline] = word.startsWith("--") && word.includes("=")
      ? [word.slice(0, word.indexOf("=")), word.slice(word.indexOf("=") + 1)]
      : [word, undefined];
    const takesValue = GLOBAL_VALUES.has(flag) || flag === "--proto";
    if (!takesValue) {
      if (!word.startsWith("-") || i === words.length - 1) positional.push(word);
      continue;
    }
    const value = inline ?? words[++i];
    if (value === undefined) break;
    if (flag === "--host") globals.host.push(value);
    else if (flag === "--socket") globals.socket = value;
    else if (flag === "--state") globals.state = value;
    else if (flag === "--ssh-config") globals.sshConfig = value;
    else proto = value;
  }
  return { globals, positional, proto };
}

/**
 * The configuration behind a line being completed: the daemon's (through
 * ssh with `--host`), else the state file's; null when neither answers in
 * time. Never prints anything.
 */
async function configFor(paths: Paths): Promise<Config | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => timer = setTimeout(resolve, NAMES_TIMEOUT_MS, null));
  const fetched = (async () => {
    const client = await DaemonClient.connect(paths, { timeoutMs: NAMES_TIMEOUT_MS });
    if (!client) return paths.host ? null : await loadState(paths.state);
    try {
      return await client.request<Config>("GET", "/v1/config", undefined, {
        timeoutMs: NAMES_TIMEOUT_MS,
      });
    } finally {
      client.close();
    }
  })().catch(() => null);
  try {
    return await Promise.race([fetched, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Completions for one argument: value and description. */
export type Candidates = [string, string][];

/**
 * The VIP:PORT, VIP and real server candidates for the arguments of `vip`
 * and `rip` commands in `config`.
 * @param line.vipPort the VIP:PORT already typed on the line (for real servers), or null
 * @param line.proto the `--proto` on the line, or null for any
 */
export function namesIn(
  config: Config,
  line: { vipPort: string | null; proto: string | null },
): { services: Candidates; vips: Candidates; rips: Candidates } {
  const { vipPort, proto } = line;
  const services: Candidates = config.vips.map((v) => [
    `${v.vip}:${v.port}`,
    `${v.proto} ${v.scheduler}, ${v.rips.length} real server${v.rips.length === 1 ? "" : "s"}`,
  ]);
  const vips: Candidates = [...new Set(config.vips.map((v) => v.vip))].map((v) => [v, "VIP"]);
  const rips: Candidates = config.vips
    .filter((v) => `${v.vip}:${v.port}` === vipPort && (proto === null || v.proto === proto))
    .flatMap((v) =>
      v.rips.map((r): [string, string] => [
        r.ip,
        `${v.proto}, weight ${r.weight}${r.drain ? ", draining" : ""}`,
      ])
    );
  return { services, vips, rips };
}

/**
 * Adds `completion` (alias `completions`) and the hidden `complete` to
 * `program`; for a `dsr complete -- …` request naming a `vip` or `rip`
 * command, first fetches the names to complete.
 * @param args the command line (without the program name)
 */
export async function addCompletions(program: AnyCommand, args: readonly string[]): Promise<void> {
  const { default: tab } = await import("@bomb.sh/tab/commander");
  // extra-typings wraps commander's own Command class; tab takes the plain type.
  const root = tab(program as unknown as Parameters<typeof tab>[0], {
    completionCommandName: "completion",
  });
  program.commands.find((c) => c.name() === "completion")?.alias("completions");
  const at = args.indexOf("complete");
  if (at < 0 || args[at + 1] !== "--") return;
  // Global options may come before `complete` too (`dsr --socket S complete -- …`).
  const { globals, positional, proto } = splitWords([...args.slice(0, at), ...args.slice(at + 2)]);
  if (positional[0] !== "vip" && positional[0] !== "rip") return;
  const line: CommandLike = {
    name: () => positional.slice(0, 2).join(" "),
    parent: { name: () => "dsr", parent: null, optsWithGlobals: () => globals },
    optsWithGlobals: () => globals,
  };
  let paths: Paths;
  try {
    paths = pathsOf(line);
  } catch {
    return; // a bad --host on the line: complete without names
  }
  const config = await configFor(paths);
  if (!config) return;
  const typedVipPort = positional.length > 3 ? positional[2] : null;
  const names = namesIn(config, { vipPort: typedVipPort, proto });
  const offer = (candidates: Candidates) => (complete: (v: string, d: string) => void) => {
    for (const [value, description] of candidates) complete(value, description);
  };
  for (const command of ["vip set", "vip del", "rip add", "rip set", "rip del"]) {
    const arg = root.commands.get(command)?.arguments.get("vip:port");
    if (arg) arg.handler = offer(names.services);
  }
  const garp = root.commands.get("vip garp")?.arguments.get("vip");
  if (garp) garp.handler = offer(names.vips);
  for (const command of ["rip set", "rip del"]) {
    const arg = root.commands.get(command)?.arguments.get("rip");
    if (arg) arg.handler = offer(names.rips);
  }
}
