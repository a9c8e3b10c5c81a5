import assert from "node:assert/strict";
import { RuntimeError } from "../control/errors.ts";
import { deleteRecord, readRecord, recordPath, type SetupRecord, writeRecord } from "./record.ts";

const RECORD: SetupRecord = {
  version: 1,
  vips: ["198.18.0.100", "198.18.0.101"],
  sysctls: { "net.ipv4.conf.all.arp_ignore": 0, "net.ipv4.conf.lo.arp_announce": 2 },
};

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dsr-record-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Asserts that `promise` rejects with a RuntimeError whose message is exactly `message` or matches it. */
async function assertRuntime(promise: Promise<unknown>, message: string | RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof RuntimeError, `expected a RuntimeError, got ${error}`);
    assert.equal(error.exitCode, 1);
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

const names = (dir: string) => Array.from(Deno.readDirSync(dir), (e) => e.name).sort();

Deno.test("the record lives beside the state file", () => {
  assert.equal(recordPath("/var/lib/dsr/state.json"), "/var/lib/dsr/realserver.json");
  assert.equal(recordPath("/tmp/x/y/my-state.json"), "/tmp/x/y/realserver.json");
  assert.equal(recordPath("state.json"), "./realserver.json");
});

Deno.test("writeRecord writes the record as indented JSON, mode 0600, creating the directory; readRecord reads it back", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/sub/deeper/realserver.json`;
    assert.equal(await readRecord(path), null, "no record yet");
    await writeRecord(path, RECORD);
    assert.equal(await Deno.readTextFile(path), JSON.stringify(RECORD, null, 2) + "\n");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.deepEqual(names(`${dir}/sub/deeper`), ["realserver.json"], "no temporary file left");
    assert.deepEqual(await readRecord(path), RECORD);

    const empty: SetupRecord = { version: 1, vips: [], sysctls: {} };
    await writeRecord(path, empty);
    assert.deepEqual(await readRecord(path), empty, "a second write replaces the first");
  });
});

Deno.test("writeRecord replaces the file by rename, never rewriting it in place", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/realserver.json`;
    await writeRecord(path, RECORD);
    // A hard link keeps the old file: written in place, it would change too.
    await Deno.link(path, `${dir}/old`);
    const before = (await Deno.stat(path)).ino;
    await writeRecord(path, { ...RECORD, vips: ["198.18.0.102"] });
    assert.notEqual((await Deno.stat(path)).ino, before, "the record is a new file");
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/old`)), RECORD);
    assert.deepEqual((await readRecord(path))!.vips, ["198.18.0.102"]);
  });
});

Deno.test("a failed write keeps the old record, leaves no temporary file and names the path", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/realserver.json`;
    await writeRecord(path, RECORD);
    const old = await Deno.readTextFile(path);
    // The temporary file cannot be created: a directory (not empty) holds its name.
    const tmp = `${path}.tmp-${Deno.pid}`;
    await Deno.mkdir(`${tmp}/blocker`, { recursive: true });
    await assertRuntime(
      writeRecord(path, { ...RECORD, vips: [] }),
      new RegExp(`^cannot write ${path}: .+`),
    );
    assert.equal(await Deno.readTextFile(path), old, "the old record is untouched");
    await Deno.remove(tmp, { recursive: true });

    // The rename fails (the record's name is a directory): the temporary file goes.
    const taken = `${dir}/taken/realserver.json`;
    await Deno.mkdir(`${taken}/blocker`, { recursive: true });
    await assertRuntime(writeRecord(taken, RECORD), new RegExp(`^cannot write ${taken}: .+`));
    assert.deepEqual(names(`${dir}/taken`), ["realserver.json"], "no temporary file left");
    assert.deepEqual(names(taken), ["blocker"]);
  });
});

Deno.test("readRecord refuses every file that is not a whole record, naming it and the reason", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/realserver.json`;
    const refused = (why: string | RegExp) =>
      typeof why === "string"
        ? `${path} is not a dsr real server record (${why}); move it away`
        : new RegExp(`^${path} is not a dsr real server record \\(${why.source}\\); move it away$`);
    const cases: [string, string | RegExp][] = [
      ["{", /.*JSON.*/],
      ["", /.*JSON.*/],
      [JSON.stringify({ ...RECORD, vips: ["1.2.3"] }), "not an IPv4 address"],
      [JSON.stringify({ ...RECORD, vips: ["198.18.0.1", "::1"] }), "not a unicast host address"],
      [JSON.stringify({ ...RECORD, vips: ["2001:2::g"] }), "not an IPv6 address"],
      [JSON.stringify({ ...RECORD, version: 2 }), /.*expected 1/],
      [JSON.stringify({ vips: RECORD.vips, sysctls: RECORD.sysctls }), /.*expected 1/],
      [JSON.stringify({ ...RECORD, sysctls: undefined }), /.*expected record.*/],
      [JSON.stringify({ ...RECORD, sysctls: { "net.x": "0" } }), /.*expected number.*/],
      [JSON.stringify({ ...RECORD, sysctls: { "net.x": 0.5 } }), /.*expected int.*/],
      [JSON.stringify({ ...RECORD, extra: true }), /.*"extra".*/],
      ["null", /.*expected object.*/],
      ["[]", /.*expected object.*/],
    ];
    for (const [text, why] of cases) {
      await Deno.writeTextFile(path, text);
      await assertRuntime(readRecord(path), refused(why));
    }
  });
});

Deno.test("readRecord and deleteRecord report what they cannot do; deleting twice is fine", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/realserver.json`;
    await Deno.mkdir(`${path}/blocker`, { recursive: true });
    await assertRuntime(readRecord(path), new RegExp(`^cannot read ${path}: .+`));
    await assertRuntime(deleteRecord(path), new RegExp(`^cannot delete ${path}: .+`));
    await Deno.remove(path, { recursive: true });

    await writeRecord(path, RECORD);
    await deleteRecord(path);
    assert.deepEqual(names(dir), []);
    await deleteRecord(path);
    assert.equal(await readRecord(path), null);
  });
});
