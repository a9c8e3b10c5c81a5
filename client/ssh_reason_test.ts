import assert from "node:assert/strict";
import { channelFailure, sshReason } from "./ssh_reason.ts";

Deno.test("ssh's failure is its last line, with a hint for host keys and refused keys", () => {
  assert.equal(
    sshReason("ssh: connect to host 198.19.3.2 port 22: Network is unreachable\r\n"),
    "ssh: connect to host 198.19.3.2 port 22: Network is unreachable",
  );
  assert.equal(
    sshReason("root@198.19.1.2: Permission denied (publickey).\r\n"),
    "ssh: root@198.19.1.2: Permission denied (publickey). " +
      "(is this key in the balancer's authorized_keys for that user?)",
  );
  assert.match(
    sshReason(
      "No ED25519 host key is known for 198.19.1.2 and you have requested strict checking.\r\n" +
        "Host key verification failed.\r\n",
    ),
    /^ssh: No ED25519 host key is known for 198\.19\.1\.2 .*\(Host key verification failed: add the balancer's host key to known_hosts/,
  );
  const changed = [
    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
    "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
    "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!",
    "Host key for 198.19.1.2 has changed and you have requested strict checking.",
    "Host key verification failed.",
  ].join("\n");
  assert.match(sshReason(changed), /^ssh: the balancer's host key has changed/);
  assert.equal(
    sshReason("Warning: Permanently added '198.19.1.2' (ED25519) to the list of known hosts.\n"),
    "",
  );
  assert.equal(sshReason(""), "");
});

Deno.test("a forwarded connection sshd could not open is told from one it may not open", () => {
  assert.equal(
    channelFailure("channel 2: open failed: connect failed: open failed\r\n"),
    "connect",
  );
  assert.equal(
    channelFailure("channel 2: open failed: administratively prohibited: open failed\r\n"),
    "prohibited",
  );
  assert.equal(channelFailure("Warning: something else\n"), null);
});
