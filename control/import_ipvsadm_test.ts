import assert from "node:assert/strict";
import { importIpvsadm } from "./import_ipvsadm.ts";

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`./testdata/ipvsadm/${name}`, import.meta.url));

Deno.test("ipvsadm-save -n output of DR services becomes a document: schedulers, persistence, weights, UDP, port 0", () => {
  const { config, warnings } = importIpvsadm(fixture("dr.save"));
  assert.deepEqual(warnings, [
    "line 10: 198.18.0.102:0/tcp covers every port, so it gets no health check (give it one with dsr vip set 198.18.0.102:0 --check tcp --check-port N)",
  ]);
  const brief = config.vips.map((v) => ({
    service: `${v.vip}:${v.port}/${v.proto}`,
    scheduler: v.scheduler,
    persist: v.persist,
    rips: v.rips.map((r) => `${r.ip} w${r.weight}`),
  }));
  assert.deepEqual(brief, [
    {
      service: "198.18.0.100:80/tcp",
      scheduler: "wlc",
      persist: 0,
      rips: ["198.18.0.11 w1", "198.18.0.12 w3"],
    },
    {
      service: "198.18.0.100:443/tcp",
      scheduler: "sh",
      persist: 300,
      rips: ["198.18.0.11 w1", "198.18.0.12 w0"],
    },
    {
      service: "198.18.0.101:53/udp",
      scheduler: "rr",
      persist: 0,
      rips: ["198.18.0.21 w1", "198.18.0.22 w1"],
    },
    { service: "198.18.0.102:0/tcp", scheduler: "mh", persist: 60, rips: ["198.18.0.31 w2"] },
  ]);
  assert.deepEqual(config.vips.map((v) => v.check?.type ?? null), [null, null, null, "none"]);
  assert.ok(config.vips.every((v) => v.rips.every((r) => r.check === null)));
});

Deno.test("masquerading and tunnel real servers are refused naming the line", () => {
  assert.throws(
    () => importIpvsadm(fixture("nat.save")),
    /^ImportError: line 4: masquerading \(-m, NAT\) is not direct routing: dsr forwards DR only \(in "-a -u 198\.18\.0\.101:5000 -r 198\.18\.0\.21:5000 -m -w 2"\)$/,
  );
  assert.throws(
    () => importIpvsadm(fixture("tun.save")),
    /^ImportError: line 2: tunnelling \(-i, IPIP\)/,
  );
});

Deno.test("what dsr cannot do is refused naming the line: fwmark, SCTP, netmask, flags, names, port translation, unknown schedulers", () => {
  const cases: [string, RegExp][] = [
    ["-A -f 1 -s rr", /line 1: firewall-mark services \(-f\)/],
    ["-A --sctp-service 198.18.0.100:80 -s rr", /line 1: SCTP services are not supported/],
    [
      "-A -t 198.18.0.100:80 -s rr -p 300 -M 255.255.255.0",
      /persistence netmask -M 255\.255\.255\.0/,
    ],
    ["-A -t 198.18.0.100:80 -s sh -b sh-port", /scheduler flags -b sh-port/],
    [
      "-A -t 198.18.0.100:http -s rr",
      /"198\.18\.0\.100:http" is not ADDRESS:PORT in numbers: save the rules with ipvsadm-save -n/,
    ],
    [
      "-A -t 198.18.0.100:80 -s rr\n-a -t 198.18.0.100:80 -r 198.18.0.11:8080 -g -w 1",
      /line 2: port translation is not possible in DR mode \(VIP port 80, real server port 8080\)/,
    ],
    ["-A -t 198.18.0.100:80 -s nosuch", /line 1: scheduler nosuch is not one dsr has/],
    [
      "-a -t 198.18.0.100:80 -r 198.18.0.11:80 -g -w 1",
      /line 1: real server of 198\.18\.0\.100:80\/tcp, which no -A line added before/,
    ],
    [
      "-A -t 198.18.0.100:80 -s rr\n-A -t 198.18.0.100:80 -s rr",
      /line 2: service 198\.18\.0\.100:80\/tcp is added twice/,
    ],
    ["-D -t 198.18.0.100:80", /line 1: -D is not a command ipvsadm-save writes/],
  ];
  for (const [text, error] of cases) assert.throws(() => importIpvsadm(text), error, text);
});

Deno.test("rules files for ipvsadm -R: long options, comments, -p alone (300 s), --set timeouts, ipvsadm's default scheduler wlc", () => {
  const { config } = importIpvsadm(
    "# web\n--set 600 60 0\n--add-service --tcp-service 198.18.0.100:80 --persistent\n" +
      "--add-server --tcp-service 198.18.0.100:80 --real-server 198.18.0.11:80 --gatewaying --weight 2\n",
  );
  assert.deepEqual(config.timeouts, { tcp: 600, tcpfin: 60, udp: 300 });
  assert.equal(config.vips[0].scheduler, "wlc");
  assert.equal(config.vips[0].persist, 300);
  assert.equal(config.vips[0].rips[0].weight, 2);
});

Deno.test("-o on a UDP service is one-packet scheduling (ops); on a TCP one it is ignored with a warning, as IPVS ignores it", () => {
  const { config, warnings } = importIpvsadm(
    "-A -u 198.18.0.101:53 -s rr -o\n-A -t 198.18.0.101:80 -s rr -o\n-A -u 198.18.0.101:123 -s rr\n",
  );
  assert.deepEqual(config.vips.map((v) => `${v.port} ${v.ops}`), [
    "53 true",
    "80 false",
    "123 false",
  ]);
  assert.deepEqual(warnings, ["line 2: -o ignored: IPVS applies it to UDP only"]);
});
