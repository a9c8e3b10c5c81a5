/**
 * 32-bit hashes for the packet loop (flows, client addresses) and for the
 * control plane (Maglev permutations). Integer-only MurmurHash3 (x86_32),
 * except the flow table's `hashKey`: the hot-path functions allocate nothing
 * and return unsigned 32-bit numbers.
 * Scheduling hashes take the configuration's seed, so a restarted balancer,
 * or another node with the same configuration, hashes every flow as before.
 * @module
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const FLOW_SEED = 0x9747b28c;
const ADDR_SEED = 0x5bd1e995;
// Odd multipliers of hashKey (golden ratio, MurmurHash3 fmix).
const K1 = 0x9e3779b1;
const K2 = 0x85ebca77;
const K3 = 0xc2b2ae3d;

/** One MurmurHash3 body round: mixes the 32-bit word `k` into the state `h`. */
function round(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/**
 * 32-bit integer finaliser (MurmurHash3 `fmix32`): every input bit affects
 * every output bit. A bijection; `mix32(0)` is 0.
 */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * Hash of a flow 5-tuple (addresses as unsigned 32-bit numbers, ports 0 to
 * 65535, `proto` 6 or 17); unsigned 32-bit. Used by `mh` scheduling, so it
 * depends only on the tuple and `seed`: the configuration's hash seed (SPEC
 * §2), the same on every node given the same configuration, and secret, so
 * nobody outside can aim flows at one real server. Seed 0 is the built-in one.
 */
export function hashFlow(
  srcIp: number,
  srcPort: number,
  dstIp: number,
  dstPort: number,
  proto: number,
  seed = 0,
): number {
  let h = round(FLOW_SEED ^ seed, srcIp);
  h = round(h, dstIp);
  h = round(h, ((srcPort & 0xffff) << 16) | (dstPort & 0xffff));
  h = round(h, proto & 0xff);
  return mix32(h ^ 16);
}

/** Hash of a client address alone (`sh` scheduling and persistence), with `seed` as for {@link hashFlow}; unsigned 32-bit. */
export function hashAddr(ip: number, seed = 0): number {
  return mix32(round(ADDR_SEED ^ seed, ip) ^ 4);
}

/**
 * Hash of a flow-table key: three 32-bit words (client address, both ports,
 * service id) and the table's secret `seed`; unsigned 32-bit. Each word is
 * multiplied in after a xorshift has folded the bits above into the bits
 * below: a product alone only carries a changed bit upwards, so keys that
 * differ in the top bits of two words cancelled out and whole floods of
 * chosen client addresses and ports shared one probe run (16256 of 16384
 * such keys in `hash_test.ts`); MurmurHash3's finaliser spreads the last
 * word over every bit. Five dependent products cost a few cycles
 * against a lookup's cache miss; the seed, random per table, keeps anyone
 * outside from choosing colliding keys. Nothing depends on its values
 * across restarts.
 */
export function hashKey(a: number, b: number, c: number, seed: number): number {
  let h = Math.imul(a ^ seed, K1);
  h ^= h >>> 15;
  h = Math.imul(h ^ b, K2);
  h ^= h >>> 13;
  return mix32(Math.imul(h ^ c, K3));
}

/** The words of an IPv6 flow's 5-tuple, as {@link PacketView} holds them. */
export interface Flow6 {
  /** Client address, four signed 32-bit words. */
  readonly src6: Int32Array;
  /** VIP, four words. */
  readonly dst6: Int32Array;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly protocol: number;
}

/**
 * {@link hashFlow} of an IPv6 5-tuple: the same MurmurHash3 rounds over the
 * eight address words, with `seed` as for {@link hashFlow}. Signed 32-bit
 * (`>>> 0` gives the unsigned value; the schedulers take either): an
 * unsigned result above 2^31 would be boxed in a heap number on return from
 * a call V8 does not inline, 16 bytes per new flow (bench/alloc_bench.ts).
 */
export function hashFlow6(f: Flow6, seed = 0): number {
  const s = f.src6, d = f.dst6;
  let h = round(FLOW_SEED ^ seed, s[0]);
  h = round(round(round(h, s[1]), s[2]), s[3]);
  h = round(round(round(round(h, d[0]), d[1]), d[2]), d[3]);
  h = round(h, ((f.srcPort & 0xffff) << 16) | (f.dstPort & 0xffff));
  h = round(h, f.protocol & 0xff);
  return mix32(h ^ 40) | 0;
}

/**
 * {@link hashAddr} of the IPv6 address in `words[at, at + 4)` (`sh`,
 * `dh` and persistence); signed 32-bit, as {@link hashFlow6}.
 */
export function hashAddr6(words: Int32Array, at: number, seed = 0): number {
  let h = round(ADDR_SEED ^ seed, words[at]);
  h = round(round(round(h, words[at + 1]), words[at + 2]), words[at + 3]);
  return mix32(h ^ 16) | 0;
}

/**
 * Folds the IPv6 address in `words[at, at + 4)` into the 32-bit word the
 * flow table keys an IPv6 flow by (its `hashKey` does the final mixing; the
 * table checks the whole address). MurmurHash3 rounds from the table's
 * secret `seed`: each round can be solved for its word, so with a known
 * starting value a sender could pick any number of addresses with one fold
 * value and pile them into one probe run.
 */
export function foldAddr6(words: Int32Array, at: number, seed: number): number {
  let h = round(seed, words[at]);
  h = round(round(round(h, words[at + 1]), words[at + 2]), words[at + 3]);
  return h | 0;
}

const encoder = new TextEncoder();

/**
 * MurmurHash3 (x86_32) of the UTF-8 bytes of `text` with `seed`; unsigned
 * 32-bit. Stable across runs and platforms; for the control plane (it
 * allocates the UTF-8 bytes), e.g. Maglev permutations.
 */
export function hashString(text: string, seed: number): number {
  const bytes = encoder.encode(text);
  const n = bytes.length;
  const tail = n & ~3;
  let h = seed | 0;
  for (let i = 0; i < tail; i += 4) {
    h = round(h, bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
  }
  let k = 0;
  switch (n & 3) {
    case 3:
      k ^= bytes[tail + 2] << 16;
    // falls through
    case 2:
      k ^= bytes[tail + 1] << 8;
    // falls through
    case 1:
      k ^= bytes[tail];
      k = Math.imul(k, C1);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, C2);
      h ^= k;
  }
  return mix32(h ^ n);
}
