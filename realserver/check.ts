/**
 * `dsr realserver check` as a pure function: from the facts of a Linux real
 * server to one finding per VIP and per ARP sysctl scope, each wrong one with
 * the command that fixes it.
 * @module
 */

import {
  ARP_NAMES,
  ARP_TARGET,
  arpKey,
  type ArpName,
  arpValueOk,
  type Facts,
  formatCmd,
  vipState,
} from "./linux.ts";

/** One thing checked (the `findings` of `--json`). */
export interface Finding {
  check: "vip-on-lo" | ArpName;
  /** The VIP, `all`, or the facing interface. */
  subject: string;
  ok: boolean;
  found: string;
  /** A shell command line that puts it right; null when it is right. */
  fix: string | null;
}

/**
 * Checks every VIP, then arp_ignore and arp_announce on `all` and on each
 * facing interface, where the kernel uses the larger of `all` and the
 * interface's value.
 */
export function checkFacts(facts: Facts, vips: string[]): Finding[] {
  const findings: Finding[] = vips.map((vip) => {
    const state = vipState(facts, vip);
    const fix = state.ok ? null : state.fix.map(formatCmd).join(" && ");
    return { check: "vip-on-lo", subject: vip, ok: state.ok, found: state.found, fix };
  });
  // Linux answers no Neighbor Solicitation for an address on lo: IPv6 VIPs need no sysctl.
  if (vips.length > 0 && vips.every((vip) => vip.includes(":"))) return findings;
  for (const name of ARP_NAMES) {
    findings.push(arpFinding(facts, name, "all"));
    for (const iface of facts.facing) findings.push(arpFinding(facts, name, iface));
  }
  return findings;
}

function arpFinding(facts: Facts, name: ArpName, scope: string): Finding {
  const scopes = scope === "all" ? ["all"] : ["all", scope];
  const values = scopes.map((s) => facts.sysctls[arpKey(s, name)]);
  const effective = Math.max(...values);
  const ok = arpValueOk(name, effective);
  const found = scope === "all"
    ? `${effective}`
    : `${effective} (the larger of all=${values[0]} and ${scope}=${values[1]})`;
  // Setting just the keys that are wrong on their own is enough: the
  // right values (1, 2 or 8; and 2) stay right under the kernel's max.
  const wrong = scopes.filter((_, i) => !arpValueOk(name, values[i]));
  const fix = ok ? null : formatCmd([
    "sysctl",
    "-w",
    ...wrong.map((s) => `${arpKey(s, name)}=${ARP_TARGET[name]}`),
  ]);
  return { check: name, subject: scope, ok, found, fix };
}
