/**
 * Tiny servers for test/checks_test.ts, run inside a namespace:
 * `udp-echo IP PORT` answers each datagram with `echo: ` and the datagram;
 * `greeter IP PORT` writes `220 greeter ready` to each connection at once
 * and keeps it until the client closes.
 * @module
 */

import dgram from "node:dgram";

const [mode, hostname, port] = Deno.args;
if (mode === "udp-echo") {
  const socket = dgram.createSocket("udp4");
  socket.on("message", (msg, from) => socket.send(`echo: ${msg}`, from.port, from.address));
  socket.bind(Number(port), hostname);
} else if (mode === "greeter") {
  for await (const conn of Deno.listen({ hostname, port: Number(port) })) {
    (async () => {
      try {
        await conn.write(new TextEncoder().encode("220 greeter ready\r\n"));
        const sink = new Uint8Array(1024);
        while (await conn.read(sink) !== null) { /* until the client's FIN */ }
      } catch {
        // reset by the client
      }
      try {
        conn.close();
      } catch {
        // closed already
      }
    })();
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
