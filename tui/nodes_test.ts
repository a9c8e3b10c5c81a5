import assert from "node:assert/strict";
import { rip, status, vip } from "./_fixtures.ts";
import { fairShares, overviewLines } from "./nodes.ts";
import { emptyFeed, type Feed } from "./poller.ts";

const feedOf = (vips: number): Feed => ({
  ...emptyFeed(),
  status: status(
    1,
    Array.from({ length: vips }, (_, i) => vip(`198.18.0.${100 + i}`, [rip("198.18.0.11")])),
  ),
  received: 1,
});

Deno.test("lines are shared fairly: all when they fit, else equal shares with leftovers passed on", () => {
  assert.deepEqual(fairShares([3, 3], 20), [3, 3]);
  assert.deepEqual(fairShares([10, 10], 8), [4, 4]);
  assert.deepEqual(fairShares([1, 10, 10], 9), [1, 4, 4]);
  assert.deepEqual(fairShares([0, 5], 3), [0, 3]);
  assert.deepEqual(fairShares([4, 4], 0), [0, 0]);
  for (const [wants, room] of [[[7, 2, 9], 11], [[1, 1, 1], 2], [[20], 5]] as const) {
    const shares = fairShares(wants, room);
    assert.ok(shares.reduce((a, b) => a + b, 0) <= room);
    shares.forEach((s, i) => assert.ok(s <= wants[i]));
  }
});

Deno.test("the overview keeps every node line within its budget and says how many VIPs it left out", () => {
  const nodes = [{ name: "lb1", feed: feedOf(10) }, { name: "lb2", feed: feedOf(10) }];
  const lines = overviewLines(nodes, { selected: 0, width: 80, budget: 9 });
  assert.equal(lines.length, 9);
  assert.deepEqual(lines.map((l) => l.kind), [
    "title",
    "node",
    "vip",
    "vip",
    "more",
    "node",
    "vip",
    "vip",
    "more",
  ]);
  assert.match(lines[4].text, /… 8 more VIPs/);
  assert.ok(lines.every((l) => [...l.text].length === 80));
  const tight = overviewLines(nodes, { selected: 1, width: 80, budget: 3 });
  assert.deepEqual(tight.map((l) => l.kind), ["title", "node", "node"]);
  assert.match(tight[2].text, /^› lb2/);
});

Deno.test("a node that does not answer shows down and the reason, and no VIPs", () => {
  const down = { ...feedOf(3), error: "ssh: connect to host lb2 port 22: Connection refused" };
  const lines = overviewLines(
    [{ name: "lb1", feed: feedOf(1) }, { name: "lb2", feed: down }],
    { selected: 0, width: 80, budget: 20 },
  );
  assert.deepEqual(lines.map((l) => l.kind), ["title", "node", "vip", "node"]);
  assert.match(lines[3].text, /^ {2}lb2 +down +ssh: connect to host lb2/);
  assert.equal(lines[3].alert, true);
  assert.match(lines[0].text, /1\/2 balancers up/);
});
