/**
 * The daemon client: one module the command line, `dsr top` and the lab
 * share, with its transports (the daemon's Unix socket, ssh to a balancer).
 * @module
 */

export { DaemonClient, labelOf, type Paths } from "./client.ts";
export { type Change, makeChange, readConfig, requireDaemon, servicePath } from "./changes.ts";
export { parseSshUrl, type SshTarget } from "./ssh_url.ts";
export { type Transport, UnreachableError } from "./transport.ts";
export { SSH_TIMEOUT_MS, whenInterrupted } from "./transport_ssh.ts";
