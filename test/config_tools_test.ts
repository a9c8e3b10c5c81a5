/**
 * `dsr config apply --dry-run` and `dsr config import` as an operator
 * moving from keepalived uses them: the keepalived.conf of the lab's
 * balancer becomes a document, a dry run against the running daemon says
 * what would change and changes nothing (keepalived's --config-test), and
 * the applied document forwards.
 */

import assert from "node:assert/strict";
import { nsExec } from "../lab/topology.ts";
import { dsr, dsrOk, startDaemon, startServers, status, stopAll, tempPaths } from "./_dsr.ts";
import { requireRoot, waitFor, withLab } from "./_netns.ts";

Deno.test("a keepalived.conf imports; a dry run against the daemon prints the changes and changes nothing, and refuses a real server off the subnet with exit 2; then it applies and forwards", async () => {
  requireRoot();
  await withLab({ servers: 2 }, async (lab) => {
    const paths = await tempPaths();
    const processes = startServers(lab);
    try {
      const [rs1, rs2] = lab.servers;
      const conf = `${paths.dir}/keepalived.conf`;
      await Deno.writeTextFile(
        conf,
        `global_defs {
    router_id LVS_LAB
}
virtual_server ${lab.vip} 80 {
    delay_loop 1
    lb_algo wrr
    lb_kind DR
    persistence_timeout 30
    protocol TCP
    real_server ${rs1.ip} 80 {
        weight 1
        HTTP_GET {
            url {
              path /
              status_code 200
            }
            connect_timeout 1
            retry 2
        }
    }
    real_server ${rs2.ip} 80 {
        weight 2
        HTTP_GET {
            url {
              path /
              status_code 200
            }
            connect_timeout 1
            retry 2
        }
    }
}
`,
      );
      const imported = await dsr(paths, ["config", "import", "--from", "keepalived", conf]);
      assert.equal(imported.code, 0, imported.stderr);
      assert.equal(imported.stderr, "");
      const doc = `${paths.dir}/dsr.json`;
      await Deno.writeTextFile(doc, imported.stdout);

      await dsrOk(paths, ["timeout", "set", "--udp", "200"]);
      processes.push(await startDaemon(paths, lab));
      const stateBefore = await Deno.readTextFile(paths.state);
      const dry = await dsr(paths, ["config", "apply", "-f", doc, "--dry-run"]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal(
        dry.stdout,
        [
          "set timeouts udp=300",
          `add vip ${lab.vip}:80/tcp`,
          `add rip ${rs1.ip} to ${lab.vip}:80/tcp`,
          `add rip ${rs2.ip} to ${lab.vip}:80/tcp`,
          "",
        ].join("\n"),
      );
      assert.equal(
        await Deno.readTextFile(paths.state),
        stateBefore,
        "the state file is untouched",
      );
      assert.deepEqual((await status(paths)).vips, [], "the daemon runs no new service");

      const off = JSON.parse(imported.stdout);
      off.vips[0].rips.push({ ip: "198.19.0.9" });
      await Deno.writeTextFile(`${paths.dir}/off.json`, JSON.stringify(off));
      const refused = await dsr(paths, [
        "config",
        "apply",
        "-f",
        `${paths.dir}/off.json`,
        "--dry-run",
      ]);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /^dsr: error: .*198\.19\.0\.9.* is not on 198\.18\.0\.0\/24/);
      assert.equal(await Deno.readTextFile(paths.state), stateBefore);

      assert.equal((await dsr(paths, ["config", "apply", "-f", doc])).code, 0);
      const s = await waitFor("both real servers up", async () => {
        const st = await status(paths);
        return st.vips[0]?.rips.every((r) => r.state === "up" && r.check?.ok) ? st : null;
      });
      assert.deepEqual(
        s.vips.map((v) => ({ scheduler: v.scheduler, rips: v.rips.map((r) => [r.ip, r.weight]) })),
        [{ scheduler: "wrr", rips: [[rs1.ip, 1], [rs2.ip, 2]] }],
      );
      const answer = await nsExec(lab.client.ns, ["curl", "-s", "-m", "2", `http://${lab.vip}/`]);
      assert.match(
        answer.stdout,
        new RegExp(`^rs[12] ${lab.client.ip.replaceAll(".", "\\.")}$`, "m"),
      );
      const again = await dsr(paths, ["config", "apply", "-f", doc, "--dry-run"]);
      assert.equal(again.stdout, "no change\n");
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});

Deno.test("without a daemon a dry run compares with the state file and writes nothing; an invalid file exits 2", async () => {
  const paths = await tempPaths();
  try {
    await dsrOk(paths, ["vip", "add", "198.18.0.100:80"]);
    const before = await Deno.readTextFile(paths.state);
    const doc = JSON.parse(before);
    doc.vips[0].scheduler = "rr";
    await Deno.writeTextFile(`${paths.dir}/next.json`, JSON.stringify(doc));
    const dry = await dsr(paths, ["config", "apply", "-f", `${paths.dir}/next.json`, "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(dry.stdout, 'set vip 198.18.0.100:80/tcp scheduler="rr"\n');
    assert.equal(await Deno.readTextFile(paths.state), before);

    doc.vips[0].rips = [{ ip: "198.18.0.11", weight: -1 }];
    await Deno.writeTextFile(`${paths.dir}/bad.json`, JSON.stringify(doc));
    const bad = await dsr(paths, ["config", "apply", "-f", `${paths.dir}/bad.json`, "--dry-run"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^dsr: error: .*bad\.json: vips\[0\]\.rips\[0\]\.weight: /);
    assert.equal(await Deno.readTextFile(paths.state), before);
  } finally {
    await Deno.remove(paths.dir, { recursive: true });
  }
});

Deno.test("config import names the line it refuses, exits 2 and prints no document", async () => {
  const paths = await tempPaths();
  try {
    const file = `${paths.dir}/rules`;
    await Deno.writeTextFile(
      file,
      "-A -t 198.18.0.100:80 -s rr\n-a -t 198.18.0.100:80 -r 198.18.0.11:80 -m -w 1\n",
    );
    const nat = await dsr(paths, ["config", "import", "--from", "ipvsadm", file]);
    assert.equal(nat.code, 2);
    assert.equal(nat.stdout, "");
    assert.match(
      nat.stderr,
      /^dsr: error: .*rules: line 2: masquerading \(-m, NAT\) is not direct routing/,
    );
    const kept = await dsr(paths, [
      "config",
      "import",
      "--from",
      "keepalived",
      `${
        new URL("../control/testdata/keepalived/keepalived.conf.SSL_GET", import.meta.url).pathname
      }`,
    ]);
    assert.equal(kept.code, 2);
    assert.match(
      kept.stderr,
      /keepalived\.conf\.SSL_GET: line 33: lb_kind NAT is not direct routing/,
    );
  } finally {
    await Deno.remove(paths.dir, { recursive: true });
  }
});
