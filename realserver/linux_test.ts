import assert from "node:assert/strict";
import { hostFacts } from "./_fixture.ts";
import { arpKey, arpValueOk, type IpLink, parseLinks, vipState } from "./linux.ts";

const link = (ifname: string, flags: string[], ...inet: string[]): IpLink => ({
  ifname,
  flags,
  addr_info: [
    ...inet.map((a) => ({
      family: "inet",
      local: a.split("/")[0],
      prefixlen: Number(a.split("/")[1]),
    })),
    { family: "inet6", local: "fe80::1", prefixlen: 64 },
  ],
});

Deno.test("parseLinks: facing interfaces are up, hold an IPv4 address, and are not lo", () => {
  const facts = parseLinks([
    link("lo", ["LOOPBACK", "UP", "LOWER_UP"], "127.0.0.1/8", "198.18.0.100/32"),
    link("eth0", ["BROADCAST", "UP", "LOWER_UP"], "198.18.0.50/24"),
    link("eth1", ["BROADCAST", "UP", "NO-CARRIER"], "10.0.0.5/8"),
    link("eth2", ["BROADCAST"], "192.0.2.9/24"),
    link("eth3", ["BROADCAST", "UP"]),
    { ifname: "ifb0", flags: ["NOARP"] },
  ]);
  assert.deepEqual(facts.facing, ["eth0", "eth1"]);
  assert.equal(facts.loUp, true);
  assert.deepEqual(facts.addresses, [
    { ip: "127.0.0.1", prefix: 8, iface: "lo" },
    { ip: "198.18.0.100", prefix: 32, iface: "lo" },
    { ip: "198.18.0.50", prefix: 24, iface: "eth0" },
    { ip: "10.0.0.5", prefix: 8, iface: "eth1" },
    { ip: "192.0.2.9", prefix: 24, iface: "eth2" },
  ]);
  assert.equal(parseLinks([link("lo", ["LOOPBACK"], "127.0.0.1/8")]).loUp, false);
});

Deno.test("arpKey writes a dot in an interface name as a slash, as sysctl reads it", () => {
  assert.equal(arpKey("all", "arp_ignore"), "net.ipv4.conf.all.arp_ignore");
  assert.equal(arpKey("eth0.100", "arp_announce"), "net.ipv4.conf.eth0/100.arp_announce");
});

Deno.test("arpValueOk accepts only the values that keep a global VIP on lo out of ARP", () => {
  const ok = (name: "arp_ignore" | "arp_announce") =>
    [0, 1, 2, 3, 4, 5, 8].filter((v) => arpValueOk(name, v));
  assert.deepEqual(ok("arp_ignore"), [1, 2, 8]);
  assert.deepEqual(ok("arp_announce"), [2]);
});

Deno.test("vipState: a VIP as /32 on an up lo is right; missing or lo down setup can fix", () => {
  const vip = "198.18.0.100";
  assert.deepEqual(vipState(hostFacts(), vip), {
    ok: false,
    fixable: true,
    found: "absent",
    fix: [["ip", "addr", "add", "198.18.0.100/32", "dev", "lo"]],
  });
  const on = { ip: vip, prefix: 32, iface: "lo" };
  const held = hostFacts({ addresses: [...hostFacts().addresses, on] });
  assert.deepEqual(vipState(held, vip), {
    ok: true,
    fixable: true,
    found: "198.18.0.100/32 on lo",
    fix: [],
  });
  assert.deepEqual(vipState({ ...held, loUp: false }, vip), {
    ok: false,
    fixable: true,
    found: "198.18.0.100/32 on lo; lo is down",
    fix: [["ip", "link", "set", "lo", "up"]],
  });
});

Deno.test("vipState: a VIP with a wider prefix on lo, or on a LAN interface, is a problem setup leaves alone", () => {
  const vip = "198.18.0.100";
  const wide = hostFacts({
    addresses: [...hostFacts().addresses, { ip: vip, prefix: 24, iface: "lo" }],
  });
  assert.deepEqual(vipState(wide, vip), {
    ok: false,
    fixable: false,
    found: "198.18.0.100/24 on lo",
    fix: [
      ["ip", "addr", "del", "198.18.0.100/24", "dev", "lo"],
      ["ip", "addr", "add", "198.18.0.100/32", "dev", "lo"],
    ],
  });
  const lan = hostFacts({
    addresses: [
      ...hostFacts().addresses,
      { ip: vip, prefix: 32, iface: "lo" },
      { ip: vip, prefix: 24, iface: "eth0" },
    ],
  });
  const state = vipState(lan, vip);
  assert.equal(state.fixable, false);
  assert.equal(state.found, "198.18.0.100/32 on lo, 198.18.0.100/24 on eth0");
  assert.deepEqual(state.fix, [["ip", "addr", "del", "198.18.0.100/24", "dev", "eth0"]]);
});
