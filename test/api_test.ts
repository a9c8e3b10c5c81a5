/**
 * The control socket of SPEC §8, driven straight from the test process over
 * the socket file of a daemon running on a namespace lab: every endpoint's
 * answer, every kind of refusal (always a JSON 4xx that changes nothing),
 * who may connect, and concurrent changes through the daemon's one queue.
 */

import assert from "node:assert/strict";
import { ApiClient, type ConfigDoc, run } from "./_api.ts";
import { configureLab, startDaemon, startServers, stopAll, tempPaths } from "./_dsr.ts";
import { type NsProcess, nsSpawn, requireRoot, uniquePrefix, waitFor, withLab } from "./_netns.ts";
import { assertShape, StatusShape } from "./_shapes.ts";

const CHECK_DEFAULTS = {
  port: null,
  path: "/",
  expect: 200,
  interval: 2,
  timeout: 1,
  rise: 2,
  fall: 3,
};
const RIP_DEFAULTS = { weight: 1, drain: false, check: null };
const VIP_DEFAULTS = {
  proto: "tcp",
  scheduler: "mh",
  persist: 0,
  fallback: null,
  need: 1,
  ops: false,
  check: null,
} as const;

/**
 * Runs `curl -v` on the socket as the user `nobody` (-v tells why a connect fails).
 * @param options.curl curl options before the URL; default none
 * @param options.group primary group to run with; default nobody's own
 */
function curlAsNobody(
  socket: string,
  path: string,
  options: { curl?: string[]; group?: string } = {},
) {
  const user = ["runuser", "-u", "nobody", ...(options.group ? ["-g", options.group] : [])];
  const curl = ["curl", "-sSv", "--unix-socket", socket, ...options.curl ?? []];
  return run([...user, "--", ...curl, `http://dsr${path}`]);
}

/** Fails with a clear message unless the user `nobody` exists and `runuser` works. */
async function requireNobody(): Promise<void> {
  const id = await run(["id", "-u", "nobody"]);
  if (id.code !== 0) throw new Error(`This test needs the user "nobody": ${id.stderr.trim()}`);
  const probe = await run(["runuser", "-u", "nobody", "--", "true"]);
  if (probe.code !== 0) throw new Error(`runuser -u nobody does not work: ${probe.stderr.trim()}`);
}

Deno.test("control socket: each endpoint answers as SPEC §8 says, bad requests get a JSON 4xx and change nothing, only root may connect", async (t) => {
  requireRoot();
  await withLab({ servers: 2 }, async (lab) => {
    const paths = await tempPaths();
    const processes: NsProcess[] = startServers(lab);
    const api = new ApiClient(paths);
    const group = uniquePrefix().replace("-", "");
    let groupAdded = false;
    const [rs1, rs2] = lab.servers;
    const vip80 = `/v1/vips/${lab.vip}:80/tcp`;
    try {
      await configureLab(paths, lab);
      let daemon = await startDaemon(paths, lab);
      processes.push(daemon);
      const initial: ConfigDoc = {
        version: 1,
        timeouts: { tcp: 900, tcpfin: 120, udp: 300 },
        vips: [{
          vip: lab.vip,
          port: 80,
          ...VIP_DEFAULTS,
          rips: [{ ip: rs1.ip, ...RIP_DEFAULTS }, { ip: rs2.ip, ...RIP_DEFAULTS }],
        }],
      };

      await t.step("GET /v1/status answers the status document of SPEC §5", async () => {
        const status = assertShape(StatusShape, await api.ok("GET /v1/status", 200), "status");
        assert.equal(status.iface, lab.balancer.iface);
        assert.deepEqual(status.ifaces, [lab.balancer.iface], "one leg");
        assert.equal(status.mac, lab.balancer.mac);
        assert.equal(status.flows, 0);
        assert.equal(status.vips.length, 1);
        const [vip] = status.vips;
        assert.deepEqual(
          [vip.vip, vip.port, vip.proto, vip.scheduler],
          [lab.vip, 80, "tcp", "mh"],
        );
        assert.deepEqual(vip.rips.map((r) => [r.ip, r.mac, r.weight, r.state]), [
          [rs1.ip, rs1.mac, 1, "up"],
          [rs2.ip, rs2.mac, 1, "up"],
        ]);
        for (const rip of vip.rips) {
          // A TCP service checks with tcp unless told otherwise (SPEC §3).
          assert.equal(rip.check.type, "tcp");
          assert.deepEqual(Object.keys(rip.check).sort(), [
            "at",
            "error",
            "latencyMs",
            "ok",
            "type",
          ]);
          if (rip.check.at !== null) assert.ok(!isNaN(Date.parse(rip.check.at)), rip.check.at);
        }
      });

      await t.step(
        "GET /v1/config answers the configuration document the state file holds",
        async () => {
          assert.deepEqual(await api.config(), initial);
        },
      );

      await t.step(
        "POST /v1/vips answers 201 and the VIP without rips, defaults filled",
        async () => {
          const udp = await api.ok("POST /v1/vips", 201, {
            json: {
              vip: "198.18.0.101",
              port: 53,
              proto: "udp",
              scheduler: "rr",
              persist: 30,
              fallback: rs2.ip,
              check: { type: "none" },
            },
          });
          assert.deepEqual(udp, {
            vip: "198.18.0.101",
            port: 53,
            proto: "udp",
            scheduler: "rr",
            persist: 30,
            fallback: rs2.ip,
            need: 1,
            ops: false,
            check: { type: "none", ...CHECK_DEFAULTS },
          });
          const tcp = await api.ok("POST /v1/vips", 201, {
            json: { vip: "198.18.0.101", port: 80 },
          });
          assert.deepEqual(tcp, { vip: "198.18.0.101", port: 80, ...VIP_DEFAULTS });
          assert.deepEqual((await api.config()).vips.slice(1), [
            { ...udp as object, rips: [] },
            { ...tcp as object, rips: [] },
          ]);
        },
      );

      await t.step(
        "PATCH /v1/vips/{vip}:{port}/{proto} answers 200 and the changed VIP",
        async () => {
          const changed = await api.ok("PATCH /v1/vips/198.18.0.101:80/tcp", 200, {
            json: { scheduler: "wrr", persist: 60, check: { type: "http", path: "/health" } },
          });
          const expected = {
            vip: "198.18.0.101",
            port: 80,
            ...VIP_DEFAULTS,
            scheduler: "wrr",
            persist: 60,
            check: { type: "http", ...CHECK_DEFAULTS, path: "/health" },
          };
          assert.deepEqual(changed, expected);
          const config = await api.config();
          assert.deepEqual(config.vips[2], { ...expected, rips: [] });
          // Fields left out of the PATCH stay as they were.
          assert.equal(config.vips[1].fallback, rs2.ip);
          const status = assertShape(StatusShape, await api.ok("GET /v1/status", 200), "status");
          assert.equal(
            status.vips.find((v) => v.vip === "198.18.0.101" && v.port === 80)?.scheduler,
            "wrr",
          );
        },
      );

      const rips101 = "/v1/vips/198.18.0.101:80/tcp/rips";
      await t.step("POST …/rips answers 201 and the RIP, defaults filled", async () => {
        const plain = await api.ok(`POST ${rips101}`, 201, { json: { ip: rs1.ip } });
        assert.deepEqual(plain, { ip: rs1.ip, ...RIP_DEFAULTS });
        const full = await api.ok(`POST ${rips101}`, 201, {
          json: { ip: rs2.ip, weight: 3, check: { type: "tcp", port: 80 } },
        });
        assert.deepEqual(full, {
          ip: rs2.ip,
          weight: 3,
          drain: false,
          check: { type: "tcp", ...CHECK_DEFAULTS, port: 80 },
        });
        assert.deepEqual((await api.config()).vips[2].rips, [plain, full]);
        await waitFor("the new real servers up in status", async () => {
          const status = assertShape(StatusShape, await api.ok("GET /v1/status", 200), "status");
          const rips = status.vips.find((v) => v.vip === "198.18.0.101" && v.port === 80)?.rips;
          return rips?.length === 2 && rips.every((r) => r.state === "up");
        });
      });

      await t.step("PATCH …/rips/{ip} answers 200 and the changed RIP", async () => {
        const changed = await api.ok(`PATCH ${rips101}/${rs1.ip}`, 200, {
          json: { weight: 5, drain: true },
        });
        assert.deepEqual(changed, { ip: rs1.ip, weight: 5, drain: true, check: null });
        assert.deepEqual((await api.config()).vips[2].rips[0], changed);
        await waitFor("the drained real server in status", async () => {
          const status = assertShape(StatusShape, await api.ok("GET /v1/status", 200), "status");
          const rip = status.vips.find((v) => v.vip === "198.18.0.101" && v.port === 80)?.rips[0];
          return rip?.state === "drain" && rip.weight === 5;
        });
      });

      await t.step("DELETE …/rips/{ip} answers 204 and the RIP is gone", async () => {
        await api.ok(`DELETE ${rips101}/${rs2.ip}`, 204);
        assert.deepEqual((await api.config()).vips[2].rips.map((r) => r.ip), [rs1.ip]);
      });

      await t.step(
        "DELETE /v1/vips/{vip}:{port}/{proto} answers 204, its real servers go with it",
        async () => {
          await api.ok("DELETE /v1/vips/198.18.0.101:80/tcp", 204);
          await api.ok("DELETE /v1/vips/198.18.0.101:53/udp", 204);
          assert.deepEqual(await api.config(), initial);
          const status = assertShape(StatusShape, await api.ok("GET /v1/status", 200), "status");
          assert.deepEqual(status.vips.map((v) => v.vip), [lab.vip]);
        },
      );

      await t.step("PATCH /v1/timeouts answers the timeouts; unnamed ones stay", async () => {
        const timeouts = await api.ok("PATCH /v1/timeouts", 200, { json: { tcp: 600, udp: 60 } });
        assert.deepEqual(timeouts, { tcp: 600, tcpfin: 120, udp: 60 });
        assert.deepEqual((await api.config()).timeouts, timeouts);
        await api.ok("PATCH /v1/timeouts", 200, { json: { tcp: 900, udp: 300 } });
        assert.deepEqual(await api.config(), initial);
      });

      await t.step("POST /v1/garp answers 204 and a gratuitous ARP goes out", async () => {
        const arp = nsSpawn(lab.client.ns, ["tcpdump", "-i", "eth0", "-nn", "-l", "-e", "arp"]);
        try {
          await waitFor("tcpdump", () => arp.output().includes("listening on"));
          const garp = `Request who-has ${lab.vip} tell ${lab.vip}`;
          const count = () => arp.output().split(garp).length - 1;
          const before = count();
          await api.ok("POST /v1/garp", 204, { json: { vip: lab.vip } });
          await waitFor("the gratuitous ARP", () => count() > before);
          assert.match(
            arp.output(),
            new RegExp(`${lab.balancer.mac} > ff:ff:ff:ff:ff:ff.*${garp}`),
          );
        } finally {
          await arp.kill();
        }
      });

      await t.step(
        "PUT /v1/config answers the changes applied; the same document again answers none",
        async () => {
          const next: ConfigDoc = {
            version: 1,
            timeouts: { tcp: 900, tcpfin: 60, udp: 300 },
            vips: [
              {
                ...initial.vips[0],
                rips: [{ ...initial.vips[0].rips[0], weight: 2 }, initial.vips[0].rips[1]],
              },
              {
                vip: "198.18.0.102",
                port: 443,
                ...VIP_DEFAULTS,
                check: { type: "tcp", ...CHECK_DEFAULTS },
                rips: [{ ip: rs2.ip, ...RIP_DEFAULTS }],
              },
            ],
          };
          const answer = await api.ok("PUT /v1/config", 200, { json: next }) as {
            changes: unknown;
          };
          assert.deepEqual(Object.keys(answer), ["changes"]);
          const changes = answer.changes as string[];
          assert.ok(Array.isArray(changes) && changes.every((c) => typeof c === "string"));
          const said = changes.join("\n");
          assert.match(said, /tcpfin/, "the timeout change is listed");
          assert.match(
            said,
            new RegExp(`${rs1.ip}.*weight|weight.*${rs1.ip}`),
            "the weight change",
          );
          assert.match(said, /198\.18\.0\.102:443/, "the new VIP is listed");
          assert.deepEqual(await api.config(), next);

          const mtime = (await Deno.stat(paths.state)).mtime;
          assert.deepEqual(await api.ok("PUT /v1/config", 200, { json: next }), { changes: [] });
          assert.deepEqual(await api.config(), next);
          assert.deepEqual((await Deno.stat(paths.state)).mtime, mtime, "no change, no write");

          const back = await api.ok("PUT /v1/config", 200, { json: initial }) as {
            changes: string[];
          };
          assert.ok(back.changes.length >= 3, JSON.stringify(back));
          assert.deepEqual(await api.config(), initial);
        },
      );

      await t.step("a missing VIP or RIP answers 404, naming it", async () => {
        const missing: [string, unknown, RegExp][] = [
          [`PATCH /v1/vips/${lab.vip}:81/tcp`, { persist: 1 }, /198\.18\.0\.100:81\/tcp/],
          [`PATCH /v1/vips/${lab.vip}:80/udp`, { persist: 1 }, /198\.18\.0\.100:80\/udp/],
          ["DELETE /v1/vips/198.18.0.199:80/tcp", undefined, /198\.18\.0\.199:80\/tcp/],
          ["POST /v1/vips/198.18.0.199:80/tcp/rips", { ip: rs1.ip }, /198\.18\.0\.199:80\/tcp/],
          [`PATCH ${vip80}/rips/198.18.0.99`, { weight: 2 }, /198\.18\.0\.99/],
          [`DELETE ${vip80}/rips/198.18.0.99`, undefined, /198\.18\.0\.99/],
          ["DELETE /v1/vips/198.18.0.199:80/tcp/rips/198.18.0.11", undefined, /198\.18\.0\.199/],
          ["POST /v1/garp", { vip: "198.18.0.199" }, /198\.18\.0\.199/],
        ];
        for (const [request, json, message] of missing) {
          await api.refused(request, 404, { json, message });
        }
      });

      await t.step("adding a VIP or RIP that exists answers 409, naming it", async () => {
        await api.refused("POST /v1/vips", 409, {
          json: { vip: lab.vip, port: 80 },
          message: /198\.18\.0\.100:80\/tcp already exists/,
        });
        await api.refused(`POST ${vip80}/rips`, 409, {
          json: { ip: rs1.ip, weight: 4 },
          message: /198\.18\.0\.11 already exists/,
        });
      });

      await t.step("a body that is not JSON, or a bad path, answers 400", async () => {
        await api.refused("POST /v1/vips", 400, { raw: '{"vip": "198.18.0.120", "port": 80' });
        await api.refused(`POST ${vip80}/rips`, 400, { raw: "ip=198.18.0.20" });
        await api.refused("PUT /v1/config", 400, { raw: "" });
        await api.refused("PATCH /v1/timeouts", 400, { raw: "{tcp: 60}" });
        await api.refused("PATCH /v1/vips/garbage/tcp", 400, {
          json: { persist: 1 },
          field: "path",
        });
        await api.refused(`PATCH /v1/vips/${lab.vip}:80/sctp`, 400, {
          json: { persist: 1 },
          field: "path",
        });
        await api.refused(`DELETE ${vip80}/rips/not-an-ip`, 400, { field: "path" });
      });

      await t.step("a body of the wrong shape answers 422 naming the field", async () => {
        const cases: [string, unknown, string][] = [
          ["POST /v1/vips", { vip: "198.18.0.100", port: "eighty" }, "port"],
          ["POST /v1/vips", { vip: "198.18.0.120", port: 80, colour: "red" }, "colour"],
          ["POST /v1/vips", { vip: "198.18.0.120", port: 70000 }, "port"],
          ["POST /v1/vips", { vip: "198.18.0.300", port: 80 }, "vip"],
          ["POST /v1/vips", { vip: "198.18.0.120", port: 80, scheduler: "fastest" }, "scheduler"],
          ["POST /v1/vips", { vip: "198.18.0.120", port: 80, proto: "sctp" }, "proto"],
          [
            "POST /v1/vips",
            { vip: "198.18.0.120", port: 80, check: { type: "http", interval: 0 } },
            "check.interval",
          ],
          ["POST /v1/vips", { vip: "198.18.0.120", port: 80, rips: [] }, "rips"],
          [`POST ${vip80}/rips`, { ip: "198.18.0.20", weight: 70000 }, "weight"],
          [`POST ${vip80}/rips`, { ip: "198.18.0.20", weight: -1 }, "weight"],
          [`POST ${vip80}/rips`, { ip: "198.18.0.20:8080" }, "ip"],
          [`POST ${vip80}/rips`, { weight: 1 }, "ip"],
          [`PATCH ${vip80}/rips/${rs1.ip}`, { weight: 1.5 }, "weight"],
          [`PATCH ${vip80}/rips/${rs1.ip}`, { drain: "yes" }, "drain"],
          [`PATCH ${vip80}`, { vip: "198.18.0.120" }, "vip"],
          [`PATCH ${vip80}`, { persist: -5 }, "persist"],
          ["PATCH /v1/timeouts", { tcp: 0 }, "tcp"],
          ["PATCH /v1/timeouts", { tcpfin: "long" }, "tcpfin"],
          ["POST /v1/garp", { vip: "nope" }, "vip"],
          ["PUT /v1/config", { version: 2 }, "version"],
          [
            "PUT /v1/config",
            { version: 1, vips: [{ vip: lab.vip, port: 80, rips: [{ ip: rs1.ip, weight: -1 }] }] },
            "vips[0].rips[0].weight",
          ],
          [
            "PUT /v1/config",
            { version: 1, vips: [{ vip: lab.vip, port: 80 }, { vip: lab.vip, port: 80 }] },
            "vips[1]",
          ],
        ];
        for (const [request, json, field] of cases) {
          await api.refused(request, 422, { json, field });
        }
      });

      await t.step("a real server off the interface's subnet answers 422 naming it", async () => {
        await api.refused(`POST ${vip80}/rips`, 422, {
          json: { ip: "198.19.0.5" },
          message: /198\.19\.0\.5.*not on 198\.18\.0\.0\/24 of eth0/,
        });
        await api.refused(`PATCH ${vip80}`, 422, {
          json: { fallback: "198.19.0.9" },
          message: /198\.19\.0\.9.*not on 198\.18\.0\.0\/24/,
        });
      });

      await t.step({
        name: "an off-subnet real server's 422 names the field ip",

        fn: async () => {
          await api.refused(`POST ${vip80}/rips`, 422, { json: { ip: "198.19.0.5" }, field: "ip" });
        },
      });

      await t.step({
        name: "a VIP the balancer host owns answers a 4xx, not 500",

        fn: async () => {
          await api.refused("POST /v1/vips", 422, {
            json: { vip: lab.balancer.ip, port: 80 },
            message: /198\.18\.0\.10 is configured on interface eth0/,
          });
        },
      });

      await t.step("a body over 1 MiB answers 413; exactly 1 MiB is accepted", async () => {
        const mib = 1 << 20;
        const padded = (text: string, size: number) =>
          new TextEncoder().encode(text.padEnd(size, " ")) as Uint8Array<ArrayBuffer>;
        const stream = (size: number) =>
          new ReadableStream<Uint8Array<ArrayBuffer>>({
            start(controller) {
              for (let sent = 0; sent < size; sent += 65536) {
                controller.enqueue(new Uint8Array(65536).fill(0x20));
              }
              controller.close();
            },
          });
        const rip = '{"ip": "198.18.0.20"}';
        await api.refused(`POST ${vip80}/rips`, 413, { raw: padded(rip, mib + 1) });
        // Without a content-length (chunked), the limit holds while reading.
        await api.refused(`POST ${vip80}/rips`, 413, { raw: stream(2 * mib) });
        await api.refused("POST /v1/vips", 413, { raw: new Uint8Array(10_000_000) });
        await api.refused("PUT /v1/config", 413, { raw: stream(10_000_000) });

        await api.ok(`POST ${vip80}/rips`, 201, { raw: padded(rip, mib) });
        assert.equal((await api.config()).vips[0].rips[2].ip, "198.18.0.20");
        await api.ok(`DELETE ${vip80}/rips/198.18.0.20`, 204);
        assert.deepEqual(await api.config(), initial);
      });

      await t.step("a path that does not exist answers 404, a wrong method 405", async () => {
        for (const request of ["GET /v1/nothing", "GET /v2/status", "GET /", "POST /v1/status/x"]) {
          await api.refused(request, 404, { message: /no such endpoint/ });
        }
        const wrong: [string, unknown][] = [
          ["DELETE /v1/status", undefined],
          ["POST /v1/config", initial],
          ["PUT /v1/vips", { vip: "198.18.0.120", port: 80 }],
          ["GET /v1/timeouts", undefined],
          ["GET /v1/garp", undefined],
          [`POST ${vip80}`, { vip: "198.18.0.120", port: 80 }],
          [`PUT ${vip80}/rips/${rs1.ip}`, { ip: rs1.ip }],
        ];
        for (const [request, json] of wrong) {
          await api.refused(request, 405, { json, message: new RegExp(request.split(" ")[0]) });
        }
      });

      await t.step({
        name: "GET /v1/config lists the VIPs in the order the state file holds them",

        fn: async () => {
          await api.ok("POST /v1/vips", 201, { json: { vip: "198.18.0.99", port: 80 } });
          try {
            await api.config();
          } finally {
            await api.ok("DELETE /v1/vips/198.18.0.99:80/tcp", 204);
          }
        },
      });

      await t.step(
        "the socket is 0600 root: nobody cannot connect, and nothing changes",
        async () => {
          await requireNobody();
          const info = await Deno.stat(paths.socket);
          assert.ok(info.isSocket, "the socket file is a socket");
          assert.equal(info.uid, 0, "owned by root");
          assert.equal(info.mode! & 0o777, 0o600, `mode ${(info.mode! & 0o777).toString(8)}`);

          // Open the directory so that only the socket's own mode can refuse nobody.
          await Deno.chmod(paths.dir, 0o755);
          const listing = await run(["runuser", "-u", "nobody", "--", "ls", "-l", paths.dir]);
          assert.equal(listing.code, 0, `nobody can list ${paths.dir}: ${listing.stderr}`);
          assert.match(listing.stdout, /dsr\.sock/);
          const asRoot = await run([
            "curl",
            "-sS",
            "--unix-socket",
            paths.socket,
            "http://dsr/v1/status",
          ]);
          assert.equal(asRoot.code, 0, `root's curl works: ${asRoot.stderr}`);

          const before = await api.config();
          const post = await curlAsNobody(paths.socket, "/v1/vips", {
            curl: [
              "-X",
              "POST",
              "-H",
              "content-type: application/json",
              "-d",
              '{"vip":"198.18.0.120","port":80}',
            ],
          });
          assert.equal(
            post.code,
            7,
            `curl as nobody: exit ${post.code}, ${post.stdout}${post.stderr}`,
          );
          assert.match(post.stderr, /Permission denied/);
          assert.equal(post.stdout, "");
          const get = await curlAsNobody(paths.socket, "/v1/status");
          assert.equal(get.code, 7, `GET as nobody: exit ${get.code}`);
          assert.match(get.stderr, /Permission denied/);

          await api.ok("GET /v1/status", 200);
          assert.deepEqual(await api.config(), before, "the configuration is unchanged");
        },
      );

      await t.step("30 concurrent POST …/rips all answer 201 and all land", async () => {
        await api.ok("POST /v1/vips", 201, { json: { vip: "198.18.0.101", port: 80 } });
        const ips = Array.from({ length: 30 }, (_, i) => `198.18.0.${30 + i}`);
        const answers = await Promise.all(
          ips.map((ip) => api.send("POST /v1/vips/198.18.0.101:80/tcp/rips", { json: { ip } })),
        );
        answers.forEach((a, i) => {
          assert.equal(a.status, 201, `${ips[i]}: ${a.status} ${a.text}`);
          assert.deepEqual(a.json, { ip: ips[i], ...RIP_DEFAULTS });
        });
        const config = await api.config();
        const rips = config.vips.find((v) => v.vip === "198.18.0.101")?.rips ?? [];
        assert.deepEqual(rips.map((r) => r.ip).sort(), [...ips].sort());
        const status = assertShape(StatusShape, await api.ok("GET /v1/status", 200), "status");
        assert.equal(status.vips.find((v) => v.vip === "198.18.0.101")?.rips.length, 30);

        await api.ok("DELETE /v1/vips/198.18.0.101:80/tcp", 204);
        assert.deepEqual(await api.config(), initial);
      });

      await t.step(
        "--socket-group makes the socket 0660 with that group, which may use it",
        async () => {
          await requireNobody();
          const added = await run(["groupadd", group]);
          assert.equal(added.code, 0, `groupadd ${group}: ${added.stderr}`);
          groupAdded = true;
          const gid = Number((await run(["getent", "group", group])).stdout.split(":")[2]);

          await daemon.kill();
          daemon = await startDaemon(paths, lab, ["--socket-group", group]);
          processes.push(daemon);
          const info = await Deno.stat(paths.socket);
          assert.equal(info.uid, 0);
          assert.equal(info.gid, gid, `the socket's group is ${group} (${gid})`);
          assert.equal(info.mode! & 0o777, 0o660, `mode ${(info.mode! & 0o777).toString(8)}`);

          const member = await curlAsNobody(paths.socket, "/v1/status", { group });
          assert.equal(member.code, 0, `a member of ${group} connects: ${member.stderr}`);
          assertShape(StatusShape, JSON.parse(member.stdout), "status read by a group member");
          const stranger = await curlAsNobody(paths.socket, "/v1/status");
          assert.equal(stranger.code, 7, "nobody outside the group still cannot connect");
          assert.match(stranger.stderr, /Permission denied/);
          assert.deepEqual(await api.config(), initial, "the restart kept the configuration");
        },
      );
    } finally {
      api.close();
      await stopAll(processes);
      if (groupAdded) await run(["groupdel", group]);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});
