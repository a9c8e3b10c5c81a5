/**
 * The dashboard with IPv6 VIPs and real servers (SPEC §12): at 80×24 every
 * address shows whole, the VIP as [address]:port, and no line overflows.
 */

import assert from "node:assert/strict";
import { FakeSource, rip, status, vip } from "./_fixtures.ts";

// As in app_test.tsx: Ink's colour level is fixed when it loads.
const forced = Deno.env.get("FORCE_COLOR");
Deno.env.set("FORCE_COLOR", "1");
const { render } = await import("ink-testing-library");
const { App } = await import("./app.tsx");
if (forced === undefined) Deno.env.delete("FORCE_COLOR");
else Deno.env.set("FORCE_COLOR", forced);

// deno-lint-ignore no-control-regex
const plain = (frame: string) => frame.replace(/\u001B\[[0-9;]*m/g, "");
const LONG = "2001:db8:85a3::8a2e:370:7334";

Deno.test("dsr top shows IPv6 real servers whole and the VIP bracketed at 80x24", async () => {
  const doc = status(10, [
    vip("198.18.0.100", [rip("198.18.0.11"), rip("198.18.0.12")]),
    vip("2001:2::100", [rip("2001:2::11"), rip(LONG, { state: "drain" })]),
  ]);
  const app = render(
    <App source={new FakeSource([doc, doc])} interval={10} columns={80} rows={24} />,
  );
  try {
    let frame = "";
    const deadline = performance.now() + 3000;
    while (!frame.includes(LONG) && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
      frame = plain(app.lastFrame() ?? "");
    }
    assert.ok(frame.includes("[2001:2::100]:80/tcp"), frame);
    const row = frame.split("\n").find((l) => l.includes(LONG));
    assert.ok(row, `the whole address ${LONG} is shown:\n${frame}`);
    assert.match(row, /drain/);
    assert.ok(frame.split("\n").some((l) => l.includes("2001:2::11 ")), frame);
    const lines = frame.split("\n");
    assert.ok(lines.length <= 24, `${lines.length} lines`);
    for (const line of lines) assert.ok([...line].length <= 80, `too wide: "${line}"`);
  } finally {
    app.unmount();
    app.cleanup();
  }
});
