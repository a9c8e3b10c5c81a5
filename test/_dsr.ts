/**
 * Runs the real `dsr` entry point the way users do (`deno run` with the
 * declared permission set), against a private state file and socket per test,
 * and starts its daemon inside a lab namespace.
 * @module
 */

import { fileURLToPath } from "node:url";
import type { Lab } from "../lab/topology.ts";
import type { Status } from "../control/status.ts";
import { type NsProcess, nsSpawn, waitFor } from "./_netns.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** argv that runs `dsr` from the source tree at `root` (ending in /) with the permission set of its deno.json. */
export function dsrArgv(root: string): string[] {
  return [Deno.execPath(), "run", "-q", "-P=dsr", "--config", `${root}deno.json`, `${root}main.ts`];
}

/** argv that runs `dsr` from this source tree. */
export const DSR: string[] = dsrArgv(ROOT);

/** A private state file and socket. */
export interface DsrPaths {
  dir: string;
  state: string;
  socket: string;
  /** How to run dsr; default `DSR` (for example another checkout, through `env`). */
  argv?: string[];
}

/** Makes a temporary directory for one test's state and socket. */
export async function tempPaths(): Promise<DsrPaths> {
  const dir = await Deno.makeTempDir({ prefix: "dsr-test-" });
  return { dir, state: `${dir}/state.json`, socket: `${dir}/dsr.sock` };
}

/** The result of one `dsr` run. */
export interface DsrRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `dsr args…` with the test's paths, optionally inside a namespace. */
export async function dsr(
  paths: DsrPaths,
  args: string[],
  options: { ns?: string; env?: Record<string, string> } = {},
): Promise<DsrRun> {
  const argv = [...(paths.argv ?? DSR), "--socket", paths.socket, "--state", paths.state, ...args];
  const full = options.ns ? ["ip", "netns", "exec", options.ns, ...argv] : argv;
  const out = await new Deno.Command(full[0], {
    args: full.slice(1),
    stdin: "null",
    env: options.env,
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Runs `dsr args…` and fails unless it exits 0. */
export async function dsrOk(paths: DsrPaths, args: string[]): Promise<string> {
  const run = await dsr(paths, args);
  if (run.code !== 0) throw new Error(`dsr ${args.join(" ")} exited ${run.code}: ${run.stderr}`);
  return run.stdout;
}

/** Reads `dsr status --json`. */
export async function status(paths: DsrPaths): Promise<Status> {
  return JSON.parse(await dsrOk(paths, ["status", "--json"]));
}

/** Configures the lab's VIP on port 80 with every real server, offline. */
export async function configureLab(paths: DsrPaths, lab: Lab, scheduler = "mh"): Promise<void> {
  await dsrOk(paths, ["vip", "add", `${lab.vip}:80`, "--scheduler", scheduler]);
  for (const s of lab.servers) await dsrOk(paths, ["rip", "add", `${lab.vip}:80`, s.ip]);
}

/** Starts real servers' HTTP servers (`dsr lab serve`) in their namespaces. */
export function startServers(lab: Lab): NsProcess[] {
  return lab.servers.map((s) => nsSpawn(s.ns, [...DSR, "lab", "serve", "--name", s.name]));
}

/** Starts `dsr start` in the lab's balancer namespace, without waiting for anything. */
export function spawnDaemon(paths: DsrPaths, lab: Lab, extra: string[] = []): NsProcess {
  return nsSpawn(lab.balancer.ns, [
    ...(paths.argv ?? DSR),
    "--socket",
    paths.socket,
    "--state",
    paths.state,
    "start",
    "--iface",
    lab.balancer.iface,
    ...extra,
  ]);
}

/** `[epoch ms, body]` per answer that test/_http_stream.ts printed. */
export function streamAnswers(output: string): [number, string][] {
  return output.trim().split("\n").filter(Boolean).map((l) => {
    const at = l.indexOf(" ");
    return [Number(l.slice(0, at)), l.slice(at + 1)];
  });
}

/**
 * Starts `dsr start` in the lab's balancer namespace and waits until every
 * real server is up with a resolved MAC.
 */
export async function startDaemon(
  paths: DsrPaths,
  lab: Lab,
  extra: string[] = [],
): Promise<NsProcess> {
  const daemon = spawnDaemon(paths, lab, extra);
  try {
    await waitFor("the daemon to resolve every real server", async () => {
      const s = await status(paths);
      return s.vips.every((v) => v.rips.every((r) => r.state === "up" && r.mac !== null));
    }, 10_000);
  } catch (error) {
    await daemon.kill();
    throw new Error(`${(error as Error).message}\ndaemon output:\n${daemon.output()}`);
  }
  return daemon;
}

/** Stops processes, ignoring ones already gone. */
export async function stopAll(processes: NsProcess[]): Promise<void> {
  await Promise.all(processes.map((p) => p.kill()));
}
