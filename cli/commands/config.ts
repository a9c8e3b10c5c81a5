/**
 * `dsr config export|apply|import`.
 * @module
 */

import { type Config, ConfigError, parseConfig } from "../../control/config.ts";
import { diffConfig } from "../../control/config_diff.ts";
import { RuntimeError, UsageError } from "../../control/errors.ts";
import type { ImportResult } from "../../control/import_result.ts";
import { formatConfig, loadState } from "../../control/state_file.ts";
import { DaemonClient, makeChange, type Paths, readConfig } from "../../client/mod.ts";
import { printChanges } from "../print.ts";

/** `dsr config export`. */
export async function configExport(paths: Paths): Promise<void> {
  await Deno.stdout.write(new TextEncoder().encode(formatConfig(await readConfig(paths))));
}

async function readText(file: string): Promise<string> {
  try {
    return file === "-"
      ? await new Response(Deno.stdin.readable).text()
      : await Deno.readTextFile(file);
  } catch (error) {
    throw new RuntimeError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

/**
 * `dsr config apply -f FILE [--dry-run]`: validates the whole file before
 * changing anything. A dry run prints the same lines and changes nothing:
 * a running daemon judges the file as it would a real apply (real servers
 * off its subnets, local VIPs, capacity), without one the state file is compared.
 */
export async function configApply(
  paths: Paths,
  file: string,
  options: { dryRun?: boolean } = {},
): Promise<void> {
  const text = await readText(file);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file} is not JSON: ${(error as Error).message}`);
  }
  let config: Config;
  try {
    config = parseConfig(value);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
  if (options.dryRun) {
    printChanges(await dryRun(paths, config));
    return;
  }
  const { changes } = await makeChange(paths, {
    request: { method: "PUT", path: "/v1/config", body: config },
    offline: () => config,
  }) as { changes: string[] };
  printChanges(changes);
}

async function dryRun(paths: Paths, config: Config): Promise<string[]> {
  const client = await DaemonClient.connect(paths);
  if (!client) return diffConfig(await loadState(paths.state), config);
  try {
    const answer = await client.request<{ changes: string[] }>(
      "PUT",
      "/v1/config?dry-run=1",
      config,
    );
    return answer.changes;
  } finally {
    client.close();
  }
}

/**
 * `dsr config import --from ipvsadm|keepalived FILE`: prints a document
 * `config apply` takes; what was left out goes to stderr, one warning a line.
 * @throws {UsageError} naming the line of what dsr cannot do (NAT, tunnels, …)
 */
export async function configImport(from: string, file: string): Promise<void> {
  const text = await readText(file);
  let result: ImportResult;
  try {
    result = from === "ipvsadm"
      ? (await import("../../control/import_ipvsadm.ts")).importIpvsadm(text)
      : (await import("../../control/import_keepalived.ts")).importKeepalived(text);
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`${file}: ${error.message}`);
    throw error;
  }
  for (const warning of result.warnings) console.error(`dsr: warning: ${file}: ${warning}`);
  await Deno.stdout.write(new TextEncoder().encode(formatConfig(result.config)));
}
