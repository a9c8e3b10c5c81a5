/**
 * `dsr start`: runs the daemon in the foreground until SIGTERM or SIGINT;
 * SIGHUP reloads the state file.
 * @module
 */

import { parseTable } from "../../control/announce.ts";
import { serveApi } from "../../control/api.ts";
import { Daemon } from "../../control/daemon.ts";
import { claimSocket } from "../../control/instance.ts";
import { type LogFormat, setupLogging } from "../../control/log.ts";
import { UsageError } from "../../control/errors.ts";
import { Metrics, serveMetrics } from "../../control/metrics.ts";
import { parseInteger, parseListen, parseSeconds } from "../../control/parse.ts";
import type { Paths } from "../../client/mod.ts";

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
    /** One interface, or each leg of a balancer with several. */
    iface: string[];
    maxFlows: string;
    ingressDrop: boolean;
    metrics?: string;
    logFormat: string;
    socketGroup?: string;
    role?: string;
    announce?: string;
    garpInterval?: string;
  },
): Promise<number> {
  const maxFlows = parseInteger(opts.maxFlows, "--max-flows", 1024, 100_000_000);
  const gid = opts.socketGroup === undefined ? undefined : await groupId(opts.socketGroup);
  const log = await setupLogging(opts.logFormat as LogFormat);
  const listen = opts.metrics === undefined ? null : parseListen(opts.metrics, "--metrics");
  const announce = opts.announce === undefined ? undefined : parseTable(opts.announce);
  const garpInterval = opts.garpInterval === undefined
    ? undefined
    : parseSeconds(opts.garpInterval, "--garp-interval");
  if (garpInterval !== undefined && garpInterval < 1) {
    throw new UsageError(`--garp-interval ${opts.garpInterval}: at least 1 second`);
  }
  let metrics: Metrics | null = null;
  // Before any capture, frame or change to the interface: a second daemon on
  // this socket must leave the first one's world exactly as it was.
  const claim = await claimSocket(paths.socket);
  let daemon: Daemon;
  try {
    daemon = await Daemon.start({
      iface: opts.iface,
      statePath: paths.state,
      maxFlows,
      ingressDrop: opts.ingressDrop,
      log,
      onCheck: (service, ip, type, ms) => metrics?.observeCheck(service, ip, type, ms),
      role: opts.role === "standby" ? "standby" : "active",
      announce,
      garpInterval,
    });
  } catch (error) {
    claim.release();
    throw error;
  }
  const abort = new AbortController();
  let server: Deno.HttpServer;
  try {
    server = await serveApi(daemon, paths.socket, abort.signal, { gid });
    if (listen) {
      metrics = new Metrics(() => daemon.status(), () => daemon.config);
      serveMetrics(metrics, listen, abort.signal);
      log("info", `metrics on http://${listen.hostname}:${listen.port}/metrics`);
    }
  } catch (error) {
    await daemon.stop();
    claim.release();
    throw error;
  }
  const n = daemon.config.vips.length;
  const legs = daemon.legs.map((leg) => `${leg.name} (${leg.mac})`).join(" and ");
  log("info", `forwarding on ${legs}, ${n} virtual services, socket ${paths.socket}`);

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
  claim.release();
  if (failure) {
    log("error", failure.message);
    return 1;
  }
  log("info", "stopped");
  return 0;
}
