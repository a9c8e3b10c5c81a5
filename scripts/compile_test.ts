import assert from "node:assert/strict";
import { testFolders } from "./compile.ts";

Deno.test("testFolders finds the test folder of every installed version of a package, and only those", async () => {
  const root = await Deno.makeTempDir({ prefix: "dsr-compile-script-" });
  try {
    for (
      const dir of [
        ".deno/bintrees@1.0.2/node_modules/bintrees/test",
        ".deno/bintrees@1.1.0/node_modules/bintrees/test",
        ".deno/bintrees@0.9.0/node_modules/bintrees/lib",
        ".deno/bintreesx@1.0.0/node_modules/bintreesx/test",
        ".deno/tdigest@0.1.2/node_modules/tdigest/test",
      ]
    ) await Deno.mkdir(`${root}/${dir}`, { recursive: true });
    assert.deepEqual(testFolders(root, "bintrees").sort(), [
      "node_modules/.deno/bintrees@1.0.2/node_modules/bintrees/test",
      "node_modules/.deno/bintrees@1.1.0/node_modules/bintrees/test",
    ]);
    assert.deepEqual(testFolders(root, "prom-client"), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
