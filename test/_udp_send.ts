/**
 * Run inside the client's namespace: sends COUNT datagrams of SIZE bytes to
 * HOST:PORT, each from a socket of its own (so from a port of its own: a
 * flow of its own), and prints how many were sent. Datagrams above the link
 * MTU leave as IPv6 (or IPv4) fragments.
 * `deno run -A --unstable-net test/_udp_send.ts HOST PORT SIZE COUNT`
 * @module
 */

const [hostname, port, size, count] = Deno.args;
const payload = new Uint8Array(Number(size)).map((_, i) => i & 255);
for (let i = 0; i < Number(count); i++) {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "::", port: 0 });
  await socket.send(payload, { transport: "udp", hostname, port: Number(port) });
  socket.close();
  await new Promise((r) => setTimeout(r, 20));
}
console.log(`sent ${count}`);
