import assert from "node:assert/strict";
import { formatMac } from "./addr.ts";
import { eth } from "./_frame_builder.ts";
import { buildProgram, LB_MAC, resolve, type TestRip } from "./_program_builder.ts";
import { Forwarder, VERDICT_FORWARD } from "./forwarder.ts";
import { hashAddr, hashFlow } from "./hash.ts";
import { TCP_SYN } from "./packet.ts";
import { createSharedTables } from "./tables.ts";

const RIPS: TestRip[] = [
  { id: 0, ip: "198.18.0.11", mac: "02:00:00:00:01:11" },
  { id: 1, ip: "198.18.0.12", mac: "02:00:00:00:01:12" },
  { id: 2, ip: "198.18.0.13", mac: "02:00:00:00:01:13" },
];

/** The MAC each of `flows` client ports is sent to by a fresh forwarder with `seed`. */
function picks(seed: number | undefined, flows: number): string[] {
  const shared = createSharedTables();
  const fwd = new Forwarder(shared, { maxFlows: 4096 });
  const program = buildProgram({
    services: [{ id: 0, vip: "198.18.0.100", port: 80, rips: RIPS }],
  });
  if (seed !== undefined) program.hashSeed = seed;
  for (const rip of RIPS) resolve(shared, program, rip);
  fwd.load(program);
  const tx = new Uint8Array(2048);
  return Array.from({ length: flows }, (_, i) => {
    const frame = eth({ src: "02:00:00:00:00:c1", dst: LB_MAC })
      .ipv4({ src: "203.0.113.9", dst: "198.18.0.100" })
      .tcp({ sport: 20_000 + i, dport: 80, flags: TCP_SYN })
      .build();
    assert.equal(fwd.process(frame, frame.length, tx, 1_000_000), VERDICT_FORWARD);
    return formatMac(frame, 0);
  });
}

Deno.test("mh picks follow the configuration's hash seed: the same seed the same server, another seed others", () => {
  const a = picks(0x1234_5678, 600);
  assert.deepEqual(picks(0x1234_5678, 600), a, "two nodes with one seed pick alike");
  const b = picks(0x0bad_cafe, 600);
  const moved = a.filter((mac, i) => mac !== b[i]).length;
  // Over three servers an unrelated seed moves about two flows in three.
  assert.ok(moved > 300 && moved < 500, `${moved} of 600 flows moved`);
});

Deno.test("seed 0 (a program without one) is the built-in seed", () => {
  assert.deepEqual(picks(undefined, 100), picks(0, 100));
  assert.equal(hashFlow(1, 2, 3, 4, 6), hashFlow(1, 2, 3, 4, 6, 0));
  assert.notEqual(hashFlow(1, 2, 3, 4, 6, 1), hashFlow(1, 2, 3, 4, 6, 0));
  assert.notEqual(hashAddr(1, 1), hashAddr(1, 0));
});
