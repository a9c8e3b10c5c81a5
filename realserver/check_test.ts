import assert from "node:assert/strict";
import { applyCommands, hostFacts } from "./_fixture.ts";
import { checkFacts } from "./check.ts";
import { arpKey } from "./linux.ts";
import { planSetup } from "./plan.ts";

const VIP = "198.18.0.100";

Deno.test("check on a fresh host names the missing VIP and each ARP sysctl with its fix", () => {
  const findings = checkFacts(hostFacts(), [VIP]);
  const ignore = "net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.eth0.arp_ignore=1";
  const announce = "net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.eth0.arp_announce=2";
  assert.deepEqual(findings, [
    {
      check: "vip-on-lo",
      subject: VIP,
      ok: false,
      found: "absent",
      fix: "ip addr add 198.18.0.100/32 dev lo",
    },
    {
      check: "arp_ignore",
      subject: "all",
      ok: false,
      found: "0",
      fix: "sysctl -w net.ipv4.conf.all.arp_ignore=1",
    },
    {
      check: "arp_ignore",
      subject: "eth0",
      ok: false,
      found: "0 (the larger of all=0 and eth0=0)",
      fix: `sysctl -w ${ignore}`,
    },
    {
      check: "arp_announce",
      subject: "all",
      ok: false,
      found: "0",
      fix: "sysctl -w net.ipv4.conf.all.arp_announce=2",
    },
    {
      check: "arp_announce",
      subject: "eth0",
      ok: false,
      found: "0 (the larger of all=0 and eth0=0)",
      fix: `sysctl -w ${announce}`,
    },
  ]);
});

Deno.test("check passes, with no fixes, once setup's commands ran", () => {
  const before = hostFacts({ facing: ["eth0", "eth1"] });
  const after = applyCommands(before, planSetup(before, [VIP, "198.18.0.101"], null).commands);
  const findings = checkFacts(after, [VIP, "198.18.0.101"]);
  assert.equal(findings.length, 2 + 2 * 3);
  for (const f of findings) assert.deepEqual([f.ok, f.fix], [true, null], JSON.stringify(f));
});

Deno.test("check uses the larger of all and the interface, as the kernel does", () => {
  const set = (all: number, eth0: number) =>
    hostFacts({
      sysctls: {
        [arpKey("all", "arp_ignore")]: all,
        [arpKey("eth0", "arp_ignore")]: eth0,
      },
    });
  const eth0 = (facts: ReturnType<typeof set>) =>
    checkFacts(facts, [])
      .find((f) => f.check === "arp_ignore" && f.subject === "eth0")!;
  assert.equal(eth0(set(1, 0)).ok, true);
  assert.equal(eth0(set(0, 2)).ok, true);
  assert.equal(eth0(set(8, 0)).ok, true);
  // 3 answers ARP for global addresses, and the VIP on lo is one.
  const three = eth0(set(3, 1));
  assert.equal(three.ok, false);
  assert.equal(three.found, "3 (the larger of all=3 and eth0=1)");
  assert.equal(three.fix, "sysctl -w net.ipv4.conf.all.arp_ignore=1");
});

Deno.test("check of a VIP on lo with a wider prefix says so and how to fix it", () => {
  const facts = hostFacts({
    addresses: [...hostFacts().addresses, { ip: VIP, prefix: 24, iface: "lo" }],
  });
  const [vip] = checkFacts(facts, [VIP]);
  assert.equal(vip.found, "198.18.0.100/24 on lo");
  assert.equal(vip.fix, "ip addr del 198.18.0.100/24 dev lo && ip addr add 198.18.0.100/32 dev lo");
});
