/**
 * `dsr doctor` (SPEC §6): what breaks DR deployments, checked from the
 * balancer. For every VIP it asks "who-has VIP" and names every other MAC
 * that answers (a real server with the ARP problem unsolved, or a second
 * balancer); for every real server it checks L2 adjacency and MAC resolution
 * and runs the DR-path probe, telling a missing VIP on the loopback from a
 * service that does not listen; and it checks the host (a local VIP,
 * ip_forward). Every finding carries the command that fixes it.
 * @module
 */

import { hostPort } from "../dataplane/ip.ts";
import { serviceKey, type Vip } from "./config.ts";
import type { Daemon } from "./daemon.ts";
import {
  ipForwarding,
  ipv6Forwarding,
  isAdjacent,
  legOf,
  localAddresses,
  notAdjacentText,
} from "./netinfo.ts";
import { type Prober, realProber } from "./probers.ts";

/** One thing doctor looked at. */
export interface Finding {
  check: "local-vip" | "ip-forward" | "arp" | "adjacency" | "resolved" | "dr-path";
  subject: string;
  ok: boolean;
  message: string;
  fix: string | null;
}

/** The answer of `GET /v1/doctor`. */
export interface DoctorReport {
  ok: boolean;
  findings: Finding[];
}

const WHO_HAS_WINDOW_MS = 500;
const PROBE_TIMEOUT_MS = 1000;

function finding(
  check: Finding["check"],
  subject: string,
  problem: string | null,
  ok: string,
  fix: string | null,
): Finding {
  return problem === null
    ? { check, subject, ok: true, message: ok, fix: null }
    : { check, subject, ok: false, message: problem, fix };
}

async function hostFindings(daemon: Daemon): Promise<Finding[]> {
  const local = await localAddresses();
  const out = daemon.config.vips.map((v) => {
    const owner = local.find((a) => a.ip === v.vip);
    return finding(
      "local-vip",
      v.vip,
      owner
        ? `VIP ${v.vip} is on interface ${owner.iface} of the balancer: its kernel would reset connections`
        : null,
      `VIP ${v.vip} is not owned by the balancer's kernel`,
      owner ? `ip addr del ${v.vip}/${v.vip.includes(":") ? 128 : 32} dev ${owner.iface}` : null,
    );
  });
  const forwarding = await ipForwarding();
  out.push(finding(
    "ip-forward",
    "net.ipv4.ip_forward",
    forwarding
      ? "net.ipv4.ip_forward=1: the kernel forwards a second copy of every packet to a VIP"
      : null,
    "net.ipv4.ip_forward=0",
    "sysctl -w net.ipv4.ip_forward=0",
  ));
  if (daemon.config.vips.some((v) => v.vip.includes(":"))) {
    const forwarding6 = await ipv6Forwarding();
    out.push(finding(
      "ip-forward",
      "net.ipv6.conf.all.forwarding",
      forwarding6
        ? "net.ipv6.conf.all.forwarding=1: the kernel forwards a second copy of every packet to an IPv6 VIP"
        : null,
      "net.ipv6.conf.all.forwarding=0",
      "sysctl -w net.ipv6.conf.all.forwarding=0",
    ));
  }
  return out;
}

/** Runs every check against the running daemon, all at once: one probe's timeout bounds the whole run. */
export async function runDoctor(daemon: Daemon): Promise<DoctorReport> {
  const host = daemon.dataplane;
  const shared = host.shared;
  const probe = realProber((neighbor, vip, port, ms) =>
    shared.neighborSeen[neighbor] === 0
      ? Promise.resolve("unresolved")
      : host.probe(neighbor, vip, port, ms)
  );
  const vips = [...new Set(daemon.config.vips.map((v) => v.vip))];
  const servers = daemon.config.vips.flatMap((vip) =>
    [...vip.rips.map((r) => r.ip), ...(vip.fallback ? [vip.fallback] : [])].map((ip) => ({
      vip,
      ip,
    }))
  );
  // Findings keep the order of the checks, whatever order the answers come in.
  const parts = await Promise.all([
    hostFindings(daemon),
    ...vips.map((vip) => arpFindings(daemon, vip)),
    ...servers.map(({ vip, ip }) => serverFindings(daemon, probe, vip, ip)),
  ]);
  const findings = parts.flat();
  return { ok: findings.every((f) => f.ok), findings };
}

/** Who answers ARP (or, for IPv6, a Neighbor Solicitation) for `vip` besides the balancer. */
async function arpFindings(daemon: Daemon, vip: string): Promise<Finding[]> {
  const claims = await daemon.dataplane.whoHas(vip, WHO_HAS_WINDOW_MS);
  const arp = vip.includes(":") ? "Neighbor Solicitations" : "ARP";
  if (claims.length === 0) {
    return [finding("arp", vip, null, `only the balancer answers ${arp} for ${vip}`, null)];
  }
  return claims.map((mac) => {
    const rip = daemon.config.vips.flatMap((v) => v.rips.map((r) => r.ip)).find((ip) =>
      daemon.neighbor(ip).mac === mac
    );
    return finding(
      "arp",
      vip,
      rip
        ? `real server ${rip} (${mac}) answers ${arp} for VIP ${vip}: the ARP problem is not solved there, clients may bypass the balancer`
        : `host ${mac} answers ${arp} for VIP ${vip}: a second balancer, or a real server with the ARP problem unsolved`,
      "",
      `on ${rip ?? `the host with MAC ${mac}`}: dsr realserver setup --vip ${vip}   (${
        vip.includes(":") ? "the VIP as /128 on lo" : "arp_ignore=1, arp_announce=2"
      })`,
    );
  });
}

/** Adjacency, resolution and the DR path of one real server of one service. */
async function serverFindings(
  daemon: Daemon,
  probe: Prober,
  vip: Vip,
  ip: string,
): Promise<Finding[]> {
  const subject = `${ip} of ${serviceKey(vip)}`;
  if (!isAdjacent(daemon.legs, ip)) {
    return [finding(
      "adjacency",
      subject,
      `${ip} ${notAdjacentText(daemon.legs, ip)}: DR needs real servers on the same L2 segment`,
      "",
      `dsr rip del ${
        hostPort(vip.vip, vip.port)
      } ${ip} --proto ${vip.proto}   (or give ${daemon.iface.name} an address on its subnet)`,
    )];
  }
  const mac = daemon.neighbor(ip).mac;
  const out = [finding(
    "resolved",
    subject,
    mac
      ? null
      : `${ip} does not answer ${
        ip.includes(":") ? "Neighbor Solicitations" : "ARP"
      } from the balancer`,
    `${ip} is at ${mac}`,
    `check that ${ip} is up and on the segment of ${daemon.legs[legOf(daemon.legs, ip)].name}`,
  )];
  if (!mac || vip.proto !== "tcp" || vip.port === 0) return out;
  const target = {
    type: "dr" as const,
    ip,
    port: vip.port,
    path: "/",
    expect: 200,
    vip: vip.vip,
    vipPort: vip.port,
    neighbor: daemon.neighbor(ip).slot,
  };
  // The direct check tells a missing VIP on the loopback from a service that does not listen.
  const [error, direct] = await Promise.all([
    probe(target, PROBE_TIMEOUT_MS),
    probe({ ...target, type: "tcp", neighbor: -1 }, PROBE_TIMEOUT_MS),
  ]);
  let fix: string | null = null;
  const at = hostPort(vip.vip, vip.port);
  if (error !== null) {
    const v6 = vip.vip.includes(":");
    fix = error.includes("(RST)") || direct !== null
      ? `on ${ip}: start the service so it listens on ${at} (or ${
        hostPort(v6 ? "::" : "0.0.0.0", vip.port)
      })`
      : `on ${ip}: ip addr add ${vip.vip}/${
        v6 ? 128 : 32
      } dev lo   (or: dsr realserver setup --vip ${vip.vip})`;
  }
  out.push(finding(
    "dr-path",
    subject,
    error === null ? null : `DR-path probe to ${at} via ${ip} failed: ${error}`,
    `${ip} answers for ${at} on the DR path`,
    fix,
  ));
  return out;
}
