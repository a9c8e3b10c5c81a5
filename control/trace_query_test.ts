import assert from "node:assert/strict";
import { parseTraceParams, traceQuery } from "./trace_query.ts";

const params = (o: Record<string, string>) => new URLSearchParams(o);

Deno.test("a trace question reads client, optional port, VIP:PORT and protocol", () => {
  const s = parseTraceParams(
    params({ client: "198.18.0.2", port: "40000", vip: "198.18.0.100:80", proto: "udp" }),
  );
  assert.deepEqual(s, {
    client: "198.18.0.2",
    port: 40000,
    vip: "198.18.0.100",
    vipPort: 80,
    proto: "udp",
  });
  assert.deepEqual(traceQuery(s), {
    client: 0xc6120002,
    port: 40000,
    vip: 0xc6120064,
    vipPort: 80,
    proto: 17,
  });
  const noPort = parseTraceParams(params({ client: "198.18.0.2", vip: "198.18.0.100:80" }));
  assert.equal(noPort.port, null);
  assert.equal(noPort.proto, "tcp");
  assert.equal(traceQuery(noPort).port, -1);
  const v6 = traceQuery(
    parseTraceParams(params({ client: "2001:2::2", port: "1", vip: "[2001:2::100]:443" })),
  );
  assert.deepEqual([...v6.client6!], [0x20010002, 0, 0, 2]);
  assert.deepEqual([...v6.vip6!], [0x20010002, 0, 0, 0x100]);
});

Deno.test("a malformed or missing parameter, or mixed address families, is refused naming it", () => {
  assert.throws(
    () => parseTraceParams(params({ vip: "198.18.0.100:80" })),
    /missing parameter client/,
  );
  assert.throws(
    () => parseTraceParams(params({ client: "198.18.0.2", port: "0", vip: "198.18.0.100:80" })),
    /client port/,
  );
  assert.throws(
    () => parseTraceParams(params({ client: "198.18.0.2", vip: "198.18.0.100" })),
    /invalid VIP:PORT/,
  );
  assert.throws(
    () => parseTraceParams(params({ client: "2001:2::2", vip: "198.18.0.100:80" })),
    /not of one address family/,
  );
});
