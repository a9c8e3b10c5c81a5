import assert from "node:assert/strict";
import { httpStatus, parseStatusLine } from "./http_probe.ts";
import { realProber } from "./probers.ts";

const PROXY_VARS = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"];

Deno.test("the http check goes straight to the real server even with proxy variables set", async () => {
  const proxied: string[] = [];
  const proxy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  (async () => {
    for await (const conn of proxy) {
      proxied.push("connection");
      conn.close();
    }
  })();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(null, { status: 204 }),
  );
  const saved = PROXY_VARS.map((k) => [k, Deno.env.get(k)] as const);
  for (const k of PROXY_VARS) Deno.env.set(k, `http://127.0.0.1:${proxy.addr.port}`);
  try {
    const prober = realProber(() => Promise.resolve("timeout"));
    const target = {
      type: "http" as const,
      ip: "127.0.0.1",
      port: server.addr.port,
      path: "/health",
      expect: 204,
      vip: "198.18.0.100",
      vipPort: 80,
      neighbor: -1,
    };
    assert.equal(await prober(target, 1000), null);
    assert.match(
      (await prober({ ...target, expect: 200 }, 1000)) ?? "",
      /answered 204, expected 200/,
    );
    assert.deepEqual(proxied, [], "nothing went to the proxy");
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    proxy.close();
    await server.shutdown();
  }
});

Deno.test("httpStatus gives up at its deadline on a server that never answers", async () => {
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    for await (const conn of silent) held.push(conn);
  })();
  try {
    const started = performance.now();
    await assert.rejects(
      httpStatus({ ip: "127.0.0.1", port: silent.addr.port, path: "/" }, 200),
      /timed out after 200 ms/,
    );
    assert.ok(performance.now() - started < 1000);
  } finally {
    silent.close();
    for (const c of held) c.close();
  }
});

Deno.test("parseStatusLine reads HTTP/1.x status lines and refuses anything else", () => {
  assert.equal(parseStatusLine("HTTP/1.1 200 OK"), 200);
  assert.equal(parseStatusLine("HTTP/1.0 503"), 503);
  for (const bad of ["SSH-2.0-OpenSSH_9.2", "HTTP/2 200", "HTTP/1.1 20 OK", ""]) {
    assert.throws(() => parseStatusLine(bad), /not HTTP/);
  }
});
