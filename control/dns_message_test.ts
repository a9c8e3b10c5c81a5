import assert from "node:assert/strict";
import { badDnsName, encodeQuery, parseAnswer } from "./dns_message.ts";

/** An answer to `query` as a server would build it: the question echoed, flags and counts set. */
function answer(query: Uint8Array, flags: number, answers = 0): Uint8Array {
  const a = new Uint8Array(query.length + answers * 16);
  a.set(query);
  const view = new DataView(a.buffer);
  view.setUint16(2, flags);
  view.setUint16(6, answers);
  return a;
}

Deno.test("a query asks for one name of type A, class IN, with recursion desired", () => {
  const q = encodeQuery("www.example.test", 0x1234);
  assert.deepEqual(
    [...q],
    [
      0x12,
      0x34,
      0x01,
      0x00,
      0,
      1,
      0,
      0,
      0,
      0,
      0,
      0,
      3,
      ...new TextEncoder().encode("www"),
      7,
      ...new TextEncoder().encode("example"),
      4,
      ...new TextEncoder().encode("test"),
      0,
      0,
      1,
      0,
      1,
    ],
  );
  assert.deepEqual(
    [...encodeQuery("www.example.test.", 0x1234)],
    [...q],
    "a trailing dot is the same name",
  );
  assert.deepEqual([...encodeQuery(".", 7).subarray(12)], [0, 0, 1, 0, 1], "the root");
});

Deno.test("an answer gives its RCODE by name; NXDOMAIN and REFUSED are not NOERROR", () => {
  const q = encodeQuery("example.test", 99);
  assert.deepEqual(parseAnswer(answer(q, 0x8180, 1), q), {
    rcode: 0,
    rcodeName: "NOERROR",
    answers: 1,
  });
  assert.equal(parseAnswer(answer(q, 0x8183), q)?.rcodeName, "NXDOMAIN");
  assert.equal(parseAnswer(answer(q, 0x8105), q)?.rcodeName, "REFUSED");
  assert.equal(parseAnswer(answer(q, 0x810b), q)?.rcodeName, "RCODE 11");
});

Deno.test("a datagram that is not the answer to this query is ignored", () => {
  const q = encodeQuery("example.test", 99);
  const other = encodeQuery("example.test", 100);
  assert.equal(parseAnswer(answer(other, 0x8180), q), null, "another id");
  assert.equal(parseAnswer(q, q), null, "a query, not a response");
  assert.equal(
    parseAnswer(answer(encodeQuery("example.tesu", 99), 0x8180), q),
    null,
    "another name",
  );
  assert.equal(parseAnswer(answer(q, 0x8180).subarray(0, 11), q), null, "truncated");
  const mixed = answer(encodeQuery("ExAmple.TEST", 99), 0x8180);
  assert.equal(parseAnswer(mixed, q)?.rcodeName, "NOERROR", "names compare without case");
});

Deno.test("names that cannot be queried are named with the reason", () => {
  assert.equal(badDnsName("www.example.test"), null);
  assert.match(badDnsName("a..b") ?? "", /empty label/);
  assert.match(badDnsName("a b") ?? "", /character outside/);
  assert.match(badDnsName("x".repeat(64)) ?? "", /longer than 63/);
  assert.match(badDnsName(("a".repeat(60) + ".").repeat(5)) ?? "", /longer than 253/);
  assert.throws(() => encodeQuery("a;b", 1), RangeError);
});
