/**
 * The dashboard rendered by ink-testing-library from recorded status
 * sequences and a fake data source: rates over the daemon's clock, colours
 * per state, the daemon-down message, scrolling, help, and the changes the
 * keys send.
 */

import assert from "node:assert/strict";
import type { Status } from "../control/status.ts";
import { FakeSource, rip, status, vip } from "./_fixtures.ts";

// Ink colours text through chalk, which picks its colour level once, when it
// is loaded, from FORCE_COLOR, the TTY and CI. Under `deno test` stdout is
// no TTY (and CI=true on CI), so the level would be 0 and lastFrame() would
// hold no colour at all: force 16 colours before Ink is loaded, then put the
// environment back so processes started later do not inherit it.
const forced = Deno.env.get("FORCE_COLOR");
Deno.env.set("FORCE_COLOR", "1");
const { render } = await import("ink-testing-library");
const { App } = await import("./app.tsx");
if (forced === undefined) Deno.env.delete("FORCE_COLOR");
else Deno.env.set("FORCE_COLOR", forced);

const V = "198.18.0.100";
const SOCKET = "/run/dsr/test.sock";
const ESC = "\u001B";
const DOWN = `${ESC}[B`;
const UP = `${ESC}[A`;
// deno-lint-ignore no-control-regex
const plain = (frame: string) => frame.replace(/\u001B\[[0-9;]*m/g, "");

type Rendered = ReturnType<typeof render>;

/** Waits until the last frame satisfies `ok`; fails with the frame on timeout. */
async function frameWhere(
  app: Rendered,
  what: string,
  ok: (frame: string) => boolean,
  ms = 3000,
): Promise<string> {
  const deadline = performance.now() + ms;
  while (true) {
    const frame = app.lastFrame() ?? "";
    if (ok(plain(frame))) return frame;
    if (performance.now() > deadline) {
      throw new Error(`Timed out waiting for ${what}; last frame:\n${plain(frame)}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Renders the dashboard at 80×24 (unless told otherwise), unmounting when `fn` ends. */
async function withApp(
  source: FakeSource,
  fn: (app: Rendered) => Promise<void>,
  size: { columns?: number; rows?: number; interval?: number } = {},
): Promise<void> {
  const app = render(
    <App
      source={source}
      interval={size.interval ?? 10}
      columns={size.columns ?? 80}
      rows={size.rows ?? 24}
    />,
  );
  try {
    await fn(app);
  } finally {
    app.unmount();
    app.cleanup();
  }
}

/** Every line of a frame fits `columns` and there are at most `rows` of them. */
function assertFits(frame: string, columns: number, rows: number): void {
  const lines = plain(frame).split("\n");
  assert.ok(lines.length <= rows, `${lines.length} lines:\n${plain(frame)}`);
  for (const line of lines) assert.ok([...line].length <= columns, `too wide: "${line}"`);
}

/** One real server of four in every state, with counters that grow `t` times. */
function fourStates(uptime: number, t: number): Status {
  return status(uptime, [
    vip(V, [
      rip("198.18.0.11", {
        packets: t * 500,
        bytes: t * 500 * 64,
        connections: t * 10,
        activeConns: 3,
        inactiveConns: 1,
      }),
      rip("198.18.0.12", {
        state: "down",
        check: {
          type: "http",
          ok: false,
          latencyMs: null,
          at: null,
          error: "GET http://198.18.0.12:80/: connection refused",
        },
      }),
      rip("198.18.0.13", { state: "drain", weight: 2 }),
      rip("198.18.0.14", { state: "unresolved", mac: null }),
    ]),
  ], { flows: 42, drops: { noService: 3, malformed: 0, noBackend: 0, evicted: 0 } });
}

/** The line of a frame that names `ip`. */
const lineOf = (frame: string, ip: string) =>
  frame.split("\n").find((l) => l.includes(`${ip} `)) ?? "";

Deno.test("the first document shows no rate, the next ones rates over the daemon's clock", async () => {
  const source = new FakeSource([fourStates(10, 0)]);
  await withApp(source, async (app) => {
    let frame = plain(await frameWhere(app, "the first document", (f) => f.includes("up 10s")));
    assert.match(frame, /^- pps {2}- bit\/s {2}- new\/s {2}flows 42 {2}drops noService=3/m);
    assert.match(lineOf(frame, "198.18.0.11"), / - +- +- /, "no rate in the row either");
    // Polls come every 10 ms here, but the daemon says 0.5 s passed: 500 packets → 1000/s.
    source.push(fourStates(10.5, 1));
    frame = plain(await frameWhere(app, "the second document", (f) => f.includes("1.0k pps")));
    assert.match(frame, /^1\.0k pps {2}512 kbit\/s {2}20 new\/s/m);
    const row = lineOf(frame, "198.18.0.11").split(/ +/);
    // › ip state weight active inactive new/s pps bit/s check…
    assert.deepEqual(row.slice(2, 10), ["up", "1", "3", "1", "20", "1.0k", "512k", "0.4ms"]);
    source.push(fourStates(12.5, 2));
    frame = plain(await frameWhere(app, "the third document", (f) => f.includes(" 250 pps")));
    assert.match(frame, /^250 pps {2}128 kbit\/s {2}5 new\/s/m);
  });
});

Deno.test("a daemon restart (uptime going back) resets the rates to -", async () => {
  const source = new FakeSource([fourStates(100, 0), fourStates(101, 1)]);
  await withApp(source, async (app) => {
    await frameWhere(app, "rates", (f) => f.includes("500 pps"));
    source.push(fourStates(0.5, 0));
    const frame = plain(await frameWhere(app, "the restart", (f) => f.includes("up 0s")));
    assert.match(frame, /^- pps {2}- bit\/s/m);
  });
});

Deno.test("each state has its colour: up green, down red, drain yellow, unresolved magenta", async () => {
  const source = new FakeSource([fourStates(10, 0)]);
  await withApp(source, async (app) => {
    const frame = await frameWhere(app, "the table", (f) => f.includes("198.18.0.14"));
    const colours: [string, string, number][] = [
      ["198.18.0.11", "up", 32],
      ["198.18.0.12", "down", 31],
      ["198.18.0.13", "drain", 33],
      ["198.18.0.14", "unresolved", 35],
    ];
    for (const [ip, state, sgr] of colours) {
      assert.ok(lineOf(frame, ip).includes(`${ESC}[${sgr}m${state}`), `${state} in colour ${sgr}`);
    }
    assert.ok(
      lineOf(frame, "198.18.0.12").includes(`${ESC}[31mGET http://`),
      "a check's last error is red, and truncated to its column",
    );
    assertFits(frame, 80, 24);
  });
});

Deno.test("an unreachable daemon is named with the reason, and the view comes back by itself", async () => {
  const source = new FakeSource([new Error("no such socket (is the daemon running?)")]);
  await withApp(source, async (app) => {
    const down = plain(await frameWhere(app, "the message", (f) => f.includes("retrying")));
    assert.ok(
      down.replace(/\s*\n\s*/g, " ").includes(
        `dsr daemon not reachable on ${SOCKET}: no such socket (is the daemon running?) — retrying`,
      ),
      down,
    );
    assertFits(down, 80, 24);
    const calls = source.calls;
    await frameWhere(app, "more attempts", () => source.calls > calls + 2);
    source.push(fourStates(3, 0));
    await frameWhere(
      app,
      "the table again",
      (f) => f.includes("198.18.0.11") && !f.includes("retrying"),
    );
    source.push(new Error("connection refused"));
    const again = plain(await frameWhere(app, "the message again", (f) => f.includes("retrying")));
    assert.ok(!again.includes("198.18.0.11"), "no stale table while the daemon is away");
    source.push(fourStates(4, 1));
    await frameWhere(app, "the table", (f) => f.includes("198.18.0.11") && !f.includes("retrying"));
  });
});

Deno.test("with 50 real servers the view scrolls: the selected row stays visible in 24 lines", async () => {
  const many = status(5, [
    vip(V, Array.from({ length: 50 }, (_, i) => rip(`198.18.0.${11 + i}`, { packets: i }))),
  ]);
  const source = new FakeSource([many]);
  await withApp(source, async (app) => {
    let frame = plain(await frameWhere(app, "the table", (f) => f.includes("198.18.0.11 ")));
    assertFits(frame, 80, 24);
    assert.ok(frame.includes("198.18.0.100:80/tcp mh"), "the VIP title is on top");
    assert.match(frame, / 1-20\/51$/m, "the footer tells which lines are shown");
    for (let i = 1; i <= 30; i++) {
      app.stdin.write(DOWN);
      const ip = `198.18.0.${11 + i}`;
      frame = plain(await frameWhere(app, `${ip} selected`, (f) => f.includes(`› ${ip} `)));
      assertFits(frame, 80, 24);
    }
    assert.ok(!frame.includes("198.18.0.11 "), "the first rows scrolled away");
    assert.match(frame, / 13-32\/51$/m);
    for (let i = 0; i < 30; i++) app.stdin.write(UP);
    frame = plain(await frameWhere(app, "back at the top", (f) => f.includes("› 198.18.0.11 ")));
    assert.ok(
      frame.includes("198.18.0.100:80/tcp mh"),
      "the VIP title comes back with its first row",
    );
    app.stdin.write(`${ESC}[6~`); // Page Down
    await frameWhere(app, "a page down", (f) => f.includes("› 198.18.0.31 "));
  });
});

Deno.test("columns shrink on narrow terminals and grow on wide ones", async () => {
  for (const [columns, rows] of [[60, 16], [140, 30]]) {
    const source = new FakeSource([fourStates(1, 0), fourStates(2, 1)]);
    await withApp(source, async (app) => {
      const frame = await frameWhere(app, "rates", (f) => f.includes("500 pps"));
      assertFits(frame, columns, rows);
      const titles = plain(frame).split("\n")[2];
      assert.equal(titles.includes("MAC"), columns === 140, titles);
      assert.equal(titles.includes("LAST ERROR"), columns === 140, titles);
      assert.ok(titles.includes("PPS") && titles.includes("STATE"), titles);
    }, { columns, rows });
  }
});

Deno.test("? shows the help over the table and hides it again", async () => {
  const source = new FakeSource([fourStates(1, 0)]);
  await withApp(source, async (app) => {
    await frameWhere(app, "the table", (f) => f.includes("198.18.0.11"));
    app.stdin.write("?");
    const help = await frameWhere(app, "the help", (f) => f.includes("drain: no new flows"));
    assert.ok(!plain(help).includes("198.18.0.11 "), "the help covers the rows");
    assertFits(help, 80, 24);
    app.stdin.write("?");
    await frameWhere(app, "the table again", (f) => f.includes("198.18.0.11 "));
  });
});

Deno.test("d, e, + and - send PATCH …/rips/{ip} for the selected real server", async () => {
  const source = new FakeSource([fourStates(1, 0)]);
  await withApp(source, async (app) => {
    await frameWhere(app, "the table", (f) => f.includes("› 198.18.0.11 "));
    app.stdin.write(DOWN);
    app.stdin.write(DOWN);
    await frameWhere(app, "the third row selected", (f) => f.includes("› 198.18.0.13 "));
    const ref = { vip: V, port: 80, proto: "tcp", ip: "198.18.0.13" };
    app.stdin.write("e");
    await frameWhere(app, "enabled", (f) => /› 198\.18\.0\.13 up /.test(f));
    app.stdin.write("d");
    await frameWhere(app, "drained", (f) => /› 198\.18\.0\.13 drain /.test(f));
    app.stdin.write("+");
    app.stdin.write("+");
    await frameWhere(app, "weight 4", (f) => /› 198\.18\.0\.13 drain +4 /.test(f));
    app.stdin.write("-");
    await frameWhere(app, "weight 3", (f) => /› 198\.18\.0\.13 drain +3 /.test(f));
    assert.deepEqual(source.patches, [
      { ref, patch: { drain: false } },
      { ref, patch: { drain: true } },
      { ref, patch: { weight: 3 } },
      { ref, patch: { weight: 4 } },
      { ref, patch: { weight: 3 } },
    ]);
    for (let i = 0; i < 4; i++) app.stdin.write("-");
    await frameWhere(app, "weight 0", (f) => /› 198\.18\.0\.13 drain +0 /.test(f));
    app.stdin.write("-");
    await frameWhere(app, "a note", (f) => f.includes("198.18.0.13: weight is already 0"));
    assert.equal(source.patches.length, 8, "weight never goes below 0");
    assert.deepEqual(source.patches.at(-1), { ref, patch: { weight: 0 } });
  });
});

Deno.test("a refused change is shown in red in the footer", async () => {
  const source = new FakeSource([fourStates(1, 0)]);
  source.patchRip = () => Promise.reject(new Error("real server 198.18.0.11 does not exist"));
  await withApp(source, async (app) => {
    await frameWhere(app, "the table", (f) => f.includes("› 198.18.0.11 "));
    app.stdin.write("d");
    const frame = await frameWhere(app, "the error", (f) => f.includes("does not exist"));
    assert.ok(frame.includes(`${ESC}[31m198.18.0.11: real server 198.18.0.11 does not exist`));
  });
});

Deno.test("s cycles the sort through config order, pps, connections and state", async () => {
  const doc = (uptime: number, t: number) =>
    status(uptime, [
      vip(V, [
        rip("198.18.0.11", { packets: t, activeConns: 1 }),
        rip("198.18.0.12", { packets: 3 * t, state: "down" }),
        rip("198.18.0.13", { packets: 2 * t, activeConns: 7, state: "drain" }),
      ]),
    ]);
  const source = new FakeSource([doc(1, 0), doc(2, 100)]);
  await withApp(source, async (app) => {
    const order = (f: string) => [...f.matchAll(/198\.18\.0\.1(\d) /g)].map((m) => m[1]).join("");
    await frameWhere(app, "rates", (f) => f.includes("600 pps"));
    const expected: [string, string][] = [
      ["pps", "231"],
      ["connections", "312"],
      ["state", "231"],
      ["config", "123"],
    ];
    for (const [sort, ips] of expected) {
      app.stdin.write("s");
      const frame = await frameWhere(app, `sort ${sort}`, (f) => f.includes(`sort ${sort}`));
      assert.equal(order(plain(frame)), ips, sort);
    }
  });
});

Deno.test("q quits: the dashboard stops polling", async () => {
  const source = new FakeSource([fourStates(1, 0)]);
  const app = render(<App source={source} interval={5} columns={80} rows={24} />);
  try {
    await frameWhere(app, "the table", (f) => f.includes("198.18.0.11"));
    app.stdin.write("q");
    await new Promise((r) => setTimeout(r, 50));
    const calls = source.calls;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(source.calls, calls, "no poll after q");
  } finally {
    app.cleanup();
  }
});

Deno.test("the title line shows the node's HA role and how many VIPs it announces", async () => {
  const ha = { since: "2026-01-01T00:00:00.000Z", transitions: 1 };
  const source = new FakeSource([
    status(5, [], { ha: { role: "standby", ...ha } }),
    status(6, [], { ha: { role: "active", ...ha }, announced: ["198.18.0.100"] }),
  ]);
  await withApp(source, async (app) => {
    const first = plain(await frameWhere(app, "the standby", (f) => f.includes("up 5s")));
    assert.match(first, /^dsr top {2}eth0 02:00:c6:12:00:0a {2}standby {2}up 5s/m);
    const next = plain(await frameWhere(app, "the active node", (f) => f.includes("up 6s")));
    assert.match(next, /^dsr top {2}eth0 02:00:c6:12:00:0a {2}active announcing 1 {2}up 6s/m);
  });
});
