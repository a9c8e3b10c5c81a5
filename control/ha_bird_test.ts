import assert from "node:assert/strict";
import { UsageError } from "./errors.ts";
import { birdConfig, type BirdOptions, HOLD_TIME_S, parseAsn } from "./ha_bird.ts";

const BASE: BirdOptions = {
  table: 100,
  asn: 65001,
  peer: "198.18.1.1",
  peerAsn: 65000,
  routerId: "198.18.1.10",
};

/** The config's lines, trimmed, without comments and blanks. */
const lines = (o: Partial<BirdOptions> = {}) =>
  birdConfig({ ...BASE, ...o }).split("\n").map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));

/** The lines of the block that starts with `head`. */
function block(l: string[], head: string): string[] {
  const start = l.indexOf(head);
  assert.ok(start >= 0, `no "${head}"`);
  let depth = 0;
  for (let i = start; i < l.length; i++) {
    depth += (l[i].match(/{/g) ?? []).length - (l[i].match(/}/g) ?? []).length;
    if (depth === 0) return l.slice(start, i + 1);
  }
  throw new Error(`"${head}" is not closed`);
}

Deno.test("bird config: a kernel protocol learns the --announce table and writes nothing back", () => {
  const kernel = block(lines(), "protocol kernel dsr_vips {");
  for (const want of ["kernel table 100;", "learn;", "import all;", "export none;"]) {
    assert.ok(kernel.includes(want), `missing "${want}"`);
  }
  assert.ok(lines({ table: 4242 }).includes("kernel table 4242;"));
});

Deno.test("bird config: BGP to the router exports only that table's routes, imports none", () => {
  const bgp = block(lines(), "protocol bgp dsr_uplink {");
  for (
    const want of [
      "local as 65001;",
      "neighbor 198.18.1.1 as 65000;",
      `export where proto = "dsr_vips";`,
      "import none;",
      "next hop self;",
      "graceful restart off;",
      `hold time ${HOLD_TIME_S};`,
    ]
  ) assert.ok(bgp.includes(want), `missing "${want}"`);
  assert.equal(bgp.filter((x) => x.startsWith("export")).length, 1);
});

Deno.test("bird config: the router id is the one given", () => {
  assert.ok(lines().includes("router id 198.18.1.10;"));
});

Deno.test("bird config refuses an address that is not IPv4", () => {
  assert.throws(() => birdConfig({ ...BASE, peer: "router" }), /invalid --peer "router"/);
  assert.throws(() => birdConfig({ ...BASE, routerId: "1.2.3" }), /invalid --router-id "1.2.3"/);
});

Deno.test("parseAsn takes 1 to 4294967295 and names the option otherwise", () => {
  assert.equal(parseAsn("65001", "--asn"), 65001);
  assert.equal(parseAsn("4294967295", "--asn"), 4294967295);
  for (const bad of ["0", "4294967296", "-1", "AS65001", "", "1.5"]) {
    assert.throws(() => parseAsn(bad, "--peer-asn"), UsageError, bad);
  }
  assert.throws(() => parseAsn("x", "--peer-asn"), /invalid --peer-asn "x": expected an AS number/);
});
