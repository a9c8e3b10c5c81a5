import assert from "node:assert/strict";
import { UsageError } from "../control/errors.ts";
import { type CommandLike, everyPathsOf, type GlobalOpts, pathsOf } from "./where.ts";

/** `dsr <path…>` with these global options. */
function line(path: string[], opts: GlobalOpts): CommandLike {
  let cmd: CommandLike = { name: () => "dsr", parent: null, optsWithGlobals: () => opts };
  for (const name of path) cmd = { name: () => name, parent: cmd, optsWithGlobals: () => opts };
  return cmd;
}

const env = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("options win over the environment, which wins over the defaults", () => {
  assert.deepEqual(pathsOf(line(["vip", "add"], {}), env({})), {
    socket: "/run/dsr/dsr.sock",
    state: "/var/lib/dsr/state.json",
  });
  const vars = env({ DSR_SOCKET: "/e.sock", DSR_STATE: "/e.json", DSR_SSH_CONFIG: "/e.conf" });
  assert.deepEqual(pathsOf(line(["vip", "add"], { socket: "/o.sock" }), vars), {
    socket: "/o.sock",
    state: "/e.json",
  });
  const remote = pathsOf(line(["status"], { host: ["ssh://root@lb1"] }), vars);
  assert.equal(remote.host?.host, "lb1");
  assert.equal(remote.sshConfig, "/e.conf");
  const fromEnv = pathsOf(line(["vip", "list"], {}), env({ DSR_HOST: "ssh://lb2:2222" }));
  assert.equal(fromEnv.host?.port, 2222);
  const given = pathsOf(
    line(["vip", "list"], { host: ["ssh://lb3"] }),
    env({ DSR_HOST: "ssh://lb2" }),
  );
  assert.equal(given.host?.host, "lb3", "--host wins over DSR_HOST");
});

Deno.test("status and top take several hosts, in order; other commands refuse more than one", () => {
  const hosts = ["ssh://lb1", "ssh://ops@lb2/tmp/d.sock"];
  for (const command of ["status", "top"]) {
    const all = everyPathsOf(line([command], { host: hosts }), env({}));
    assert.deepEqual(all.map((p) => p.host?.url), hosts);
    assert.equal(all[1].host?.socket, "/tmp/d.sock");
  }
  assert.deepEqual(everyPathsOf(line(["status"], {}), env({})).map((p) => p.host), [undefined]);
  assert.throws(
    () => pathsOf(line(["rip", "add"], { host: hosts }), env({})),
    (e: Error) => e instanceof UsageError && /--host given 2 times/.test(e.message),
  );
});

Deno.test("commands that act on this machine refuse --host, but not a DSR_HOST meant for others", () => {
  for (const path of [["start"], ["lab", "up"], ["realserver", "setup"]]) {
    assert.throws(
      () => pathsOf(line(path, { host: ["ssh://lb1"] }), env({})),
      (e: Error) =>
        e instanceof UsageError &&
        e.message.startsWith(
          `--host does not apply to dsr ${path.join(" ")}: it acts on this machine`,
        ),
    );
    assert.equal(pathsOf(line(path, {}), env({ DSR_HOST: "ssh://lb1" })).host, undefined);
  }
  assert.throws(
    () => pathsOf(line(["status"], { host: ["lb1"] }), env({})),
    /invalid --host "lb1"/,
  );
});
