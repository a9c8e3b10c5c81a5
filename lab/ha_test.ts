import assert from "node:assert/strict";
import { birdArgv, keepalivedArgv, nodePaths, routerBirdConfig } from "./ha.ts";
import { labDescribe, nsExec } from "./topology.ts";
import { requireRoot, withLab } from "../test/_netns.ts";

Deno.test("nodePaths: the first balancer keeps the lab's paths, the second gets .lb2 names", () => {
  const paths = { socket: "/run/dsr/dsr.sock", state: "/var/lib/dsr/state.json" };
  assert.equal(nodePaths(paths, 0), paths);
  assert.deepEqual(nodePaths(paths, 1), {
    socket: "/run/dsr/dsr.lb2.sock",
    state: "/var/lib/dsr/state.lb2.json",
  });
  assert.deepEqual(nodePaths({ socket: "/tmp/x.d/sock", state: "/tmp/x.d/state" }, 1), {
    socket: "/tmp/x.d/sock.lb2",
    state: "/tmp/x.d/state.lb2",
  });
});

Deno.test("keepalived and BIRD run in the foreground with their files beside the config", () => {
  assert.deepEqual(keepalivedArgv("/d/lb-keepalived.conf").slice(0, 5), [
    "keepalived",
    "--dont-fork",
    "--log-console",
    "--log-detail",
    "--vrrp",
  ]);
  assert.ok(keepalivedArgv("/d/lb-keepalived.conf").includes("/d/lb-keepalived-vrrp.pid"));
  assert.deepEqual(birdArgv("/d/router-bird.conf"), [
    "bird",
    "-f",
    "-c",
    "/d/router-bird.conf",
    "-s",
    "/d/router-bird.ctl",
    "-P",
    "/d/router-bird.pid",
  ]);
});

Deno.test("the BGP lab: a router between client and bridge, with ECMP on the 5-tuple and a config BIRD accepts", async () => {
  requireRoot();
  await withLab({ servers: 1, ha: "bgp" }, async (lab) => {
    assert.equal(lab.ha, "bgp");
    assert.deepEqual(lab.balancers.map((b) => [b.name, b.ip]), [
      ["lb", "198.18.0.10"],
      ["lb2", "198.18.0.9"],
    ]);
    assert.equal(lab.balancer, lab.balancers[0]);
    assert.deepEqual([lab.router?.ip, lab.client.ip], ["198.18.0.1", "198.18.1.2"]);
    assert.deepEqual(await labDescribe(lab.prefix), lab);

    const sysctl = await nsExec(lab.router!.ns, [
      "sysctl",
      "-n",
      "net.ipv4.ip_forward",
      "net.ipv4.fib_multipath_hash_policy",
      "net.ipv4.fib_multipath_hash_fields",
    ], { check: true });
    assert.deepEqual(
      sysctl.stdout.trim().split("\n"),
      ["1", "3", "55"],
      "0x37 = 55: addresses, protocol, ports",
    );
    const route = await nsExec(lab.client.ns, ["ip", "route", "show", "default"]);
    assert.match(route.stdout, /^default via 198\.18\.1\.1 dev eth0/);
    const back = await nsExec(lab.servers[0].ns, ["ip", "route", "show", "198.18.1.0/24"]);
    assert.match(back.stdout, /via 198\.18\.0\.1 dev eth0/);
    // The client reaches a real server through the router (no balancer involved).
    const ping = await nsExec(lab.client.ns, ["ping", "-c", "1", "-W", "2", lab.servers[0].ip]);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);

    const dir = await Deno.makeTempDir({ prefix: "dsr-lab-ha-" });
    try {
      const conf = `${dir}/router.conf`;
      await Deno.writeTextFile(conf, routerBirdConfig(lab));
      const parsed = await new Deno.Command("bird", { args: ["-p", "-c", conf] }).output();
      assert.equal(parsed.code, 0, new TextDecoder().decode(parsed.stderr));
      const text = routerBirdConfig(lab);
      assert.match(text, /merge paths on;/);
      assert.match(text, /neighbor 198\.18\.0\.10 as 65001;/);
      assert.match(text, /neighbor 198\.18\.0\.9 as 65001;/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("the VRRP lab: two balancers and the client on one bridge, no router", async () => {
  requireRoot();
  await withLab({ servers: 1, ha: "vrrp" }, async (lab) => {
    assert.equal(lab.ha, "vrrp");
    assert.equal(lab.router, null);
    assert.equal(lab.client.ip, "198.18.0.2");
    assert.deepEqual(lab.balancers.map((b) => b.name), ["lb", "lb2"]);
    assert.deepEqual(await labDescribe(lab.prefix), lab);
    for (const b of lab.balancers) {
      const fwd = await nsExec(b.ns, ["sysctl", "-n", "net.ipv4.ip_forward"], { check: true });
      assert.equal(fwd.stdout.trim(), "0");
    }
    const ping = await nsExec(lab.client.ns, ["ping", "-c", "1", "-W", "2", "198.18.0.9"]);
    assert.equal(ping.code, 0, ping.stdout);
    assert.throws(() => routerBirdConfig(lab), /has no router/);
  });
});

Deno.test("a lab without --ha is the single-balancer lab it always was", async () => {
  requireRoot();
  await withLab({ servers: 1 }, async (lab) => {
    assert.deepEqual([lab.ha, lab.router, lab.balancers], [null, null, [lab.balancer]]);
    assert.deepEqual(await labDescribe(lab.prefix), lab);
  });
});
