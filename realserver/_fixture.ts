/**
 * Test helpers: the facts of a made-up real server, and a tiny model of the
 * commands setup plans, so plans can be checked without touching a host.
 * @module
 */

import { arpKey, arpScopes, type Cmd, type Facts } from "./linux.ts";

/**
 * A fresh host: `lo` up with 127.0.0.1/8, `eth0` up with 198.18.0.50/24, and
 * every ARP sysctl at the kernel default 0 unless `sysctls` says otherwise.
 */
export function hostFacts(overrides: Partial<Facts> = {}): Facts {
  const base: Facts = {
    addresses: [
      { ip: "127.0.0.1", prefix: 8, iface: "lo" },
      { ip: "198.18.0.50", prefix: 24, iface: "eth0" },
    ],
    loUp: true,
    facing: ["eth0"],
    sysctls: {},
    ...overrides,
  };
  const zeros = Object.fromEntries(
    arpScopes(base).flatMap((s) => [[arpKey(s, "arp_ignore"), 0], [arpKey(s, "arp_announce"), 0]]),
  );
  return { ...base, sysctls: { ...zeros, ...overrides.sysctls } };
}

/**
 * What the host looks like after `commands` (`sysctl -w K=V…`,
 * `ip addr add|del A/P dev D`, `ip link set lo up`).
 * @throws {Error} for a command the model does not know, or an impossible one
 */
export function applyCommands(facts: Facts, commands: Cmd[]): Facts {
  const next = structuredClone(facts);
  for (const cmd of commands) {
    const line = cmd.join(" ");
    if (cmd[0] === "sysctl" && cmd[1] === "-w") {
      for (const pair of cmd.slice(2)) {
        const [key, value] = pair.split("=");
        if (!(key in next.sysctls)) throw new Error(`no such sysctl: ${line}`);
        next.sysctls[key] = Number(value);
      }
    } else if (line === "ip link set lo up") {
      next.loUp = true;
    } else if (cmd[0] === "ip" && cmd[1] === "addr" && cmd[4] === "dev") {
      const [ip, prefix] = cmd[3].split("/");
      const address = { ip, prefix: Number(prefix), iface: cmd[5] };
      const at = next.addresses.findIndex((a) =>
        a.ip === ip && a.prefix === address.prefix && a.iface === address.iface
      );
      if (cmd[2] === "add" && at < 0) next.addresses.push(address);
      else if (cmd[2] === "del" && at >= 0) next.addresses.splice(at, 1);
      else throw new Error(`cannot ${line}`);
    } else {
      throw new Error(`unknown command: ${line}`);
    }
  }
  return next;
}
