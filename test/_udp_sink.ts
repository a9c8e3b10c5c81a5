/**
 * Run inside a real server's namespace: receives UDP datagrams on [::]:PORT
 * (both families) and prints one line per datagram, `LENGTH SOURCE`, so a
 * test sees which datagrams arrived whole and where.
 * `deno run -A --unstable-net test/_udp_sink.ts PORT`
 * @module
 */

const socket = Deno.listenDatagram({
  transport: "udp",
  hostname: "::",
  port: Number(Deno.args[0]),
});
console.log("listening");
for await (const [data, from] of socket) {
  console.log(`${data.length} ${(from as Deno.NetAddr).hostname}`);
}
