/**
 * The multi-balancer dashboard rendered by ink-testing-library: two nodes
 * with their roles, rates and VIPs in 80×24, each polled on its own (one
 * down does not hold up the other), and keys acting on the selected node.
 */

import assert from "node:assert/strict";
import type { Status } from "../control/status.ts";
import { FakeSource, rip, status, vip } from "./_fixtures.ts";

// Colours as app_test.tsx forces them (chalk reads FORCE_COLOR once, as Ink loads).
const forced = Deno.env.get("FORCE_COLOR");
Deno.env.set("FORCE_COLOR", "1");
const { render } = await import("ink-testing-library");
const { MultiApp } = await import("./multi_app.tsx");
if (forced === undefined) Deno.env.delete("FORCE_COLOR");
else Deno.env.set("FORCE_COLOR", forced);

const ESC = "\u001B";
const RIGHT = `${ESC}[C`;
// deno-lint-ignore no-control-regex
const plain = (frame: string) => frame.replace(/\u001B\[[0-9;]*m/g, "");

type Rendered = ReturnType<typeof render>;

/** A FakeSource with the node's name. */
class Named extends FakeSource {
  constructor(readonly name: string, docs: (Status | Error)[]) {
    super(docs);
  }
}

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

function assertFits(frame: string, columns: number, rows: number): void {
  const lines = plain(frame).split("\n");
  assert.ok(lines.length <= rows, `${lines.length} lines:\n${plain(frame)}`);
  for (const line of lines) assert.ok([...line].length <= columns, `too wide: "${line}"`);
}

/** Three VIPs of two real servers each, counters grown `t` times; the role as given. */
function threeVips(uptime: number, t: number, role?: "active" | "standby"): Status {
  const rips = (base: number) =>
    [1, 2].map((i) =>
      rip(`198.18.0.${base + i}`, { packets: t * 100 * i, bytes: t * 6400 * i, connections: t })
    );
  const doc = status(uptime, [
    vip("198.18.0.100", rips(10)),
    vip("198.18.0.101", rips(20)),
    vip("198.18.0.102", rips(30), { port: 53, proto: "udp" }),
  ], { flows: 7 * t });
  if (role) doc.ha = { ...doc.ha, role };
  else delete (doc as Partial<Status>).ha;
  return doc;
}

async function withMulti(
  sources: Named[],
  fn: (app: Rendered) => Promise<void>,
): Promise<void> {
  const nodes = sources.map((source) => ({ name: source.name, source }));
  const app = render(<MultiApp nodes={nodes} interval={10} columns={80} rows={24} />);
  try {
    await fn(app);
  } finally {
    app.unmount();
    app.cleanup();
  }
}

const nodeLine = (frame: string, name: string) =>
  frame.split("\n").find((l) => /^[› ] /.test(l) && l.slice(2).startsWith(`${name} `)) ?? "";

Deno.test("two balancers with 3 VIPs fit 80×24: a line per node with its role and rates, VIP rows per node, the selected node's real servers", async () => {
  const lb1 = new Named("lb1", [threeVips(10, 0, "active"), threeVips(11, 1, "active")]);
  const lb2 = new Named("lb2", [threeVips(20, 0, "standby")]);
  await withMulti([lb1, lb2], async (app) => {
    const colour = await frameWhere(
      app,
      "both nodes with rates",
      (f) => nodeLine(f, "lb1").includes("900 pps") && nodeLine(f, "lb2").includes("standby"),
    );
    const frame = plain(colour);
    assertFits(colour, 80, 24);
    assert.match(frame, /^dsr top {2}2\/2 balancers up {2}900 pps {2}461 kbit\/s {2}6 new\/s/m);
    assert.match(nodeLine(frame, "lb1"), /^› lb1 +active +900 pps +461 kbit\/s +6 new\/s +flows 7/);
    assert.match(nodeLine(frame, "lb2"), /^ {2}lb2 +standby +- pps +- bit\/s/);
    const vipRows = frame.split("\n").filter((l) => /^ {4}198\.18\.0\.10[0-2]:/.test(l));
    assert.deepEqual(vipRows.map((l) => l.trim().split(/ +/)[0]), [
      "198.18.0.100:80/tcp",
      "198.18.0.101:80/tcp",
      "198.18.0.102:53/udp",
      "198.18.0.100:80/tcp",
      "198.18.0.101:80/tcp",
      "198.18.0.102:53/udp",
    ]);
    assert.match(vipRows[0], / 300 pps +154 kbit\/s +2 new\/s +2\/2 up *$/);
    for (const ip of ["198.18.0.11", "198.18.0.12", "198.18.0.21", "198.18.0.31"]) {
      assert.ok(frame.includes(` ${ip} `), `real server ${ip} of the selected node is shown`);
    }
    assert.ok(colour.includes(`${ESC}[32mactive`), "active in green");
    assert.ok(colour.includes(`${ESC}[33mstandby`), "standby in yellow");
  });
});

Deno.test("a daemon that reports no HA role counts as active", async () => {
  const lb1 = new Named("lb1", [threeVips(10, 0)]);
  const lb2 = new Named("lb2", [threeVips(10, 0, "standby")]);
  await withMulti([lb1, lb2], async (app) => {
    const frame = plain(
      await frameWhere(app, "both", (f) => nodeLine(f, "lb2").includes("standby")),
    );
    assert.match(nodeLine(frame, "lb1"), /^› lb1 +active /);
  });
});

Deno.test("each node is polled on its own: one down shows why and is retried while the other keeps updating", async () => {
  const lb1 = new Named("lb1", [threeVips(10, 0, "active")]);
  const lb2 = new Named("lb2", [
    new Error("ssh: connect to host 198.19.2.2 port 22: Connection refused"),
  ]);
  await withMulti([lb1, lb2], async (app) => {
    let frame = plain(
      await frameWhere(app, "lb2 down", (f) => nodeLine(f, "lb2").includes("ssh: connect")),
    );
    assert.match(
      nodeLine(frame, "lb2"),
      /lb2 +down +ssh: connect to host 198\.19\.2\.2 port 22: Conn/,
    );
    assert.match(frame, /^dsr top {2}1\/2 balancers up/m);
    const before = lb1.calls;
    await frameWhere(app, "lb1 polled on", () => lb1.calls > before + 3);
    const tries = lb2.calls;
    await frameWhere(app, "lb2 retried", () => lb2.calls > tries + 3);
    lb1.push(threeVips(12, 2, "active"));
    lb2.push(threeVips(30, 0, "standby"));
    frame = plain(
      await frameWhere(app, "lb2 back", (f) => nodeLine(f, "lb2").includes("standby")),
    );
    assert.ok(!frame.includes("ssh: connect"));
    assert.match(frame, /^dsr top {2}2\/2 balancers up/m);
  });
});

Deno.test("keys act on the selected node: d drains there, → moves to the next node", async () => {
  const lb1 = new Named("lb1", [threeVips(10, 0, "active")]);
  const lb2 = new Named("lb2", [threeVips(10, 0, "standby")]);
  await withMulti([lb1, lb2], async (app) => {
    await frameWhere(app, "the table", (f) => f.includes("› 198.18.0.11 "));
    app.stdin.write("d");
    await frameWhere(app, "lb1's drain", () => lb1.patches.length === 1);
    assert.deepEqual(lb1.patches[0], {
      ref: { vip: "198.18.0.100", port: 80, proto: "tcp", ip: "198.18.0.11" },
      patch: { drain: true },
    });
    app.stdin.write(RIGHT);
    await frameWhere(app, "lb2 selected", (f) => nodeLine(f, "lb2").startsWith("› "));
    // The selected node's dashboard starts afresh: its first real server is selected.
    await frameWhere(app, "lb2's table", (f) => f.includes("› 198.18.0.11 "));
    app.stdin.write("+");
    await frameWhere(app, "lb2's weight", () => lb2.patches.length === 1);
    assert.deepEqual(lb2.patches[0].patch, { weight: 2 });
    assert.equal(lb1.patches.length, 1, "nothing more was sent to lb1");
    app.stdin.write("1");
    await frameWhere(app, "lb1 selected again", (f) => nodeLine(f, "lb1").startsWith("› "));
  });
});
