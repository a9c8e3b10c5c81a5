/**
 * Run inside a namespace: sends raw Ethernet frames out of an interface
 * through libpcap, as a router or an attacker on the segment would.
 * `deno run -A test/_inject.ts IFACE HEX…` (one hex string per frame).
 * @module
 */

import { PcapPacketIo } from "../ffi/pcap_io.ts";

const [iface, ...frames] = Deno.args;
const io = new PcapPacketIo(iface);
for (const hex of frames) {
  const bytes = Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));
  io.tx.set(bytes);
  if (!io.send(io.tx, bytes.length)) {
    throw new Error(`cannot send a frame of ${bytes.length} bytes`);
  }
}
if (io.flush() > 0) throw new Error("a frame was not sent");
io.close();
console.log(`sent ${frames.length}`);
