/**
 * A TLS client connection for the `https` check, on `node:tls` because
 * `Deno.startTls` always verifies the certificate chain: `--check-insecure`
 * must also accept a self-signed certificate, as `curl -k` and keepalived's
 * SSL_GET do. Verification otherwise is the same (Deno's root store, plus
 * `DENO_CERT`), and the name checked is the SNI name.
 * @module
 */

import tls from "node:tls";

/** The part of `Deno.Conn` the HTTP check speaks through. */
export type ByteConn = Pick<Deno.Conn, "read" | "write" | "close">;

/** Where to connect and how to verify. */
export interface TlsTarget {
  ip: string;
  port: number;
  /** SNI name and the name the certificate must carry; default the IP (no SNI). */
  servername?: string;
  /** Accept any certificate. */
  insecure?: boolean;
  /** More trusted roots, PEM. */
  caCerts?: string[];
}

/**
 * Connects and completes the handshake.
 * @param signal destroys the connection when it aborts (a handshake that never ends)
 * @throws {Error} naming the TLS failure (an untrusted or misnamed certificate, …)
 */
export function connectTls(target: TlsTarget, signal: AbortSignal): Promise<ByteConn> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: target.ip,
      port: target.port,
      servername: target.servername,
      rejectUnauthorized: !target.insecure,
      ca: target.caCerts,
    });
    const abort = () => {
      socket.destroy();
      reject(signal.reason);
    };
    signal.addEventListener("abort", abort, { once: true });
    socket.once("error", (error) => {
      signal.removeEventListener("abort", abort);
      socket.destroy();
      reject(error);
    });
    socket.once("secureConnect", () => {
      signal.removeEventListener("abort", abort);
      resolve(adapt(socket));
    });
  });
}

function adapt(socket: tls.TLSSocket): ByteConn {
  const chunks: Uint8Array[] = [];
  let ended = false;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  socket.on("data", (chunk: Uint8Array) => {
    chunks.push(chunk);
    notify();
  });
  socket.on("end", () => {
    ended = true;
    notify();
  });
  socket.on("error", (error: Error) => {
    failure = error;
    notify();
  });
  socket.on("close", () => {
    ended = true;
    notify();
  });
  return {
    async read(buf: Uint8Array): Promise<number | null> {
      while (chunks.length === 0 && !ended && !failure) {
        await new Promise<void>((r) => wake = r);
      }
      if (chunks.length === 0) {
        if (failure) throw failure;
        return null;
      }
      const head = chunks[0];
      const n = Math.min(buf.length, head.length);
      buf.set(head.subarray(0, n));
      if (n === head.length) chunks.shift();
      else chunks[0] = head.subarray(n);
      return n;
    },
    write(bytes: Uint8Array): Promise<number> {
      return new Promise((resolve, reject) =>
        socket.write(bytes, (error) => error ? reject(error) : resolve(bytes.length))
      );
    },
    close() {
      // close_notify and FIN; a peer that never closes its side is cut after a second.
      socket.end();
      Deno.unrefTimer(setTimeout(() => socket.destroy(), 1000));
    },
  };
}
