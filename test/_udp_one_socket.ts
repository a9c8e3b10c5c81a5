/**
 * UDP ends for the one-packet scheduling test, run inside lab namespaces.
 *
 * - `sink PORT`: receives on 0.0.0.0:PORT and prints `SOURCE:PORT TEXT` per
 *   datagram, after a first line `listening`.
 * - `send HOST PORT COUNT`: sends COUNT datagrams (`1`, `2`, …) to HOST:PORT
 *   from one socket, so from one client port, 5 ms apart, then prints
 *   `sent COUNT from PORT`.
 *
 * `deno run -A --unstable-net test/_udp_one_socket.ts sink|send …`
 * @module
 */

const [mode, ...args] = Deno.args;
if (mode === "sink") {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: +args[0] });
  console.log("listening");
  for await (const [data, from] of socket) {
    const { hostname, port } = from as Deno.NetAddr;
    console.log(`${hostname}:${port} ${new TextDecoder().decode(data)}`);
  }
} else if (mode === "send") {
  const [hostname, port, count] = args;
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: 0 });
  for (let i = 1; i <= Number(count); i++) {
    await socket.send(new TextEncoder().encode(`${i}`), {
      transport: "udp",
      hostname,
      port: +port,
    });
    await new Promise((r) => setTimeout(r, 5));
  }
  console.log(`sent ${count} from ${(socket.addr as Deno.NetAddr).port}`);
  socket.close();
} else {
  console.error("usage: _udp_one_socket.ts sink PORT | send HOST PORT COUNT");
  Deno.exit(2);
}
