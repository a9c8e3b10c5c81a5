/**
 * The configs `dsr ha keepalived` and `dsr ha bird` print, checked by the
 * real programs: BIRD parses its config (`bird -p`), and keepalived runs
 * with its config in two namespaces, elects a master, calls the notify and
 * check scripts as dsr would be called, and takes over when the master dies.
 * A script stands in for dsr and records how it is called.
 */

import assert from "node:assert/strict";
import { dsr, type DsrPaths, tempPaths } from "./_dsr.ts";
import { type NsProcess, nsSpawn, requireRoot, uniquePrefix, waitFor } from "./_netns.ts";

async function sh(...argv: string[]): Promise<string> {
  const out = await new Deno.Command(argv[0], { args: argv.slice(1), stdin: "null" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `${argv.join(" ")} exited ${out.code}: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return text;
}

Deno.test("dsr ha bird prints a config bird -p accepts", async () => {
  const paths = await tempPaths();
  try {
    const run = await dsr(paths, [
      "ha",
      "bird",
      "--table",
      "100",
      "--asn",
      "65001",
      "--peer",
      "198.18.1.1",
      "--peer-asn",
      "65000",
      "--router-id",
      "198.18.1.10",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const file = `${paths.dir}/bird.conf`;
    await Deno.writeTextFile(file, run.stdout);
    await sh("bird", "-p", "-c", file);
  } finally {
    await Deno.remove(paths.dir, { recursive: true });
  }
});

Deno.test("dsr ha bird and ha keepalived refuse bad input with one line and exit 2", async () => {
  const paths = await tempPaths();
  try {
    const cases: [string[], RegExp][] = [
      [
        ["ha", "bird", "--table", "254", "--asn", "1", "--peer", "198.18.1.1", "--peer-asn", "2"],
        /^dsr: error: invalid --table "254": expected a routing table number/,
      ],
      [
        ["ha", "bird", "--table", "100", "--asn", "0", "--peer", "198.18.1.1", "--peer-asn", "2"],
        /^dsr: error: invalid --asn "0": expected an AS number/,
      ],
      [
        ["ha", "bird", "--table", "100", "--asn", "1", "--peer", "rtr", "--peer-asn", "2"],
        /^dsr: error: invalid --peer "rtr"/,
      ],
      [
        ["ha", "keepalived", "--iface", "lo", "--peer", "198.18.0.9", "--priority", "300"],
        /^dsr: error: invalid --priority "300": expected a whole number from 1 to 254/,
      ],
      [
        ["ha", "keepalived", "--iface", "nosuch0", "--peer", "198.18.0.9", "--priority", "100"],
        /^dsr: error: interface nosuch0 does not exist/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await dsr(paths, args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.equal(r.stdout, "");
    }
  } finally {
    await Deno.remove(paths.dir, { recursive: true });
  }
});

/** One VRRP node: its namespace, address, recorded dsr calls and keepalived. */
interface Node {
  name: string;
  ns: string;
  ip: string;
  calls: string;
  conf: string;
  keepalived?: NsProcess;
}

/** Lines `seconds args…` the stand-in dsr of `node` recorded. */
async function callsOf(node: Node): Promise<{ at: number; args: string }[]> {
  const text = await Deno.readTextFile(node.calls).catch(() => "");
  return text.trim().split("\n").filter(Boolean).map((l) => {
    const sp = l.indexOf(" ");
    return { at: Number(l.slice(0, sp)) * 1000, args: l.slice(sp + 1) };
  });
}

function startKeepalived(node: Node, dir: string): NsProcess {
  return nsSpawn(node.ns, [
    "keepalived",
    "-n",
    "-l",
    "-D",
    "-P",
    "-G",
    "-f",
    node.conf,
    "-p",
    `${dir}/${node.name}.pid`,
    "-r",
    `${dir}/${node.name}-vrrp.pid`,
    "-c",
    `${dir}/${node.name}-checkers.pid`,
  ]);
}

/** Stops every process of a namespace at once, then kills them: a node dying, not shutting down. */
async function crash(ns: string): Promise<void> {
  const pids = (await sh("ip", "netns", "pids", ns)).split(/\s+/).filter(Boolean).map(Number);
  for (const pid of pids) Deno.kill(pid, "SIGSTOP");
  for (const pid of pids) Deno.kill(pid, "SIGKILL");
}

Deno.test("keepalived runs the printed config: one master promotes, the other demotes, and it takes over within 3 s of the master's death", async () => {
  requireRoot();
  const prefix = uniquePrefix();
  const dir = await Deno.makeTempDir({ prefix: "dsr-ha-" });
  const paths: DsrPaths = { dir, state: `${dir}/state.json`, socket: `${dir}/dsr.sock` };
  const nodes: Node[] = ["a", "b"].map((name, i) => ({
    name,
    ns: `${prefix}-${name}`,
    ip: `198.18.0.${10 + i}`,
    calls: `${dir}/${name}.calls`,
    conf: `${dir}/${name}.conf`,
  }));
  const [a, b] = nodes;
  try {
    for (const n of nodes) await sh("ip", "netns", "add", n.ns);
    await sh(
      "ip",
      "-n",
      a.ns,
      "link",
      "add",
      "eth0",
      "type",
      "veth",
      "peer",
      "eth0",
      "netns",
      b.ns,
    );
    for (const n of nodes) {
      await sh("ip", "-n", n.ns, "addr", "add", `${n.ip}/24`, "dev", "eth0");
      await sh("ip", "-n", n.ns, "link", "set", "eth0", "up");
      await sh("ip", "-n", n.ns, "link", "set", "lo", "up");
      // The stand-in dsr: records its arguments, and its check passes.
      const script = `${dir}/dsr-${n.name}`;
      await Deno.writeTextFile(
        script,
        `#!/bin/sh\necho "$(date +%s.%N) $*" >> ${n.calls}\nexit 0\n`,
      );
      await Deno.chmod(script, 0o755);
      const peer = n === a ? b.ip : a.ip;
      const printed = await dsr(paths, [
        "ha",
        "keepalived",
        "--iface",
        "eth0",
        "--peer",
        peer,
        "--priority",
        n === a ? "150" : "100",
        "--dsr-command",
        script,
      ], { ns: n.ns });
      assert.equal(printed.code, 0, printed.stderr);
      assert.match(printed.stdout, new RegExp(`unicast_src_ip ${n.ip.replaceAll(".", "\\.")}\\n`));
      await Deno.writeTextFile(n.conf, printed.stdout);
    }
    for (const n of nodes) n.keepalived = startKeepalived(n, dir);

    const socket = `--socket ${paths.socket}`;
    await waitFor("a to be promoted and b demoted", async () => {
      const [ca, cb] = [await callsOf(a), await callsOf(b)];
      return ca.some((c) => c.args === `${socket} ha promote`) &&
        cb.some((c) => c.args === `${socket} ha demote`);
    }, 10_000).catch((error) => {
      throw new Error(
        `${error.message}\na: ${a.keepalived!.output()}\nb: ${b.keepalived!.output()}`,
      );
    });
    await waitFor(
      "both to run the check",
      async () =>
        (await callsOf(a)).some((c) => c.args === `${socket} ha check --min-uptime 8`) &&
        (await callsOf(b)).some((c) => c.args === `${socket} ha check --min-uptime 8`),
      6_000,
    );
    assert.ok(!(await callsOf(b)).some((c) => c.args.endsWith("promote")), "b never promoted");
    const log = a.keepalived!.output() + b.keepalived!.output();
    assert.doesNotMatch(
      log,
      /unknown keyword|Unknown keyword|configuration error|SECURITY VIOLATION/i,
      log,
    );
    // keepalived added no address: the balancer's kernel must not own a VIP.
    for (const n of nodes) {
      const addrs = JSON.parse(
        await sh("ip", "-j", "-n", n.ns, "-4", "addr", "show", "dev", "eth0"),
      );
      assert.deepEqual(addrs[0].addr_info.map((x: { local: string }) => x.local), [n.ip]);
    }

    const died = Date.now();
    await crash(a.ns);
    const promoted = await waitFor(
      "b to be promoted",
      async () => (await callsOf(b)).find((c) => c.args === `${socket} ha promote`),
      10_000,
    );
    const took = Math.round(promoted.at - died);
    console.log(`keepalived takeover: notify_master ran ${took} ms after the master died`);
    assert.ok(took < 3_000, `took ${took} ms`);
  } finally {
    for (const n of nodes) await n.keepalived?.kill();
    for (const n of nodes) await sh("ip", "netns", "del", n.ns).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
