/**
 * `dsr ha keepalived`: the keepalived.conf of one node of an active/standby
 * pair (SPEC §11). keepalived's VRRP decides which node is active and tells
 * dsr through its notify scripts; the config adds no address to any
 * interface, since the balancer's kernel must never own a VIP (dsr answers
 * ARP for the VIPs itself while active).
 * @module
 */

import { UsageError } from "./errors.ts";

/** What the config is made of; the CLI resolves addresses and the dsr command. */
export interface KeepalivedOptions {
  /** Interface VRRP runs on (the balancer's). */
  iface: string;
  /** This node's IPv4 address on `iface`: the source of its unicast adverts. */
  srcIp: string;
  /** The other node's address: VRRP goes to it alone (unicast). */
  peer: string;
  /** VRRP priority, 1 to 254; the higher wins when both start together. */
  priority: number;
  /** Virtual router id, 1 to 255 (default 51); unique per pair on a segment. */
  vrid?: number;
  /** argv that runs dsr, `--socket` included; the subcommands are appended. */
  dsr: readonly string[];
}

/**
 * VRRP timing. keepalived's VRRPv2 rounds the advert interval to whole
 * seconds, and the standard master-down time (3 adverts and a skew) is
 * 3.6 s at priority 100: too slow for a takeover within 3 s.
 * `down_timer_adverts 1` makes it 1 advert and the skew (1.4 to 1.6 s, less
 * for a higher priority), which leaves time for `dsr ha promote` to start
 * and for the first gratuitous ARP.
 */
export const ADVERT_INT_S = 1;
export const DOWN_TIMER_ADVERTS = 1;

/** The health script: slow starts under load must not fault a healthy node. */
export const CHECK_INTERVAL_S = 2;
export const CHECK_TIMEOUT_S = 5;
export const CHECK_FALL = 3;
/**
 * A dsr restarted while its keepalived is MASTER comes back standby, and
 * keepalived calls notify_master only on a transition: the check fails until
 * the new daemon has run longer than `fall` checks take, so keepalived goes
 * to FAULT, the peer takes over, and this node rejoins as backup.
 */
export const CHECK_MIN_UPTIME_S = CHECK_INTERVAL_S * CHECK_FALL + 2;

/**
 * keepalived splits a script line on blanks and has no quoting that survives
 * every version: refuse what it would misread instead of printing a config
 * that runs something else.
 */
function scriptWord(word: string): string {
  if (word === "" || /[\s"'\\]/.test(word)) {
    throw new UsageError(
      `cannot put "${word}" in a keepalived script line: it holds a blank, a quote or a backslash ` +
        `(use --dsr-command with a path without them, and a --socket path without them)`,
    );
  }
  return word;
}

/**
 * The keepalived.conf text.
 * @throws {UsageError} for a priority or vrid out of range, or a dsr command keepalived cannot run as written
 */
export function keepalivedConfig(o: KeepalivedOptions): string {
  const vrid = o.vrid ?? 51;
  if (!Number.isInteger(o.priority) || o.priority < 1 || o.priority > 254) {
    throw new UsageError(`invalid --priority ${o.priority}: expected 1 to 254`);
  }
  if (!Number.isInteger(vrid) || vrid < 1 || vrid > 255) {
    throw new UsageError(`invalid --vrid ${vrid}: expected 1 to 255`);
  }
  const dsr = o.dsr.map(scriptWord).join(" ");
  const script = (sub: string) => `"${dsr} ${sub}"`;
  const name = `dsr_${vrid}`;
  return `# keepalived.conf for one dsr node (printed by: dsr ha keepalived)
# VRRP decides which node of the pair forwards; dsr obeys through the notify
# scripts. No virtual_ipaddress: the balancer's kernel must not own a VIP, dsr
# answers ARP for the VIPs itself while active. Run both nodes with the same
# dsr configuration, and start dsr with --role standby: keepalived promotes.

global_defs {
  # Adverts without VIPs are valid in VRRPv2, not in v3 or strict mode.
  vrrp_version 2
  # The notify and check scripts run as root; only root may write them.
  enable_script_security
  script_user root
}

vrrp_script ${name}_check {
  script ${script(`ha check --min-uptime ${CHECK_MIN_UPTIME_S}`)}
  interval ${CHECK_INTERVAL_S}
  timeout ${CHECK_TIMEOUT_S}
  fall ${CHECK_FALL}
  rise 1
}

vrrp_instance ${name} {
  state BACKUP
  # A node that comes back waits as standby instead of taking over again:
  # every takeover costs clients a second or two.
  nopreempt
  interface ${o.iface}
  virtual_router_id ${vrid}
  priority ${o.priority}
  advert_int ${ADVERT_INT_S}
  down_timer_adverts ${DOWN_TIMER_ADVERTS}
  # Unicast adverts: VRRP stays between the two balancers.
  unicast_src_ip ${o.srcIp}
  unicast_peer {
    ${o.peer}
  }
  track_script {
    ${name}_check
  }
  notify_master ${script("ha promote")}
  notify_backup ${script("ha demote")}
  notify_fault ${script("ha demote")}
  notify_stop ${script("ha demote")}
}
`;
}
