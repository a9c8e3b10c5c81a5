import assert from "node:assert/strict";
import { serveLabHttp } from "./http_server.ts";

/** Starts the server on a free loopback port and runs `fn` against it. */
async function withServer(fn: (base: string) => Promise<void>): Promise<void> {
  const stop = new AbortController();
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const finished = serveLabHttp({
    name: "rs7",
    hostname: "127.0.0.1",
    port: 0,
    signal: stop.signal,
    onListen: resolve,
  });
  const addr = await listening;
  try {
    await fn(`http://127.0.0.1:${addr.port}`);
  } finally {
    stop.abort();
    await finished;
  }
}

Deno.test("lab http server answers with its name and the client address it saw", async () => {
  await withServer(async (base) => {
    const response = await fetch(`${base}/anything`);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), "rs7 127.0.0.1\n");
  });
});

Deno.test("lab http server waits before answering /slow", async () => {
  await withServer(async (base) => {
    const started = performance.now();
    const response = await fetch(`${base}/slow?ms=250`);
    assert.equal(await response.text(), "rs7 127.0.0.1\n");
    assert.ok(performance.now() - started >= 240, "answered before the delay");
  });
});

Deno.test("lab http server streams one line per 100 ms on /stream", async () => {
  await withServer(async (base) => {
    const started = performance.now();
    const response = await fetch(`${base}/stream?n=4`);
    assert.equal(await response.text(), "rs7 127.0.0.1\n".repeat(4));
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 290 && elapsed < 2000, `4 lines took ${elapsed} ms`);
  });
});

Deno.test("lab http server ends a long stream when it is stopped", async () => {
  const stop = new AbortController();
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const finished = serveLabHttp({
    name: "rs7",
    hostname: "127.0.0.1",
    port: 0,
    signal: stop.signal,
    onListen: resolve,
  });
  const { port } = await listening;
  const response = await fetch(`http://127.0.0.1:${port}/stream?n=1000`);
  const reader = response.body!.getReader();
  await reader.read();
  const started = performance.now();
  stop.abort();
  // Either a clean end or a cut connection will do; hanging will not.
  await (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  await finished;
  assert.ok(performance.now() - started < 1000, "shutdown waited for the stream");
});

Deno.test("lab http server refuses methods other than GET", async () => {
  await withServer(async (base) => {
    const response = await fetch(base, { method: "POST", body: "x" });
    assert.equal(response.status, 405);
    await response.body?.cancel();
  });
});
