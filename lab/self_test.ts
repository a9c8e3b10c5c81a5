import assert from "node:assert/strict";
import { requireRoot, uniquePrefix, waitFor } from "../test/_netns.ts";
import { spawnDetached } from "./self.ts";

Deno.test("spawnDetached takes a log path with quotes and $(…) as a path, never as shell text", async () => {
  requireRoot();
  const ns = uniquePrefix();
  const dir = await Deno.makeTempDir();
  const name = `${ns}-pwned`;
  const marker = `${Deno.cwd()}/${name}`;
  // Before the fix this path ended the quoted string and ran `touch` (in the cwd).
  const log = `${dir}/it's $(touch ${name}) log`;
  const add = await new Deno.Command("ip", { args: ["netns", "add", ns] }).output();
  assert.ok(add.success);
  try {
    spawnDetached(ns, ["printf", "%s", "hello; $(id)"], log);
    const text = await waitFor("the log", async () => {
      const t = await Deno.readTextFile(log).catch(() => "");
      return t === "" ? null : t;
    });
    assert.equal(text, "hello; $(id)");
    assert.equal(await Deno.stat(marker).then(() => true, () => false), false);
  } finally {
    await new Deno.Command("ip", { args: ["netns", "del", ns] }).output();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(marker).catch(() => {});
  }
});
