/**
 * How to run this same program again inside a namespace: the compiled
 * binary itself, or `deno run` of the entry point with the declared
 * permission set when running from source.
 * @module
 */

import { basename } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

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
 * so the declared run permission stays `ip`.
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
      `exec "$@" >>'${log}' 2>&1 </dev/null`,
      "sh",
      ...argv,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  child.unref();
}
