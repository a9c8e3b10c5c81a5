/**
 * `dsr realserver setup` and `dsr realserver check` (SPEC §6): solve, undo
 * and verify the ARP problem on a real server. The decisions are pure
 * functions in `realserver/`; this file prints and runs them.
 * @module
 */

import { dirname } from "node:path";
import { RuntimeError, UsageError } from "../../control/errors.ts";
import { parseIp } from "../../control/parse.ts";
import { checkFacts } from "../../realserver/check.ts";
import { formatCmd } from "../../realserver/linux.ts";
import { addressSnippet, planRemove, planSetup, sysctlConf } from "../../realserver/plan.ts";
import { deleteRecord, readRecord, recordPath, writeRecord } from "../../realserver/record.ts";
import { inspect, run } from "../../realserver/system.ts";
import { windowsRemoveScript, windowsSetupScript } from "../../realserver/windows.ts";
import type { Paths } from "../../client/mod.ts";
import { printJson } from "../print.ts";

/** One change: how a dry run shows it, how a real run announces it, and doing it. */
interface Step {
  dry: string;
  live: string;
  apply: () => Promise<unknown>;
}

function parseVips(texts: string[]): string[] {
  if (texts.length === 0) throw new UsageError("give at least one --vip");
  return [...new Set(texts.map((text) => parseIp(text, "VIP")))];
}

/** The sysctl.d file, in `DSR_SYSCTL_DIR` when set (tests), else /etc/sysctl.d. */
function sysctlFile(): string {
  return `${Deno.env.get("DSR_SYSCTL_DIR") ?? "/etc/sysctl.d"}/90-dsr-realserver.conf`;
}

async function fileStep(path: string, content: string | null): Promise<Step | null> {
  const now = await Deno.readTextFile(path).catch(() => null);
  if (now === content) return null;
  if (content === null) {
    return {
      dry: `rm -f ${path}`,
      live: `rm ${path}`,
      apply: () => Deno.remove(path),
    };
  }
  return {
    dry: `cat > ${path} <<'EOF'\n${content}EOF`,
    live: `write ${path}`,
    apply: async () => {
      await Deno.mkdir(dirname(path), { recursive: true });
      await Deno.writeTextFile(path, content);
    },
  };
}

/**
 * `dsr realserver setup`: puts the VIPs on `lo` and sets the ARP sysctls
 * (Linux), undoes that with `remove`, or prints the Windows script.
 * @throws {UsageError} for a malformed VIP or an unknown `--os`
 * @throws {RuntimeError} when a VIP sits where setup must not touch it, or a command fails
 * @returns the exit status
 */
export async function realserverSetup(
  paths: Paths,
  opts: { vip: string[]; os?: string; dryRun?: boolean; remove?: boolean; persist?: boolean },
): Promise<number> {
  const vips = parseVips(opts.vip);
  const os = opts.os ?? "linux";
  if (os !== "linux" && os !== "windows") {
    throw new UsageError(`invalid --os "${os}": expected linux or windows`);
  }
  if (os === "windows") {
    console.log(opts.remove ? windowsRemoveScript(vips) : windowsSetupScript(vips));
    return 0;
  }
  const file = recordPath(paths.state);
  const record = await readRecord(file);
  const facts = await inspect(Object.keys(record?.sysctls ?? {}));
  const plan = opts.remove ? planRemove(facts, vips, record) : planSetup(facts, vips, record);
  const notes = [...plan.notes];
  const advice: string[] = [];
  if (opts.remove && !record) {
    notes.unshift(
      `no record of an earlier setup in ${file}: removing the VIPs from lo and setting ` +
        `arp_ignore and arp_announce back to the kernel defaults 0 and 0`,
    );
  }
  const steps: Step[] = plan.commands.map((cmd) => ({
    dry: formatCmd(cmd),
    live: formatCmd(cmd),
    apply: () => run(cmd),
  }));
  // A remove that leaves other VIPs set up keeps their settings, on disk too.
  if (opts.persist && !(opts.remove && plan.record)) {
    const step = await fileStep(sysctlFile(), opts.remove ? null : sysctlConf(facts));
    if (step) steps.push(step);
    advice.push(
      opts.remove
        ? "remove the VIPs from lo in the network configuration too, if they were added there"
        : addressSnippet(vips),
    );
  }

  if (opts.dryRun) {
    // A dry run prints a shell script: notes become comments.
    for (const note of notes) console.log(note.replace(/^/gm, "# "));
    for (const step of steps) console.log(step.dry);
    for (const note of advice) console.log(note.replace(/^/gm, "# "));
    console.log("# dry run: nothing was changed");
    return 0;
  }
  // The record is on disk before the first change, so --remove can undo a half-done setup.
  if (!opts.remove && plan.record) await writeRecord(file, plan.record);
  for (const note of notes) console.log(note);
  for (const step of steps) {
    console.log(`+ ${step.live}`);
    await step.apply().catch((error: Error) => {
      throw error instanceof RuntimeError
        ? error
        : new RuntimeError(`${step.live}: ${error.message}`);
    });
  }
  for (const note of advice) console.log(note);
  if (opts.remove) {
    if (plan.record) await writeRecord(file, plan.record);
    else await deleteRecord(file);
  }
  const done = opts.remove ? "removed the real server setup for" : "real server ready for";
  console.log(`${done} VIP ${vips.join(", ")}${steps.length === 0 ? " (no change)" : ""}`);
  return 0;
}

/**
 * `dsr realserver check`: prints one finding per VIP and ARP sysctl scope,
 * each wrong one with its fix.
 * @throws {UsageError} for a malformed VIP
 * @returns 0 when all is right, 1 otherwise
 */
export async function realserverCheck(
  _paths: Paths,
  opts: { vip: string[]; json?: boolean },
): Promise<number> {
  const vips = parseVips(opts.vip);
  const findings = checkFacts(await inspect(), vips);
  const ok = findings.every((f) => f.ok);
  if (opts.json) {
    printJson({ ok, findings });
  } else {
    for (const f of findings) {
      const fix = f.fix === null ? "" : `; fix: ${f.fix}`;
      console.log(`${f.ok ? "ok  " : "FAIL"}  ${f.check} ${f.subject}: ${f.found}${fix}`);
    }
    const problems = findings.filter((f) => !f.ok).length;
    console.log(
      ok
        ? `real server ready for VIP ${vips.join(", ")}`
        : `real server not ready for VIP ${vips.join(", ")}: ${problems} to fix`,
    );
  }
  return ok ? 0 : 1;
}
