/**
 * Dependencies point one way (STYLE.md): the command line sits on top; the
 * dashboard, the lab and the daemon client never import it, and the client
 * imports neither the dashboard nor the lab. Scans every import and export
 * specifier, static and dynamic.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g;

/** Relative imports of the TypeScript files under `dir`, as paths from the repository root. */
async function importsUnder(dir: string): Promise<{ file: string; target: string }[]> {
  const found: { file: string; target: string }[] = [];
  const walk = async (rel: string) => {
    for await (const entry of Deno.readDir(`${ROOT}${rel}`)) {
      const path = `${rel}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (/\.tsx?$/.test(entry.name)) {
        const text = await Deno.readTextFile(`${ROOT}${path}`);
        for (const [, spec] of text.matchAll(SPECIFIER)) {
          if (!spec.startsWith(".")) continue;
          const target = new URL(spec, `file:///${path}`).pathname.slice(1);
          found.push({ file: path, target });
        }
      }
    }
  };
  await walk(dir);
  return found;
}

const RULES: [string, string[]][] = [
  ["tui", ["cli/"]],
  ["lab", ["cli/"]],
  ["client", ["cli/", "tui/", "lab/"]],
  ["control", ["cli/", "tui/", "client/"]],
  ["dataplane", ["cli/", "tui/", "client/", "lab/"]],
];

Deno.test("nothing under tui/, lab/, client/, control/ or dataplane/ imports the command line", async () => {
  for (const [dir, forbidden] of RULES) {
    const imports = await importsUnder(dir);
    assert.ok(imports.length > 0, `no imports found under ${dir}/: is the scan broken?`);
    const wrong = imports.filter((i) => forbidden.some((f) => i.target.startsWith(f)));
    assert.deepEqual(
      wrong.map((i) => `${i.file} imports ${i.target}`),
      [],
      `${dir}/ must not import ${forbidden.join(", ")}`,
    );
  }
});

Deno.test("the import scan sees static, type-only and dynamic imports", async () => {
  const dir = await Deno.makeTempDir({ dir: ROOT, prefix: "layering-" });
  const rel = dir.slice(ROOT.length);
  try {
    await Deno.writeTextFile(
      `${dir}/a.ts`,
      [
        `import { x } from "../cli/main.ts";`,
        `import type { Y } from '../cli/client.ts';`,
        `const m = await import("../cli/commands/top.ts");`,
        `export * from "./b.ts";`,
      ].join("\n"),
    );
    const targets = (await importsUnder(rel)).map((i) => i.target);
    assert.deepEqual(targets, [
      "cli/main.ts",
      "cli/client.ts",
      "cli/commands/top.ts",
      `${rel}/b.ts`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
