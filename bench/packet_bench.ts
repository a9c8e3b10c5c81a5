/**
 * Micro-benchmark of the packet parser: `PacketView.parse` on a TCP SYN (IPv4
 * and IPv6) and a UDP datagram, the first thing the data plane does with every frame.
 * `deno bench -A bench/packet_bench.ts`
 * @module
 */

import { eth } from "../dataplane/_frame_builder.ts";
import { PacketView, TCP_SYN } from "../dataplane/packet.ts";

const syn = eth({ src: "02:00:00:00:00:c1", dst: "02:00:00:00:00:0a" })
  .ipv4({ src: "203.0.113.9", dst: "198.18.0.100" })
  .tcp({ sport: 40000, dport: 80, flags: TCP_SYN })
  .build();
const udp = eth({ src: "02:00:00:00:00:c1", dst: "02:00:00:00:00:0a" })
  .ipv4({ src: "203.0.113.9", dst: "198.18.0.100" })
  .udp({ sport: 40000, dport: 9 })
  .payload(new Uint8Array(18))
  .build();
const syn6 = eth({ src: "02:00:00:00:00:c1", dst: "02:00:00:00:00:0a" })
  .ipv6({ src: "2001:2:ff::9", dst: "2001:2::100" })
  .tcp({ sport: 40000, dport: 80, flags: TCP_SYN })
  .build();
const view = new PacketView();
let sink = 0; // results land here so no call is optimised away

Deno.bench("parse TCP SYN frame", { group: "parse", baseline: true }, () => {
  sink ^= view.parse(syn, syn.length) + view.srcPort;
});

Deno.bench("parse IPv6 TCP SYN frame", { group: "parse" }, () => {
  sink ^= view.parse(syn6, syn6.length) + view.srcPort;
});

Deno.bench("parse UDP frame", { group: "parse" }, () => {
  sink ^= view.parse(udp, udp.length) + view.srcPort;
});
