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

import { formatNet, parseIpv4 } from "../dataplane/addr.ts";
import { serviceKey } from "./config.ts";
import type { Daemon } from "./daemon.ts";
import { ipForwarding, isAdjacent, localAddresses } from "./netinfo.ts";
import { realProber } from "./probers.ts";

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
      owner ? `ip addr del ${v.vip}/32 dev ${owner.iface}` : null,
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
  return out;
}

/** Runs every check against the running daemon. */
export async function runDoctor(daemon: Daemon): Promise<DoctorReport> {
  const findings = await hostFindings(daemon);
  const host = daemon.dataplane;
  const shared = host.shared;
  const macOf = (ip: string) => daemon.neighbor(ip).mac;
  const nets = daemon.iface.subnets.map(formatNet).join(", ");
  const probe = realProber((neighbor, vip, port, ms) =>
    shared.neighborSeen[neighbor] === 0
      ? Promise.resolve("unresolved")
      : host.probe(neighbor, parseIpv4(vip), port, ms)
  );

  const vips = [...new Set(daemon.config.vips.map((v) => v.vip))];
  const claims = await Promise.all(
    vips.map((vip) => host.whoHas(parseIpv4(vip), WHO_HAS_WINDOW_MS)),
  );
  vips.forEach((vip, i) => {
    if (claims[i].length === 0) {
      findings.push(finding("arp", vip, null, `only the balancer answers ARP for ${vip}`, null));
    }
    for (const mac of claims[i]) {
      const rip = daemon.config.vips.flatMap((v) => v.rips.map((r) => r.ip)).find((ip) =>
        macOf(ip) === mac
      );
      findings.push(finding(
        "arp",
        vip,
        rip
          ? `real server ${rip} (${mac}) answers ARP for VIP ${vip}: the ARP problem is not solved there, clients may bypass the balancer`
          : `host ${mac} answers ARP for VIP ${vip}: a second balancer, or a real server with the ARP problem unsolved`,
        "",
        `on ${
          rip ?? `the host with MAC ${mac}`
        }: dsr realserver setup --vip ${vip}   (arp_ignore=1, arp_announce=2)`,
      ));
    }
  });

  for (const vip of daemon.config.vips) {
    const key = serviceKey(vip);
    const servers = [...vip.rips.map((r) => r.ip), ...(vip.fallback ? [vip.fallback] : [])];
    for (const ip of servers) {
      const subject = `${ip} of ${key}`;
      if (!isAdjacent(daemon.iface, ip)) {
        findings.push(finding(
          "adjacency",
          subject,
          `${ip} is not on ${nets} of ${daemon.iface.name}: DR needs real servers on the same L2 segment`,
          "",
          `dsr rip del ${vip.vip}:${vip.port} ${ip} --proto ${vip.proto}   (or give ${daemon.iface.name} an address on its subnet)`,
        ));
        continue;
      }
      const mac = macOf(ip);
      findings.push(finding(
        "resolved",
        subject,
        mac ? null : `${ip} does not answer ARP from the balancer`,
        `${ip} is at ${mac}`,
        `check that ${ip} is up and on the segment of ${daemon.iface.name}`,
      ));
      if (!mac || vip.proto !== "tcp" || vip.port === 0) continue;
      const error = await probe({
        type: "dr",
        ip,
        port: vip.port,
        path: "/",
        expect: 200,
        vip: vip.vip,
        vipPort: vip.port,
        neighbor: daemon.neighbor(ip).slot,
      }, PROBE_TIMEOUT_MS);
      let fix: string | null = null;
      if (error !== null) {
        const direct = await probe(
          {
            type: "tcp",
            ip,
            port: vip.port,
            path: "/",
            expect: 200,
            vip: vip.vip,
            vipPort: vip.port,
            neighbor: -1,
          },
          PROBE_TIMEOUT_MS,
        );
        fix = error.includes("(RST)") || direct !== null
          ? `on ${ip}: start the service so it listens on ${vip.vip}:${vip.port} (or 0.0.0.0:${vip.port})`
          : `on ${ip}: ip addr add ${vip.vip}/32 dev lo   (or: dsr realserver setup --vip ${vip.vip})`;
      }
      findings.push(finding(
        "dr-path",
        subject,
        error === null
          ? null
          : `DR-path probe to ${vip.vip}:${vip.port} via ${ip} failed: ${error}`,
        `${ip} answers for ${vip.vip}:${vip.port} on the DR path`,
        fix,
      ));
    }
  }
  return { ok: findings.every((f) => f.ok), findings };
}
