/**
 * `deno task compile` must build the binary to the end: a dependency whose
 * files deno compile cannot embed (bintrees' test folder overflowed its stack)
 * or a broken module graph fails here. denort cannot be downloaded on CI, so
 * the deno binary itself stands in for it through DENORT_BIN; the result is
 * not runnable as dsr, but every step of the build runs.
 */

import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("deno task compile builds a binary with the runtime and the whole dsr graph", async () => {
  const out = await Deno.makeTempDir({ prefix: "dsr-compile-" });
  try {
    const runtime = Deno.realPathSync(Deno.execPath());
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "compile", "--output", `${out}/dsr`],
      cwd: ROOT,
      env: { DENORT_BIN: runtime },
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
    assert.equal(run.code, 0, `deno task compile exited ${run.code}:\n${text}`);
    const binary = await Deno.stat(`${out}/dsr`);
    const runtimeSize = (await Deno.stat(runtime)).size;
    // The runtime plus the modules and npm packages: megabytes more than the runtime alone.
    assert.ok(
      binary.size > runtimeSize + 1_000_000,
      `${binary.size} bytes, the runtime alone is ${runtimeSize}`,
    );
    assert.ok((binary.mode ?? 0) & 0o100, "executable");
    const file = await Deno.readFile(`${out}/dsr`);
    const payload = new TextDecoder("latin1").decode(file.subarray(runtimeSize));
    for (const module of ["main.ts", "dataplane/worker.ts", "control/daemon.ts", "prom-client"]) {
      assert.ok(payload.includes(module), `${module} is not embedded`);
    }
    assert.ok(!payload.includes("bintrees/test/"), "bintrees' test folder is embedded");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
