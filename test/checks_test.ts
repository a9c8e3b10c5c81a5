/**
 * Every health check type on a real wire (SPEC §3): a broken real server is
 * taken out by its check and comes back once fixed, against real servers
 * (nginx with openssl certificates, dnsmasq, a UDP echo, ping, the
 * operator's program); and a tcp check closes with FIN, never RST, as
 * tcpdump sees it.
 */

import assert from "node:assert/strict";
import { type Lab, nsExec } from "../lab/topology.ts";
import {
  makeCertificates,
  startDnsmasq,
  startGreeter,
  startNginx,
  startUdpEcho,
} from "./_check_servers.ts";
import { DSR, dsrOk, type DsrPaths, spawnDaemon, status, stopAll, tempPaths } from "./_dsr.ts";
import { type NsProcess, nsSpawn, requireRoot, waitFor, withLab } from "./_netns.ts";

const FAST = ["--check-interval", "0.3", "--check-timeout", "0.3", "--rise", "2", "--fall", "2"];
const NAME = "www.example.test";

type Rip = Awaited<ReturnType<typeof status>>["vips"][number]["rips"][number];

async function rip(paths: DsrPaths, port: number, proto: string, ip: string): Promise<Rip> {
  const vip = (await status(paths)).vips.find((v) => v.port === port && v.proto === proto);
  const r = vip?.rips.find((r) => r.ip === ip);
  if (!r) throw new Error(`no real server ${ip} in service port ${port}/${proto}`);
  return r;
}

/** Waits until `ip` of the service is in `state`, and returns it. */
function waitState(
  paths: DsrPaths,
  service: [number, string],
  ip: string,
  state: "up" | "down",
  ms = 5000,
): Promise<Rip> {
  return waitFor(`${ip} of port ${service[0]}/${service[1]} ${state}`, async () => {
    const r = await rip(paths, service[0], service[1], ip);
    return r.state === state && r.check?.ok === (state === "up") ? r : null;
  }, ms);
}

/** Runs `fn` with a 2-server lab, temporary paths and a list of processes stopped at the end. */
function scenario(fn: (lab: Lab, paths: DsrPaths, processes: NsProcess[]) => Promise<void>) {
  return async () => {
    requireRoot();
    await withLab({ servers: 2 }, async (lab) => {
      const paths = await tempPaths();
      const processes: NsProcess[] = [];
      try {
        await fn(lab, paths, processes);
      } finally {
        await stopAll(processes);
        await Deno.remove(paths.dir, { recursive: true });
      }
    });
  };
}

Deno.test(
  "https: SNI and Host name the site, the certificate is verified (unknown issuer or another name is down) unless --check-insecure; a stopped nginx goes down and comes back",
  scenario(async (lab, paths, processes) => {
    await makeCertificates(paths.dir, NAME);
    // The daemon trusts the test CA the way an operator would add a private CA: DENO_CERT.
    paths.argv = ["env", `DENO_CERT=${paths.dir}/ca.pem`, ...DSR];
    const [rs1, rs2] = lab.servers;
    const https = ["--check", "https", "--check-host", NAME, ...FAST];
    await dsrOk(paths, ["vip", "add", `${lab.vip}:443`, ...https]);
    await dsrOk(paths, ["vip", "add", `${lab.vip}:8443`, ...https]);
    await dsrOk(paths, [
      "vip",
      "add",
      `${lab.vip}:9443`,
      ...https,
      "--check-host",
      "other.test",
      "--check-port",
      "443",
    ]);
    for (const s of lab.servers) {
      await dsrOk(paths, ["rip", "add", `${lab.vip}:443`, s.ip]);
      await dsrOk(paths, ["rip", "add", `${lab.vip}:9443`, s.ip]);
    }
    await dsrOk(paths, ["rip", "add", `${lab.vip}:8443`, rs1.ip, ...https, "--check-insecure"]);
    await dsrOk(paths, ["rip", "add", `${lab.vip}:8443`, rs2.ip]);
    const nginx = [
      await startNginx(rs1.ns, rs1.ip, "rs1", paths.dir),
      await startNginx(rs2.ns, rs2.ip, "rs2", paths.dir),
    ];
    processes.push(...nginx, spawnDaemon(paths, lab));

    await waitState(paths, [443, "tcp"], rs1.ip, "up");
    await waitState(paths, [443, "tcp"], rs2.ip, "up");
    await waitState(paths, [8443, "tcp"], rs1.ip, "up");
    const selfSigned = await waitState(paths, [8443, "tcp"], rs2.ip, "down");
    assert.match(
      selfSigned.check!.error!,
      /GET https:\/\/www\.example\.test:8443\/ \(at 198\.18\.0\.12\) failed: .*(self[- ]signed|verify|issuer)/i,
    );
    const otherName = await waitState(paths, [9443, "tcp"], rs1.ip, "down");
    assert.match(otherName.check!.error!, /other\.test/);

    await nginx[1].kill();
    const down = await waitState(paths, [443, "tcp"], rs2.ip, "down");
    assert.match(
      down.check!.error!,
      /GET https:\/\/www\.example\.test:443\/ \(at 198\.18\.0\.12\) failed/,
    );
    assert.equal((await rip(paths, 443, "tcp", rs1.ip)).state, "up");
    processes.push(await startNginx(rs2.ns, rs2.ip, "rs2", paths.dir));
    await waitState(paths, [443, "tcp"], rs2.ip, "up");
  }),
);

Deno.test(
  "dns: up on NOERROR from dnsmasq, down naming REFUSED for a name it does not serve, down at once on ICMP port unreachable when it stops, and back",
  scenario(async (lab, paths, processes) => {
    const [rs1, rs2] = lab.servers;
    const dns = ["--proto", "udp", "--check", "dns", ...FAST];
    await dsrOk(paths, [
      "vip",
      "add",
      `${lab.vip}:53`,
      ...dns,
      "--check-query",
      NAME,
      "--check-timeout",
      "2",
    ]);
    await dsrOk(paths, [
      "vip",
      "add",
      `${lab.vip}:5353`,
      ...dns,
      "--check-query",
      "nope.example.test",
      "--check-port",
      "53",
    ]);
    for (const s of lab.servers) {
      for (const port of [53, 5353]) {
        await dsrOk(paths, ["rip", "add", `${lab.vip}:${port}`, s.ip, "--proto", "udp"]);
      }
    }
    const dnsmasq = await Promise.all(
      lab.servers.map((s) => startDnsmasq(s.ns, s.ip, NAME, "198.18.0.200", paths.dir)),
    );
    processes.push(...dnsmasq, spawnDaemon(paths, lab));
    await waitState(paths, [53, "udp"], rs1.ip, "up");
    await waitState(paths, [53, "udp"], rs2.ip, "up");
    const refused = await waitState(paths, [5353, "udp"], rs1.ip, "down");
    assert.match(
      refused.check!.error!,
      /answered REFUSED for nope\.example\.test A, expected NOERROR/,
    );

    await dnsmasq[1].kill();
    const stopped = performance.now();
    const down = await waitState(paths, [53, "udp"], rs2.ip, "down");
    // Down after fall (2) checks 0.3 s apart: the 2 s timeout is never waited for.
    assert.ok(performance.now() - stopped < 1500, `down after ${performance.now() - stopped} ms`);
    assert.match(down.check!.error!, /198\.18\.0\.12:53\/udp: ICMP port unreachable/);
    assert.ok(down.check!.latencyMs! < 100, `a refused check took ${down.check!.latencyMs} ms`);
    processes.push(await startDnsmasq(rs2.ns, rs2.ip, NAME, "198.18.0.200", paths.dir));
    await waitState(paths, [53, "udp"], rs2.ip, "up");
  }),
);

Deno.test(
  "udp: up on an answer containing --check-receive, down at once on ICMP port unreachable when the server stops, and back",
  scenario(async (lab, paths, processes) => {
    const [rs1, rs2] = lab.servers;
    await dsrOk(paths, [
      "vip",
      "add",
      `${lab.vip}:9000`,
      "--proto",
      "udp",
      "--check",
      "udp",
      "--check-send",
      "hello",
      "--check-receive",
      "echo: hello",
      ...FAST,
    ]);
    await dsrOk(paths, [
      "vip",
      "add",
      `${lab.vip}:9001`,
      "--proto",
      "udp",
      "--check",
      "udp",
      "--check-send",
      "hello",
      "--check-receive",
      "pong",
      "--check-port",
      "9000",
      ...FAST,
    ]);
    for (const s of lab.servers) {
      await dsrOk(paths, ["rip", "add", `${lab.vip}:9000`, s.ip, "--proto", "udp"]);
      await dsrOk(paths, ["rip", "add", `${lab.vip}:9001`, s.ip, "--proto", "udp"]);
    }
    const echo = await Promise.all(lab.servers.map((s) => startUdpEcho(s.ns, s.ip, 9000)));
    processes.push(...echo, spawnDaemon(paths, lab));
    await waitState(paths, [9000, "udp"], rs1.ip, "up");
    await waitState(paths, [9000, "udp"], rs2.ip, "up");
    const wrong = await waitState(paths, [9001, "udp"], rs1.ip, "down");
    assert.match(wrong.check!.error!, /answered "echo: hello", which does not contain "pong"/);

    await echo[1].kill();
    const down = await waitState(paths, [9000, "udp"], rs2.ip, "down");
    assert.match(
      down.check!.error!,
      /198\.18\.0\.12:9000\/udp: ICMP port unreachable: nothing listens/,
    );
    processes.push(await startUdpEcho(rs2.ns, rs2.ip, 9000));
    await waitState(paths, [9000, "udp"], rs2.ip, "up");
  }),
);

Deno.test(
  "ping: a real server that stops answering echo requests goes down and comes back",
  scenario(async (lab, paths, processes) => {
    const rs2 = lab.servers[1];
    await dsrOk(paths, ["vip", "add", `${lab.vip}:80`, "--check", "ping", ...FAST]);
    for (const s of lab.servers) await dsrOk(paths, ["rip", "add", `${lab.vip}:80`, s.ip]);
    processes.push(spawnDaemon(paths, lab));
    await waitState(paths, [80, "tcp"], rs2.ip, "up");
    const ignore = (v: number) =>
      nsExec(rs2.ns, ["sysctl", "-qw", `net.ipv4.icmp_echo_ignore_all=${v}`], { check: true });
    await ignore(1);
    const down = await waitState(paths, [80, "tcp"], rs2.ip, "down");
    assert.match(down.check!.error!, /no echo reply from 198\.18\.0\.12 within 300 ms/);
    assert.equal((await rip(paths, 80, "tcp", lab.servers[0].ip)).state, "up");
    await ignore(0);
    await waitState(paths, [80, "tcp"], rs2.ip, "up");
  }),
);

Deno.test(
  "exec: the operator's program gets DSR_VIP DSR_PORT DSR_PROTO DSR_RIP, its exit status takes a server out and back, one that hangs is killed at the timeout",
  scenario(async (lab, paths, processes) => {
    const rs2 = lab.servers[1];
    const script = `${paths.dir}/check web`;
    await Deno.writeTextFile(
      script,
      `#!/bin/sh
echo "$DSR_VIP $DSR_PORT $DSR_PROTO $DSR_RIP $1" > "${paths.dir}/env-$DSR_RIP"
[ -e "${paths.dir}/hang-$DSR_RIP" ] && exec sleep 30
[ -e "${paths.dir}/down-$DSR_RIP" ] && { echo "maintenance flag set"; exit 1; }
exit 0
`,
    );
    await Deno.chmod(script, 0o755);
    // The space in the path is quoted as a shell would need it; no shell ever sees it.
    await dsrOk(paths, [
      "vip",
      "add",
      `${lab.vip}:80`,
      "--check",
      "exec",
      "--check-command",
      `'${script}' --site "a b"`,
      ...FAST,
    ]);
    for (const s of lab.servers) await dsrOk(paths, ["rip", "add", `${lab.vip}:80`, s.ip]);
    processes.push(spawnDaemon(paths, lab));
    await waitState(paths, [80, "tcp"], rs2.ip, "up");
    assert.equal(
      (await Deno.readTextFile(`${paths.dir}/env-${rs2.ip}`)).trim(),
      `${lab.vip} 80 tcp ${rs2.ip} --site`,
    );

    await Deno.writeTextFile(`${paths.dir}/down-${rs2.ip}`, "");
    const down = await waitState(paths, [80, "tcp"], rs2.ip, "down");
    assert.equal(down.check!.error, "check web exited 1: maintenance flag set");
    await Deno.remove(`${paths.dir}/down-${rs2.ip}`);
    await waitState(paths, [80, "tcp"], rs2.ip, "up");

    await Deno.writeTextFile(`${paths.dir}/hang-${rs2.ip}`, "");
    const hung = await waitState(paths, [80, "tcp"], rs2.ip, "down");
    assert.equal(hung.check!.error, "check web killed at the timeout (300 ms)");
    await Deno.remove(`${paths.dir}/hang-${rs2.ip}`);
    await waitState(paths, [80, "tcp"], rs2.ip, "up");
    // Every check that hung was killed with its sleep: none is left now that they pass.
    const sleeping = await new Deno.Command("pgrep", { args: ["-a", "-x", "sleep"] }).output();
    assert.doesNotMatch(new TextDecoder().decode(sleeping.stdout), /sleep 30$/m);
  }),
);

Deno.test(
  "tcp: the check closes its connection with FIN and never RST, even to a server that greets first (tcpdump on the balancer), and takes a stopped server out and back",
  scenario(async (lab, paths, processes) => {
    const rs2 = lab.servers[1];
    await dsrOk(paths, ["vip", "add", `${lab.vip}:2525`, "--check", "tcp", ...FAST]);
    for (const s of lab.servers) await dsrOk(paths, ["rip", "add", `${lab.vip}:2525`, s.ip]);
    const greeters = await Promise.all(lab.servers.map((s) => startGreeter(s.ns, s.ip, 2525)));
    processes.push(...greeters);
    const dump = nsSpawn(lab.balancer.ns, [
      "tcpdump",
      "-i",
      lab.balancer.iface,
      "-n",
      "-l",
      "-U",
      `tcp port 2525 and src host ${lab.balancer.ip} and tcp[tcpflags] & (tcp-fin|tcp-rst) != 0`,
    ]);
    processes.push(dump);
    await waitFor("tcpdump to listen", () => dump.output().includes("listening on"));
    processes.push(spawnDaemon(paths, lab));
    await waitState(paths, [2525, "tcp"], rs2.ip, "up");
    // Enough checks (0.3 s apart, two servers) for a RST to show if the check sent one.
    await waitFor(
      "8 closes on the wire",
      () => (dump.output().match(/Flags \[/g) ?? []).length >= 8,
    );
    await dump.kill();
    const lines = dump.output().split("\n").filter((l) => l.includes("Flags ["));
    assert.deepEqual(lines.filter((l) => /Flags \[R/.test(l)), [], "no RST from the balancer");
    assert.ok(lines.every((l) => /Flags \[F\.\]/.test(l)), lines.join("\n"));

    await greeters[1].kill();
    const down = await waitState(paths, [2525, "tcp"], rs2.ip, "down");
    assert.match(down.check!.error!, /refused/i);
    processes.push(await startGreeter(rs2.ns, rs2.ip, 2525));
    await waitState(paths, [2525, "tcp"], rs2.ip, "up");
  }),
);
