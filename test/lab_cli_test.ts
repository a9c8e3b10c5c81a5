/**
 * `dsr lab up` and `dsr lab down` as an operator runs them: through the
 * declared permission set, with the lab's balancer on the same socket and
 * state file as every other command.
 */

import assert from "node:assert/strict";
import { labDescribe, nsExec } from "../lab/topology.ts";
import { dsr, status, tempPaths } from "./_dsr.ts";
import { requireRoot, uniquePrefix, waitFor } from "./_netns.ts";

async function labProcesses(paths: { socket: string }): Promise<number> {
  const out = await new Deno.Command("pgrep", { args: ["-f", paths.socket], stdout: "piped" })
    .output();
  return new TextDecoder().decode(out.stdout).trim().split("\n").filter(Boolean).length;
}

Deno.test("dsr lab up serves the VIP through the balancer; dsr status sees it; dsr lab down removes everything", async () => {
  requireRoot();
  const paths = await tempPaths();
  const prefix = uniquePrefix();
  const env = { DSR_LAB_PREFIX: prefix };
  try {
    const up = await dsr(paths, ["lab", "up", "--servers", "2"], { env });
    assert.equal(up.code, 0, up.stderr);
    const lab = await labDescribe(prefix);
    assert.ok(lab, "the lab exists");
    const answers = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const r = await nsExec(lab.client.ns, ["curl", "-s", "-m", "3", `http://${lab.vip}/`], {
        check: true,
      });
      answers.add(r.stdout.trim());
    }
    assert.deepEqual([...answers].sort(), ["rs1 198.18.0.2", "rs2 198.18.0.2"]);
    // The lab is dual stack: the IPv6 VIP is served the same way.
    const answers6 = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const r = await nsExec(lab.client.ns, ["curl", "-s", "-m", "3", `http://[${lab.vip6}]/`], {
        check: true,
      });
      answers6.add(r.stdout.trim());
    }
    assert.deepEqual([...answers6].sort(), ["rs1 2001:2::2", "rs2 2001:2::2"]);
    const s = await status(paths);
    assert.equal(s.vips[0].connections, 20);
    assert.deepEqual(s.vips[0].rips.map((r) => r.state), ["up", "up"]);
    const v6 = s.vips.find((v) => v.vip === lab.vip6);
    assert.equal(v6?.connections, 20);
    assert.deepEqual(v6?.rips.map((r) => r.ip), ["2001:2::11", "2001:2::12"]);

    const down = await dsr(paths, ["lab", "down"], { env });
    assert.equal(down.code, 0, down.stderr);
    assert.equal(await labDescribe(prefix), null);
    await waitFor(
      "the lab's balancer to be gone",
      async () => (await labProcesses(paths)) === 0,
      5000,
    );
    const log = await Deno.readTextFile(`${paths.dir}/lab-balancer.log`);
    assert.match(log, /dsr: stopped/, "the balancer stopped gracefully");
  } finally {
    await dsr(paths, ["lab", "down"], { env });
    await Deno.remove(paths.dir, { recursive: true });
  }
});
