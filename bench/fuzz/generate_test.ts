import assert from "node:assert/strict";
import { eth } from "../../dataplane/_frame_builder.ts";
import { FRAME_KINDS, FrameGenerator, graft } from "./generate.ts";
import { Prng } from "./prng.ts";

Deno.test("graft makes the frame the builder makes with the payload: lengths and checksums, both families, options and extension headers", () => {
  const v4 = (ihl = 5) => eth().ipv4({ src: "198.19.0.1", dst: "198.18.1.1", ihl, id: 9 });
  const v6 = (ext = false) =>
    eth().ipv6({
      src: "2001:2:ff::1",
      dst: "2001:2::1:1",
      ext: ext ? [{ type: 0 }, { type: 60, length: 16 }] : [],
    });
  const none: number[] = [];
  const options = new Array(8).fill(1);
  const cases = [
    ["IPv4 TCP", () => v4().tcp({ sport: 1, dport: 80, flags: 2 }), 6, 20, none],
    [
      "IPv4 with options, TCP with options",
      () => v4(7).tcp({ sport: 1, dport: 80, flags: 0x18, dataOffset: 7 }),
      6,
      28,
      options,
    ],
    ["IPv4 UDP", () => v4().udp({ sport: 53, dport: 5353 }), 17, 8, none],
    ["IPv6 TCP", () => v6().tcp({ sport: 1, dport: 80, flags: 2 }), 6, 20, none],
    ["IPv6 extension headers, UDP", () => v6(true).udp({ sport: 53, dport: 53 }), 17, 8, none],
  ] as const;
  for (const n of [0, 1, 7, 46, 333, 1400]) {
    const payload = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 255);
    for (const [name, make, proto, l4, before] of cases) {
      const whole = make().payload([...before, ...payload]).build();
      const head = make().payload(before).build({ pad: false });
      assert.deepEqual(graft(head, payload, proto, l4), whole, `${name}, ${n} bytes`);
    }
  }
});

Deno.test("the generator makes every kind of frame, and the same frames from the same seed", () => {
  const a = new FrameGenerator(new Prng(3));
  const b = new FrameGenerator(new Prng(3));
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const x = a.next();
    assert.deepEqual(b.next(), x);
    seen.add(x.kind);
  }
  assert.deepEqual([...seen].sort(), [...FRAME_KINDS].sort());
});
