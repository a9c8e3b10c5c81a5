import assert from "node:assert/strict";
import { status } from "./_fixtures.ts";
import { DaemonSource } from "./daemon_source.ts";

/** A stand-in daemon on a Unix socket: answers status documents, records PATCHes. */
function fakeDaemon(path: string, uptime: number) {
  const patches: { path: string; body: unknown }[] = [];
  const server = Deno.serve({ path, onListen() {} }, async (request) => {
    const { pathname } = new URL(request.url);
    if (request.method === "GET" && pathname === "/v1/status") {
      return Response.json(status(uptime, []));
    }
    if (request.method === "PATCH" && pathname.includes("/rips/198.18.0.99")) {
      return Response.json({ error: "real server 198.18.0.99 does not exist" }, { status: 404 });
    }
    patches.push({ path: pathname, body: await request.json() });
    return Response.json({});
  });
  return { patches, stop: () => server.shutdown() };
}

Deno.test("the daemon source says why the daemon is unreachable and reconnects by itself", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsr-top-" });
  const path = `${dir}/dsr.sock`;
  const source = new DaemonSource(path);
  try {
    await assert.rejects(source.status(), /no such socket/);
    let daemon = fakeDaemon(path, 5);
    assert.equal((await source.status()).uptimeSeconds, 5);
    await daemon.stop();
    await assert.rejects(
      source.status(),
      (e: Error) => /^(no such socket|connection refused)/.test(e.message),
    );
    daemon = fakeDaemon(path, 1);
    assert.equal((await source.status()).uptimeSeconds, 1, "a restarted daemon is picked up");
    await daemon.stop();
  } finally {
    source.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the daemon source sends PATCH /v1/vips/{vip}:{port}/{proto}/rips/{ip}", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsr-top-" });
  const path = `${dir}/dsr.sock`;
  const daemon = fakeDaemon(path, 5);
  const source = new DaemonSource(path);
  try {
    const ref = { vip: "198.18.0.100", port: 80, proto: "tcp", ip: "198.18.0.11" };
    await source.patchRip(ref, { drain: true });
    await source.patchRip({ ...ref, proto: "udp", port: 53 }, { weight: 0 });
    assert.deepEqual(daemon.patches, [
      { path: "/v1/vips/198.18.0.100:80/tcp/rips/198.18.0.11", body: { drain: true } },
      { path: "/v1/vips/198.18.0.100:53/udp/rips/198.18.0.11", body: { weight: 0 } },
    ]);
    await assert.rejects(
      source.patchRip({ ...ref, ip: "198.18.0.99" }, { drain: true }),
      /198\.18\.0\.99 does not exist/,
    );
    assert.equal((await source.status()).uptimeSeconds, 5, "a refused change keeps the connection");
  } finally {
    source.close();
    await daemon.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a socket file nobody accepts on reads as connection refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsr-top-" });
  const path = `${dir}/dsr.sock`;
  const source = new DaemonSource(path);
  try {
    // What a daemon killed with SIGKILL leaves behind: a path no one listens on.
    await Deno.writeTextFile(path, "");
    await assert.rejects(
      source.status(),
      (e: Error) => e.message === "connection refused (no daemon accepts on the socket)",
    );
  } finally {
    source.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a daemon that accepts but does not answer counts as unreachable after the timeout", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsr-top-" });
  const path = `${dir}/dsr.sock`;
  const answer = Promise.withResolvers<void>();
  let asked = 0;
  const server = Deno.serve({ path, onListen() {} }, async () => {
    if (asked++ > 0) await answer.promise;
    return Response.json(status(1, []));
  });
  const source = new DaemonSource(path, { timeoutMs: 200 });
  try {
    await assert.rejects(source.status(), (e: Error) => e.message === "no answer within 0.2 s");
  } finally {
    answer.resolve();
    source.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
