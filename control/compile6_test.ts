import assert from "node:assert/strict";
import { parseIpv4 } from "../dataplane/addr.ts";
import { ipv6Net, ipv6Words, parseIpv6 } from "../dataplane/addr6.ts";
import { Compiler, type RipConditions } from "./compile.ts";
import { parseConfig } from "./config.ts";
import type { IfaceInfo } from "./netinfo.ts";
import { isAdjacent } from "./netinfo.ts";

const IFACE: IfaceInfo = {
  name: "eth0",
  mac: "02:00:00:00:00:0a",
  mtu: 1500,
  addresses: ["198.18.0.10"],
  subnets: [{ base: parseIpv4("198.18.0.0"), prefix: 24 }],
  addresses6: ["2001:2::10"],
  subnets6: [ipv6Net(parseIpv6("2001:2::10"), 64)],
};

const UP: RipConditions = {
  resolved: () => true,
  healthy: () => true,
  adjacent: (ip) => isAdjacent(IFACE, ip),
};

const words = (text: string) => [...ipv6Words(parseIpv6(text))];

const DUAL = parseConfig({
  version: 1,
  vips: [
    { vip: "198.18.0.100", port: 80, rips: [{ ip: "198.18.0.11" }] },
    {
      vip: "2001:2::100",
      port: 80,
      fallback: "2001:2::99",
      rips: [{ ip: "2001:2::11" }, { ip: "2001:2::12" }],
    },
  ],
});

Deno.test("an IPv6 service compiles to its VIP's words, its real servers to IPv6 neighbour slots", () => {
  const compiled = new Compiler(IFACE).compile(DUAL, UP);
  const p = compiled.program;
  const v6 = p.services.find((s) => s.vip6 !== undefined)!;
  assert.deepEqual([...v6.vip6!], words("2001:2::100"));
  assert.equal(v6.vip, 0);
  assert.equal(p.services.find((s) => s.vip6 === undefined)!.vip, parseIpv4("198.18.0.100"));
  for (const ip of ["2001:2::11", "2001:2::12", "2001:2::99"]) {
    const rip = compiled.rips.get(`[2001:2::100]:80/tcp|${ip === "2001:2::99" ? "fallback" : ip}`)!;
    assert.equal(rip.state, "up", ip);
    assert.equal(p.neighborIps[rip.neighbor], 0, `${ip} has no IPv4 slot address`);
    assert.deepEqual(
      [...p.neighborIps6!.subarray(rip.neighbor * 4, rip.neighbor * 4 + 4)],
      words(ip),
    );
  }
  const v4 = compiled.rips.get("198.18.0.100:80/tcp|198.18.0.11")!;
  assert.equal(p.neighborIps[v4.neighbor], parseIpv4("198.18.0.11"));
  assert.deepEqual([...p.ip6!], words("2001:2::10"));
  assert.equal(p.ip, parseIpv4("198.18.0.10"));
});

Deno.test("a new IPv6 VIP is announced by unsolicited NA once, an IPv4 one by gratuitous ARP", () => {
  const compiler = new Compiler(IFACE);
  const first = compiler.compile(DUAL, UP);
  assert.deepEqual(first.program.garp, [parseIpv4("198.18.0.100")]);
  assert.deepEqual(first.program.garp6!.map((w) => [...w]), [words("2001:2::100")]);
  compiler.adopt(first);
  const again = compiler.compile(DUAL, UP);
  assert.deepEqual(again.program.garp, []);
  assert.deepEqual(again.program.garp6, []);
});

Deno.test("an IPv4-only configuration makes no IPv6 neighbour table", () => {
  const config = parseConfig({
    version: 1,
    vips: [{ vip: "198.18.0.100", port: 80, rips: [{ ip: "198.18.0.11" }] }],
  });
  assert.equal(new Compiler(IFACE).compile(config, UP).program.neighborIps6, undefined);
});

Deno.test("an IPv6 real server off the interface's IPv6 subnets is unresolved", () => {
  const config = parseConfig({
    version: 1,
    vips: [{ vip: "2001:2::100", port: 80, rips: [{ ip: "2001:2:7::11" }] }],
  });
  const compiled = new Compiler(IFACE).compile(config, UP);
  assert.equal(compiled.rips.get("[2001:2::100]:80/tcp|2001:2:7::11")!.state, "unresolved");
  const none = new Compiler({ ...IFACE, addresses6: [], subnets6: [] }).compile(config, {
    ...UP,
    adjacent: (ip) => isAdjacent({ ...IFACE, subnets6: [] }, ip),
  });
  assert.equal(none.program.ip6, undefined);
});
