/**
 * A short run of the soak harness (`deno task soak` runs 10 minutes), so it
 * does not rot: 30 s of mixed traffic, churn and flaps must leak no file
 * descriptor and end with the flows drained. RSS gets a wider band than the
 * full run's 10%: after 10 s of warm-up the heap still finds its size.
 */

import assert from "node:assert/strict";
import { requireRoot } from "./_netns.ts";

Deno.test("soak smoke: 30 s of traffic, config churn and health flaps leak no fd and drain every flow", async () => {
  requireRoot();
  const soak = new URL("../bench/soak.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", soak, "--duration", "30", "--warmup", "10", "--rss-tolerance", "0.25"],
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const summary = JSON.parse(text.trim().split("\n").pop()!);
  assert.deepEqual(summary.pass, { rss: true, fds: true, flows: true }, text);
  assert.ok(summary.flows.peak > 1000, `traffic made flows: ${summary.flows.peak}`);
  assert.ok(summary.http.ok > 300, `HTTP answered: ${JSON.stringify(summary.http)}`);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
});
