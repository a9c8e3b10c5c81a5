/**
 * A balancer's daemon reached through the system's OpenSSH client: `ssh -N
 * -L LOCAL:REMOTE` forwards a Unix socket in a private directory of this
 * machine to the daemon's socket there, so the balancer needs nothing but
 * sshd and the daemon. The directory and the ssh process go when the tunnel
 * is closed, and on SIGINT, SIGTERM or SIGHUP (see {@linkcode whenInterrupted}).
 * @module
 */

import { channelFailure, sshReason } from "./ssh_reason.ts";
import { sshForwardArgs, type SshTarget } from "./ssh_url.ts";
import { type Transport, UnreachableError } from "./transport.ts";

/** How long ssh may take to connect, authenticate and forward; SPEC §13's bound. */
export const SSH_TIMEOUT_MS = 15_000;

/** Tunnels open now, closed by a signal. */
const live = new Set<SshTunnel>();
let watching = false;
let onSignal!: (signal: Deno.Signal) => void;
// A pending promise keeps nothing alive: a command that ends without a signal just ends.
const interrupted = new Promise<Deno.Signal>((resolve) => onSignal = resolve);
const SIGNAL_STATUS: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/**
 * Resolves with the exit status of the signal (130 for SIGINT) once SIGINT,
 * SIGTERM or SIGHUP arrives after the first tunnel was opened; by then every
 * tunnel is closed. The command line's root races its command against it,
 * so Ctrl-C leaves no ssh process and no directory behind.
 */
export function whenInterrupted(): Promise<number> {
  return interrupted.then((signal) => SIGNAL_STATUS[signal]);
}

function watchSignals(): void {
  if (watching) return;
  watching = true;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    Deno.addSignalListener(signal, () => {
      for (const tunnel of live) tunnel.close();
      onSignal(signal);
    });
  }
}

/**
 * A private (0700) directory for the local end, under $TMPDIR. Synchronous on
 * purpose: a signal is handled only between awaits, so none can come between
 * making the directory and registering it for removal.
 */
function privateDir(): string {
  let dir = Deno.makeTempDirSync({ prefix: "dsr-ssh-" });
  // A Unix socket path holds at most 107 bytes; a long $TMPDIR falls back to /tmp.
  if (dir.length > 90) {
    Deno.removeSync(dir);
    dir = Deno.makeTempDirSync({ dir: "/tmp", prefix: "dsr-ssh-" });
  }
  Deno.chmodSync(dir, 0o700);
  return dir;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One `ssh -N -L` process and its private directory. */
class SshTunnel implements Transport {
  readonly label: string;
  readonly path: string;
  #stderr = "";
  #mark = 0;
  #drained: Promise<void>;
  #status: Deno.CommandStatus | null = null;
  #closed = false;

  constructor(
    readonly target: SshTarget,
    readonly dir: string,
    readonly child: Deno.ChildProcess,
  ) {
    this.label = target.url;
    this.path = `${dir}/dsr.sock`;
    child.status.then((s) => this.#status = s);
    this.#drained = (async () => {
      for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.#stderr += text;
      }
    })().catch(() => {});
  }

  /** Why ssh exited, once its stderr is read (bounded: a grandchild may hold the pipe). */
  async #exitReason(): Promise<string> {
    await Promise.race([this.#drained, sleep(500)]);
    return sshReason(this.#stderr) || `ssh exited with status ${this.#status?.code}`;
  }

  /**
   * Waits until ssh has authenticated and listens on the local socket.
   * @throws {UnreachableError} with ssh's reason when it exits, or when `ms` pass first
   */
  async ready(ms: number): Promise<void> {
    const deadline = performance.now() + ms;
    while (true) {
      if (this.#status) throw new UnreachableError(this.label, await this.#exitReason());
      const info = await Deno.lstat(this.path).catch(() => null);
      if (info?.isSocket) return;
      if (performance.now() >= deadline) {
        throw new UnreachableError(
          this.label,
          `ssh did not connect within ${Math.round(ms / 1000)} s (is ${this.target.host} up?)`,
        );
      }
      await Promise.race([this.child.status, sleep(20)]);
    }
  }

  async explain(error?: unknown): Promise<string> {
    // ssh reports a forwarded connection sshd could not open on stderr, just after closing it.
    const deadline = performance.now() + 300;
    let failure = null;
    while (!this.#status && performance.now() < deadline) {
      failure = channelFailure(this.#stderr.slice(this.#mark));
      if (failure) break;
      await sleep(10);
    }
    failure ??= channelFailure(this.#stderr.slice(this.#mark));
    this.#mark = this.#stderr.length;
    const { host, socket, user } = this.target;
    if (failure === "prohibited") {
      return `sshd on ${host} does not allow socket forwarding (AllowStreamLocalForwarding)`;
    }
    if (failure === "connect") {
      return `sshd on ${host} could not connect to ${socket} (is dsr running there? may ` +
        `${user ?? "the ssh user"} use its socket? does sshd allow forwarding: ` +
        "AllowTcpForwarding, AllowStreamLocalForwarding?)";
    }
    if (this.#status) return `the ssh connection ended: ${await this.#exitReason()}`;
    if (error instanceof Error) return (error.cause as Error)?.message ?? error.message;
    return "no answer";
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    live.delete(this);
    try {
      this.child.kill("SIGTERM");
    } catch { /* already gone */ }
    try {
      Deno.removeSync(this.dir, { recursive: true });
    } catch { /* already gone */ }
  }
}

/**
 * Starts `ssh -N -L` to `target` and waits until it forwards.
 * @param options.config an ssh_config file for `ssh -F` (default: ssh's own)
 * @param options.timeoutMs how long ssh may take; default {@linkcode SSH_TIMEOUT_MS}
 * @returns the tunnel; `close()` it when done
 * @throws {UnreachableError} with ssh's own reason (host key, authentication,
 *   an unreachable host, ssh missing), within `timeoutMs`
 */
export async function openSshTunnel(
  target: SshTarget,
  options: { config?: string | null; timeoutMs?: number } = {},
): Promise<Transport> {
  const timeoutMs = options.timeoutMs ?? SSH_TIMEOUT_MS;
  watchSignals();
  // From here to `live.add` nothing awaits: a signal finds the directory registered.
  const dir = privateDir();
  const args = sshForwardArgs(target, `${dir}/dsr.sock`, {
    config: options.config,
    connectTimeout: Math.max(1, Math.min(10, Math.floor(timeoutMs / 1000) - 2)),
  });
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("ssh", { args, stdin: "null", stdout: "null", stderr: "piped" })
      .spawn();
  } catch (error) {
    Deno.removeSync(dir, { recursive: true });
    const reason = error instanceof Deno.errors.NotFound
      ? "ssh is not installed (Debian: apt-get install openssh-client)"
      : `cannot run ssh: ${(error as Error).message}`;
    throw new UnreachableError(target.url, reason);
  }
  const tunnel = new SshTunnel(target, dir, child);
  live.add(tunnel);
  try {
    await tunnel.ready(timeoutMs);
  } catch (error) {
    tunnel.close();
    throw error;
  }
  return tunnel;
}
