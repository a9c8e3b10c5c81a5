import assert from "node:assert/strict";
import { join } from "node:path";
import { type Config, emptyConfig, normalize, parseConfig } from "./config.ts";
import { addRip, type ServiceRef } from "./config_ops.ts";
import { RuntimeError, UsageError } from "./errors.ts";
import { loadState, saveState, withStateLock } from "./state_file.ts";

const WEB: ServiceRef = { vip: "198.18.0.100", port: 80, proto: "tcp" };

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dsr_state_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) out.push(entry.name);
  return out.sort();
}

const sample = (): Config =>
  parseConfig({
    version: 1,
    timeouts: { tcp: 600, tcpfin: 60, udp: 30 },
    vips: [
      { vip: "198.18.0.101", port: 443, rips: [{ ip: "198.18.0.12", weight: 3 }] },
      { ...WEB, scheduler: "rr", persist: 60, rips: [{ ip: "198.18.0.11", drain: true }] },
    ],
  });

Deno.test("loadState of a missing file is the empty configuration", async () => {
  await inTempDir(async (dir) => {
    assert.deepEqual(await loadState(join(dir, "state.json")), emptyConfig());
    assert.deepEqual(await loadState(join(dir, "no", "such", "dir", "state.json")), emptyConfig());
    assert.deepEqual(await names(dir), [], "loading creates nothing");
  });
});

Deno.test("saveState then loadState gives back the configuration, VIPs sorted", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "state.json");
    await saveState(path, sample());
    const loaded = await loadState(path);
    assert.deepEqual(loaded, normalize(sample()));
    assert.deepEqual(loaded.vips.map((v) => v.vip), ["198.18.0.100", "198.18.0.101"]);
  });
});

Deno.test("saveState writes readable JSON only the owner can read", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "state.json");
    await saveState(path, sample());
    const text = await Deno.readTextFile(path);
    assert.ok(text.endsWith("}\n"));
    assert.deepEqual(parseConfig(JSON.parse(text)), normalize(sample()));
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  });
});

Deno.test("saveState creates missing directories and replaces an older file", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "var", "lib", "dsr", "state.json");
    await saveState(path, sample());
    await saveState(path, emptyConfig());
    assert.deepEqual(await loadState(path), emptyConfig());
  });
});

Deno.test("saveState leaves no temporary files behind", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "state.json");
    for (let i = 0; i < 5; i++) await saveState(path, i % 2 ? sample() : emptyConfig());
    assert.deepEqual(await names(dir), ["state.json"]);
  });
});

Deno.test("a failed saveState is a RuntimeError and leaves no temporary file", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "state.json");
    await Deno.mkdir(join(path, "occupied"), { recursive: true }); // rename onto it fails
    await assert.rejects(() => saveState(path, sample()), (error: unknown) => {
      assert.ok(error instanceof RuntimeError, `expected RuntimeError, got ${error}`);
      assert.ok(error.message.startsWith(`cannot write state file ${path}: `), error.message);
      return true;
    });
    assert.deepEqual(await names(dir), ["state.json"]);
    assert.deepEqual(await names(path), ["occupied"]);
  });
});

Deno.test("loadState of a file that is not JSON is a UsageError naming the path", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "state.json");
    await Deno.writeTextFile(path, '{"version": 1, "vips": [');
    await assert.rejects(() => loadState(path), (error: unknown) => {
      assert.ok(error instanceof UsageError, `expected UsageError, got ${error}`);
      assert.equal(error.exitCode, 2);
      assert.ok(error.message.startsWith(`state file ${path} is invalid: `), error.message);
      return true;
    });
  });
});

Deno.test("loadState of an invalid document is a UsageError naming the path and field", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "state.json");
    await Deno.writeTextFile(path, JSON.stringify({ version: 1, vips: [{ vip: "x", port: 80 }] }));
    await assert.rejects(() => loadState(path), (error: unknown) => {
      assert.ok(error instanceof UsageError);
      assert.ok(error.message.startsWith(`state file ${path} is invalid: vips[0].vip: `));
      return true;
    });
  });
});

Deno.test("withStateLock returns what its function returns and releases the lock on error", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "sub", "state.json");
    assert.equal(await withStateLock(path, () => Promise.resolve(42)), 42);
    await assert.rejects(
      () => withStateLock(path, () => Promise.reject(new RangeError("boom"))),
      RangeError,
    );
    // A lock left held would hang here.
    assert.equal(await withStateLock(path, () => Promise.resolve("again")), "again");
  });
});

Deno.test("withStateLock serializes 30 concurrent read-modify-write changes: none is lost", async () => {
  await inTempDir(async (dir) => {
    const path = join(dir, "state.json");
    await saveState(path, parseConfig({ version: 1, vips: [WEB] }));
    let inside = 0;
    let most = 0;
    await Promise.all(Array.from({ length: 30 }, (_, i) =>
      withStateLock(path, async () => {
        most = Math.max(most, ++inside);
        const config = await loadState(path);
        await new Promise((resolve) => setTimeout(resolve, 1)); // widen the race window
        await saveState(path, addRip(config, WEB, { ip: `198.18.1.${i + 1}` }));
        inside--;
      })));
    const rips = (await loadState(path)).vips[0].rips.map((r) => r.ip);
    assert.equal(rips.length, 30);
    assert.equal(new Set(rips).size, 30);
    assert.equal(most, 1, "never two holders at once");
  });
});
