import assert from "node:assert/strict";
import { UsageError } from "./errors.ts";
import {
  ADVERT_INT_S,
  CHECK_FALL,
  CHECK_INTERVAL_S,
  CHECK_TIMEOUT_S,
  DOWN_TIMER_ADVERTS,
  keepalivedConfig,
  type KeepalivedOptions,
} from "./ha_keepalived.ts";

const DSR = ["/usr/local/bin/dsr", "--socket", "/run/dsr/dsr.sock"];
const BASE: KeepalivedOptions = {
  iface: "eth0",
  srcIp: "198.18.0.10",
  peer: "198.18.0.9",
  priority: 150,
  dsr: DSR,
};

/** The config's lines, trimmed, without comments and blanks. */
const lines = (o: Partial<KeepalivedOptions> = {}) =>
  keepalivedConfig({ ...BASE, ...o }).split("\n").map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));

Deno.test("keepalived config: unicast VRRPv2 between the two nodes, not strict, no VIP", () => {
  const l = lines();
  for (
    const want of [
      "vrrp_version 2",
      "interface eth0",
      "virtual_router_id 51",
      "priority 150",
      "unicast_src_ip 198.18.0.10",
      "state BACKUP",
    ]
  ) assert.ok(l.includes(want), `missing "${want}"`);
  const peers = l.indexOf("unicast_peer {");
  assert.deepEqual(l.slice(peers, peers + 3), ["unicast_peer {", "198.18.0.9", "}"]);
  for (const never of ["virtual_ipaddress", "vrrp_strict", "version 3", "vrrp_version 3"]) {
    assert.ok(!l.some((x) => x.startsWith(never)), `has "${never}"`);
  }
});

Deno.test("keepalived config: tracks dsr ha check every 2 s, timeout 5, fall 3, failing on a daemon younger than 3 checks", () => {
  const l = lines();
  assert.ok(l.includes(`script "${DSR.join(" ")} ha check --min-uptime 8"`));
  assert.deepEqual([CHECK_INTERVAL_S, CHECK_TIMEOUT_S, CHECK_FALL], [2, 5, 3]);
  for (const want of ["interval 2", "timeout 5", "fall 3"]) assert.ok(l.includes(want), want);
  const track = l.indexOf("track_script {");
  assert.deepEqual(l.slice(track, track + 3), ["track_script {", "dsr_51_check", "}"]);
  assert.ok(l.includes("vrrp_script dsr_51_check {"));
});

Deno.test("keepalived config: promote on MASTER, demote on BACKUP, FAULT and STOP, with the same socket", () => {
  const l = lines();
  const dsr = DSR.join(" ");
  assert.deepEqual(l.filter((x) => x.startsWith("notify")), [
    `notify_master "${dsr} ha promote"`,
    `notify_backup "${dsr} ha demote"`,
    `notify_fault "${dsr} ha demote"`,
    `notify_stop "${dsr} ha demote"`,
  ]);
  assert.ok(l.includes("enable_script_security"));
  assert.ok(l.includes("script_user root"));
});

Deno.test("keepalived config: the master-down time leaves room for a takeover within 3 s", () => {
  const l = lines({ priority: 1 });
  assert.ok(l.includes(`advert_int ${ADVERT_INT_S}`));
  assert.ok(l.includes(`down_timer_adverts ${DOWN_TIMER_ADVERTS}`));
  // RFC 3768: master-down = adverts × interval + (256 − priority) / 256, worst at priority 1.
  const masterDown = DOWN_TIMER_ADVERTS * ADVERT_INT_S + (256 - 1) / 256;
  assert.ok(masterDown <= 2, `master down after ${masterDown} s: no time left to promote`);
});

Deno.test("keepalived config: --vrid names the instance and its check", () => {
  const l = lines({ vrid: 7 });
  assert.ok(l.includes("virtual_router_id 7"));
  assert.ok(l.includes("vrrp_instance dsr_7 {"));
  assert.ok(l.includes("dsr_7_check"));
});

Deno.test("keepalived config refuses what keepalived would misread or reject", () => {
  const bad: [string, Partial<KeepalivedOptions>, RegExp][] = [
    ["priority 0", { priority: 0 }, /invalid --priority 0: expected 1 to 254/],
    ["priority 255", { priority: 255 }, /invalid --priority 255/],
    ["vrid 0", { vrid: 0 }, /invalid --vrid 0: expected 1 to 255/],
    ["vrid 256", { vrid: 256 }, /invalid --vrid 256/],
    ["a blank in the command", { dsr: ["/opt/my dsr/dsr"] }, /cannot put "\/opt\/my dsr\/dsr"/],
    ["a quote in the socket", { dsr: ["dsr", "--socket", `/tmp/a"b`] }, /a blank, a quote/],
  ];
  for (const [what, o, message] of bad) {
    assert.throws(() => keepalivedConfig({ ...BASE, ...o }), UsageError, what);
    assert.throws(() => keepalivedConfig({ ...BASE, ...o }), message, what);
  }
});
