/**
 * Test-only program of a balancer with two legs, laid out as the DR part of
 * the Linux kernel's IPVS selftest (tools/testing/selftests/net/netfilter/
 * ipvs.sh) in our test ranges: the clients' leg (leg 0, 198.18.10.0/24, the
 * clients' gateway route for the VIP points at it) and the real servers' leg
 * (leg 1, 198.18.11.0/24, a smaller MTU so a test can tell the two apart).
 * One real server sits behind each leg, and an IPv6 one behind leg 1.
 * @module
 */

import { parseIpv4, parseMac } from "./addr.ts";
import { buildProgram, resolve, type TestRip, words6 } from "./_program_builder.ts";
import { PROTO_UDP } from "./packet.ts";
import { type LegProgram, MAX_NEIGHBORS, type Program, type SharedTables } from "./tables.ts";

/** One leg of the test balancer, addresses as text. */
export interface TestLeg {
  mac: string;
  ip: string;
  ip6: string;
  mtu: number;
}

/** The clients' leg. */
export const LEG0: TestLeg = {
  mac: "02:00:00:00:10:01",
  ip: "198.18.10.1",
  ip6: "2001:2:10::1",
  mtu: 1500,
};
/** The real servers' leg. */
export const LEG1: TestLeg = {
  mac: "02:00:00:00:11:01",
  ip: "198.18.11.1",
  ip6: "2001:2:11::1",
  mtu: 1400,
};

export const CLIENT = "198.18.10.2";
export const CLIENT_MAC = "02:00:00:00:10:02";
export const VIP = "198.18.12.110";
export const VIP6 = "2001:2:12::110";

/** The real server behind leg 1 (VIP:80). */
export const RIP_FAR: TestRip = { id: 0, ip: "198.18.11.2", mac: "02:00:00:00:11:02" };
/** A real server on the clients' leg (VIP:8080). */
export const RIP_NEAR: TestRip = { id: 1, ip: "198.18.10.3", mac: "02:00:00:00:10:03" };
/** The IPv6 real server behind leg 1 ([VIP6]:80). */
export const RIP6_FAR: TestRip = { id: 2, ip: "2001:2:11::2", mac: "02:00:00:00:11:02" };
/** A UDP real server behind leg 1 (VIP:53/udp). */
export const RIP_UDP: TestRip = { id: 3, ip: "198.18.11.3", mac: "02:00:00:00:11:03" };

/** Every real server and the leg it sits behind. */
const LEG_OF: [TestRip, number][] = [[RIP_FAR, 1], [RIP_NEAR, 0], [RIP6_FAR, 1], [RIP_UDP, 1]];

const legProgram = (leg: TestLeg): LegProgram => ({
  mac: parseMac(leg.mac),
  ip: parseIpv4(leg.ip),
  ip6: words6(leg.ip6),
  mtu: leg.mtu,
});

/** The two-legged program (its first leg in the program's own fields, as the compiler does). */
export function twoLegProgram(
  o: { generation?: number; garp?: string[]; garp6?: string[] } = {},
): Program {
  const program = buildProgram({
    ...o,
    mac: LEG0.mac,
    ip: LEG0.ip,
    ip6: LEG0.ip6,
    mtu: LEG0.mtu,
    services: [
      { id: 0, vip: VIP, port: 80, rips: [RIP_FAR] },
      { id: 1, vip: VIP, port: 8080, rips: [RIP_NEAR] },
      { id: 2, vip: VIP6, port: 80, rips: [RIP6_FAR] },
      { id: 3, vip: VIP, port: 53, proto: PROTO_UDP, rips: [RIP_UDP] },
    ],
  });
  const neighborLeg = new Uint8Array(MAX_NEIGHBORS);
  for (const [rip, leg] of LEG_OF) neighborLeg[program.backendNeighbor[rip.id]] = leg;
  return { ...program, legs: [legProgram(LEG0), legProgram(LEG1)], neighborLeg };
}

/** Marks every real server of the program resolved. */
export function resolveAll(shared: SharedTables, program: Program): void {
  for (const [rip] of LEG_OF) resolve(shared, program, rip);
}
