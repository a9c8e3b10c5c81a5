import assert from "node:assert/strict";
import { dropProgram, MAX_DROPPED_VIPS } from "./ingress_drop.ts";
import { parseIpv4 } from "../dataplane/addr.ts";

/** Runs the three instructions dropProgram uses (ld abs word, jeq k, ret k) on a frame. */
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

function frameTo(dst: string): Uint8Array {
  const frame = new Uint8Array(60);
  new DataView(frame.buffer).setUint32(30, parseIpv4(dst));
  return frame;
}

Deno.test("the drop program drops exactly the frames to its VIPs", () => {
  const vips = ["198.18.0.100", "198.18.0.101", "255.255.255.255", "198.19.7.1"];
  const program = dropProgram(vips.map(parseIpv4));
  for (const vip of vips) assert.equal(run(program, frameTo(vip)), 2, vip);
  for (const other of ["198.18.0.102", "198.18.0.1", "0.0.0.0", "10.0.0.100"]) {
    assert.equal(run(program, frameTo(other)), -1, other);
  }
});

Deno.test("the drop program holds up to the cBPF jump limit and refuses more", () => {
  const many = Array.from({ length: MAX_DROPPED_VIPS }, (_, i) => parseIpv4(`198.18.1.${i}`));
  const program = dropProgram(many);
  assert.equal(run(program, frameTo(`198.18.1.0`)), 2);
  assert.equal(run(program, frameTo(`198.18.1.${MAX_DROPPED_VIPS - 1}`)), 2);
  assert.equal(run(program, frameTo("198.18.2.0")), -1);
  assert.ok(program.split(",").slice(1).every((l) => Number(l.split(" ")[1]) <= 255));
  assert.throws(() => dropProgram([...many, 1]), RangeError);
  assert.equal(run(dropProgram([]), frameTo("198.18.0.1")), -1);
});
