/**
 * The real servers' tiny HTTP server. Its answer names the server and the
 * client address it saw, which is how the lab shows that DR is transparent
 * (the real server sees the client, not the balancer).
 * @module
 */

/** Options of {@linkcode serveLabHttp}. */
export interface LabHttpOptions {
  /** Name the server answers with (`rs1`). */
  name: string;
  /** TCP port; default 80. */
  port?: number;
  /**
   * Address to bind; default `"::"`, every address of both families (the VIPs
   * on `lo` must be reachable too); an IPv4 client still shows as IPv4.
   */
  hostname?: string;
  /** Stops the server, and ends any long-lived `/stream` response. */
  signal?: AbortSignal;
  /** Called once the socket listens, with the bound address (useful with port 0). */
  onListen?: (addr: Deno.NetAddr) => void;
}

const STREAM_INTERVAL_MS = 100;

/**
 * Serves until the signal aborts: any GET answers 200 `${name} ${clientAddress}\n`;
 * `GET /slow?ms=N` waits N ms first; `GET /stream?n=K` sends K such lines, one per 100 ms.
 * @returns a promise that settles when the server has stopped
 * @throws {Deno.errors.AddrInUse} (through the promise) when the port is taken
 */
export function serveLabHttp(options: LabHttpOptions): Promise<void> {
  const { name, port = 80, hostname = "::", signal, onListen } = options;
  const server = Deno.serve(
    { hostname, port, signal, onListen: (addr) => onListen?.(addr as Deno.NetAddr) },
    async (request, info) => {
      if (request.method !== "GET" && request.method !== "HEAD") {
        return new Response("method not allowed\n", { status: 405, headers: { allow: "GET" } });
      }
      // A dual-stack socket sees an IPv4 client as ::ffff:a.b.c.d.
      const client = info.remoteAddr.hostname.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1");
      const line = `${name} ${client}\n`;
      const url = new URL(request.url);
      if (url.pathname === "/slow") {
        await delay(count(url, "ms"), signal);
      } else if (url.pathname === "/stream") {
        return new Response(lines(line, count(url, "n"), signal), { headers: TEXT });
      }
      return new Response(line, { headers: TEXT });
    },
  );
  return server.finished;
}

const TEXT = { "content-type": "text/plain; charset=utf-8" };

function count(url: URL, key: string): number {
  const value = Number(url.searchParams.get(key) ?? 0);
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** `n` copies of `line`, the first at once, then one every 100 ms. */
function lines(line: string, n: number, signal?: AbortSignal): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(line);
  let timer: ReturnType<typeof setInterval> | undefined;
  let sent = 0;
  // Graceful shutdown waits for open responses; ending the stream on abort
  // keeps a long stream from holding the server up.
  let stop = () => {};
  return new ReadableStream({
    start(controller) {
      stop = () => {
        clearInterval(timer);
        signal?.removeEventListener("abort", stop);
        try {
          controller.close();
        } catch {
          // closed already
        }
      };
      if (n === 0 || signal?.aborted) return stop();
      signal?.addEventListener("abort", stop, { once: true });
      const push = () => {
        controller.enqueue(bytes);
        if (++sent >= n) stop();
      };
      push();
      if (sent < n) timer = setInterval(push, STREAM_INTERVAL_MS);
    },
    cancel() {
      clearInterval(timer);
      signal?.removeEventListener("abort", stop);
    },
  });
}
