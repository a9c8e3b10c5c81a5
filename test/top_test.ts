/**
 * `dsr top` in a real terminal: tmux at 80×24 runs the real command line
 * against a lab daemon under traffic, and the test reads the screen, presses
 * keys, and checks what the daemon did and that the terminal comes back.
 * Set DSR_TOP_SCREEN=FILE to keep one captured screen (tui/README_SCREEN.txt).
 */

import assert from "node:assert/strict";
import {
  configureLab,
  DSR,
  dsr,
  startDaemon,
  startServers,
  status,
  stopAll,
  tempPaths,
} from "./_dsr.ts";
import { type NsProcess, nsSpawn, requireRoot, uniquePrefix, waitFor, withLab } from "./_netns.ts";

const STREAM = new URL("./_http_stream.ts", import.meta.url).pathname;

/** Fails clearly when tmux is not installed (scripts/setup.sh installs it). */
function requireTmux(): void {
  try {
    new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" }).outputSync();
  } catch (error) {
    throw new Error(`This test needs tmux (apt-get install tmux): ${(error as Error).message}`);
  }
}

/**
 * A private tmux server whose socket lives in `dir`, so the test never touches anyone
 * else's sessions and leaves no socket behind.
 */
function tmuxServer(dir: string) {
  const socket = `${dir}/tmux.sock`;
  const session = `top-${uniquePrefix()}`;
  const run = async (...args: string[]): Promise<string> => {
    const out = await new Deno.Command("tmux", { args: ["-S", socket, ...args], stdin: "null" })
      .output();
    const text = new TextDecoder().decode(out.stdout);
    if (!out.success) {
      throw new Error(`tmux ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
    }
    return text;
  };
  return {
    session,
    run,
    /** The visible 80×24 screen as text. */
    capture: () => run("capture-pane", "-p", "-t", session),
    /** Types `text` literally, then Enter when asked. */
    async type(text: string, enter = false) {
      await run("send-keys", "-t", session, "-l", text);
      if (enter) await run("send-keys", "-t", session, "Enter");
    },
    /** Waits until the screen satisfies `ok`; fails showing the last screen. */
    async screenWhere(what: string, ok: (screen: string) => boolean, ms = 5000): Promise<string> {
      let last = "";
      try {
        return await waitFor(what, async () => {
          last = await run("capture-pane", "-p", "-t", session);
          return ok(last) && last;
        }, ms);
      } catch (error) {
        throw new Error(`${(error as Error).message}; the screen:\n${last}`);
      }
    },
    async kill() {
      await run("kill-server").catch(() => {});
    },
  };
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** The reasons given for a stopped daemon: its socket removed or left behind, or it hung. */
const GONE = new RegExp(
  ": (no such socket \\(is the daemon running\\?\\)" +
    "|connection refused \\(no daemon accepts on the socket\\)" +
    "|no answer within \\d+ s) — retrying",
);

/** The totals line's packets per second, or null while it shows `-`. */
function totalPps(screen: string): number | null {
  const m = /^(\S+) pps {2}/m.exec(screen);
  if (!m || m[1] === "-") return null;
  const scale: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9 };
  const unit = m[1].at(-1)!;
  return unit in scale ? Number(m[1].slice(0, -1)) * scale[unit] : Number(m[1]);
}

/** The sparkline of the VIP's title line. */
const sparkOf = (screen: string) => /[▁▂▃▄▅▆▇█]+/.exec(screen)?.[0] ?? "";

Deno.test("dsr top without a terminal says so instead of drawing garbage", async () => {
  const paths = await tempPaths();
  try {
    const run = await dsr(paths, ["top"]);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, "dsr: error: dsr top needs a terminal\n");
    assert.equal(run.stdout, "");
  } finally {
    await Deno.remove(paths.dir, { recursive: true });
  }
});

Deno.test("dsr top in tmux at 80×24 shows the lab under traffic, drains with d, enables with e, rides out a daemon restart, and q gives the terminal back", async () => {
  requireRoot();
  requireTmux();
  await withLab({ servers: 3 }, async (lab) => {
    const paths = await tempPaths();
    const processes = startServers(lab);
    const tmux = tmuxServer(paths.dir);
    let daemon: NsProcess | null = null;
    try {
      await configureLab(paths, lab);
      daemon = await startDaemon(paths, lab);
      processes.push(nsSpawn(lab.client.ns, [DSR[0], "run", "-A", STREAM, `http://${lab.vip}/`]));

      // A plain sh (no line editor to hide a terminal left raw) runs dsr top and records how
      // the terminal was set before and after, and top's exit status.
      const cmd = [...DSR, "--socket", paths.socket, "--state", paths.state, "top"];
      const script = `${paths.dir}/top.sh`;
      await Deno.writeTextFile(
        script,
        [
          `stty -g > ${quote(`${paths.dir}/stty.before`)}`,
          cmd.map(quote).join(" "),
          "code=$?",
          `stty -g > ${quote(`${paths.dir}/stty.after`)}`,
          `echo $code > ${quote(`${paths.dir}/top.status`)}`,
          "",
        ].join("\n"),
      );
      await tmux.run("new-session", "-d", "-s", tmux.session, "-x", "80", "-y", "24", "sh");
      await tmux.type(`sh ${script}`, true);

      const ips = lab.servers.map((s) => s.ip);
      const first = await tmux.screenWhere("the dashboard with rates", (screen) => {
        const all = [`${lab.vip}:80/tcp mh`, ...ips].every((s) => screen.includes(s));
        return all && (totalPps(screen) ?? 0) > 0 && sparkOf(screen).length >= 2;
      }, 15_000);
      const lines = first.trimEnd().split("\n");
      assert.ok(lines.length <= 24, `${lines.length} lines`);
      for (const line of lines) assert.ok([...line].length <= 80, `too wide: "${line}"`);
      for (const ip of ips) assert.match(first, new RegExp(`${ip.replaceAll(".", "\\.")} +up `));

      await new Promise((r) => setTimeout(r, 2500));
      const second = await tmux.capture();
      assert.ok((totalPps(second) ?? 0) > 0, second);
      assert.ok(sparkOf(second).length > sparkOf(first).length, `${first}\n---\n${second}`);
      assert.notEqual(second, first, "the counters moved");
      const keep = Deno.env.get("DSR_TOP_SCREEN");
      if (keep) {
        const screen = await tmux.screenWhere(
          "a longer history",
          (screen) => sparkOf(screen).length >= 20,
          30_000,
        );
        await Deno.writeTextFile(keep, screen.trimEnd() + "\n");
      }

      // The first real server is selected at start.
      assert.match(second, new RegExp(`^› ${ips[0].replaceAll(".", "\\.")} +up `, "m"));
      await tmux.type("d");
      await waitFor("dsr status to show the selected real server draining", async () => {
        const s = await status(paths);
        return s.vips[0].rips.find((r) => r.ip === ips[0])?.state === "drain";
      }, 5000);
      await tmux.screenWhere(
        "the dashboard to show it",
        (screen) => new RegExp(`^› ${ips[0].replaceAll(".", "\\.")} +drain `, "m").test(screen),
      );
      assert.deepEqual(
        (await status(paths)).vips[0].rips.filter((r) => r.state === "drain").map((r) => r.ip),
        [ips[0]],
        "only the selected real server drains",
      );

      await tmux.type("e");
      await waitFor("dsr status to show it enabled again", async () => {
        const s = await status(paths);
        return s.vips[0].rips.every((r) => r.state === "up");
      }, 5000);

      // The daemon goes away and comes back: the dashboard says so, then carries on by itself.
      await daemon.kill();
      const gone = await tmux.screenWhere("the daemon-down message", (screen) => {
        const text = screen.replace(/\s*\n\s*/g, " ");
        return text.includes(`dsr daemon not reachable on ${paths.socket}: `) && GONE.test(text);
      }, 10_000);
      assert.ok(!gone.includes(ips[1]), "no stale rows while the daemon is away");
      daemon = await startDaemon(paths, lab);
      await tmux.screenWhere(
        "the dashboard to reconnect",
        (screen) => ips.every((ip) => screen.includes(ip)) && !screen.includes("retrying"),
        10_000,
      );

      await tmux.type("q");
      // Written last, so a status read means the shell has run every line before it.
      const code = await waitFor(
        "dsr top to exit",
        async () => (await Deno.readTextFile(`${paths.dir}/top.status`)).trim(),
        5000,
      );
      assert.equal(code, "0", "dsr top exits with status 0");
      assert.equal(
        await Deno.readTextFile(`${paths.dir}/stty.after`),
        await Deno.readTextFile(`${paths.dir}/stty.before`),
        "the terminal settings are as before",
      );
      await tmux.type("echo ok", true);
      await tmux.screenWhere("the shell to answer", (screen) => /^ok$/m.test(screen));
      assert.ok(!(await tmux.capture()).includes("REAL SERVER"), "the dashboard is gone");
    } finally {
      await tmux.kill();
      await stopAll(daemon ? [...processes, daemon] : processes);
      await Deno.remove(paths.dir, { recursive: true });
    }
  });
});
