/**
 * What `dsr realserver setup` and `--remove` must run on a Linux real server,
 * decided from the observed facts and the record of an earlier setup. Pure:
 * every function returns commands and text; `cli/commands/realserver.ts`
 * prints and runs them.
 * @module
 */

import { RuntimeError } from "../control/errors.ts";
import {
  ARP_NAMES,
  ARP_TARGET,
  arpKey,
  arpScopes,
  arpValueOk,
  type Cmd,
  type Facts,
  formatCmd,
  hostPrefix,
  vipState,
} from "./linux.ts";
import type { SetupRecord } from "./record.ts";

/** Commands to run, lines to show first, and the record to keep. */
export interface Plan {
  commands: Cmd[];
  notes: string[];
  /**
   * Setup: the record to write before the first command, or null when the one
   * on disk already says it all. Remove: the record to keep afterwards, or
   * null to delete it.
   */
  record: SetupRecord | null;
}

const onLo32 = (facts: Facts, vip: string) =>
  facts.addresses.some((a) => a.ip === vip && a.iface === "lo" && a.prefix === hostPrefix(vip));

/** Only an IPv4 VIP needs the ARP sysctls: Linux answers no NS for an address on `lo`. */
const needsArp = (vips: string[]) => vips.some((vip) => !vip.includes(":"));

/**
 * Plans setup: the ARP sysctls first, then the VIPs on `lo`, so the host
 * never holds a VIP while it would still answer ARP for it. Only what is
 * wrong is changed, so a second run plans nothing.
 * @param record the record of an earlier setup, merged into; its originals win
 * @throws {RuntimeError} when a VIP is somewhere setup must not touch on its own
 */
export function planSetup(facts: Facts, vips: string[], record: SetupRecord | null): Plan {
  const stray = vips.map((vip) => ({ vip, state: vipState(facts, vip) }))
    .filter(({ state }) => !state.fixable);
  if (stray.length > 0) {
    const why = stray.map(({ vip, state }) =>
      `VIP ${vip} is ${state.found}, where it makes this host answer ARP or claim its neighbours ` +
      `(fix: ${state.fix.map(formatCmd).join(" && ")})`
    );
    throw new RuntimeError(`${why.join("; ")}; nothing was changed`);
  }
  const commands: Cmd[] = [];
  const originals: Record<string, number> = {};
  for (const scope of needsArp(vips) ? arpScopes(facts) : []) {
    for (const name of ARP_NAMES) {
      const key = arpKey(scope, name);
      if (arpValueOk(name, facts.sysctls[key])) continue;
      originals[key] = facts.sysctls[key];
      commands.push(["sysctl", "-w", `${key}=${ARP_TARGET[name]}`]);
    }
  }
  if (!facts.loUp) commands.push(["ip", "link", "set", "lo", "up"]);
  const added = vips.filter((vip) => !onLo32(facts, vip));
  for (const vip of added) {
    commands.push(["ip", "addr", "add", `${vip}/${hostPrefix(vip)}`, "dev", "lo"]);
  }

  const base = record ?? { version: 1 as const, vips: [], sysctls: {} };
  const news = record === null || added.some((v) => !base.vips.includes(v)) ||
    Object.keys(originals).some((k) => !(k in base.sysctls));
  const next: SetupRecord = {
    version: 1,
    vips: [...new Set([...base.vips, ...added])],
    sysctls: { ...originals, ...base.sysctls },
  };
  return { commands, notes: [], record: news ? next : null };
}

/**
 * Plans `--remove`: the VIPs leave `lo` first, then the sysctls go back, the
 * reverse of setup. With a record it removes only the VIPs setup added and
 * restores the original values once no VIP setup added is left; without one
 * it removes the given VIPs and sets the kernel defaults (0) back.
 */
export function planRemove(facts: Facts, vips: string[], record: SetupRecord | null): Plan {
  const commands: Cmd[] = [];
  const notes: string[] = [];
  for (const vip of vips) {
    if (record && !record.vips.includes(vip)) {
      notes.push(`${vip} was not added by setup: kept`);
    } else if (onLo32(facts, vip)) {
      commands.push(["ip", "addr", "del", `${vip}/${hostPrefix(vip)}`, "dev", "lo"]);
    } else if (facts.addresses.some((a) => a.ip === vip)) {
      notes.push(`${vip} is not on lo as /${hostPrefix(vip)}, as setup puts it: kept`);
    }
  }
  if (!record) {
    for (const scope of needsArp(vips) ? arpScopes(facts) : []) {
      for (const name of ARP_NAMES) {
        const key = arpKey(scope, name);
        if (facts.sysctls[key] !== 0) commands.push(["sysctl", "-w", `${key}=0`]);
      }
    }
    return { commands, notes, record: null };
  }
  const left = record.vips.filter((v) => !vips.includes(v));
  if (left.length > 0) {
    notes.push(`arp_ignore and arp_announce kept: setup also added ${left.join(", ")}`);
    return { commands, notes, record: { ...record, vips: left } };
  }
  for (const [key, original] of Object.entries(record.sysctls)) {
    const now = facts.sysctls[key];
    if (now === undefined) {
      notes.push(`${key} no longer exists (interface gone): nothing to restore`);
    } else if (now !== original) commands.push(["sysctl", "-w", `${key}=${original}`]);
  }
  return { commands, notes, record: null };
}

/**
 * The `/etc/sysctl.d` file that keeps the ARP settings across reboots: the
 * values the host has once setup ran (a stricter value already in place is
 * kept).
 */
export function sysctlConf(facts: Facts): string {
  const lines = arpScopes(facts).flatMap((scope) =>
    ARP_NAMES.map((name) => {
      const key = arpKey(scope, name);
      const value = arpValueOk(name, facts.sysctls[key]) ? facts.sysctls[key] : ARP_TARGET[name];
      return `${key} = ${value}`;
    })
  );
  return [
    "# Written by dsr realserver setup: this real server must not answer ARP for",
    "# the VIPs on its lo (the ARP problem of Direct Server Return).",
    ...lines,
    "",
  ].join("\n");
}

/** How to keep the VIPs on `lo` across reboots, for the two usual network managers. */
export function addressSnippet(vips: string[]): string {
  return [
    "to keep the VIPs on lo across reboots, add them to the network configuration:",
    "  systemd-networkd, /etc/systemd/network/10-dsr-lo.network:",
    "    [Match]",
    "    Name=lo",
    ...vips.flatMap((vip) => ["    [Address]", `    Address=${vip}/${hostPrefix(vip)}`]),
    '  ifupdown, /etc/network/interfaces, under "iface lo inet loopback":',
    ...vips.map((vip) => `    up ip addr add ${vip}/${hostPrefix(vip)} dev lo`),
  ].join("\n");
}
