/**
 * `deno task compile [--output path]`: builds the dsr binary (default
 * `dist/dsr`) with the permission set `dsr` of deno.json.
 *
 * deno compile embeds every file of the npm packages under node_modules, and
 * the `test/` folder of `bintrees` (prom-client → tdigest → bintrees) makes
 * its embedding overflow the stack (`thread 'tokio-runtime-worker' has
 * overflowed its stack`, as denoland/deno#36746). The folder is never
 * imported, so it is left out with `--exclude`; its path carries the version
 * the lock pins, so it is looked up here rather than written in deno.json.
 * @module
 */

/** Packages whose test folder crashes deno compile, and which nothing imports. */
const UNEMBEDDABLE_TESTS = ["bintrees"];

/** The repository, with a trailing slash. */
const root = decodeURIComponent(new URL("..", import.meta.url).pathname);

/** `node_modules/.deno/<name>@<version>/node_modules/<name>/test` of every installed version of `name`. */
export function testFolders(nodeModules: string, name: string): string[] {
  const store = `${nodeModules}/.deno`;
  const found: string[] = [];
  for (const entry of Deno.readDirSync(store)) {
    if (!entry.isDirectory || !entry.name.startsWith(`${name}@`)) continue;
    const folder = `.deno/${entry.name}/node_modules/${name}/test`;
    try {
      if (Deno.statSync(`${nodeModules}/${folder}`).isDirectory) {
        found.push(`node_modules/${folder}`);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return found;
}

async function run(args: string[]): Promise<void> {
  const child = new Deno.Command(Deno.execPath(), { args, cwd: root, stdin: "null" }).spawn();
  const { code } = await child.status;
  if (code !== 0) Deno.exit(code);
}

if (import.meta.main) {
  // The folders to leave out exist only once the packages are installed.
  await run(["install", "-q"]);
  // Real paths: deno compile matches excludes against resolved paths (node_modules may be a link).
  const excludes = UNEMBEDDABLE_TESTS.flatMap((name) => testFolders(`${root}node_modules`, name))
    .map((folder) => Deno.realPathSync(`${root}${folder}`));
  const output = Deno.args.includes("--output") ? [] : ["--output", "dist/dsr"];
  await run([
    "compile",
    "-q",
    "-P=dsr",
    "--include",
    "dataplane/worker.ts",
    ...excludes.flatMap((path) => ["--exclude", path]),
    ...output,
    ...Deno.args,
    "main.ts",
  ]);
}
