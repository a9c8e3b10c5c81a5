/**
 * How to run this same program again inside a namespace: the compiled
 * binary itself, or `deno run` of the entry point with the declared
 * permission set when running from source.
 * @module
 */

import { basename } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

/** `sh -c` script: $0 is the log file, "$@" the program and its arguments. */
export const REDIRECT = 'exec "$@" >>"$0" 2>&1 </dev/null';

/** argv that runs `dsr` (append the subcommand). */
export function selfCommand(): string[] {
  const exe = Deno.execPath();
  if (!/^deno(\.exe)?$/.test(basename(exe))) return [exe];
  return [
    exe,
    "run",
    "-q",
    "-P=dsr",
    "--config",
    fromFileUrl(new URL("../deno.json", import.meta.url)),
    fromFileUrl(new URL("../main.ts", import.meta.url)),
  ];
}

/**
 * Starts `argv` inside namespace `ns` in a session of its own, detached from
 * this process, with its output appended to `log`. Only `ip` is run directly,
 * so the declared run permission stays `ip`. The shell's script is a constant:
 * the log path and argv reach it as positional parameters, never as text it
 * parses, so no path or argument can become a command.
 */
export function spawnDetached(ns: string, argv: string[], log: string): void {
  const child = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      ns,
      "setsid",
      "sh",
      "-c",
      REDIRECT,
      log,
      ...argv,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  child.unref();
}
