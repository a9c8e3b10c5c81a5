/**
 * `dsr start`: runs the daemon in the foreground until SIGTERM or SIGINT;
 * SIGHUP reloads the state file.
 * @module
 */

import { serveApi } from "../../control/api.ts";
import { Daemon, type Logger } from "../../control/daemon.ts";
import { UsageError } from "../../control/errors.ts";
import { parseInteger } from "../../control/parse.ts";
import type { Paths } from "../client.ts";

function logger(format: string): Logger {
  return (level, message) => {
    if (format === "json") {
      console.error(JSON.stringify({ time: new Date().toISOString(), level, message }));
    } else {
      console.error(
        level === "info"
          ? `dsr: ${message}`
          : `dsr: ${level === "warn" ? "warning" : level}: ${message}`,
      );
    }
  };
}

/**
 * The id of a group named in /etc/group (or given as a number).
 * @throws {UsageError} when there is no such group.
 */
async function groupId(name: string): Promise<number> {
  if (/^\d+$/.test(name)) return Number(name);
  const text = await Deno.readTextFile("/etc/group").catch(() => "");
  const line = text.split("\n").find((l) => l.split(":")[0] === name);
  if (!line) throw new UsageError(`--socket-group: no group named "${name}" in /etc/group`);
  return Number(line.split(":")[2]);
}

/** Runs the balancer; returns the exit status. */
export async function start(
  paths: Paths,
  opts: {
    iface: string;
    maxFlows: string;
    metrics?: string;
    logFormat: string;
    socketGroup?: string;
  },
): Promise<number> {
  const maxFlows = parseInteger(opts.maxFlows, "--max-flows", 1024, 100_000_000);
  const gid = opts.socketGroup === undefined ? undefined : await groupId(opts.socketGroup);
  const log = logger(opts.logFormat);
  if (opts.metrics) log("warn", "--metrics is not implemented yet; no metrics are served");
  const daemon = await Daemon.start({ iface: opts.iface, statePath: paths.state, maxFlows, log });
  const abort = new AbortController();
  let server: Deno.HttpServer;
  try {
    server = await serveApi(daemon, paths.socket, abort.signal, { gid });
  } catch (error) {
    await daemon.stop();
    throw error;
  }
  const n = daemon.config.vips.length;
  log(
    "info",
    `forwarding on ${daemon.iface.name} (${daemon.iface.mac}), ${n} virtual services, socket ${paths.socket}`,
  );

  const onHup = () => {
    daemon.reload().then(
      (changes) =>
        log(
          "info",
          `reloaded ${paths.state}: ${changes.length === 0 ? "no change" : changes.join("; ")}`,
        ),
      (error) =>
        log("error", `reload of ${paths.state} refused, configuration kept: ${error.message}`),
    );
  };
  Deno.addSignalListener("SIGHUP", onHup);
  let onStop!: () => void;
  const stopped = new Promise<void>((resolve) => onStop = resolve);
  Deno.addSignalListener("SIGTERM", onStop);
  Deno.addSignalListener("SIGINT", onStop);
  const failure = await Promise.race([
    stopped.then(() => null),
    daemon.failure.catch((e: Error) => e),
  ]);
  Deno.removeSignalListener("SIGHUP", onHup);
  Deno.removeSignalListener("SIGTERM", onStop);
  Deno.removeSignalListener("SIGINT", onStop);
  abort.abort();
  await server.finished;
  await daemon.stop();
  await Deno.remove(paths.socket).catch(() => {});
  if (failure) {
    log("error", failure.message);
    return 1;
  }
  log("info", "stopped");
  return 0;
}
