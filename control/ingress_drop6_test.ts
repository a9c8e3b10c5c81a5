import assert from "node:assert/strict";
import { ipv6Words, parseIpv6 } from "../dataplane/addr6.ts";
import { dropProgram6, MAX_DROPPED_VIPS6 } from "./ingress_drop.ts";

/** Runs the instructions the drop programs use (ld abs word, jeq k, ret k) on a frame. */
function run(program: string, frame: Uint8Array): number {
  const [count, ...lines] = program.split(",");
  const code = lines.map((l) => l.split(" ").map(Number));
  assert.equal(code.length, Number(count));
  let a = 0;
  for (let pc = 0; pc < code.length; pc++) {
    const [op, jt, jf, k] = code[pc];
    if (op === 0x20) a = new DataView(frame.buffer).getUint32(k);
    else if (op === 0x15) pc += a === k ? jt : jf;
    else if (op === 0x06) return k | 0;
    else throw new Error(`unexpected opcode ${op}`);
  }
  throw new Error("fell off the end");
}

const words = (ip: string) => ipv6Words(parseIpv6(ip));

function frameTo(dst: string): Uint8Array {
  const frame = new Uint8Array(80);
  frame.set(parseIpv6(dst), 38);
  return frame;
}

Deno.test("the IPv6 drop program drops exactly the frames to its VIPs", () => {
  const vips = ["2001:2::100", "2001:2::101", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fd00::1"];
  const program = dropProgram6(vips.map(words));
  for (const vip of vips) assert.equal(run(program, frameTo(vip)), 2, vip);
  // One word off in each position, and neighbours of the VIPs.
  for (
    const other of [
      "2001:2::102",
      "2001:3::100",
      "2001:2:0:1::100",
      "2001:2::1:0:0:100",
      "2001:2::",
      "ff02::1:ff00:100",
      "fd00::",
    ]
  ) assert.equal(run(program, frameTo(other)), -1, other);
});

Deno.test("the IPv6 drop program holds up to the cBPF jump limit and refuses more", () => {
  const many = Array.from({ length: MAX_DROPPED_VIPS6 }, (_, i) => words(`2001:2::${i + 1}:1`));
  const program = dropProgram6(many);
  assert.equal(run(program, frameTo("2001:2::1:1")), 2);
  assert.equal(run(program, frameTo(`2001:2::${MAX_DROPPED_VIPS6}:1`)), 2);
  assert.equal(run(program, frameTo("2001:2::1:2")), -1);
  const jumps = program.split(",").slice(1).map((l) => l.split(" ").map(Number));
  assert.ok(jumps.every(([, jt, jf]) => jt <= 255 && jf <= 255));
  assert.throws(() => dropProgram6([...many, words("2001:2::1")]), RangeError);
  assert.equal(run(dropProgram6([]), frameTo("2001:2::1")), -1);
});
