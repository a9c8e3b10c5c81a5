/**
 * `dsr realserver setup`, `check` and `--remove` for an IPv6 VIP (SPEC §12),
 * for real inside a fresh network namespace standing in for a real server:
 * the VIP goes on `lo` as /128 and no ARP sysctl is touched, since Linux
 * answers no Neighbor Solicitation on one interface for an address of another.
 */

import assert from "node:assert/strict";
import { nsExec } from "../lab/topology.ts";
import { dsr, tempPaths } from "./_dsr.ts";
import { requireRoot, uniquePrefix } from "./_netns.ts";

const VIP6 = "2001:2::100";

Deno.test("realserver setup, check and remove of an IPv6 VIP in a namespace: /128 on lo and nothing else", async () => {
  requireRoot();
  const ns = `${uniquePrefix()}-rs6`;
  const paths = await tempPaths();
  const env = { DSR_SYSCTL_DIR: `${paths.dir}/sysctl.d` };
  const run = (args: string[]) => dsr(paths, args, { ns, env });
  const lo6 = async () =>
    (JSON.parse((await nsExec(ns, ["ip", "-j", "-6", "addr", "show", "dev", "lo"])).stdout)[0]
      ?.addr_info ?? []).map((a: { local: string; prefixlen: number }) =>
        `${a.local}/${a.prefixlen}`
      );
  const arp = async () =>
    (await nsExec(ns, [
      "sysctl",
      "-n",
      "net.ipv4.conf.all.arp_ignore",
      "net.ipv4.conf.all.arp_announce",
    ]))
      .stdout.trim().split("\n");
  try {
    for (
      const cmd of [
        ["ip", "netns", "add", ns],
        ["ip", "-n", ns, "link", "set", "lo", "up"],
        ["ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "peer0"],
        ["ip", "-n", ns, "addr", "add", "2001:2::50/64", "dev", "eth0", "nodad"],
        ["ip", "-n", ns, "link", "set", "eth0", "up"],
      ]
    ) {
      const out = await new Deno.Command(cmd[0], { args: cmd.slice(1), stderr: "piped" }).output();
      assert.ok(out.success, `${cmd.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
    }
    const before = await run(["realserver", "check", "--vip", VIP6]);
    assert.equal(before.code, 1, before.stdout + before.stderr);
    assert.match(before.stdout, /ip addr add 2001:2::100\/128 dev lo/);

    const setup = await run(["realserver", "setup", "--vip", "2001:0002::0100"]);
    assert.equal(setup.code, 0, setup.stderr);
    assert.ok((await lo6()).includes(`${VIP6}/128`), String(await lo6()));
    assert.deepEqual(await arp(), ["0", "0"], "no ARP sysctl changed for an IPv6 VIP");
    const again = await run(["realserver", "setup", "--vip", VIP6]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /no change/);

    const check = await run(["realserver", "check", "--vip", VIP6, "--json"]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    const findings = JSON.parse(check.stdout).findings as { check: string; ok: boolean }[];
    assert.deepEqual(findings.map((f) => [f.check, f.ok]), [["vip-on-lo", true]]);

    const remove = await run(["realserver", "setup", "--vip", VIP6, "--remove"]);
    assert.equal(remove.code, 0, remove.stderr);
    assert.ok(!(await lo6()).includes(`${VIP6}/128`), String(await lo6()));
  } finally {
    await new Deno.Command("ip", { args: ["netns", "del", ns], stderr: "null" }).output();
    await Deno.remove(paths.dir, { recursive: true });
  }
});
