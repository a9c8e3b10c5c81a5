/**
 * Drives a PcapPacketIo the way the forwarding loop does, on one end of a
 * veth pair, for ffi/pcap_io_test.ts (run inside its namespace):
 * `_pcap_io_wire.ts A B`. B injects numbered frames at A; A reads each,
 * rewrites its destination MAC in place and sends it back from its receive
 * slot (some shortened, some dropped), now and then sends a frame of its own
 * through `tx` and flushes; B captures whatever comes out. Prints one JSON
 * line: the frames injected, what A read, what A handed to `send`, what each
 * `flush` reported and what B received, as hex strings, for the test to compare.
 * @module
 */

import { PcapPacketIo } from "../ffi/pcap_io.ts";

const [aName, bName] = Deno.args;
const A_MAC = [0x02, 0, 0, 0, 0, 0x0a];
const B_MAC = [0x02, 0, 0, 0, 0, 0x0b];
/** IEEE 802 local experimental EtherType: nothing else on the link sends it. */
const FILTER = "ether proto 0x88b5";
const FRAMES = 200;

// A as the daemon opens it; B, the observer, with a ring of ~2000 short frames.
const a = new PcapPacketIo(aName);
const b = new PcapPacketIo(bName, { snaplen: 2048, bufferSize: 4 << 20 });
a.setFilter(FILTER);
b.setFilter(FILTER);

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (x) => x.toString(16).padStart(2, "0")).join("");

/** Frame `i` of `len` bytes from `src` to `dst`; `kind` 1 from B, 3 built by A. */
function frame(i: number, len: number, dst: number[], src: number[], kind: number): Uint8Array {
  const f = new Uint8Array(len);
  f.set(dst, 0);
  f.set(src, 6);
  f.set([0x88, 0xb5, kind, i >> 8, i & 255], 12);
  for (let k = 17; k < len; k++) f[k] = (i * 31 + k * 7) & 255;
  return f;
}

/** Waits up to `ms` for the next frame on `io`; its length, or 0 on timeout. */
function receive(io: PcapPacketIo, ms = 2000): number {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    const n = io.next();
    if (n > 0) return n;
    if (n < 0) throw new Error("the capture closed");
    io.wait(20);
  }
  return 0;
}

const log = {
  injected: [] as string[],
  read: [] as string[],
  handed: [] as string[],
  unsent: [] as number[],
  received: [] as string[],
  /** Frames the kernel dropped on B's capture: 0, or `received` is not the whole story. */
  observerDrops: 0,
};

/** Takes what has reached B so far. */
function drain(): void {
  for (let n = b.next(); n > 0; n = b.next()) log.received.push(hex(b.rx.subarray(0, n)));
}

/** A sends a frame of its own: the queue must go out first, then this frame at once. */
function sendOwn(i: number): void {
  const own = frame(i, 64 + i % 50, B_MAC, A_MAC, 3);
  a.tx.set(own);
  if (!a.send(a.tx, own.length)) throw new Error(`tx frame ${i} was refused`);
  log.handed.push(hex(own));
}

for (let i = 0; i < FRAMES; i++) {
  const len = 67 + (i * 97) % 1434; // 67 to 1500 bytes, every length different
  const injected = frame(i, len, A_MAC, B_MAC, 1);
  b.tx.set(injected);
  if (!b.send(b.tx, len)) throw new Error(`B could not inject frame ${i}`);
  log.injected.push(hex(injected));
  const n = receive(a);
  if (n === 0) throw new Error(`frame ${i} did not reach A`);
  log.read.push(hex(a.rx.subarray(0, n)));
  // Dropped: never sent, so the next frame lands in the same slot.
  if (i % 7 === 3) continue;
  a.rx.set(B_MAC, 0);
  a.rx[14] = 2;
  // A shorter length than was read: only that much may go out (iov_len).
  const out = i % 5 === 0 ? n - 7 : n;
  log.handed.push(hex(a.rx.subarray(0, out)));
  if (!a.send(a.rx, out)) throw new Error(`rx frame ${i} was refused`);
  // No own frame or flush between 11 and 151: more than 64 queue up (a full batch goes by itself).
  if (i === 11 || i === 190) sendOwn(1000 + i);
  if (i === 151) log.unsent.push(a.flush());
  drain();
}
log.unsent.push(a.flush());

while (log.received.length < log.handed.length) {
  const n = receive(b);
  if (n === 0) break;
  log.received.push(hex(b.rx.subarray(0, n)));
}
// Nothing more may come: a frame sent twice would show here.
const extra = receive(b, 300);
if (extra > 0) log.received.push(hex(b.rx.subarray(0, extra)));
log.observerDrops = b.kernelDrops();
a.close();
b.close();
console.log(JSON.stringify(log));
