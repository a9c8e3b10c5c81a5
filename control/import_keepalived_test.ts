import assert from "node:assert/strict";
import { importKeepalived } from "./import_keepalived.ts";

const sample = (name: string) =>
  Deno.readTextFileSync(new URL(`./testdata/keepalived/keepalived.conf.${name}`, import.meta.url));
/** The sample with its NAT virtual servers made direct routing, the only change. */
const dr = (name: string) => sample(name).replaceAll("lb_kind NAT", "lb_kind DR");

Deno.test("keepalived's samples as shipped are refused on their lb_kind NAT line", () => {
  const cases: [string, number][] = [
    ["SSL_GET", 33],
    ["sample", 29],
    ["UDP_CHECK", 17],
    ["misc_check_arg", 16],
    ["status_code", 17],
    ["virtualhost", 16],
    ["PING_CHECK", 17],
  ];
  for (const [name, line] of cases) {
    assert.throws(
      () => importKeepalived(sample(name)),
      new RegExp(
        `^ImportError: line ${line}: lb_kind NAT is not direct routing: dsr forwards DR only$`,
      ),
      name,
    );
  }
});

Deno.test("fwmark and group virtual servers are refused naming their line", () => {
  assert.throws(
    () => importKeepalived(dr("fwmark")),
    /^ImportError: line 7: virtual_server fwmark 1: dsr balances VIP:PORT services, not fwmarks$/,
  );
  assert.throws(
    () => importKeepalived(dr("virtual_server_group")),
    /^ImportError: line 13: virtual_server_group: dsr has no groups/,
  );
});

Deno.test("SSL_GET and HTTP_GET become https (not verified, as SSL_GET) and http checks: first url's path, connect_timeout, delay_loop, retry 3 → fall 4, rise 1", () => {
  const { config, warnings } = importKeepalived(dr("SSL_GET"));
  assert.deepEqual(
    config.vips.map((v) => `${v.vip}:${v.port}/${v.proto} ${v.scheduler} p${v.persist}`),
    [
      "192.168.200.100:443/tcp rr p50",
      "192.168.200.100:80/tcp rr p50",
    ],
  );
  const common = { port: null, path: "/", expect: 200, interval: 6, timeout: 3, rise: 1, fall: 4 };
  assert.deepEqual(config.vips[0].check, { type: "https", insecure: true, ...common });
  assert.deepEqual(config.vips[1].check, { type: "http", ...common });
  assert.deepEqual(config.vips[0].rips, [{
    ip: "192.168.201.100",
    weight: 1,
    drain: false,
    check: null,
  }]);
  assert.deepEqual(warnings, [
    "line 42: digest left out: the http check compares the status only",
    "line 44: url left out: dsr checks one path, the first url",
    "line 50: delay_before_retry left out: it has no effect in dsr",
    "line 67: digest left out: the http check compares the status only",
    "line 69: url left out: dsr checks one path, the first url",
    "line 75: delay_before_retry left out: it has no effect in dsr",
  ]);
});

Deno.test("the main sample: sorry_server becomes the fallback; MISC_CHECK's quoted misc_path becomes argv; UDP_CHECK and PING_CHECK map", () => {
  const main = importKeepalived(dr("sample")).config.vips[0];
  assert.equal(main.fallback, "192.168.200.200");
  assert.equal(main.check?.type, "http");
  assert.equal(main.check?.path, "/testurl3/test.jsp");

  const misc = importKeepalived(dr("misc_check_arg")).config.vips;
  assert.deepEqual(
    misc.map((v) => v.check?.command),
    [undefined, undefined, ["/usr/local/bin/script.sh", "arg1", "arg2"]].slice(-misc.length),
  );
  const exec = misc.find((v) => v.check?.type === "exec")!;
  assert.equal(exec.check?.fall, 1, "MISC_CHECK's retry default is 0");

  const udp = importKeepalived(dr("UDP_CHECK")).config.vips[0];
  assert.equal(udp.proto, "udp");
  assert.deepEqual({ type: udp.check?.type, timeout: udp.check?.timeout, fall: udp.check?.fall }, {
    type: "udp",
    timeout: 3,
    fall: 4,
  });
  const ping = importKeepalived(dr("PING_CHECK")).config.vips[0];
  assert.deepEqual({ type: ping.check?.type, fall: ping.check?.fall }, { type: "ping", fall: 5 });
});

Deno.test("status_code ranges keep their first status with a warning; virtualhost of the virtual server becomes the check's host", () => {
  const status = importKeepalived(dr("status_code"));
  assert.equal(status.config.vips[0].check?.expect, 200);
  assert.ok(
    status.warnings.some((w) =>
      /status_code 200-299 400-499 503 505: dsr expects one status, 200/.test(w)
    ),
    status.warnings.join("\n"),
  );
  const vhost = importKeepalived(dr("virtualhost")).config.vips[0];
  assert.equal(vhost.check?.host, "www.firewall.loc");
  assert.equal(vhost.check?.type, "https");
});

Deno.test("real servers with different checks keep their own; one without a checker is always up (check none)", () => {
  const { config } = importKeepalived(`
virtual_server 198.18.0.100 80 {
  lb_algo mh
  lb_kind DR
  protocol TCP
  delay_loop 2
  real_server 198.18.0.11 80 {
    weight 3
    TCP_CHECK { connect_timeout 1 }
  }
  real_server 198.18.0.12 80 {
    weight 1
  }
}`);
  const v = config.vips[0];
  assert.equal(v.check, null);
  assert.deepEqual(
    v.rips.map((r) => [r.ip, r.weight, r.check?.type, r.check?.rise, r.check?.fall]),
    [["198.18.0.11", 3, "tcp", 1, 2], ["198.18.0.12", 1, "none", 2, 3]],
  );
  assert.deepEqual([v.rips[0].check?.interval, v.rips[0].check?.timeout], [2, 1]);
});

Deno.test("what dsr cannot do is refused naming the line", () => {
  const vs = (body: string, head = "virtual_server 198.18.0.100 80") =>
    `${head} {\n  lb_kind DR\n${body}\n}\n`;
  const cases: [string, RegExp][] = [
    [
      `virtual_server 198.18.0.100 80 {\n  lb_algo rr\n}`,
      /^ImportError: line 1: no lb_kind \(lvs_method\): keepalived's default is NAT/,
    ],
    [
      vs("  lvs_method TUN type gue port 6080"),
      /line 3: lvs_method TUN type gue port 6080 is not direct routing/,
    ],
    [
      vs("  real_server 198.18.0.11 8080 {\n  }"),
      /line 3: port translation is not possible in DR mode \(VIP port 80, real server port 8080\)/,
    ],
    [
      vs("  real_server 198.18.0.11 80 {\n    SMTP_CHECK {\n    }\n  }"),
      /line 4: SMTP_CHECK has no dsr equivalent/,
    ],
    [
      vs(
        '  real_server 198.18.0.11 80 {\n    MISC_CHECK {\n      misc_path "check.sh | x"\n    }\n  }',
      ),
      /line 5: misc_path: "\|" at character 10 is shell syntax/,
    ],
    [vs("  protocol SCTP"), /line 3: protocol SCTP: dsr balances TCP and UDP/],
    [vs("  lb_algo nosuch"), /line 3: scheduler nosuch is not one dsr has/],
    [vs("  persistence_granularity 255.255.255.0"), /line 3: persistence_granularity/],
    [
      vs("  real_server 198.18.0.11 80 {\n  }") + vs("  real_server 198.18.0.11 80 {\n  }"),
      /line 6: 198\.18\.0\.100:80\/tcp is defined twice \(first on line 1\)/,
    ],
    [
      vs("  real_server 300.1.1.1 80 {\n  }"),
      /^ImportError: line 1: virtual_server 198\.18\.0\.100:80\/tcp: vips\[0\]\.rips\[0\]\.ip: not an IPv4 address/,
    ],
    ["@main virtual_server 198.18.0.100 80 {\n}", /line 1: conditional configuration/],
    ["include /etc/keepalived/conf.d/*.conf", /line 1: include is not followed/],
    ["virtual_server 198.18.0.100 80 {\n  lb_kind DR\n", /line 1: this \{ is never closed/],
  ];
  for (const [text, error] of cases) assert.throws(() => importKeepalived(text), error, text);
});

Deno.test("ops on a UDP virtual server is one-packet scheduling; on a TCP one it is ignored with a warning", () => {
  const block = (proto: string, port: number) => `
virtual_server 198.18.0.101 ${port} {
  lb_algo rr
  lb_kind DR
  protocol ${proto}
  ops
  real_server 198.18.0.21 ${port} {
  }
}`;
  const { config, warnings } = importKeepalived(block("UDP", 53) + block("TCP", 80));
  assert.deepEqual(config.vips.map((v) => [v.port, v.ops]), [[53, true], [80, false]]);
  assert.deepEqual(warnings, ["line 14: ops ignored: IPVS applies it to UDP only"]);
});
