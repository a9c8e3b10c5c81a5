import assert from "node:assert/strict";
import { serveApi } from "./api.ts";
import type { Daemon } from "./daemon.ts";

/** Polls `path` in a tight loop on another thread; reports every mode it saw. */
const WATCHER = `
self.onmessage = (e) => {
  const { path, flag } = e.data;
  const stop = new Int32Array(flag);
  const seen = new Set();
  let polls = 0;
  while (Atomics.load(stop, 0) === 0) {
    polls++;
    try { seen.add(Deno.statSync(path).mode & 0o777); } catch { /* not there */ }
  }
  self.postMessage({ seen: [...seen], polls });
};`;

Deno.test("the control socket is never reachable with a mode wider than 0600, not even while it starts", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/dsr.sock`;
  const flag = new SharedArrayBuffer(4);
  const url = URL.createObjectURL(new Blob([WATCHER], { type: "application/javascript" }));
  const watcher = new Worker(url, { type: "module" });
  const report = new Promise<{ seen: number[]; polls: number }>((resolve) =>
    watcher.onmessage = (e) => resolve(e.data)
  );
  watcher.postMessage({ path, flag });
  // A umask of 0 makes Deno create the socket 0777: any window before the chmod shows.
  const umask = Deno.umask(0);
  try {
    for (let i = 0; i < 40; i++) {
      const abort = new AbortController();
      const server = await serveApi({} as Daemon, path, abort.signal);
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
      abort.abort();
      await server.finished;
      await Deno.remove(path).catch(() => {}); // Deno removes it itself when it made it there
    }
  } finally {
    Deno.umask(umask);
    Atomics.store(new Int32Array(flag), 0, 1);
  }
  const { seen, polls } = await report;
  watcher.terminate();
  URL.revokeObjectURL(url);
  assert.ok(polls > 1000, `the watcher polled (${polls})`);
  assert.deepEqual(seen, [0o600], `modes seen: ${seen.map((m) => m.toString(8))}`);
  const left = [];
  for await (const e of Deno.readDir(dir)) left.push(e.name);
  assert.deepEqual(left, [], "no private directory is left behind");
  await Deno.remove(dir, { recursive: true });
});
