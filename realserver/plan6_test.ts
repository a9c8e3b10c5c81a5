import assert from "node:assert/strict";
import { applyCommands, hostFacts } from "./_fixture.ts";
import { checkFacts } from "./check.ts";
import { parseLinks } from "./linux.ts";
import { addressSnippet, planRemove, planSetup } from "./plan.ts";

const VIP6 = "2001:2::100";
const VIP4 = "198.18.0.100";

Deno.test("setup of an IPv6 VIP puts it on lo as /128 and sets no ARP sysctl", () => {
  const facts = hostFacts();
  const plan = planSetup(facts, [VIP6], null);
  assert.deepEqual(plan.commands, [["ip", "addr", "add", `${VIP6}/128`, "dev", "lo"]]);
  assert.deepEqual(plan.record?.vips, [VIP6]);
  const after = applyCommands(facts, plan.commands);
  assert.deepEqual(
    planSetup(after, [VIP6], plan.record).commands,
    [],
    "a second run changes nothing",
  );
  const findings = checkFacts(after, [VIP6]);
  assert.deepEqual(findings.map((f) => [f.check, f.ok]), [["vip-on-lo", true]]);
});

Deno.test("setup of both families sets the ARP sysctls for the IPv4 one", () => {
  const plan = planSetup(hostFacts(), [VIP4, VIP6], null);
  assert.ok(plan.commands.some((c) => c[0] === "sysctl"));
  assert.ok(plan.commands.some((c) => c.join(" ") === `ip addr add ${VIP6}/128 dev lo`));
  assert.ok(plan.commands.some((c) => c.join(" ") === `ip addr add ${VIP4}/32 dev lo`));
});

Deno.test("check names an IPv6 VIP missing from lo, or with a wider prefix, and the fix", () => {
  const [missing] = checkFacts(hostFacts(), [VIP6]);
  assert.deepEqual([missing.ok, missing.found, missing.fix], [
    false,
    "absent",
    `ip addr add ${VIP6}/128 dev lo`,
  ]);
  const wide = hostFacts({
    addresses: [...hostFacts().addresses, { ip: VIP6, prefix: 64, iface: "lo" }],
  });
  const [found] = checkFacts(wide, [VIP6]);
  assert.equal(found.ok, false);
  assert.equal(found.fix, `ip addr del ${VIP6}/64 dev lo && ip addr add ${VIP6}/128 dev lo`);
});

Deno.test("remove takes the IPv6 VIP off lo; the snippet keeps it as /128", () => {
  const facts = applyCommands(hostFacts(), planSetup(hostFacts(), [VIP6], null).commands);
  const plan = planRemove(facts, [VIP6], { version: 1, vips: [VIP6], sysctls: {} });
  assert.deepEqual(plan.commands, [["ip", "addr", "del", `${VIP6}/128`, "dev", "lo"]]);
  assert.match(addressSnippet([VIP6]), /Address=2001:2::100\/128/);
});

Deno.test("parseLinks reads global IPv6 addresses in RFC 5952 form, not link-local or ::1", () => {
  const facts = parseLinks([
    {
      ifname: "lo",
      flags: ["UP"],
      addr_info: [
        { family: "inet6", local: "::1", prefixlen: 128 },
        { family: "inet6", local: "2001:2:0:0::100", prefixlen: 128 },
      ],
    },
    {
      ifname: "eth0",
      flags: ["UP"],
      addr_info: [{ family: "inet6", local: "fe80::1", prefixlen: 64 }],
    },
  ]);
  assert.deepEqual(facts.addresses, [{ ip: VIP6, prefix: 128, iface: "lo" }]);
});
