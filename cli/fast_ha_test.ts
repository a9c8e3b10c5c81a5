import assert from "node:assert/strict";
import { parseFastHa } from "./fast_ha.ts";

const noEnv = () => undefined;
const SOCK = "/run/dsr/dsr.sock";

Deno.test("parseFastHa takes the plain forms keepalived runs", () => {
  const cases: [string[], object][] = [
    [["ha", "check"], { socket: SOCK, action: "check", minUptime: 0 }],
    [["ha", "promote"], { socket: SOCK, action: "promote", minUptime: 0 }],
    [["ha", "demote"], { socket: SOCK, action: "demote", minUptime: 0 }],
    [["--socket", "/tmp/a.sock", "ha", "check", "--min-uptime", "8"], {
      socket: "/tmp/a.sock",
      action: "check",
      minUptime: 8,
    }],
    [["--socket=/tmp/b.sock", "ha", "check", "--min-uptime=0"], {
      socket: "/tmp/b.sock",
      action: "check",
      minUptime: 0,
    }],
  ];
  for (const [args, expected] of cases) {
    assert.deepEqual(parseFastHa(args, noEnv), expected, args.join(" "));
  }
});

Deno.test("parseFastHa takes the socket from DSR_SOCKET unless --socket is given", () => {
  const env = (name: string) => name === "DSR_SOCKET" ? "/env.sock" : undefined;
  assert.equal(parseFastHa(["ha", "promote"], env)?.socket, "/env.sock");
  assert.equal(parseFastHa(["--socket", "/x.sock", "ha", "promote"], env)?.socket, "/x.sock");
});

Deno.test("parseFastHa leaves everything else to the full command line", () => {
  const others = [
    [],
    ["ha"],
    ["ha", "status"],
    ["ha", "keepalived", "--iface", "eth0"],
    ["ha", "check", "-h"],
    ["ha", "promote", "--help"],
    ["ha", "promote", "extra"],
    ["ha", "check", "--min-uptime"],
    ["ha", "check", "--min-uptime", "x"],
    ["ha", "check", "--min-uptime", "-1"],
    ["ha", "check", "--min-uptime", "99999"],
    ["--host", "ssh://lb1", "ha", "check"],
    ["--state", "/s.json", "ha", "check"],
    ["--socket", "ha", "check"],
    ["--socket="],
    ["status"],
    ["vip", "add", "ha"],
  ];
  for (const args of others) assert.equal(parseFastHa(args, noEnv), null, args.join(" "));
  const host = (name: string) => name === "DSR_HOST" ? "ssh://lb1" : undefined;
  assert.equal(parseFastHa(["ha", "promote"], host), null, "DSR_HOST: through ssh, not here");
});
