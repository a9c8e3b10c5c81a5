/**
 * `dsr doctor`: asks the running daemon to check the DR setup end to end.
 * @module
 */

import type { DoctorReport } from "../../control/doctor.ts";
import { type Paths, requireDaemon } from "../../client/mod.ts";
import { printJson } from "../print.ts";

/** `dsr doctor [--json]`; returns 0 when every finding is fine, else 1. */
export async function doctor(paths: Paths, opts: { json?: boolean }): Promise<number> {
  const client = await requireDaemon(paths);
  let report: DoctorReport;
  try {
    report = await client.request<DoctorReport>("GET", "/v1/doctor");
  } finally {
    client.close();
  }
  if (opts.json) {
    printJson(report);
  } else {
    for (const f of report.findings) {
      console.log(`${f.ok ? "ok  " : "FAIL"}  ${f.check.padEnd(10)} ${f.message}`);
      if (f.fix) console.log(`      ${"".padEnd(10)} fix: ${f.fix}`);
    }
    const bad = report.findings.filter((f) => !f.ok).length;
    console.log(
      bad === 0 ? "\nno problems found" : `\n${bad} problem${bad === 1 ? "" : "s"} found`,
    );
  }
  return report.ok ? 0 : 1;
}
