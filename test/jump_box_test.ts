/**
 * From a jump box (SPEC §13), end to end with real OpenSSH: a jump namespace
 * and two lab balancers, each running sshd (its own config, host key and
 * authorized_keys, a key made for the test) and a dsr daemon. The jump box
 * runs the real command line with `--host ssh://…`: changes reach the remote
 * daemon and traffic flows, status and top cover both balancers, and every
 * failure (a stopped daemon, an unreachable host, a wrong host key, a key
 * not authorized, Ctrl-C) is one clear line that leaves nothing behind.
 */

import assert from "node:assert/strict";
import { type Lab, labDown, labUp, nsExec } from "../lab/topology.ts";
import type { Status } from "../control/status.ts";
import {
  DSR,
  dsr,
  type DsrPaths,
  type DsrRun,
  startDaemon,
  startServers,
  stopAll,
  tempPaths,
} from "./_dsr.ts";
import { type NsProcess, nsSpawn, requireRoot, uniquePrefix, waitFor } from "./_netns.ts";
import { clientConfig, makeKey, requireOpenSsh, type Sshd, startSshd } from "./_sshd.ts";

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

async function ip(...args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stdin: "null" }).output();
  if (!out.success) {
    throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** What is left in a directory (the jump box's $TMPDIR: tunnels must leave nothing). */
async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

const exists = (path: string) => Deno.lstat(path).then(() => true, () => false);

/** One balancer: its lab, daemon paths, sshd and the URL the jump box uses. */
interface Balancer {
  lab: Lab;
  paths: DsrPaths;
  sshd: Sshd;
  url: string;
  daemon: NsProcess;
}

Deno.test("from a jump box over ssh: vip/rip add reach the remote daemon and traffic flows; status and top over two balancers; clear errors that leave no local state", async (t) => {
  requireRoot();
  requireOpenSsh();
  const prefix = uniquePrefix();
  const jump = `${prefix}-jump`;
  const prefixes = [prefix, uniquePrefix()];
  const dir = await Deno.makeTempDir({ prefix: "dsr-jump-" });
  // The jump box's own paths: its state file must never appear, its $TMPDIR must stay empty.
  const local: DsrPaths = { dir, state: `${dir}/jump-state.json`, socket: `${dir}/jump.sock` };
  const tunnels = `${dir}/tmp`;
  await Deno.mkdir(tunnels);
  const processes: NsProcess[] = [];
  const balancers: Balancer[] = [];
  const remoteDirs: string[] = [];
  try {
    const labs = await Promise.all(prefixes.map((p) => labUp({ prefix: p, servers: 1 })));
    await ip("netns", "add", jump);
    await ip("-n", jump, "link", "set", "lo", "up");
    const identity = `${dir}/id_ed25519`;
    const publicKey = await makeKey(identity);
    for (const [i, lab] of labs.entries()) {
      const n = i + 1;
      // A management link from the jump box to each balancer, beside the lab's own network.
      await ip(
        "-n",
        jump,
        "link",
        "add",
        `m${n}`,
        "type",
        "veth",
        "peer",
        "name",
        "mgmt0",
        "netns",
        lab.balancer.ns,
      );
      await ip("-n", jump, "addr", "add", `198.19.${n}.1/24`, "dev", `m${n}`);
      await ip("-n", lab.balancer.ns, "addr", "add", `198.19.${n}.2/24`, "dev", "mgmt0");
      await ip("-n", jump, "link", "set", `m${n}`, "up");
      await ip("-n", lab.balancer.ns, "link", "set", "mgmt0", "up");
      const sshd = await startSshd(lab.balancer.ns, {
        address: `198.19.${n}.2`,
        dir: `${dir}/sshd${n}`,
        authorizedKeys: [publicKey],
      });
      processes.push(sshd.process);
      const paths = await tempPaths();
      remoteDirs.push(paths.dir);
      processes.push(...startServers(lab));
      const daemon = await startDaemon(paths, lab);
      processes.push(daemon);
      balancers.push({
        lab,
        paths,
        sshd,
        url: `ssh://root@${sshd.address}${paths.socket}`,
        daemon,
      });
    }
    const [b1, b2] = balancers;
    const config = await clientConfig(dir, "jump", {
      identity,
      knownHosts: balancers.map((b) => b.sshd.knownHost),
    });
    const env = { TMPDIR: tunnels, DSR_SSH_CONFIG: config };
    /** Runs dsr on the jump box. */
    const onJump = (args: string[], extra: Record<string, string> = {}) =>
      dsr(local, args, { ns: jump, env: { ...env, ...extra } });
    const ok = async (args: string[], extra: Record<string, string> = {}) => {
      const run = await onJump(args, extra);
      assert.equal(run.code, 0, `dsr ${args.join(" ")}: ${run.stderr}`);
      return run.stdout;
    };
    /** The remote daemon's own view, read on the balancer. */
    const remoteStatus = async (b: Balancer): Promise<Status> =>
      JSON.parse((await dsr(b.paths, ["status", "--json"])).stdout);
    const assertNothingLocal = async (why: string) => {
      assert.equal(await exists(local.state), false, `${why}: no local state file`);
      assert.deepEqual(await entries(tunnels), [], `${why}: no tunnel directory left`);
      // A process killed a moment ago may take that moment to be gone.
      let left = "";
      await waitFor(`${why}: no process (ssh) left in the jump box`, async () => {
        const pids = await new Deno.Command("ip", { args: ["netns", "pids", jump] }).output();
        left = new TextDecoder().decode(pids.stdout).trim();
        return left === "";
      }, 2000).catch(() => assert.equal(left, "", `${why}: no process (ssh) left in the jump box`));
    };
    /** One line `dsr: error: …` naming `what`, exit 1. */
    const assertOneError = (run: DsrRun, what: RegExp) => {
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.stdout, "");
      assert.match(run.stderr, /^dsr: error: [^\n]+\n$/, run.stderr);
      assert.match(run.stderr, what);
    };

    await t.step(
      "vip add and rip add over --host change the remote daemon, and traffic flows",
      async () => {
        for (const b of balancers) {
          const vip = `${b.lab.vip}:80`;
          await ok(["vip", "add", vip, "--host", b.url]);
          // DSR_HOST does the same as --host.
          await ok(["rip", "add", vip, b.lab.servers[0].ip], { DSR_HOST: b.url });
          const s = await waitFor("the remote real server up", async () => {
            const s = await remoteStatus(b);
            return s.vips[0]?.rips[0]?.state === "up" && s.vips[0].rips[0].mac && s;
          }, 10_000);
          assert.deepEqual(s.vips.map((v) => [v.vip, v.port, v.rips.map((r) => r.ip)]), [
            [b.lab.vip, 80, [b.lab.servers[0].ip]],
          ]);
          const answer = await nsExec(b.lab.client.ns, [
            "curl",
            "-sS",
            "-m",
            "5",
            `http://${b.lab.vip}/`,
          ]);
          assert.equal(answer.code, 0, answer.stderr);
          assert.match(answer.stdout, /rs1/, "the real server behind the remote balancer answered");
        }
        const listed = JSON.parse(await ok(["vip", "list", "--json", "--host", b1.url]));
        assert.deepEqual(listed.map((v: { vip: string }) => v.vip), [b1.lab.vip]);
        await assertNothingLocal("after changes over ssh");
      },
    );

    await t.step(
      "status --json over two hosts is an array of {host, status}, in order",
      async () => {
        const all = JSON.parse(await ok(["status", "--json", "--host", b2.url, "--host", b1.url]));
        assert.deepEqual(all.map((e: { host: string }) => e.host), [b2.url, b1.url]);
        for (const [i, b] of [b2, b1].entries()) {
          assert.equal(all[i].status.iface, "eth0");
          assert.equal(all[i].status.mac, b.lab.balancer.mac);
          assert.deepEqual(all[i].status.vips[0].rips.map((r: { ip: string }) => r.ip), [
            b.lab.servers[0].ip,
          ]);
        }
        const text = await ok(["status", "--host", b1.url, "--host", b2.url]);
        assert.match(text, new RegExp(`^== ${b1.url} ==\\neth0 ${b1.lab.balancer.mac} `, "m"));
        assert.match(text, new RegExp(`^== ${b2.url} ==\\neth0 ${b2.lab.balancer.mac} `, "m"));
      },
    );

    await t.step("completion offers the remote daemon's real servers", async () => {
      const out = await ok([
        "complete",
        "--",
        "--host",
        b1.url,
        "rip",
        "del",
        `${b1.lab.vip}:80`,
        "",
      ]);
      assert.match(out, new RegExp(`^${b1.lab.servers[0].ip.replaceAll(".", "\\.")}\\t`, "m"));
    });

    await t.step("dsr top over two hosts in tmux shows both nodes and quits on q", async () => {
      const socket = `${dir}/tmux.sock`;
      const tmux = async (...args: string[]) => {
        const out = await new Deno.Command("tmux", { args: ["-S", socket, ...args], stdin: "null" })
          .output();
        if (!out.success) {
          throw new Error(`tmux ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
        }
        return new TextDecoder().decode(out.stdout);
      };
      const cmd = [
        "ip",
        "netns",
        "exec",
        jump,
        "env",
        `TMPDIR=${tunnels}`,
        ...DSR,
        "--ssh-config",
        config,
        "top",
        "--host",
        b1.url,
        "--host",
        b2.url,
      ];
      const script = `${dir}/top.sh`;
      await Deno.writeTextFile(
        script,
        [cmd.map(quote).join(" "), `echo $? > ${quote(`${dir}/top.status`)}`, ""].join("\n"),
      );
      await tmux("new-session", "-d", "-s", "top", "-x", "80", "-y", "24", "sh", script);
      try {
        let screen = "";
        try {
          await waitFor("both nodes on the dashboard", async () => {
            screen = await tmux("capture-pane", "-p", "-t", "top");
            return [b1, b2].every((b) =>
              new RegExp(`^[› ] ${b.sshd.address.replaceAll(".", "\\.")} +active `, "m").test(
                screen,
              )
            ) && screen.split("\n").filter((l) =>
                  l.startsWith(`    ${b1.lab.vip}:80/tcp`)
                ).length === 2;
          }, 20_000);
        } catch (error) {
          throw new Error(`${(error as Error).message}; the screen:\n${screen}`);
        }
        const lines = screen.trimEnd().split("\n");
        assert.ok(lines.length <= 24, `${lines.length} lines`);
        for (const line of lines) assert.ok([...line].length <= 80, `too wide: "${line}"`);
        assert.match(screen, /^dsr top {2}2\/2 balancers up/m);
        await tmux("send-keys", "-t", "top", "q");
        const code = await waitFor(
          "dsr top to exit",
          async () => (await Deno.readTextFile(`${dir}/top.status`)).trim(),
          5000,
        );
        assert.equal(code, "0");
      } finally {
        await tmux("kill-server").catch(() => {});
      }
      await waitFor("the tunnels to go", async () => (await entries(tunnels)).length === 0, 3000);
      await assertNothingLocal("after dsr top");
    });

    await t.step(
      "a stopped remote daemon is one clear error, never a local state edit",
      async () => {
        await b2.daemon.kill();
        const run = await onJump(["vip", "add", "198.18.0.200:80", "--host", b2.url]);
        assertOneError(
          run,
          new RegExp(
            `no dsr daemon answers at ${b2.url}: sshd on 198\\.19\\.2\\.2 could not connect to ` +
              `${b2.paths.socket} \\(is dsr running there\\?`,
          ),
        );
        const both = await onJump(["status", "--json", "--host", b1.url, "--host", b2.url]);
        assert.equal(both.code, 1);
        const all = JSON.parse(both.stdout);
        assert.equal(all[0].host, b1.url);
        assert.equal(all[0].status.mac, b1.lab.balancer.mac);
        assert.equal(all[1].host, b2.url);
        assert.match(all[1].error, /no dsr daemon answers at/);
        assert.match(
          both.stderr,
          /^dsr: error: no dsr daemon answers at ssh:\/\/root@198\.19\.2\.2/,
        );
        await assertNothingLocal("after a stopped daemon");
      },
    );

    await t.step(
      "ssh's own failures come back as one line within 15 s: unreachable, host key, key refused",
      async () => {
        const started = performance.now();
        assertOneError(
          await onJump(["vip", "add", "198.18.0.200:80", "--host", "ssh://root@198.19.3.2"]),
          /^dsr: error: cannot reach the dsr daemon at ssh:\/\/root@198\.19\.3\.2: ssh: connect to host 198\.19\.3\.2 port 22: Network is unreachable/,
        );
        assert.ok(performance.now() - started < 15_000);
        const stranger = await clientConfig(dir, "stranger", { identity, knownHosts: [] });
        assertOneError(
          await onJump(["status", "--host", b1.url, "--ssh-config", stranger]),
          /cannot reach the dsr daemon at ssh:\/\/root@198\.19\.1\.2.*: ssh: .*Host key verification failed/,
        );
        const otherKey = `${dir}/other_ed25519`;
        await makeKey(otherKey);
        const refused = await clientConfig(dir, "refused", {
          identity: otherKey,
          knownHosts: [b1.sshd.knownHost],
        });
        assertOneError(
          await onJump(["vip", "list", "--host", b1.url, "--ssh-config", refused]),
          /ssh: .*Permission denied \(publickey\)/,
        );
        await assertNothingLocal("after ssh failures");
      },
    );

    await t.step(
      "Ctrl-C while ssh connects ends the command and removes the tunnel's directory",
      async () => {
        // 198.19.1.99 is on the management link but nobody has it: ssh waits for ARP.
        const run = nsSpawn(jump, [
          ...DSR,
          "--socket",
          local.socket,
          "--state",
          local.state,
          "status",
          "--host",
          "ssh://root@198.19.1.99",
        ], { env });
        try {
          await waitFor("the tunnel directory", async () => (await entries(tunnels)).length === 1);
          run.child.kill("SIGINT");
          const status = await run.child.status;
          assert.equal(status.code, 130, run.output());
        } finally {
          await run.kill();
        }
        await assertNothingLocal("after Ctrl-C");
      },
    );
  } finally {
    await stopAll(processes);
    await ip("netns", "del", jump).catch(() => {});
    await Promise.all(prefixes.map((p) => labDown(p)));
    for (const d of [dir, ...remoteDirs]) await Deno.remove(d, { recursive: true }).catch(() => {});
  }
});
