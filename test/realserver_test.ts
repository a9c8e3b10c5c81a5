/**
 * `dsr realserver setup` and `check` (SPEC §6) run for real inside a fresh
 * network namespace, the stand-in for a real server: its `lo`, its `eth0`
 * facing the balancer and its own `net.ipv4.conf.*`, so the host is never
 * touched.
 */

import assert from "node:assert/strict";
import { z } from "zod";
import { nsExec } from "../lab/topology.ts";
import { dsr, type DsrPaths, type DsrRun, tempPaths } from "./_dsr.ts";
import { requireRoot, uniquePrefix } from "./_netns.ts";
import { assertShape } from "./_shapes.ts";

const VIP = "198.18.0.100";
const KEYS = ["all", "eth0"].flatMap((s) => [
  `net.ipv4.conf.${s}.arp_ignore`,
  `net.ipv4.conf.${s}.arp_announce`,
]);

/** A real server in a namespace of its own, with its test paths and `dsr` runner. */
interface Host {
  ns: string;
  paths: DsrPaths;
  sysctlDir: string;
  run(args: string[]): Promise<DsrRun>;
}

/** Runs `fn` with a fresh host: `lo` up, `eth0` up with 198.18.0.50/24. Removes it afterwards. */
async function withHost(fn: (host: Host) => Promise<void>): Promise<void> {
  requireRoot();
  const ns = `${uniquePrefix()}-rs`;
  const paths = await tempPaths();
  const sysctlDir = `${paths.dir}/sysctl.d`;
  try {
    for (
      const cmd of [
        ["ip", "netns", "add", ns],
        ["ip", "-n", ns, "link", "set", "lo", "up"],
        ["ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "peer0"],
        ["ip", "-n", ns, "addr", "add", "198.18.0.50/24", "dev", "eth0"],
        ["ip", "-n", ns, "link", "set", "eth0", "up"],
      ]
    ) {
      const out = await new Deno.Command(cmd[0], { args: cmd.slice(1), stderr: "piped" }).output();
      assert.ok(out.success, `${cmd.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
    }
    await fn({
      ns,
      paths,
      sysctlDir,
      run: (args) => dsr(paths, args, { ns, env: { DSR_SYSCTL_DIR: sysctlDir } }),
    });
  } finally {
    await new Deno.Command("ip", { args: ["netns", "del", ns], stderr: "null" }).output();
    await Deno.remove(paths.dir, { recursive: true });
  }
}

/** The ARP sysctls and the IPv4 addresses on `lo` of the host. */
async function snapshot(ns: string): Promise<{ sysctls: string; lo: string[] }> {
  const sysctls = await nsExec(ns, ["sysctl", ...KEYS], { check: true });
  const lo = await nsExec(ns, ["ip", "-j", "addr", "show", "dev", "lo"], { check: true });
  const [link] = JSON.parse(lo.stdout) as { addr_info: { family: string; local: string }[] }[];
  const v4 = link.addr_info.filter((a) => a.family === "inet").map((a) => a.local);
  return { sysctls: sysctls.stdout, lo: v4 };
}

/** Asserts a run's exit status, showing its output when it differs. */
function exits(run: DsrRun, code: number, what: string): void {
  assert.equal(run.code, code, `${what}: exit ${run.code}\n${run.stdout}\n${run.stderr}`);
}

const CheckShape = z.strictObject({
  ok: z.boolean(),
  findings: z.array(z.strictObject({
    check: z.enum(["vip-on-lo", "arp_ignore", "arp_announce"]),
    subject: z.string(),
    ok: z.boolean(),
    found: z.string(),
    fix: z.string().nullable(),
  })),
});

Deno.test("realserver check fails on a fresh server, naming the VIP and ARP sysctls with fixes", async () => {
  await withHost(async (host) => {
    const run = await host.run(["realserver", "check", "--vip", VIP]);
    exits(run, 1, "check");
    assert.equal(run.stderr, "");
    assert.match(
      run.stdout,
      /^FAIL +vip-on-lo 198\.18\.0\.100: absent; fix: ip addr add 198\.18\.0\.100\/32 dev lo$/m,
    );
    for (const name of ["arp_ignore", "arp_announce"]) {
      const value = name === "arp_ignore" ? 1 : 2;
      assert.match(
        run.stdout,
        new RegExp(
          `^FAIL +${name} all: 0; fix: sysctl -w net\\.ipv4\\.conf\\.all\\.${name}=${value}$`,
          "m",
        ),
      );
      assert.match(
        run.stdout,
        new RegExp(`^FAIL +${name} eth0: .*net\\.ipv4\\.conf\\.eth0\\.${name}=${value}$`, "m"),
      );
    }

    const json = await host.run(["realserver", "check", "--vip", VIP, "--json"]);
    exits(json, 1, "check --json");
    const doc = assertShape(CheckShape, JSON.parse(json.stdout), "realserver check --json");
    assert.equal(doc.ok, false);
    assert.deepEqual(
      doc.findings.map((f) => `${f.check} ${f.subject} ${f.ok}`),
      [
        `vip-on-lo ${VIP} false`,
        "arp_ignore all false",
        "arp_ignore eth0 false",
        "arp_announce all false",
        "arp_announce eth0 false",
      ],
    );
  });
});

Deno.test("realserver setup --dry-run prints the commands and changes nothing", async () => {
  await withHost(async (host) => {
    const before = await snapshot(host.ns);
    const run = await host.run(["realserver", "setup", "--vip", VIP, "--dry-run", "--persist"]);
    exits(run, 0, "setup --dry-run");
    const commands = run.stdout.split("\n").filter((l) => /^(ip|sysctl) /.test(l));
    assert.deepEqual(commands, [
      "sysctl -w net.ipv4.conf.all.arp_ignore=1",
      "sysctl -w net.ipv4.conf.all.arp_announce=2",
      "sysctl -w net.ipv4.conf.eth0.arp_ignore=1",
      "sysctl -w net.ipv4.conf.eth0.arp_announce=2",
      `ip addr add ${VIP}/32 dev lo`,
    ]);
    assert.doesNotMatch(run.stdout, /^\+ /m);
    assert.deepEqual(await snapshot(host.ns), before);
    assert.deepEqual(Array.from(Deno.readDirSync(host.paths.dir), (e) => e.name), []);
  });
});

Deno.test("realserver setup makes check pass, changes nothing the second time, and --remove restores the original settings", async () => {
  await withHost(async (host) => {
    // An operator's own value, which remove must put back rather than the default 0.
    await nsExec(host.ns, ["sysctl", "-w", "net.ipv4.conf.eth0.arp_announce=1"], { check: true });
    const original = await snapshot(host.ns);

    const setup = await host.run(["realserver", "setup", "--vip", VIP, "--persist"]);
    exits(setup, 0, "setup");
    assert.match(setup.stdout, /^\+ sysctl -w net\.ipv4\.conf\.all\.arp_ignore=1$/m);
    assert.match(setup.stdout, /^\+ ip addr add 198\.18\.0\.100\/32 dev lo$/m);
    assert.match(setup.stdout, /\[Address\]\n\s*Address=198\.18\.0\.100\/32/);
    assert.match(setup.stdout, /up ip addr add 198\.18\.0\.100\/32 dev lo/);
    assert.match(setup.stdout, /^real server ready for VIP 198\.18\.0\.100$/m);
    const conf = await Deno.readTextFile(`${host.sysctlDir}/90-dsr-realserver.conf`);
    for (const key of KEYS) {
      assert.match(
        conf,
        new RegExp(`^${key.replaceAll(".", "\\.")} = ${key.endsWith("ignore") ? 1 : 2}$`, "m"),
      );
    }

    const check = await host.run(["realserver", "check", "--vip", VIP]);
    exits(check, 0, "check after setup");
    assert.doesNotMatch(check.stdout, /FAIL|fix:/);
    const json = assertShape(
      CheckShape,
      JSON.parse((await host.run(["realserver", "check", "--vip", VIP, "--json"])).stdout),
      "check --json",
    );
    assert.equal(json.ok, true);
    assert.ok(json.findings.every((f) => f.ok && f.fix === null));

    const ready = await snapshot(host.ns);
    const again = await host.run(["realserver", "setup", "--vip", VIP, "--persist"]);
    exits(again, 0, "setup again");
    assert.doesNotMatch(again.stdout, /^\+ /m);
    assert.match(again.stdout, /^real server ready for VIP 198\.18\.0\.100 \(no change\)$/m);
    assert.deepEqual(await snapshot(host.ns), ready);

    const remove = await host.run(["realserver", "setup", "--vip", VIP, "--remove", "--persist"]);
    exits(remove, 0, "setup --remove");
    assert.match(remove.stdout, /^\+ ip addr del 198\.18\.0\.100\/32 dev lo$/m);
    assert.match(remove.stdout, /^\+ sysctl -w net\.ipv4\.conf\.eth0\.arp_announce=1$/m);
    assert.deepEqual(await snapshot(host.ns), original);
    await assert.rejects(() => Deno.stat(`${host.sysctlDir}/90-dsr-realserver.conf`));
    await assert.rejects(() => Deno.stat(`${host.paths.dir}/realserver.json`));
  });
});

Deno.test("realserver setup --remove with no record removes the VIP and sets the kernel defaults, saying so", async () => {
  await withHost(async (host) => {
    await nsExec(host.ns, ["ip", "addr", "add", `${VIP}/32`, "dev", "lo"], { check: true });
    await nsExec(host.ns, [
      "sysctl",
      "-w",
      "net.ipv4.conf.all.arp_ignore=1",
      "net.ipv4.conf.eth0.arp_announce=2",
    ], { check: true });
    const run = await host.run(["realserver", "setup", "--vip", VIP, "--remove"]);
    exits(run, 0, "setup --remove");
    assert.match(run.stdout, /no record of an earlier setup.*kernel defaults 0 and 0/);
    const after = await snapshot(host.ns);
    assert.deepEqual(after.lo, ["127.0.0.1"]);
    assert.match(after.sysctls, /^(net\.ipv4\.conf\.\w+\.arp_\w+ = 0\n){4}$/);
  });
});

Deno.test("realserver setup refuses, changing nothing, while the VIP is on the LAN interface", async () => {
  await withHost(async (host) => {
    await nsExec(host.ns, ["ip", "addr", "add", `${VIP}/24`, "dev", "eth0"], { check: true });
    const before = await snapshot(host.ns);
    const run = await host.run(["realserver", "setup", "--vip", VIP]);
    exits(run, 1, "setup");
    assert.equal(run.stdout, "");
    const lines = run.stderr.trim().split("\n");
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0], /^dsr: error: VIP 198\.18\.0\.100 is 198\.18\.0\.100\/24 on eth0/);
    assert.match(lines[0], /fix: ip addr del 198\.18\.0\.100\/24 dev eth0 && ip addr add/);
    assert.deepEqual(await snapshot(host.ns), before);
    const check = await host.run(["realserver", "check", "--vip", VIP]);
    exits(check, 1, "check");
    assert.match(
      check.stdout,
      /^FAIL +vip-on-lo 198\.18\.0\.100: 198\.18\.0\.100\/24 on eth0; fix: /m,
    );
  });
});

Deno.test("realserver refuses a malformed VIP or OS with one error line and exit status 2", async () => {
  const paths = await tempPaths();
  try {
    for (
      const args of [
        ["realserver", "setup", "--vip", "1.2.3"],
        ["realserver", "check", "--vip", "1.2.3"],
        ["realserver", "setup", "--vip", VIP, "--os", "macos"],
      ]
    ) {
      const run = await dsr(paths, args);
      exits(run, 2, args.join(" "));
      const lines = run.stderr.trim().split("\n");
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0], /^dsr: error: invalid (VIP "1\.2\.3"|--os "macos")/);
      assert.equal(run.stdout, "");
    }
  } finally {
    await Deno.remove(paths.dir, { recursive: true });
  }
});

Deno.test("realserver setup --os windows prints the PowerShell script and runs nothing", async () => {
  const paths = await tempPaths();
  try {
    const run = await dsr(paths, ["realserver", "setup", "--vip", VIP, "--os", "windows"]);
    exits(run, 0, "setup --os windows");
    assert.match(
      run.stdout,
      /New-NetIPAddress -InterfaceAlias dsr-loopback -IPAddress 198\.18\.0\.100 -PrefixLength 32/,
    );
    assert.deepEqual(Array.from(Deno.readDirSync(paths.dir), (e) => e.name), []);
  } finally {
    await Deno.remove(paths.dir, { recursive: true });
  }
});
