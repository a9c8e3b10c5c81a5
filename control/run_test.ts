import assert from "node:assert/strict";
import { RuntimeError } from "./errors.ts";
import { run, runChecked } from "./run.ts";

Deno.test("run passes arguments as they are: no shell reads quotes or semicolons", async () => {
  const odd = "a'b; echo pwned $(id) `id`";
  const r = await run(["printf", "%s", odd]);
  assert.equal(r.ok, true);
  assert.equal(r.stdout, odd);
});

Deno.test("run kills a program at its deadline and says so", async () => {
  const started = performance.now();
  const r = await run(["sleep", "5"], { timeoutMs: 200 });
  assert.ok(performance.now() - started < 2_000, "it did not wait for the program");
  assert.equal(r.ok, false);
  assert.equal(r.timedOut, true);
  assert.match(r.stderr, /timed out after 0.2 s/);
});

Deno.test("run reports a non-zero exit as a result; runChecked throws naming the command", async () => {
  const r = await run(["sh", "-c", "echo oops >&2; exit 3"]);
  assert.deepEqual([r.ok, r.code, r.stderr.trim()], [false, 3, "oops"]);
  await assert.rejects(
    runChecked(["sh", "-c", "echo oops >&2; exit 3"]),
    (e) => e instanceof RuntimeError && /^sh -c .* failed: oops$/.test(e.message),
  );
});

Deno.test("a program that is not installed is a RuntimeError naming it and its package", async () => {
  await assert.rejects(
    run(["ethtool-not-here"]),
    (e) => e instanceof RuntimeError && /cannot run ethtool-not-here/.test(e.message),
  );
});
