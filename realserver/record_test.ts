import assert from "node:assert/strict";
import { RuntimeError } from "../control/errors.ts";
import { deleteRecord, readRecord, recordPath, writeRecord } from "./record.ts";

const RECORD = {
  version: 1 as const,
  vips: ["198.18.0.100"],
  sysctls: { "net.ipv4.conf.all.arp_ignore": 0 },
};

Deno.test("the record lives beside the state file", () => {
  assert.equal(recordPath("/var/lib/dsr/state.json"), "/var/lib/dsr/realserver.json");
});

Deno.test("a written record reads back, leaves no temporary file, and deletes once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsr-record-" });
  try {
    const path = `${dir}/sub/realserver.json`;
    assert.equal(await readRecord(path), null);
    await writeRecord(path, RECORD);
    assert.deepEqual(await readRecord(path), RECORD);
    assert.deepEqual(
      Array.from(Deno.readDirSync(`${dir}/sub`), (e) => e.name),
      ["realserver.json"],
    );
    await deleteRecord(path);
    await deleteRecord(path);
    assert.equal(await readRecord(path), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a file that is not a record is refused, naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsr-record-" });
  try {
    const path = `${dir}/realserver.json`;
    for (const text of ["{", JSON.stringify({ ...RECORD, vips: ["1.2.3"] })]) {
      await Deno.writeTextFile(path, text);
      await assert.rejects(() => readRecord(path), (error: unknown) => {
        assert.ok(error instanceof RuntimeError);
        assert.match(error.message, /realserver\.json is not a dsr real server record/);
        return true;
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
