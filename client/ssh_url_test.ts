import assert from "node:assert/strict";
import { UsageError } from "../control/errors.ts";
import { DEFAULT_REMOTE_SOCKET, parseSshUrl, sshForwardArgs } from "./ssh_url.ts";

Deno.test("ssh URLs give user, host, port and socket, each optional but the host", () => {
  const cases: [string, [string | null, string, number | null, string]][] = [
    ["ssh://lb1", [null, "lb1", null, DEFAULT_REMOTE_SOCKET]],
    ["ssh://lb1/", [null, "lb1", null, DEFAULT_REMOTE_SOCKET]],
    ["ssh://root@lb1/run/dsr/dsr.sock", ["root", "lb1", null, "/run/dsr/dsr.sock"]],
    ["ssh://ops@198.19.1.2:2222", ["ops", "198.19.1.2", 2222, DEFAULT_REMOTE_SOCKET]],
    ["ssh://[2001:2::1]:22/tmp/x.sock", [null, "2001:2::1", 22, "/tmp/x.sock"]],
    ["ssh://lb-1.example.net/var/run/dsr.sock", [
      null,
      "lb-1.example.net",
      null,
      "/var/run/dsr.sock",
    ]],
  ];
  for (const [text, [user, host, port, socket]] of cases) {
    assert.deepEqual(parseSshUrl(text), { url: text, user, host, port, socket }, text);
  }
});

Deno.test("bad ssh URLs are refused naming what is wrong and the form expected", () => {
  const cases: [string, RegExp][] = [
    ["lb1", /not an ssh:\/\/ URL/],
    ["http://lb1", /not an ssh:\/\/ URL/],
    ["ssh://", /no host/],
    ["ssh://root@", /no host/],
    ["ssh://-oProxyCommand=x", /bad host "-oProxyCommand=x"/],
    ["ssh://-l@lb1", /bad user name "-l"/],
    ["ssh://lb1:0", /bad port "0"/],
    ["ssh://lb1:65536", /bad port "65536"/],
    ["ssh://lb1:x", /bad port "x"/],
    ["ssh://[lb1]", /bad IPv6 address/],
    ["ssh://lb1/run/a:b.sock", /bad socket path/],
    ["ssh://lb1/run/a b.sock", /bad socket path/],
  ];
  for (const [text, why] of cases) {
    assert.throws(() => parseSshUrl(text), (e: Error) => {
      assert.ok(e instanceof UsageError, text);
      assert.match(e.message, why, text);
      assert.match(e.message, /expected ssh:\/\/\[USER@\]HOST\[:PORT\]\[\/SOCKET\]/);
      return true;
    });
  }
});

Deno.test("ssh forwards the local socket to the daemon's, in batch mode, the host after --", () => {
  const target = parseSshUrl("ssh://ops@lb1:2222/run/dsr/dsr.sock");
  const args = sshForwardArgs(target, "/tmp/d/l.sock", { config: "/etc/dsr/ssh_config" });
  assert.deepEqual(args.slice(-4), ["-L", "/tmp/d/l.sock:/run/dsr/dsr.sock", "--", "lb1"]);
  for (const option of ["ExitOnForwardFailure=yes", "BatchMode=yes", "ControlPath=none"]) {
    assert.ok(args.includes(option), option);
  }
  assert.equal(args[0], "-N");
  assert.deepEqual(args.slice(args.indexOf("-F"), args.indexOf("-F") + 2), [
    "-F",
    "/etc/dsr/ssh_config",
  ]);
  assert.deepEqual(args.slice(args.indexOf("-p"), args.indexOf("-p") + 2), ["-p", "2222"]);
  assert.deepEqual(args.slice(args.indexOf("-l"), args.indexOf("-l") + 2), ["-l", "ops"]);
  const plain = sshForwardArgs(parseSshUrl("ssh://lb1"), "/tmp/d/l.sock");
  assert.ok(!plain.includes("-F") && !plain.includes("-p") && !plain.includes("-l"));
});
