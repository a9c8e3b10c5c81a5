import assert from "node:assert/strict";
import { labDescribe, labDown, labUp, nsExec } from "./topology.ts";
import { nsSpawn, requireRoot, uniquePrefix, waitFor, withLab } from "../test/_netns.ts";
import { DSR } from "../test/_dsr.ts";

async function netnsNames(): Promise<string[]> {
  const out = await new Deno.Command("ip", { args: ["-j", "netns", "list"] }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  return text === "" ? [] : (JSON.parse(text) as { name: string }[]).map((n) => n.name);
}

async function curl(ns: string, url: string) {
  return await nsExec(ns, ["curl", "-sS", "--connect-timeout", "1", "--max-time", "3", url]);
}

Deno.test("lab joins client and real servers on one bridge, the ARP problem solved", async () => {
  requireRoot();
  let prefix = "";
  await withLab({ servers: 2 }, async (lab) => {
    prefix = lab.prefix;
    assert.deepEqual(
      (await netnsNames()).filter((n) => n.startsWith(`${prefix}-`)).sort(),
      ["br", "client", "lb", "rs1", "rs2"].map((n) => `${prefix}-${n}`),
    );
    assert.deepEqual(lab.servers.map((s) => [s.name, s.ip, s.mac]), [
      ["rs1", "198.18.0.11", "02:00:c6:12:00:0b"],
      ["rs2", "198.18.0.12", "02:00:c6:12:00:0c"],
    ]);
    assert.deepEqual(await labDescribe(prefix), lab);

    const server = nsSpawn(lab.servers[0].ns, [...DSR, "lab", "serve", "--name", "rs1"]);
    try {
      const body = await waitFor("rs1 to answer over the bridge", async () => {
        const r = await curl(lab.client.ns, "http://198.18.0.11/");
        return r.code === 0 ? r.stdout : "";
      }, 15_000).catch((e) => assert.fail(`${e.message}\n${server.output()}`));
      assert.equal(body, "rs1 198.18.0.2\n");
      const neigh = await nsExec(lab.client.ns, ["ip", "neigh", "show", "198.18.0.11"]);
      assert.match(neigh.stdout, /lladdr 02:00:c6:12:00:0b/);

      // rs1 listens on 0.0.0.0:80 with the VIP on lo: only the ARP settings
      // keep it from answering for the VIP while no balancer runs.
      const viaVip = await curl(lab.client.ns, `http://${lab.vip}/`);
      assert.notEqual(viaVip.code, 0, `the VIP answered: ${viaVip.stdout}`);
      const vipNeigh = await nsExec(lab.client.ns, ["ip", "neigh", "show", lab.vip]);
      assert.doesNotMatch(vipNeigh.stdout, /lladdr/);
    } finally {
      await server.kill();
    }

    for (const rs of lab.servers) {
      const lo = await nsExec(rs.ns, ["ip", "-4", "-o", "addr", "show", "dev", "lo"]);
      assert.match(lo.stdout, /inet 198\.18\.0\.100\/32 /);
      const arp = await nsExec(rs.ns, [
        "sysctl",
        "-n",
        "net.ipv4.conf.all.arp_ignore",
        "net.ipv4.conf.all.arp_announce",
      ]);
      assert.equal(arp.stdout, "1\n2\n");
    }
    const lb = lab.balancer.ns;
    assert.equal((await nsExec(lb, ["sysctl", "-n", "net.ipv4.ip_forward"])).stdout, "0\n");
    const lbAddrs = await nsExec(lb, ["ip", "-4", "-o", "addr"]);
    assert.doesNotMatch(lbAddrs.stdout, /198\.18\.0\.100/);
    const offloads = await nsExec(lb, ["ethtool", "-k", "eth0"], { check: true });
    for (const feature of ["tx-checksumming", "generic-segmentation-offload", "generic-receive"]) {
      assert.match(offloads.stdout, new RegExp(`^${feature}[\\w-]*: off`, "m"));
    }
  });
  assert.deepEqual((await netnsNames()).filter((n) => n.startsWith(`${prefix}-`)), []);
  assert.equal(await labDescribe(prefix), null);
});

Deno.test("labDown on a missing prefix does nothing", async () => {
  requireRoot();
  const before = await netnsNames();
  await labDown(uniquePrefix());
  assert.deepEqual(await netnsNames(), before);
});

Deno.test("two labs with different prefixes coexist, and a taken prefix is refused", async () => {
  requireRoot();
  await withLab({ servers: 1 }, async (a) => {
    await withLab({ servers: 1, vip: "198.19.0.1" }, async (b) => {
      assert.notEqual(a.prefix, b.prefix);
      assert.equal((await labDescribe(b.prefix))?.vip, "198.19.0.1");
      for (const lab of [a, b]) {
        // Same addresses in both labs, kept apart by their bridges.
        const hello = nsSpawn(lab.servers[0].ns, [...DSR, "lab", "serve", "--name", lab.prefix]);
        try {
          const body = await waitFor(`${lab.prefix} rs1`, async () => {
            const res = await curl(lab.client.ns, "http://198.18.0.11/");
            return res.code === 0 ? res.stdout : "";
          }, 15_000);
          assert.equal(body, `${lab.prefix} 198.18.0.2\n`);
        } finally {
          await hello.kill();
        }
      }
    });
    await assert.rejects(labUp({ prefix: a.prefix }), /already exist/);
    assert.ok(await labDescribe(a.prefix), "a refused labUp must not remove the existing lab");
  });
});

Deno.test("labUp rejects bad options before creating anything", async () => {
  requireRoot();
  const prefix = uniquePrefix();
  await assert.rejects(labUp({ prefix, servers: 0 }), RangeError);
  await assert.rejects(labUp({ prefix, servers: 21 }), RangeError);
  await assert.rejects(labUp({ prefix, vip: "10.0.0.1" }), /198\.18\.0\.0\/15/);
  await assert.rejects(labUp({ prefix, vip: "198.18.0.10" }), RangeError);
  await assert.rejects(labUp({ prefix: "bad prefix" }), RangeError);
  assert.equal(await labDescribe(prefix), null);
});
