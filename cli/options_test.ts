import assert from "node:assert/strict";
import { defaultCheck } from "../control/config.ts";
import { Command } from "@commander-js/extra-typings";
import { addVipOptions, checkOf, type SharedOpts, vipFieldsOf } from "./options.ts";

Deno.test("check options of each type land in their fields; the command is split into argv", () => {
  assert.deepEqual(
    checkOf({ check: "https", checkHost: "www.example.test", checkInsecure: true }, null, "tcp"),
    { ...defaultCheck("tcp"), type: "https", host: "www.example.test", insecure: true },
  );
  assert.deepEqual(
    checkOf({ check: "exec", checkCommand: `/usr/lib/check --name 'a b'` }, null, "tcp")?.command,
    ["/usr/lib/check", "--name", "a b"],
  );
  const udp = checkOf({ check: "udp", checkSend: "ping", checkReceive: "pong" }, null, "none");
  assert.deepEqual([udp?.send, udp?.receive], ["ping", "pong"]);
});

Deno.test("changing the check type drops the old type's fields; --no-check-insecure is the default, stored as absent", () => {
  const base = checkOf({ check: "https", checkHost: "a.test", checkInsecure: true }, null, "tcp");
  const dns = checkOf({ check: "dns", checkQuery: "a.test" }, base, "tcp");
  assert.deepEqual(dns, { ...defaultCheck("tcp"), type: "dns", query: "a.test" });
  const secure = checkOf({ checkInsecure: false }, base, "tcp");
  assert.equal("insecure" in secure!, false);
  assert.equal(secure?.host, "a.test");
});

Deno.test("bad check values are refused naming the option", () => {
  assert.throws(
    () => checkOf({ check: "exec", checkCommand: "check.sh" }, null, "tcp"),
    /invalid --check-command: the program "check.sh" must be an absolute path/,
  );
  assert.throws(
    () => checkOf({ check: "exec", checkCommand: "/bin/check | tee x" }, null, "tcp"),
    /invalid --check-command: "\|" at character 12 is shell syntax/,
  );
  assert.throws(
    () => checkOf({ checkQuery: "a..b" }, null, "tcp"),
    /invalid --check-query "a\.\.b"/,
  );
  assert.throws(() => checkOf({ checkHost: "" }, null, "tcp"), /invalid --check-host ""/);
});

Deno.test("--ops and --no-ops set one-packet scheduling; without either it is left as it is", () => {
  const fields = (argv: string[]) =>
    vipFieldsOf(
      addVipOptions(new Command().exitOverride().configureOutput({ writeErr: () => {} }))
        .parse(argv, { from: "user" }).opts() as SharedOpts,
    );
  assert.deepEqual(fields(["--ops", "--scheduler", "rr"]), { ops: true, scheduler: "rr" });
  assert.deepEqual(fields(["--no-ops"]), { ops: false });
  assert.deepEqual(fields(["--scheduler", "twos"]), { scheduler: "twos" });
  assert.throws(
    () => fields(["--scheduler", "fifo"]),
    /Allowed choices are rr, wrr, lc, wlc, sh, mh, dh, lblc, lblcr, sed, nq, fo, ovf, twos/,
  );
});
