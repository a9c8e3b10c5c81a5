import assert from "node:assert/strict";
import fc from "fast-check";
import { RuntimeError } from "../control/errors.ts";
import { applyCommands, hostFacts } from "./_fixture.ts";
import { arpKey, type Cmd, type Facts } from "./linux.ts";
import { addressSnippet, planRemove, planSetup, sysctlConf } from "./plan.ts";

const VIP = "198.18.0.100";
const lines = (commands: Cmd[]) => commands.map((c) => c.join(" "));
const withVip = (facts: Facts, vip = VIP): Facts => ({
  ...facts,
  addresses: [...facts.addresses, { ip: vip, prefix: 32, iface: "lo" }],
});

Deno.test("setup on a fresh host sets the sysctls before it puts the VIP on lo, and records the originals", () => {
  const facts = hostFacts({ sysctls: { [arpKey("eth0", "arp_announce")]: 1 } });
  const plan = planSetup(facts, [VIP], null);
  assert.deepEqual(lines(plan.commands), [
    "sysctl -w net.ipv4.conf.all.arp_ignore=1",
    "sysctl -w net.ipv4.conf.all.arp_announce=2",
    "sysctl -w net.ipv4.conf.eth0.arp_ignore=1",
    "sysctl -w net.ipv4.conf.eth0.arp_announce=2",
    "ip addr add 198.18.0.100/32 dev lo",
  ]);
  assert.deepEqual(plan.record, {
    version: 1,
    vips: [VIP],
    sysctls: {
      "net.ipv4.conf.all.arp_ignore": 0,
      "net.ipv4.conf.all.arp_announce": 0,
      "net.ipv4.conf.eth0.arp_ignore": 0,
      "net.ipv4.conf.eth0.arp_announce": 1,
    },
  });
});

Deno.test("setup run a second time plans nothing and keeps the record as it is", () => {
  const facts = hostFacts();
  const first = planSetup(facts, [VIP], null);
  const second = planSetup(applyCommands(facts, first.commands), [VIP], first.record);
  assert.deepEqual(second, { commands: [], notes: [], record: null });
});

Deno.test("setup keeps a stricter value already in place and brings a down lo up", () => {
  const facts = hostFacts({
    loUp: false,
    sysctls: { [arpKey("all", "arp_ignore")]: 2, [arpKey("eth0", "arp_ignore")]: 8 },
  });
  assert.deepEqual(lines(planSetup(facts, [VIP], null).commands), [
    "sysctl -w net.ipv4.conf.all.arp_announce=2",
    "sysctl -w net.ipv4.conf.eth0.arp_announce=2",
    "ip link set lo up",
    "ip addr add 198.18.0.100/32 dev lo",
  ]);
});

Deno.test("setup on a host already set up by hand records that it changed nothing", () => {
  const done = applyCommands(hostFacts(), planSetup(hostFacts(), [VIP], null).commands);
  assert.deepEqual(planSetup(done, [VIP], null), {
    commands: [],
    notes: [],
    record: { version: 1, vips: [], sysctls: {} },
  });
});

Deno.test("setup refuses, planning nothing, while a VIP sits on a LAN interface or wider on lo", () => {
  const facts = hostFacts({
    addresses: [...hostFacts().addresses, { ip: VIP, prefix: 24, iface: "eth0" }],
  });
  assert.throws(() => planSetup(facts, [VIP], null), (error: unknown) => {
    assert.ok(error instanceof RuntimeError);
    assert.match(error.message, /^VIP 198\.18\.0\.100 is 198\.18\.0\.100\/24 on eth0/);
    assert.match(error.message, /fix: ip addr del 198\.18\.0\.100\/24 dev eth0 && ip addr add/);
    assert.match(error.message, /nothing was changed$/);
    return true;
  });
});

Deno.test("a later setup adds new VIPs and interfaces to the record, keeping the first originals", () => {
  const first = hostFacts({ sysctls: { [arpKey("all", "arp_ignore")]: 0 } });
  const one = planSetup(first, [VIP], null);
  const now = applyCommands(first, one.commands);
  // eth1 came up since, with arp_announce 1.
  const wider = { ...now, facing: ["eth0", "eth1"], sysctls: { ...now.sysctls } };
  wider.sysctls[arpKey("eth1", "arp_ignore")] = 0;
  wider.sysctls[arpKey("eth1", "arp_announce")] = 1;
  const two = planSetup(wider, [VIP, "198.18.0.101"], one.record);
  assert.deepEqual(lines(two.commands), [
    "sysctl -w net.ipv4.conf.eth1.arp_ignore=1",
    "sysctl -w net.ipv4.conf.eth1.arp_announce=2",
    "ip addr add 198.18.0.101/32 dev lo",
  ]);
  assert.deepEqual(two.record?.vips, [VIP, "198.18.0.101"]);
  assert.equal(two.record?.sysctls["net.ipv4.conf.all.arp_ignore"], 0);
  assert.equal(two.record?.sysctls["net.ipv4.conf.eth1.arp_announce"], 1);
});

Deno.test("remove takes the VIP off lo first, then puts back only the values that differ", () => {
  const facts = hostFacts({ sysctls: { [arpKey("eth0", "arp_announce")]: 1 } });
  const setup = planSetup(facts, [VIP], null);
  const remove = planRemove(applyCommands(facts, setup.commands), [VIP], setup.record);
  assert.deepEqual(lines(remove.commands), [
    "ip addr del 198.18.0.100/32 dev lo",
    "sysctl -w net.ipv4.conf.all.arp_ignore=0",
    "sysctl -w net.ipv4.conf.all.arp_announce=0",
    "sysctl -w net.ipv4.conf.eth0.arp_ignore=0",
    "sysctl -w net.ipv4.conf.eth0.arp_announce=1",
  ]);
  assert.equal(remove.record, null);
});

Deno.test("remove keeps a VIP that was on lo before setup", () => {
  const facts = withVip(hostFacts());
  const setup = planSetup(facts, [VIP], null);
  const remove = planRemove(applyCommands(facts, setup.commands), [VIP], setup.record);
  assert.equal(lines(remove.commands).some((l) => l.startsWith("ip addr del")), false);
  assert.deepEqual(remove.notes, ["198.18.0.100 was not added by setup: kept"]);
});

Deno.test("remove of one of two VIPs keeps the ARP settings the other still needs", () => {
  const facts = hostFacts();
  const setup = planSetup(facts, [VIP, "198.18.0.101"], null);
  const remove = planRemove(applyCommands(facts, setup.commands), [VIP], setup.record);
  assert.deepEqual(lines(remove.commands), ["ip addr del 198.18.0.100/32 dev lo"]);
  assert.deepEqual(remove.record?.vips, ["198.18.0.101"]);
  assert.deepEqual(remove.record?.sysctls, setup.record?.sysctls);
  assert.match(remove.notes[0], /kept: setup also added 198\.18\.0\.101/);
});

Deno.test("remove without a record takes the VIP off lo and sets the kernel defaults 0", () => {
  const facts = withVip(hostFacts({
    sysctls: { [arpKey("all", "arp_ignore")]: 1, [arpKey("eth0", "arp_announce")]: 2 },
  }));
  const remove = planRemove(facts, [VIP, "198.18.0.101"], null);
  assert.deepEqual(lines(remove.commands), [
    "ip addr del 198.18.0.100/32 dev lo",
    "sysctl -w net.ipv4.conf.all.arp_ignore=0",
    "sysctl -w net.ipv4.conf.eth0.arp_announce=0",
  ]);
  assert.equal(remove.record, null);
});

Deno.test("remove names a recorded sysctl whose interface is gone instead of failing", () => {
  const record = {
    version: 1 as const,
    vips: [VIP],
    sysctls: { "net.ipv4.conf.eth9.arp_ignore": 0 },
  };
  const remove = planRemove(withVip(hostFacts()), [VIP], record);
  assert.deepEqual(lines(remove.commands), ["ip addr del 198.18.0.100/32 dev lo"]);
  assert.match(remove.notes[0], /net\.ipv4\.conf\.eth9\.arp_ignore no longer exists/);
});

Deno.test("setup then remove gives back exactly the host it started from, whatever it was", () => {
  const value = fc.constantFrom(0, 1, 2, 3, 8);
  fc.assert(fc.property(
    fc.tuple(value, value, value, value),
    fc.boolean(),
    ([ai, aa, ei, ea], held) => {
      const start = hostFacts({
        sysctls: {
          [arpKey("all", "arp_ignore")]: ai,
          [arpKey("all", "arp_announce")]: aa,
          [arpKey("eth0", "arp_ignore")]: ei,
          [arpKey("eth0", "arp_announce")]: ea,
        },
      });
      const before = held ? withVip(start) : start;
      const setup = planSetup(before, [VIP], null);
      const ready = applyCommands(before, setup.commands);
      assert.deepEqual(planSetup(ready, [VIP], setup.record).commands, []);
      const remove = planRemove(ready, [VIP], setup.record);
      assert.deepEqual(applyCommands(ready, remove.commands), before);
    },
  ));
});

Deno.test("the sysctl.d file and the address snippet name every setting and VIP", () => {
  const facts = hostFacts({ sysctls: { [arpKey("eth0", "arp_ignore")]: 2 } });
  const conf = sysctlConf(facts);
  for (
    const line of [
      "net.ipv4.conf.all.arp_ignore = 1",
      "net.ipv4.conf.all.arp_announce = 2",
      "net.ipv4.conf.eth0.arp_ignore = 2",
      "net.ipv4.conf.eth0.arp_announce = 2",
    ]
  ) assert.ok(conf.split("\n").includes(line), `${line} in\n${conf}`);
  const snippet = addressSnippet([VIP, "198.18.0.101"]);
  for (const vip of [VIP, "198.18.0.101"]) {
    assert.ok(snippet.includes(`Address=${vip}/32`));
    assert.ok(snippet.includes(`up ip addr add ${vip}/32 dev lo`));
  }
  assert.ok(snippet.includes("[Address]"));
});
