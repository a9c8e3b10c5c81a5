/**
 * The ssh transport's own rules, with stand-in `ssh` programs on PATH (the
 * real OpenSSH runs in test/jump_box_test.ts): the deadline, ssh's words
 * passed on, a missing ssh named, and nothing left behind in any case.
 */

import assert from "node:assert/strict";
import { parseSshUrl } from "./ssh_url.ts";
import { UnreachableError } from "./transport.ts";
import { openSshTunnel } from "./transport_ssh.ts";

/** Runs `fn` with PATH holding only an `ssh` made of `script` (none when null), and a private TMPDIR. */
async function withFakeSsh(
  script: string | null,
  fn: (o: { tmp: string; dir: string }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dsr-fake-ssh-" });
  const tmp = `${dir}/tmp`;
  await Deno.mkdir(tmp);
  if (script !== null) {
    await Deno.writeTextFile(`${dir}/ssh`, `#!/bin/sh\nPATH=/usr/bin:/bin\n${script}\n`);
    await Deno.chmod(`${dir}/ssh`, 0o755);
  }
  const saved = { PATH: Deno.env.get("PATH")!, TMPDIR: Deno.env.get("TMPDIR") };
  Deno.env.set("PATH", dir);
  Deno.env.set("TMPDIR", tmp);
  try {
    await fn({ tmp, dir });
  } finally {
    Deno.env.set("PATH", saved.PATH);
    if (saved.TMPDIR === undefined) Deno.env.delete("TMPDIR");
    else Deno.env.set("TMPDIR", saved.TMPDIR);
    await Deno.remove(dir, { recursive: true });
  }
}

const target = parseSshUrl("ssh://ops@lb9/run/dsr/dsr.sock");
const empty = async (dir: string) => (await Array.fromAsync(Deno.readDir(dir))).length === 0;

Deno.test("an ssh that never forwards is given up at the deadline, killed, and its directory removed", async () => {
  // Records its pid, then hangs as a connection to a silent host would.
  await withFakeSsh(`echo $$ > "$(dirname "$0")/pid"; exec sleep 30`, async ({ tmp, dir }) => {
    const started = performance.now();
    await assert.rejects(openSshTunnel(target, { timeoutMs: 1000 }), (e: Error) => {
      assert.ok(e instanceof UnreachableError);
      assert.equal(e.reason, "ssh did not connect within 1 s (is lb9 up?)");
      return true;
    });
    assert.ok(performance.now() - started < 2000);
    assert.ok(await empty(tmp), "no directory left");
    const pid = (await Deno.readTextFile(`${dir}/pid`)).trim();
    for (let i = 0; i < 100 && await Deno.stat(`/proc/${pid}`).then(() => true, () => false); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const state = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "gone");
    assert.ok(state === "gone" || / Z /.test(state), `ssh (pid ${pid}) was killed: ${state}`);
  });
});

Deno.test("ssh's own last words are the reason, and its arguments are the forward", async () => {
  const script = `printf '%s\\n' "$@" > "$(dirname "$0")/args"
echo "ssh: Could not resolve hostname lb9: Name or service not known" >&2
exit 255`;
  await withFakeSsh(script, async ({ tmp, dir }) => {
    await assert.rejects(
      openSshTunnel(target),
      (e: Error) =>
        e instanceof UnreachableError &&
        e.message === "cannot reach the dsr daemon at ssh://ops@lb9/run/dsr/dsr.sock: " +
            "ssh: Could not resolve hostname lb9: Name or service not known",
    );
    assert.ok(await empty(tmp));
    const args = (await Deno.readTextFile(`${dir}/args`)).trim().split("\n");
    assert.deepEqual(args.slice(-3, -2)[0].split(":").slice(1), ["/run/dsr/dsr.sock"]);
    assert.match(
      args.at(-3)!,
      new RegExp(`^${tmp}/dsr-ssh-[^/]+/dsr\\.sock:`),
      "local end in TMPDIR",
    );
    assert.deepEqual(args.slice(-2), ["--", "lb9"]);
  });
});

Deno.test("without ssh installed the reason names the package", async () => {
  await withFakeSsh(null, async ({ tmp }) => {
    await assert.rejects(
      openSshTunnel(target),
      (e: Error) =>
        e instanceof UnreachableError &&
        e.reason === "ssh is not installed (Debian: apt-get install openssh-client)",
    );
    assert.ok(await empty(tmp));
  });
});
