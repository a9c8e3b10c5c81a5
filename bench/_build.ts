/**
 * Checks the tools the benchmark needs and builds its C helpers
 * (`c_forwarder`, `c_generator`, `tc_bpf`) with gcc into a private directory,
 * at bench time.
 * @module
 */

import { run } from "../control/run.ts";
import { fileURLToPath } from "node:url";

const BENCH_DIR = fileURLToPath(new URL(".", import.meta.url));

/** Paths of the built helpers. */
export interface Helpers {
  cForwarder: string;
  cGenerator: string;
  tcBpf: string;
}

const TOOLS: [string, string][] = [
  ["gcc", "gcc"],
  ["tc", "iproute2"],
  ["taskset", "util-linux"],
  ["timeout", "coreutils"],
];

/**
 * Fails early, naming the Debian package, when a tool is missing.
 * @param trafgen whether trafgen is needed too
 * @throws {Error} naming the first missing tool and its package
 */
export async function requireTools(trafgen: boolean): Promise<void> {
  const tools = trafgen ? [...TOOLS, ["trafgen", "netsniff-ng"]] : TOOLS;
  for (const [tool, pkg] of tools) {
    // `which` with the tool as an argument: no shell string is built from a name.
    const found = await run(["which", tool], { timeoutMs: 5_000 }).catch(() => null);
    if (!found?.ok) {
      throw new Error(`The benchmark needs ${tool}: apt-get install -y ${pkg}`);
    }
  }
  try {
    await Deno.stat("/usr/include/pcap/pcap.h");
  } catch {
    throw new Error("The C forwarder needs libpcap's headers: apt-get install -y libpcap-dev");
  }
}

/**
 * Compiles the helpers into `dir`.
 * @throws {Error} with gcc's output when a build fails
 */
export async function buildHelpers(dir: string): Promise<Helpers> {
  const helpers = {
    cForwarder: `${dir}/c_forwarder`,
    cGenerator: `${dir}/c_generator`,
    tcBpf: `${dir}/tc_bpf`,
  };
  await Promise.all([
    gcc(`${BENCH_DIR}c_forwarder.c`, helpers.cForwarder, ["-lpcap"]),
    gcc(`${BENCH_DIR}c_generator.c`, helpers.cGenerator, []),
    gcc(`${BENCH_DIR}tc_bpf.c`, helpers.tcBpf, []),
  ]);
  return helpers;
}

async function gcc(source: string, output: string, libs: string[]): Promise<void> {
  const out = await new Deno.Command("gcc", {
    args: ["-O2", "-Wall", "-o", output, source, ...libs],
    stdin: "null",
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`Cannot build ${source}: gcc exited ${out.code}: ${text}`);
  }
}
