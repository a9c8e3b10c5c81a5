/**
 * The state file: the configuration document on disk. Written atomically
 * (temporary file, fsync, rename, fsync of the directory) so a crash leaves
 * the old or the new document, never a broken one; changed under an exclusive
 * lock on a sibling lock file so concurrent writers queue instead of losing
 * updates.
 * @module
 */

import { basename, dirname } from "node:path";
import { type Config, ConfigError, emptyConfig, normalize, parseConfig } from "./config.ts";
import { RuntimeError, UsageError } from "./errors.ts";

/** Reads and validates the state file; a missing file is an empty configuration. */
export async function loadState(path: string): Promise<Config> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return emptyConfig();
    throw new RuntimeError(`cannot read state file ${path}: ${(error as Error).message}`);
  }
  try {
    return parseConfig(JSON.parse(text));
  } catch (error) {
    const reason = error instanceof ConfigError ? error.message : (error as Error).message;
    throw new UsageError(`state file ${path} is invalid: ${reason}`);
  }
}

/** Serializes a configuration as the state file and `config export` print it. */
export function formatConfig(config: Config): string {
  return JSON.stringify(normalize(config), null, 2) + "\n";
}

/** Writes the state file atomically. */
export async function saveState(path: string, config: Config): Promise<void> {
  const dir = dirname(path);
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.mkdir(dir, { recursive: true });
    using file = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
    await file.write(new TextEncoder().encode(formatConfig(config)));
    await file.sync();
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw new RuntimeError(`cannot write state file ${path}: ${(error as Error).message}`);
  }
  try {
    await Deno.rename(tmp, path);
    // The rename is durable only once the directory entry is on disk.
    using d = await Deno.open(dir, { read: true });
    await d.sync().catch(() => {});
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw new RuntimeError(`cannot write state file ${path}: ${(error as Error).message}`);
  }
}

/** Removes temporary files a writer killed mid-save left beside the state file. */
export async function removeStaleTemporaries(path: string): Promise<void> {
  const dir = dirname(path);
  const prefix = `${basename(path)}.tmp-`;
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.startsWith(prefix)) {
        await Deno.remove(`${dir}/${entry.name}`).catch(() => {});
      }
    }
  } catch {
    // No directory yet: nothing to clean.
  }
}

/**
 * Runs `fn` holding an exclusive lock on `${path}.lock`, creating the
 * directory as needed. The lock is released when the process dies, so a
 * killed writer never wedges the next one.
 */
export async function withStateLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  let lock: Deno.FsFile;
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    lock = await Deno.open(`${path}.lock`, { read: true, write: true, create: true, mode: 0o600 });
  } catch (error) {
    throw new RuntimeError(`cannot lock state file ${path}: ${(error as Error).message}`);
  }
  try {
    await lock.lock(true);
    return await fn();
  } finally {
    lock.close();
  }
}
