import assert from "node:assert/strict";
import { eth } from "./_frame_builder.ts";
import { buildProgram, resolve, type TestRip } from "./_program_builder.ts";
import { Forwarder, VERDICT_IGNORE } from "./forwarder.ts";
import { G_NA_REPLIES } from "./tables.ts";
import { createSharedTables } from "./tables.ts";
import { parseIpv6 } from "./addr6.ts";

// Defects `deno task fuzz` (bench/fuzz.ts) found, each held here as a plain
// table test: the frame, in a buffer of exactly its length and in one of
// 64 KiB whose bytes past the frame are stale, must get the same answer.

const VIP = "2001:2::100";
const RIP: TestRip = { id: 0, ip: "2001:2::11", mac: "02:00:00:00:06:11" };
const NEW_MAC = [2, 0, 0, 0, 0x0e, 0x2b];

function setup() {
  const shared = createSharedTables();
  const fwd = new Forwarder(shared, { maxFlows: 1024 });
  const program = buildProgram({ services: [{ id: 0, vip: VIP, port: 80, rips: [RIP] }] });
  fwd.load(program);
  resolve(shared, program, RIP);
  return { fwd, shared, slot: program.backendNeighbor[RIP.id] };
}

/** A Neighbor Solicitation from `src` for `target` with a source link-layer option and `extra` bytes after it. */
function solicit(src: string, target: string, extra: number[]): Uint8Array {
  return eth({ src: "02:00:00:00:00:c1", dst: "33:33:ff:00:01:00" })
    .ipv6({ src, dst: "ff02::1:ff00:100", hopLimit: 255 })
    .icmp6({ type: 135, body: [0, 0, 0, 0, ...parseIpv6(target), 1, 1, ...NEW_MAC, ...extra] })
    .build();
}

const CASES = [
  { name: "one stray byte after the last option", extra: [0] },
  { name: "one stray non-zero byte after the last option", extra: [7] },
];

for (const c of CASES) {
  Deno.test(`an NS with ${c.name} is ignored in any buffer: no NA, no MAC learnt (RFC 4861 §7.1.1)`, () => {
    for (const exact of [true, false]) {
      for (const [src, target] of [["2001:2:ff::9", VIP], [RIP.ip, "2001:2::10"]]) {
        const { fwd, shared, slot } = setup();
        const frame = solicit(src, target, c.extra);
        const buffer = exact ? frame.slice() : new Uint8Array(65536).fill(1);
        if (!exact) buffer.set(frame);
        const verdict = fwd.process(buffer, frame.length, new Uint8Array(2048), 1_000_000);
        const where = `${exact ? "exact" : "64 KiB"} buffer, from ${src}`;
        assert.equal(verdict, VERDICT_IGNORE, where);
        assert.equal(shared.global[G_NA_REPLIES], 0, where);
        assert.deepEqual(
          Array.from(shared.neighborMacs.subarray(slot * 8, slot * 8 + 6)),
          [2, 0, 0, 0, 6, 0x11],
          `${where}: the real server's MAC is kept`,
        );
      }
    }
  });
}
