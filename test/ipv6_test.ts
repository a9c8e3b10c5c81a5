/**
 * IPv6 end to end on a dual-stack namespace lab (SPEC §12): real Linux
 * stacks on every host, the lab's HTTP server on three real servers, curl,
 * ping and tcpdump, the real balancer over libpcap. One lab for every step:
 * building it and starting the daemon is most of the time.
 */

import assert from "node:assert/strict";
import { eth } from "../dataplane/_frame_builder.ts";
import { type Lab, nsExec } from "../lab/topology.ts";
import { DSR, dsr, dsrOk, startDaemon, startServers, status, stopAll, tempPaths } from "./_dsr.ts";
import { type NsProcess, nsSpawn, requireRoot, waitFor, withLab } from "./_netns.ts";

const DENO = DSR[0];
const BURST = new URL("./_http_burst.ts", import.meta.url).pathname;
const INJECT = new URL("./_inject.ts", import.meta.url).pathname;
const UDP_SINK = new URL("./_udp_sink.ts", import.meta.url).pathname;
const UDP_SEND = new URL("./_udp_send.ts", import.meta.url).pathname;
const CLIENT_HOPS = 77;
const UDP_PORT = 9000;

/** tcpdump inside a namespace, line-buffered; resolves once it listens. */
async function capture(ns: string, args: string[]): Promise<NsProcess> {
  const p = nsSpawn(ns, ["tcpdump", "-i", "eth0", "-nn", "-l", ...args]);
  await waitFor("tcpdump to listen", () => p.output().includes("listening on"), 5000);
  return p;
}

/** Stops a capture once what it saw has been printed. */
async function settle(...captures: NsProcess[]): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
  await Promise.all(captures.map((c) => c.kill()));
}

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** Sends raw frames from the client's eth0 (a router's ICMP error, say). */
async function inject(lab: Lab, ...frames: Uint8Array[]): Promise<void> {
  await nsExec(lab.client.ns, [DENO, "run", "-A", INJECT, "eth0", ...frames.map(hex)], {
    check: true,
  });
}

/** A long-lived HTTP request from a fixed client port; resolves with the real server that answers. */
async function longFlow(lab: Lab, url: string, port: number): Promise<[NsProcess, string]> {
  const curl = nsSpawn(lab.client.ns, [
    "curl",
    "-sN",
    "--local-port",
    String(port),
    `${url}stream?n=200`,
  ]);
  await waitFor(`the stream from port ${port} to start`, () => /rs\d+/.test(curl.output()), 5000);
  return [curl, curl.output().match(/rs\d+/)![0]];
}

Deno.test("IPv6 end to end: forwarding, NDP, echo, fragments, path MTU and checks on a dual-stack lab", async (t) => {
  requireRoot();
  await withLab({ servers: 3, ipv6: true }, async (lab) => {
    const vip6 = lab.vip6!;
    const url6 = `http://[${vip6}]/`;
    const paths = await tempPaths();
    const processes: NsProcess[] = startServers(lab);
    try {
      for (const key of ["net.ipv6.conf.all.hop_limit", "net.ipv6.conf.eth0.hop_limit"]) {
        await nsExec(lab.client.ns, ["sysctl", "-qw", `${key}=${CLIENT_HOPS}`], { check: true });
      }
      await dsrOk(paths, ["vip", "add", `${lab.vip}:80`]);
      await dsrOk(paths, ["vip", "add", `[${vip6}]:80`]);
      await dsrOk(paths, ["vip", "add", `[${vip6}]:${UDP_PORT}`, "--proto", "udp"]);
      for (const s of lab.servers) {
        await dsrOk(paths, ["rip", "add", `${lab.vip}:80`, s.ip]);
        await dsrOk(paths, ["rip", "add", `[${vip6}]:80`, s.ip6!]);
        await dsrOk(paths, ["rip", "add", `[${vip6}]:${UDP_PORT}`, s.ip6!, "--proto", "udp"]);
      }
      const mixed = await dsr(paths, ["rip", "add", `[${vip6}]:80`, lab.servers[0].ip]);
      assert.equal(mixed.code, 2, mixed.stderr);
      assert.match(mixed.stderr, /^dsr: error: .*one family/m);
      processes.push(await startDaemon(paths, lab));

      await t.step(
        "300 requests spread over 3 real servers, each seeing the client's IPv6 address, hop limit kept, replies direct",
        async () => {
          const atClient = await capture(lab.client.ns, [
            "-e",
            "-Q",
            "in",
            `ip6 and tcp and src host ${vip6}`,
          ]);
          const atServer = await capture(lab.servers[0].ns, [
            "-v",
            "-Q",
            "in",
            `ip6 and tcp and dst host ${vip6}`,
          ]);
          const run = await nsExec(lab.client.ns, [DENO, "run", "-A", BURST, url6, "300"], {
            check: true,
          });
          const result = JSON.parse(run.stdout) as { ok: number; bodies: Record<string, number> };
          assert.equal(result.ok, 300, run.stdout);
          for (const s of lab.servers) {
            const share = result.bodies[`${s.name} ${lab.client.ip6}`] ?? 0;
            assert.ok(share >= 30, `${s.name} got ${share} of 300: ${run.stdout}`);
          }
          assert.deepEqual(
            Object.keys(result.bodies).filter((b) => !b.endsWith(` ${lab.client.ip6}`)),
            [],
          );
          await settle(atClient, atServer);
          const replies = atClient.output().split("\n").filter((l) => l.includes(`${vip6}.80 >`));
          assert.ok(replies.length >= 300, `captured ${replies.length} replies at the client`);
          const serverMacs = new Set(lab.servers.map((s) => s.mac));
          for (const line of replies) {
            assert.ok(
              serverMacs.has(line.split(" ")[1]),
              `a reply not from a real server: ${line}`,
            );
          }
          const hops = [...atServer.output().matchAll(/hlim (\d+)/g)].map((m) => Number(m[1]));
          assert.ok(hops.length > 50, `captured ${hops.length} requests at rs1`);
          assert.ok(
            hops.every((h) => h === CLIENT_HOPS),
            `hop limits at rs1: ${[...new Set(hops)]}`,
          );
          const s = await status(paths);
          const v = s.vips.find((x) => x.vip === vip6 && x.port === 80)!;
          assert.equal(v.connections, 300);
        },
      );

      await t.step(
        "the balancer's kernel never handles an IPv6 VIP frame: tc drops it after the capture",
        async () => {
          const filters = await nsExec(lab.balancer.ns, [
            "tc",
            "filter",
            "show",
            "dev",
            "eth0",
            "ingress",
          ], { check: true });
          assert.match(filters.stdout, /protocol ipv6 pref 214 bpf/);
          const addrErrors = async () => {
            const snmp =
              (await nsExec(lab.balancer.ns, ["cat", "/proc/net/snmp6"], { check: true })).stdout;
            return Number(/Ip6InAddrErrors\s+(\d+)/.exec(snmp)![1]);
          };
          const before = await addrErrors();
          const run = await nsExec(lab.client.ns, [DENO, "run", "-A", BURST, url6, "50"], {
            check: true,
          });
          assert.equal(JSON.parse(run.stdout).ok, 50);
          assert.equal(await addrErrors(), before, "the kernel saw frames to the VIP");
        },
      );

      await t.step(
        "a Neighbor Solicitation for the VIP is answered by the balancer alone",
        async () => {
          await nsExec(lab.client.ns, ["ip", "-6", "neigh", "flush", "dev", "eth0"], {
            check: true,
          });
          const na = await capture(lab.client.ns, ["-e", "-v", "icmp6 and ip6[40] == 136"]);
          await nsExec(lab.client.ns, ["ping", "-6", "-c", "1", "-W", "2", vip6], { check: true });
          await new Promise((r) => setTimeout(r, 1000)); // any late answer from another host
          await settle(na);
          const answers = na.output().split("\n").filter((l) => l.includes(`tgt is ${vip6}`));
          assert.ok(answers.length >= 1, na.output());
          for (const line of answers) assert.ok(line.includes(lab.balancer.mac), line);
          assert.ok(answers.some((l) => /Flags \[solicited, override\]/.test(l)), na.output());
          const neigh = JSON.parse(
            (await nsExec(lab.client.ns, ["ip", "-j", "-6", "neigh", "show", vip6])).stdout,
          );
          assert.equal(neigh[0]?.lladdr, lab.balancer.mac);
        },
      );

      await t.step("ping -6 to the VIP is answered by the balancer", async () => {
        const echo = await capture(lab.client.ns, ["-e", "-Q", "in", "icmp6 and ip6[40] == 129"]);
        const ping = await nsExec(lab.client.ns, [
          "ping",
          "-6",
          "-c",
          "3",
          "-i",
          "0.2",
          "-W",
          "2",
          vip6,
        ]);
        assert.equal(ping.code, 0, ping.stdout + ping.stderr);
        assert.match(ping.stdout, /3 received/);
        await settle(echo);
        const lines = echo.output().split("\n").filter((l) => l.includes("echo reply"));
        assert.equal(lines.length, 3, echo.output());
        for (const l of lines) assert.ok(l.startsWith(`${l.split(" ")[0]} ${lab.balancer.mac}`), l);
      });

      await t.step("an unsolicited NA announces a new IPv6 VIP within 3 s of vip add", async () => {
        const na = await capture(lab.client.ns, ["-e", "-v", "icmp6 and ip6[40] == 136"]);
        const added = Date.now();
        await dsrOk(paths, ["vip", "add", "[2001:2::200]:80"]);
        await waitFor("the unsolicited NA", () => na.output().includes("tgt is 2001:2::200"), 3000);
        const took = Date.now() - added;
        await settle(na);
        const line = na.output().split("\n").find((l) => l.includes("tgt is 2001:2::200"))!;
        assert.ok(line.includes(`${lab.balancer.mac} > 33:33:00:00:00:01`), line);
        assert.match(na.output(), /Flags \[override\]/);
        assert.ok(took < 3000, `${took} ms`);
      });

      await t.step("fragmented IPv6 datagrams each arrive whole at one real server", async () => {
        const sinks = lab.servers.map((s) =>
          nsSpawn(s.ns, [DENO, "run", "-A", "--unstable-net", UDP_SINK, String(UDP_PORT)])
        );
        processes.push(...sinks);
        for (const sink of sinks) {
          await waitFor("a UDP sink", () => sink.output().includes("listening"), 10_000);
        }
        const frags = await capture(lab.servers[0].ns, ["-Q", "in", "ip6 and ip6[6] == 44"]);
        const count = 30;
        await nsExec(lab.client.ns, [
          DENO,
          "run",
          "-A",
          "--unstable-net",
          UDP_SEND,
          vip6,
          String(UDP_PORT),
          "3000",
          String(count),
        ], { check: true });
        const got = () => sinks.map((s) => s.output().split("\n").filter((l) => /^\d+ /.test(l)));
        await waitFor("every datagram", () => got().flat().length >= count, 5000);
        await new Promise((r) => setTimeout(r, 300));
        const per = got();
        assert.equal(per.flat().length, count, JSON.stringify(per));
        for (const line of per.flat()) assert.equal(line, `3000 ${lab.client.ip6}`);
        assert.ok(
          per.filter((lines) => lines.length > 0).length >= 2,
          `spread: ${per.map((l) => l.length)}`,
        );
        await settle(frags);
        assert.ok(/frag \(/.test(frags.output()), `rs1 received fragments: ${frags.output()}`);
      });

      await t.step(
        "an ICMPv6 packet-too-big for a flow reaches the real server of that flow",
        async () => {
          const [curl, owner] = await longFlow(lab, url6, 40123);
          processes.push(curl);
          const caps = await Promise.all(
            lab.servers.map((s) => capture(s.ns, ["icmp6 and ip6[40] == 2"])),
          );
          const reply = eth().ipv6({ src: vip6, dst: lab.client.ip6!, hopLimit: 64 })
            .tcp({ sport: 80, dport: 40123, flags: 0x18 }).payload(new Uint8Array(1400))
            .build({ pad: false }).subarray(14, 14 + 600);
          await inject(
            lab,
            eth({ src: lab.client.mac, dst: lab.balancer.mac })
              .ipv6({ src: lab.client.ip6!, dst: vip6 })
              .icmp6({ type: 2, body: [0, 0, 0x05, 0x00] }).payload(reply).build(),
          );
          await settle(...caps);
          lab.servers.forEach((s, i) => {
            const seen = caps[i].output().includes("packet too big");
            assert.equal(seen, s.name === owner, `${s.name} (owner ${owner}): ${caps[i].output()}`);
          });
          await curl.kill();
        },
      );

      await t.step(
        "an ICMP fragmentation-needed for an IPv4 flow reaches the real server of that flow",
        async () => {
          const [curl, owner] = await longFlow(lab, `http://${lab.vip}/`, 40124);
          processes.push(curl);
          const caps = await Promise.all(
            lab.servers.map((s) => capture(s.ns, ["icmp and icmp[0] == 3"])),
          );
          const reply = eth().ipv4({ src: lab.vip, dst: lab.client.ip, df: true })
            .tcp({ sport: 80, dport: 40124, flags: 0x18 }).payload(new Uint8Array(1400))
            .build({ pad: false }).subarray(14, 14 + 28);
          await inject(
            lab,
            eth({ src: lab.client.mac, dst: lab.balancer.mac })
              .ipv4({ src: lab.client.ip, dst: lab.vip })
              .icmpEcho({ type: 3, code: 4, id: 0, seq: 1280 }).payload(reply).build(),
          );
          await settle(...caps);
          lab.servers.forEach((s, i) => {
            const seen = caps[i].output().includes("need to frag");
            assert.equal(seen, s.name === owner, `${s.name} (owner ${owner}): ${caps[i].output()}`);
          });
          await curl.kill();
        },
      );

      await t.step("the DR-path probe and the HTTP check run over IPv6", async () => {
        await dsrOk(paths, ["vip", "set", `[${vip6}]:80`, "--check", "dr"]);
        await waitFor("the dr check over IPv6 to pass", async () => {
          const v = (await status(paths)).vips.find((x) => x.vip === vip6 && x.port === 80)!;
          return v.rips.every((r) =>
            r.check.type === "dr" && r.check.ok === true && r.state === "up"
          );
        }, 10_000);
        await dsrOk(paths, ["vip", "set", `[${vip6}]:80`, "--check", "http"]);
        await waitFor("the http check over IPv6 to pass", async () => {
          const v = (await status(paths)).vips.find((x) => x.vip === vip6 && x.port === 80)!;
          return v.rips.every((r) => r.check.type === "http" && r.check.ok === true);
        }, 10_000);
      });

      await t.step("doctor solicits the IPv6 VIP and finds only the balancer", async () => {
        const run = await dsr(paths, ["doctor", "--json"]);
        const report = JSON.parse(run.stdout) as {
          findings: { check: string; subject: string; ok: boolean; message: string }[];
        };
        const ndp = report.findings.find((f) => f.check === "arp" && f.subject === vip6)!;
        assert.equal(ndp.ok, true, ndp.message);
        assert.match(ndp.message, /Neighbor Solicitations/);
        const paths6 = report.findings.filter((f) =>
          f.check === "dr-path" && f.subject.includes(vip6)
        );
        assert.equal(paths6.length, 3);
        assert.ok(paths6.every((f) => f.ok), JSON.stringify(paths6));
      });
    } finally {
      await stopAll(processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});
