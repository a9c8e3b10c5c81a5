/**
 * `dsr config export|apply`.
 * @module
 */

import { ConfigError, parseConfig } from "../../control/config.ts";
import { RuntimeError, UsageError } from "../../control/errors.ts";
import { formatConfig } from "../../control/state_file.ts";
import { makeChange, type Paths, readConfig } from "../../client/mod.ts";
import { printChanges } from "../print.ts";

/** `dsr config export`. */
export async function configExport(paths: Paths): Promise<void> {
  await Deno.stdout.write(new TextEncoder().encode(formatConfig(await readConfig(paths))));
}

/** `dsr config apply -f FILE`: validates the whole file before changing anything. */
export async function configApply(paths: Paths, file: string): Promise<void> {
  let text: string;
  try {
    text = file === "-"
      ? await new Response(Deno.stdin.readable).text()
      : await Deno.readTextFile(file);
  } catch (error) {
    throw new RuntimeError(`cannot read ${file}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file} is not JSON: ${(error as Error).message}`);
  }
  let config;
  try {
    config = parseConfig(value);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
  const { changes } = await makeChange(paths, {
    request: { method: "PUT", path: "/v1/config", body: config },
    offline: () => config,
  }) as { changes: string[] };
  printChanges(changes);
}
