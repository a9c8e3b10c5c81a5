import assert from "node:assert/strict";
import {
  fit,
  formatBits,
  formatLatency,
  formatPps,
  formatUptime,
  si,
  truncate,
  wrap,
} from "./format.ts";

Deno.test("si shows counts and rates in at most 4 characters with SI prefixes", () => {
  const cases: [number | null, string][] = [
    [null, "-"],
    [0, "0"],
    [7, "7"],
    [0.5, "0.5"],
    [3.44, "3.4"],
    [12.6, "13"],
    [999, "999"],
    [999.6, "1.0k"],
    [1234, "1.2k"],
    [12_345, "12k"],
    [999_499, "999k"],
    [999_500, "1.0M"],
    [3_400_000, "3.4M"],
    [5e12, "5.0T"],
  ];
  for (const [value, text] of cases) assert.equal(si(value), text, `si(${value})`);
  for (let v = 0; v < 1e15; v = v * 1.7 + 1) assert.ok(si(v).length <= 4, `si(${v}) = ${si(v)}`);
});

Deno.test("rates carry their unit: 1.2k pps, 3.4 Mbit/s, and - without a rate", () => {
  assert.equal(formatPps(1234), "1.2k pps");
  assert.equal(formatPps(null), "- pps");
  assert.equal(formatBits(3_400_000), "3.4 Mbit/s");
  assert.equal(formatBits(512), "512 bit/s");
  assert.equal(formatBits(0), "0 bit/s");
  assert.equal(formatBits(null), "- bit/s");
});

Deno.test("uptime reads as the largest two units", () => {
  assert.equal(formatUptime(42.7), "42s");
  assert.equal(formatUptime(725), "12m05s");
  assert.equal(formatUptime(3 * 3600 + 4 * 60 + 59), "3h04m");
  assert.equal(formatUptime(2 * 86_400 + 3 * 3600), "2d03h");
});

Deno.test("check latency fits 6 characters", () => {
  assert.equal(formatLatency(null), "-");
  assert.equal(formatLatency(0.84), "0.8ms");
  assert.equal(formatLatency(12.4), "12ms");
  assert.equal(formatLatency(1500), "1.5s");
  for (let ms = 0.01; ms < 1e7; ms *= 1.3) assert.ok(formatLatency(ms).length <= 6, `${ms}`);
});

Deno.test("truncate and fit cut text with an ellipsis and pad it to a width", () => {
  assert.equal(truncate("connection refused", 8), "connect…");
  assert.equal(truncate("short", 8), "short");
  assert.equal(truncate("x", 0), "");
  assert.equal(fit("up", 4), "up  ");
  assert.equal(fit("12", 4, "right"), "  12");
  assert.equal(fit("unresolved", 6), "unres…");
});

Deno.test("wrap breaks a message at spaces to fit a width", () => {
  assert.deepEqual(wrap("dsr daemon not reachable on /run/dsr/dsr.sock: refused", 30), [
    "dsr daemon not reachable on",
    "/run/dsr/dsr.sock: refused",
  ]);
  assert.deepEqual(wrap("averyveryverylongword x", 10), ["averyvery…", "x"]);
});
