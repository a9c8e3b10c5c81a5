import assert from "node:assert/strict";
import fc from "fast-check";
import {
  FLOW_CLOSE,
  FLOW_ESTABLISHED,
  FLOW_FIN,
  FLOW_SYN,
  FLOW_UDP,
  FlowTable,
} from "./flow_table.ts";
import { foldAddr6 } from "./hash.ts";

/** The key hash's seed in these tests (a table's is random): collide() needs to know it. */
const SEED = 0x2f6b3c1d;

const CLIENT = 0xc6120001; // 198.18.0.1
const ports = (client: number, vip: number) => ((client << 16) | vip) >>> 0;

/** IPv6 clients: one all ones, two a word apart, two with the same fold (see {@link collide}). */
const CLIENTS6: Int32Array[] = [
  Int32Array.of(0x20010002, 0x00ff0000, 0, 9),
  Int32Array.of(-1, -1, -1, -1),
  Int32Array.of(0x20010002, 0x00ff0000, 0, 10),
  Int32Array.of(0x20010002, 0x00ff0000, 7, 0),
];
CLIENTS6[3] = collide(CLIENTS6[0], 7);

/**
 * An address whose {@link foldAddr6} equals `a`'s: word 2 set to `word`,
 * word 3 solved through MurmurHash3's last round (each step is invertible).
 * The constants are hash.ts's; if they change, the assertion below says so.
 */
function collide(a: Int32Array, word: number): Int32Array {
  const C1 = 0xcc9e2d51, C2 = 0x1b873593;
  const inverse = (x: number) => {
    let y = x;
    for (let i = 0; i < 5; i++) y = Math.imul(y, 2 - Math.imul(x, y));
    return y;
  };
  const mixK = (k: number) => {
    k = Math.imul(k, C1);
    return Math.imul((k << 15) | (k >>> 17), C2);
  };
  const round = (h: number, k: number) => {
    h ^= mixK(k);
    return (Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64) | 0;
  };
  const h2 = round(round(round(SEED, a[0]), a[1]), word);
  let x = Math.imul((foldAddr6(a, 0, SEED) - 0xe6546b64) | 0, inverse(5));
  x = ((x >>> 13) | (x << 19)) ^ h2;
  x = Math.imul(x, inverse(C2));
  const k = Math.imul((x >>> 15) | (x << 17), inverse(C1));
  const b = Int32Array.of(a[0], a[1], word, k);
  assert.equal(
    foldAddr6(b, 0, SEED),
    foldAddr6(a, 0, SEED),
    "hash.ts's fold changed: update collide()",
  );
  return b;
}

Deno.test("IPv6 flows: lookup6 compares the whole address, so addresses with one fold are two flows", () => {
  const [a, , , b] = CLIENTS6;
  assert.notDeepEqual(a, b);
  const table = new FlowTable(100, { seed: SEED });
  const sa = table.insert6(a, 0, ports(40000, 80), 3, 1, FLOW_SYN, 0);
  assert.equal(table.lookup6(b, 0, ports(40000, 80), 3), -1);
  const sb = table.insert6(b, 0, ports(40000, 80), 3, 2, FLOW_SYN, 0);
  assert.notEqual(sa, sb);
  assert.equal(table.lookup6(a, 0, ports(40000, 80), 3), sa);
  assert.equal(table.lookup6(b, 0, ports(40000, 80), 3), sb);
  table.remove(sa);
  assert.equal(table.lookup6(a, 0, ports(40000, 80), 3), -1);
  assert.equal(table.lookup6(b, 0, ports(40000, 80), 3), sb);
  // The address is read at an offset, as from the view's or the fast path's words.
  const words = new Int32Array(8);
  words.set(b, 4);
  assert.equal(table.lookup6(words, 4, ports(40000, 80), 3), sb);
});

Deno.test("IPv6 flows take 16 bytes more per row, only once the first one came", () => {
  const table = new FlowTable(1000, { seed: SEED });
  const before = table.byteLength;
  table.insert(CLIENT, ports(1, 80), 0, 0, FLOW_SYN, 0);
  assert.equal(table.byteLength, before);
  table.insert6(CLIENTS6[0], 0, ports(1, 80), 1, 0, FLOW_SYN, 0);
  assert.equal(table.byteLength, before + 1000 * 16);
});

/** Calls `expire` with `budget` until it has visited every row once; the total removed. */
function sweep(table: FlowTable, now: number, budget: number): number {
  let removed = 0;
  for (let visited = 0; visited < table.maxFlows; visited += budget) {
    removed += table.expire(now, budget);
  }
  return removed;
}

Deno.test("insert then lookup finds the flow with its backend and state", () => {
  const table = new FlowTable(100, { seed: SEED });
  const slot = table.insert(CLIENT, ports(40000, 80), 3, 7, FLOW_SYN, 0);
  assert.ok(slot >= 0);
  assert.equal(table.lookup(CLIENT, ports(40000, 80), 3), slot);
  assert.equal(table.backend(slot), 7);
  assert.equal(table.state(slot), FLOW_SYN);
  assert.equal(table.size, 1);
  assert.equal(table.lookup(CLIENT, ports(40001, 80), 3), -1);
  assert.equal(table.lookup(CLIENT, ports(40000, 80), 4), -1);
  assert.equal(table.lookup(CLIENT + 1, ports(40000, 80), 3), -1);
  const high = table.insert(0xffffffff, 0xffffffff, 0, 1, FLOW_UDP, 0);
  assert.equal(table.lookup(0xffffffff, 0xffffffff, 0), high);
  assert.equal(table.lookup(-1, -1, 0), high, "signed and unsigned forms of a key are one key");
});

Deno.test("each state expires after its own timeout within one budgeted sweep", () => {
  const table = new FlowTable(1000, { seed: SEED });
  table.timeouts = { tcp: 9000, tcpfin: 1000, udp: 5000 };
  const states = [FLOW_SYN, FLOW_ESTABLISHED, FLOW_FIN, FLOW_CLOSE, FLOW_UDP];
  const slots = states.map((state, i) => table.insert(CLIENT + i, ports(1000, 80), 0, i, state, 0));
  for (let i = 0; i < 200; i++) table.insert(CLIENT + 100 + i, ports(1, 80), 1, 9, FLOW_UDP, 6000);
  const alive = () => slots.filter((s) => table.state(s) !== 0).map((s) => table.backend(s));
  assert.equal(sweep(table, 999, 64), 0);
  assert.equal(sweep(table, 1000, 64), 3);
  assert.deepEqual(alive(), [1, 4]);
  assert.equal(sweep(table, 4999, 64), 0);
  assert.equal(sweep(table, 5000, 64), 1);
  assert.deepEqual(alive(), [1]);
  assert.equal(sweep(table, 8999, 64), 0);
  assert.equal(sweep(table, 9000, 64), 1);
  assert.deepEqual(alive(), []);
  assert.equal(table.size, 200);
  assert.equal(sweep(table, 11000, 64), 200);
  assert.equal(table.size, 0);
});

Deno.test("expire visits at most its budget of slots per call", () => {
  const table = new FlowTable(100, { seed: SEED });
  for (let i = 0; i < 100; i++) table.insert(CLIENT + i, ports(1, 80), 0, 0, FLOW_UDP, 0);
  const removed = [];
  for (let i = 0; i < 5; i++) removed.push(table.expire(1e9, 30));
  assert.deepEqual(removed, [30, 30, 30, 10, 0]);
});

Deno.test("a touched flow lives on past its first expiry and a state change sets the new timeout", () => {
  const table = new FlowTable(10, { seed: SEED });
  table.timeouts = { tcp: 1000, tcpfin: 100, udp: 500 };
  const slot = table.insert(CLIENT, ports(1, 80), 0, 1, FLOW_SYN, 0);
  table.touch(slot, FLOW_ESTABLISHED, 90);
  assert.equal(table.expire(1000, 10), 0);
  assert.equal(table.state(slot), FLOW_ESTABLISHED);
  table.touch(slot, FLOW_ESTABLISHED, 1000);
  assert.equal(table.expire(1999, 10), 0);
  table.touch(slot, FLOW_FIN, 1999);
  assert.equal(table.expire(2098, 10), 0);
  assert.equal(table.expire(2099, 10), 1);
  assert.equal(table.lookup(CLIENT, ports(1, 80), 0), -1);
});

Deno.test("expiry compares wrap-safely across 2^32 ms and with Date.now()-sized clocks", () => {
  for (const start of [0xffffffff - 50, Date.now(), 2 ** 52]) {
    const table = new FlowTable(4, { seed: SEED });
    table.timeouts = { tcp: 100, tcpfin: 100, udp: 100 };
    table.insert(CLIENT, ports(1, 80), 0, 1, FLOW_UDP, start);
    assert.equal(table.expire(start + 99, 4), 0, `start ${start}`);
    assert.equal(table.expire(start + 100, 4), 1, `start ${start}`);
  }
});

Deno.test("when full the least recently used flow is evicted, counted and reported", () => {
  const removed: [number, number][] = [];
  const table = new FlowTable(4, { seed: SEED, onRemove: (b, s) => removed.push([b, s]) });
  const slots = [0, 1, 2, 3].map((i) => table.insert(CLIENT + i, ports(1, 80), 0, i, FLOW_SYN, i));
  table.touch(slots[0], FLOW_ESTABLISHED, 10);
  table.insert(CLIENT + 4, ports(1, 80), 0, 4, FLOW_UDP, 11);
  assert.equal(table.evicted, 1);
  assert.deepEqual(removed, [[1, FLOW_SYN]]);
  assert.equal(table.lookup(CLIENT + 1, ports(1, 80), 0), -1);
  assert.equal(table.lookup(CLIENT, ports(1, 80), 0), slots[0]);
  table.insert(CLIENT + 5, ports(1, 80), 0, 5, FLOW_UDP, 12);
  assert.deepEqual(removed[1], [2, FLOW_SYN]);
  assert.equal(table.size, 4);
  assert.equal(table.evicted, 2);
});

Deno.test("with an LRU grain a flow moves to the young end at most once per grain", () => {
  const removed: number[] = [];
  const table = new FlowTable(3, {
    seed: SEED,
    lruGrainMs: 1000,
    onRemove: (b) => removed.push(b),
  });
  const slots = [0, 1, 2].map((i) => table.insert(CLIENT + i, ports(1, 80), 0, i, FLOW_UDP, 0));
  table.touch(slots[0], FLOW_UDP, 999); // inserted at 0: too soon to move, still the oldest
  table.insert(CLIENT + 3, ports(1, 80), 0, 3, FLOW_UDP, 999);
  assert.deepEqual(removed, [0]);
  table.touch(slots[1], FLOW_UDP, 1000); // a grain after its insert: moves
  table.insert(CLIENT + 4, ports(1, 80), 0, 4, FLOW_UDP, 1000);
  assert.deepEqual(removed, [0, 2]);
  assert.ok(table.lookup(CLIENT + 1, ports(1, 80), 0) >= 0);
});

Deno.test("size never exceeds maxFlows under a flood of 5x maxFlows distinct inserts", () => {
  const max = 1000;
  let reported = 0;
  const table = new FlowTable(max, { seed: SEED, onRemove: () => reported++ });
  let bytes = 0;
  for (let i = 0; i < 5 * max; i++) {
    if (i === max) bytes = table.byteLength;
    table.insert(0x0a000000 + i, ports(i & 0xffff, 80), 0, 0, FLOW_SYN, i);
    assert.ok(table.size <= max);
  }
  assert.equal(table.size, max);
  assert.equal(table.evicted, 4 * max);
  assert.equal(reported, 4 * max);
  assert.equal(table.byteLength, bytes);
  for (let i = 4 * max; i < 5 * max; i++) {
    assert.ok(table.lookup(0x0a000000 + i, ports(i & 0xffff, 80), 0) >= 0);
  }
  assert.equal(table.lookup(0x0a000000, ports(0, 80), 0), -1);
});

Deno.test("removeBackend and removeService remove exactly their flows", () => {
  const perBackend = new Int32Array(4);
  const table = new FlowTable(1000, { seed: SEED, onRemove: (b) => perBackend[b]-- });
  for (let i = 0; i < 400; i++) {
    table.insert(CLIENT + i, ports(i, 80), i % 3, i % 4, FLOW_ESTABLISHED, 0);
    perBackend[i % 4]++;
  }
  assert.equal(table.removeBackend(2), 100);
  assert.equal(perBackend[2], 0);
  assert.equal(table.size, 300);
  for (let i = 0; i < 400; i++) {
    const found = table.lookup(CLIENT + i, ports(i, 80), i % 3) >= 0;
    assert.equal(found, i % 4 !== 2);
  }
  const inService1 = [...Array(400).keys()].filter((i) => i % 3 === 1 && i % 4 !== 2).length;
  assert.equal(table.removeService(1), inService1);
  assert.equal(table.size, 300 - inService1);
  table.clear();
  assert.equal(table.size, 0);
  assert.deepEqual([...perBackend], [0, 0, 0, 0]);
  assert.equal(table.lookup(CLIENT, ports(0, 80), 0), -1);
  assert.ok(table.insert(CLIENT, ports(0, 80), 0, 1, FLOW_SYN, 0) >= 0);
  assert.equal(table.size, 1);
});

Deno.test("memory stays at most 64 bytes per flow at 1,000,000 flows", () => {
  const table = new FlowTable(1_000_000, { seed: SEED });
  for (let i = 0; i < 1_000_000; i++) {
    table.insert(0x0a000000 + (i >>> 4), ports(1024 + (i & 15), 80), 0, 0, FLOW_UDP, 0);
  }
  assert.equal(table.size, 1_000_000);
  assert.equal(table.indexCells, 1 << 21);
  const perFlow = table.byteLength / table.maxFlows;
  assert.ok(perFlow <= 64, `${perFlow} bytes per flow`);
});

Deno.test("the index doubles while small, then grows straight to its full size, keeping every flow", () => {
  const table = new FlowTable(100_000, { seed: SEED });
  const insert = (i: number) => table.insert(CLIENT + i, ports(1, 80), 0, i & 3, FLOW_UDP, 0);
  assert.equal(table.indexCells, 4096);
  for (let i = 0; i < 2048; i++) insert(i);
  assert.equal(table.indexCells, 4096);
  insert(2048);
  assert.equal(table.indexCells, 8192);
  for (let i = 2049; i < 32_768; i++) insert(i);
  assert.equal(table.indexCells, 65_536);
  insert(32_768);
  assert.equal(table.indexCells, 1 << 18); // 100,000 flows at load <= 0.75
  for (let i = 32_769; i < 100_000; i++) insert(i);
  assert.equal(table.indexCells, 1 << 18);
  for (let i = 0; i < 100_000; i++) {
    const slot = table.lookup(CLIENT + i, ports(1, 80), 0);
    assert.ok(slot >= 0, `flow ${i} lost`);
    assert.equal(table.backend(slot), i & 3);
  }
  for (let i = 0; i < 100_000; i += 2) table.remove(table.lookup(CLIENT + i, ports(1, 80), 0));
  for (let i = 1; i < 100_000; i += 2) assert.ok(table.lookup(CLIENT + i, ports(1, 80), 0) >= 0);
  for (let i = 0; i < 100_000; i += 2) assert.equal(table.lookup(CLIENT + i, ports(1, 80), 0), -1);
});

type Op =
  | { op: "insert"; key: number; backend: number; state: number }
  | { op: "lookup" | "remove"; key: number }
  | { op: "touch"; key: number; state: number }
  | { op: "advance"; ms: number }
  | { op: "expire"; budget: number }
  | { op: "removeBackend"; backend: number };

Deno.test("a delete-heavy random workload matches a Map model", () => {
  const MAX = 24;
  const timeouts = { tcp: 300, tcpfin: 100, udp: 200 };
  const timeoutOf = (s: number) =>
    s === FLOW_ESTABLISHED ? timeouts.tcp : s === FLOW_UDP ? timeouts.udp : timeouts.tcpfin;
  const key = fc.integer({ min: 0, max: 95 });
  const state = fc.constantFrom(FLOW_SYN, FLOW_ESTABLISHED, FLOW_FIN, FLOW_CLOSE, FLOW_UDP);
  const backend = fc.integer({ min: 0, max: 3 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      arbitrary: fc.record({ op: fc.constant("insert" as const), key, backend, state }),
      weight: 4,
    },
    {
      arbitrary: fc.record({ op: fc.constantFrom("lookup" as const, "remove" as const), key }),
      weight: 4,
    },
    { arbitrary: fc.record({ op: fc.constant("touch" as const), key, state }), weight: 2 },
    { arbitrary: fc.record({ op: fc.constant("advance" as const), ms: fc.nat(150) }), weight: 2 },
    { arbitrary: fc.record({ op: fc.constant("expire" as const), budget: fc.nat(20) }), weight: 1 },
    { arbitrary: fc.record({ op: fc.constant("removeBackend" as const), backend }), weight: 1 },
  );
  // keys 0..47: four clients (one is 255.255.255.255) x four port pairs x three services;
  // keys 48..95 the same with IPv6 clients (one all ones, two a word apart) and services 3..5
  const ip = (k: number) => [0xc6120001, 0xc6120002, 0x0a000001, 0xffffffff][k & 3];
  const ip6 = (k: number) => CLIENTS6[k & 3];
  const pp = (k: number) => ports(40000 + ((k >> 2) & 3), 80);
  const svc = (k: number) => k >> 4;
  const lookup = (t: FlowTable, k: number) =>
    k < 48 ? t.lookup(ip(k), pp(k), svc(k)) : t.lookup6(ip6(k), 0, pp(k), svc(k));

  fc.assert(
    fc.property(
      fc.array(op, { minLength: 50, maxLength: 400 }),
      fc.nat(0xffffffff),
      (ops, start) => {
        const removedByBackend = new Int32Array(4);
        const table = new FlowTable(MAX, { seed: SEED, onRemove: (b) => removedByBackend[b]++ });
        table.timeouts = { ...timeouts };
        const model = new Map<number, { backend: number; state: number; expires: number }>();
        const modelRemoved = new Int32Array(4);
        const drop = (k: number) => {
          modelRemoved[model.get(k)!.backend]++;
          model.delete(k);
        };
        let now = start;
        let evicted = 0;
        for (const o of ops) {
          const slot = "key" in o ? lookup(table, o.key) : -1;
          if ("key" in o) assert.equal(slot >= 0, model.has(o.key));
          switch (o.op) {
            case "insert":
              if (model.has(o.key)) break;
              if (model.size === MAX) {
                drop(model.keys().next().value!);
                evicted++;
              }
              if (o.key < 48) {
                table.insert(ip(o.key), pp(o.key), svc(o.key), o.backend, o.state, now);
              } else table.insert6(ip6(o.key), 0, pp(o.key), svc(o.key), o.backend, o.state, now);
              model.set(o.key, {
                backend: o.backend,
                state: o.state,
                expires: now + timeoutOf(o.state),
              });
              break;
            case "remove":
              if (slot >= 0) {
                table.remove(slot);
                drop(o.key);
              }
              break;
            case "touch":
              if (slot >= 0) {
                table.touch(slot, o.state, now);
                const entry = model.get(o.key)!;
                model.delete(o.key);
                model.set(o.key, { ...entry, state: o.state, expires: now + timeoutOf(o.state) });
              }
              break;
            case "advance":
              now += o.ms;
              break;
            case "expire": {
              // a full pass in calls of `budget` slots removes exactly the expired flows
              const budget = o.budget + 1;
              let removed = 0;
              for (let v = 0; v < MAX; v += budget) removed += table.expire(now, budget);
              const expired = [...model].filter(([, e]) => now >= e.expires).map(([k]) => k);
              expired.forEach(drop);
              assert.equal(removed, expired.length);
              break;
            }
            case "removeBackend": {
              const mine = [...model].filter(([, e]) => e.backend === o.backend).map(([k]) => k);
              assert.equal(table.removeBackend(o.backend), mine.length);
              mine.forEach(drop);
              break;
            }
          }
          assert.equal(table.size, model.size);
          assert.equal(table.evicted, evicted);
          assert.deepEqual([...removedByBackend], [...modelRemoved]);
          for (const [k, e] of model) {
            const s = lookup(table, k);
            assert.ok(s >= 0, `key ${k} lost`);
            assert.equal(table.backend(s), e.backend);
            assert.equal(table.state(s), e.state);
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});

/** Each backend's slots found by visiting every slot: what `slotsOf` must list (sorted). */
function scanBackends(table: FlowTable): Map<number, number[]> {
  const found = new Map<number, number[]>();
  for (let s = 0; s < table.maxFlows; s++) {
    if (table.state(s) === 0) continue;
    const b = table.backend(s);
    if (!found.has(b)) found.set(b, []);
    found.get(b)!.push(s);
  }
  return found;
}

const sorted = (slots: number[]) => [...slots].sort((a, b) => a - b);

type IndexOp =
  | { op: "insert"; key: number; backend: number; state: number }
  | { op: "lookup" | "remove"; key: number }
  | { op: "touch"; key: number; state: number }
  | { op: "advance"; ms: number }
  | { op: "expire"; budget: number }
  | { op: "removeBackend" | "slotsOf"; backend: number }
  | { op: "removeService"; service: number }
  | { op: "clear" };

Deno.test("each backend's list holds exactly its flows under random operations (Map model)", () => {
  const MAX = 20;
  // ids across the list heads' growth (64, 128, ... 65536) and the top of 16 bits
  const BACKENDS = [0, 1, 2, 63, 64, 1000, 65_535];
  const timeouts = { tcp: 300, tcpfin: 100, udp: 200 };
  const timeoutOf = (s: number) =>
    s === FLOW_ESTABLISHED ? timeouts.tcp : s === FLOW_UDP ? timeouts.udp : timeouts.tcpfin;
  const key = fc.integer({ min: 0, max: 63 });
  const state = fc.constantFrom(FLOW_SYN, FLOW_ESTABLISHED, FLOW_FIN, FLOW_CLOSE, FLOW_UDP);
  const backend = fc.constantFrom(...BACKENDS);
  const op: fc.Arbitrary<IndexOp> = fc.oneof(
    {
      arbitrary: fc.record({ op: fc.constant("insert" as const), key, backend, state }),
      weight: 6,
    },
    {
      arbitrary: fc.record({ op: fc.constantFrom("lookup" as const, "remove" as const), key }),
      weight: 3,
    },
    { arbitrary: fc.record({ op: fc.constant("touch" as const), key, state }), weight: 3 },
    { arbitrary: fc.record({ op: fc.constant("advance" as const), ms: fc.nat(150) }), weight: 2 },
    { arbitrary: fc.record({ op: fc.constant("expire" as const), budget: fc.nat(20) }), weight: 1 },
    {
      arbitrary: fc.record({
        op: fc.constantFrom("removeBackend" as const, "slotsOf" as const),
        backend: fc.oneof(backend, fc.constantFrom(-1, 5, 70_000, 0.5)),
      }),
      weight: 2,
    },
    {
      arbitrary: fc.record({
        op: fc.constant("removeService" as const),
        service: fc.integer({ min: 0, max: 3 }),
      }),
      weight: 1,
    },
    { arbitrary: fc.record({ op: fc.constant("clear" as const) }), weight: 1 },
  );
  // keys 0..31 IPv4 (two clients x four port pairs x four services), 32..63 the same from IPv6 clients
  const ip = (k: number) => [0xc6120001, 0xffffffff][k & 1];
  const ip6 = (k: number) => CLIENTS6[k & 1];
  const pp = (k: number) => ports(40000 + ((k >> 1) & 3), 80);
  const svc = (k: number) => (k >> 3) & 3;
  const lookup = (t: FlowTable, k: number) =>
    k < 32 ? t.lookup(ip(k), pp(k), svc(k)) : t.lookup6(ip6(k), 0, pp(k), svc(k));

  fc.assert(
    fc.property(
      fc.array(op, { minLength: 50, maxLength: 300 }),
      fc.nat(0xffffffff),
      fc.constantFrom(0, 100),
      (ops, start, grain) => {
        const removed = new Map<string, number>(); // "backend/state" -> flows reported
        const table = new FlowTable(MAX, {
          seed: SEED,
          lruGrainMs: grain,
          onRemove: (b, s) => removed.set(`${b}/${s}`, (removed.get(`${b}/${s}`) ?? 0) + 1),
        });
        table.timeouts = { ...timeouts };
        type Entry = { backend: number; state: number; expires: number; moved: number };
        const model = new Map<number, Entry>(); // in LRU order, oldest first
        const modelRemoved = new Map<string, number>();
        const drop = (k: number) => {
          const e = model.get(k)!;
          modelRemoved.set(
            `${e.backend}/${e.state}`,
            (modelRemoved.get(`${e.backend}/${e.state}`) ?? 0) + 1,
          );
          model.delete(k);
        };
        let now = start;
        for (const o of ops) {
          const slot = "key" in o ? lookup(table, o.key) : -1;
          if ("key" in o) assert.equal(slot >= 0, model.has(o.key));
          switch (o.op) {
            case "insert":
              if (model.has(o.key)) break;
              if (model.size === MAX) drop(model.keys().next().value!);
              if (o.key < 32) {
                table.insert(ip(o.key), pp(o.key), svc(o.key), o.backend, o.state, now);
              } else table.insert6(ip6(o.key), 0, pp(o.key), svc(o.key), o.backend, o.state, now);
              model.set(o.key, {
                backend: o.backend,
                state: o.state,
                expires: now + timeoutOf(o.state),
                moved: now,
              });
              break;
            case "remove":
              if (slot >= 0) {
                table.remove(slot);
                drop(o.key);
              }
              break;
            case "touch":
              if (slot >= 0) {
                table.touch(slot, o.state, now);
                const e = model.get(o.key)!;
                e.state = o.state;
                e.expires = now + timeoutOf(o.state);
                const last = [...model.keys()].at(-1) === o.key;
                if (!last && now - e.moved >= grain) {
                  model.delete(o.key);
                  model.set(o.key, { ...e, moved: now });
                }
              }
              break;
            case "advance":
              now += o.ms;
              break;
            case "expire": {
              const budget = o.budget + 1;
              let n = 0;
              for (let v = 0; v < MAX; v += budget) n += table.expire(now, budget);
              const expired = [...model].filter(([, e]) => now >= e.expires).map(([k]) => k);
              expired.forEach(drop);
              assert.equal(n, expired.length);
              break;
            }
            case "removeBackend": {
              const mine = [...model].filter(([, e]) => e.backend === o.backend).map(([k]) => k);
              assert.equal(table.removeBackend(o.backend), mine.length);
              mine.forEach(drop);
              break;
            }
            case "slotsOf":
              assert.equal(
                table.slotsOf(o.backend).length,
                [...model.values()].filter((e) => e.backend === o.backend).length,
              );
              break;
            case "removeService": {
              const mine = [...model.keys()].filter((k) => svc(k) === o.service);
              assert.equal(table.removeService(o.service), mine.length);
              mine.forEach(drop);
              break;
            }
            case "clear":
              table.clear();
              [...model.keys()].forEach(drop);
              break;
          }
          assert.equal(table.size, model.size);
          assert.deepEqual(
            [...removed].sort(),
            [...modelRemoved].sort(),
            "onRemove reports each flow once with its backend and state",
          );
          const expected = new Map<number, number[]>();
          for (const [k, e] of model) {
            const s = lookup(table, k);
            assert.ok(s >= 0, `key ${k} lost`);
            assert.equal(table.backend(s), e.backend);
            assert.equal(table.state(s), e.state);
            if (!expected.has(e.backend)) expected.set(e.backend, []);
            expected.get(e.backend)!.push(s);
          }
          for (const b of BACKENDS) {
            // slotsOf also checks each row's backward link and backend
            assert.deepEqual(
              sorted(table.slotsOf(b)),
              sorted(expected.get(b) ?? []),
              `backend ${b}`,
            );
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("backend lists stay whole with rows past 65,535 (links split across two words)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 0x7fffffff }), (seed) => {
      let x = seed;
      const random = () => (x = (Math.imul(x, 1103515245) + 12345) & 0x7fffffff) / 0x80000000;
      const max = 70_000 + Math.floor(random() * 10_000);
      const reported = new Int32Array(8);
      const table = new FlowTable(max, { seed: SEED, onRemove: (b) => reported[b]++ });
      const inserted = new Int32Array(8);
      const insert = (i: number, b: number) => {
        table.insert(0x0a000000 + i, ports(i & 0xffff, 80), 0, b, FLOW_UDP, i);
        inserted[b]++;
      };
      let i = 0;
      for (; i < max + 30_000; i++) insert(i, Math.floor(random() * 8)); // 30,000 evictions
      for (let k = 0; k < 20_000; k++) table.remove(Math.floor(random() * max)); // holes, some free
      for (let k = 0; k < 10_000; k++, i++) insert(i, Math.floor(random() * 8)); // rows from the free list
      const scan = scanBackends(table);
      for (let b = 0; b < 8; b++) {
        assert.deepEqual(sorted(table.slotsOf(b)), scan.get(b) ?? [], `backend ${b}`);
        assert.equal(inserted[b] - reported[b], scan.get(b)?.length ?? 0);
      }
      for (const b of [3, 0, 7]) {
        assert.equal(table.removeBackend(b), scan.get(b)?.length ?? 0);
        assert.equal(inserted[b], reported[b]);
        assert.deepEqual(table.slotsOf(b), []);
      }
      const left = scanBackends(table);
      for (const b of [1, 2, 4, 5, 6]) assert.deepEqual(sorted(table.slotsOf(b)), scan.get(b));
      assert.deepEqual([...left.keys()].sort(), [1, 2, 4, 5, 6]);
    }),
    { numRuns: 4 },
  );
});

Deno.test("a backend id outside 0..65535 is refused before a row is taken; 65535 keeps its bits", () => {
  const table = new FlowTable(2, { seed: SEED });
  for (const bad of [-1, 65_536, 1.5, NaN]) {
    assert.throws(() => table.insert(CLIENT, ports(1, 80), 0, bad, FLOW_SYN, 0), RangeError);
  }
  assert.equal(table.size, 0);
  const a = table.insert(CLIENT, ports(1, 80), 0, 65_535, FLOW_FIN, 0);
  const b = table.insert(CLIENT, ports(2, 80), 0, 65_535, FLOW_SYN, 0);
  table.touch(a, FLOW_CLOSE, 1);
  assert.deepEqual([table.backend(a), table.state(a), table.backend(b)], [
    65_535,
    FLOW_CLOSE,
    65_535,
  ]);
  assert.deepEqual(sorted(table.slotsOf(65_535)), sorted([a, b]));
  assert.equal(table.removeBackend(65_535), 2);
  assert.equal(table.size, 0);
  assert.equal(table.removeBackend(65_536), 0);
});

Deno.test("removeBackend visits its own flows only: 10 flows of 1M take well under a scan of the table", () => {
  const table = new FlowTable(1_000_000, { seed: SEED });
  for (let i = 0; i < 1_000_000; i++) {
    table.insert(0x0a000000 + (i >>> 4), ports(1024 + (i & 15), 80), 0, i & 7, FLOW_UDP, 0);
  }
  // What removeBackend cost before the lists: a look at every slot.
  let scan = Infinity;
  for (let trial = 0; trial < 3; trial++) {
    const t0 = performance.now();
    let found = 0;
    for (let s = 0; s < table.maxFlows; s++) {
      if (table.state(s) !== 0 && table.backend(s) === 9) found++;
    }
    scan = Math.min(scan, performance.now() - t0);
    assert.equal(found, 0);
  }
  let flush = Infinity;
  for (let trial = 0; trial < 5; trial++) {
    for (let k = 0; k < 10; k++) {
      table.insert(0x0b000000 + trial, ports(k, 80), 0, 9, FLOW_SYN, 0); // evicts 10 old flows
    }
    const t0 = performance.now();
    assert.equal(table.removeBackend(9), 10);
    flush = Math.min(flush, performance.now() - t0);
  }
  assert.equal(table.size, 1_000_000 - 10);
  assert.ok(
    flush * 20 < scan,
    `removeBackend of 10 flows took ${flush.toFixed(3)} ms, a scan of 1M slots ${
      scan.toFixed(3)
    } ms`,
  );
});
