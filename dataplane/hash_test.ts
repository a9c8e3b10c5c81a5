import assert from "node:assert/strict";
import { hashAddr, hashFlow, hashKey, hashString, mix32 } from "./hash.ts";

Deno.test("hashString is MurmurHash3 x86_32 over UTF-8", () => {
  assert.equal(hashString("", 0), 0);
  assert.equal(hashString("", 1), 0x514e28b7);
  assert.equal(hashString("", 0xffffffff), 0x81f16f39);
  assert.equal(hashString("test", 0), 0xba6bd213);
  assert.equal(hashString("a", 0x9747b28c), 0x7fa09ea6);
  assert.equal(hashString("abc", 0x9747b28c), 0xc84a62dd);
  assert.equal(hashString("aaaa", 0x9747b28c), 0x5a97808a);
  assert.equal(hashString("Hello, world!", 0x9747b28c), 0x24884cba);
  assert.equal(
    hashString("The quick brown fox jumps over the lazy dog", 0x9747b28c),
    0x2fa826cd,
  );
});

Deno.test("mix32 is a bijection-style finaliser returning unsigned 32-bit values", () => {
  assert.equal(mix32(0), 0);
  const seen = new Set<number>();
  for (let i = 0; i < 10_000; i++) {
    const h = mix32(i);
    assert.ok(Number.isInteger(h) && h >= 0 && h <= 0xffffffff);
    seen.add(h);
  }
  assert.equal(seen.size, 10_000);
});

Deno.test("hashFlow, hashAddr and hashKey are unsigned, deterministic and spread evenly", () => {
  const buckets = new Int32Array(16);
  const n = 160_000;
  for (let i = 0; i < n; i++) {
    const h = hashFlow(0xc6120000 + (i >>> 8), 1024 + (i & 255), 0xc6120064, 80, 6);
    assert.equal(h, hashFlow(0xc6120000 + (i >>> 8), 1024 + (i & 255), 0xc6120064, 80, 6));
    assert.ok(h >= 0 && h <= 0xffffffff);
    buckets[h & 15]++;
  }
  for (const count of buckets) assert.ok(Math.abs(count - n / 16) < n / 16 * 0.05, `${count}`);
  assert.notEqual(hashFlow(1, 2, 3, 4, 6), hashFlow(1, 2, 3, 4, 17));
  assert.notEqual(hashAddr(0xc6120001), hashAddr(0xc6120002));
  assert.ok(hashAddr(0xffffffff) >= 0);
  assert.notEqual(hashKey(1, 2, 3), hashKey(1, 2, 4));
});

Deno.test("hashKey spreads structured keys over a linear-probing index as evenly as random ones", () => {
  const cells = 1 << 18;
  const n = 100_000;
  // Expected probes per insert at load n/cells with an ideal hash: (1 + 1 / (1 - load)) / 2.
  const ideal = (1 + 1 / (1 - n / cells)) / 2;
  const patterns: Record<string, (i: number) => [number, number, number]> = {
    "sequential clients": (i) => [0xc6130000 + i, (40000 << 16 | 80) >>> 0, 0],
    "sequential ports": (i) => [0xc6130000 + (i >>> 16), ((i & 0xffff) << 16 | 9) >>> 0, 1],
    "many services": (i) => [0xc6130001, ((i >>> 4) << 16 | 443) >>> 0, i & 15],
    "high bits only": (i) => [(i << 15) | 1, (i << 16) >>> 0, i << 24],
  };
  for (const [name, key] of Object.entries(patterns)) {
    const used = new Uint8Array(cells);
    let probes = 0;
    for (let k = 0; k < n; k++) {
      let i = hashKey(...key(k)) & (cells - 1);
      probes++;
      while (used[i]) {
        i = (i + 1) & (cells - 1);
        probes++;
      }
      used[i] = 1;
    }
    assert.ok(
      probes / n < ideal * 1.05,
      `${name}: ${probes / n} probes per insert, ideal ${ideal}`,
    );
  }
});
