import assert from "node:assert/strict";
import dgram from "node:dgram";
import { type ProbeTarget, realProber } from "./probers.ts";

const prober = realProber(() => Promise.resolve("timeout"));
const base: ProbeTarget = {
  type: "udp",
  ip: "127.0.0.1",
  port: 0,
  path: "/",
  expect: 200,
  vip: "198.18.0.100",
  vipPort: 53,
  proto: "udp",
  neighbor: -1,
};

/** A UDP server on loopback answering each datagram with the datagrams `answer(datagram)` gives. */
async function udpServer(answer: (msg: Buffer) => Uint8Array[]) {
  const socket = dgram.createSocket("udp4");
  socket.on("message", (msg, from) => {
    for (const reply of answer(msg)) socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
  return { port: socket.address().port, close: () => new Promise<void>((r) => socket.close(r)) };
}

/** A port on loopback that nothing listens on (bound, read, closed). */
async function closedPort(): Promise<number> {
  const s = await udpServer(() => []);
  await s.close();
  return s.port;
}

Deno.test("udp: up on an answer holding --check-receive, down on another answer, down at once on ICMP port unreachable", async () => {
  const server = await udpServer((msg) => [new TextEncoder().encode(`pong ${msg}`)]);
  try {
    const t = { ...base, port: server.port, send: "ping" };
    assert.equal(await prober(t, 1000), null);
    assert.equal(await prober({ ...t, receive: "pong ping" }, 1000), null);
    assert.match(
      (await prober({ ...t, receive: "PONG" }, 1000)) ?? "",
      /answered "pong ping", which does not contain "PONG"/,
    );
    const started = performance.now();
    const refused = await prober({ ...t, port: await closedPort() }, 2000);
    assert.match(refused ?? "", /ICMP port unreachable: nothing listens/);
    assert.ok(performance.now() - started < 200, "at once, not at the 2 s timeout");
  } finally {
    await server.close();
  }
});

Deno.test("udp: a server that stays silent fails at the timeout", async () => {
  const server = await udpServer(() => []);
  try {
    const started = performance.now();
    assert.match(
      (await prober({ ...base, port: server.port }, 300)) ?? "",
      /no answer from 127\.0\.0\.1:\d+\/udp within 300 ms/,
    );
    assert.ok(performance.now() - started >= 290);
  } finally {
    await server.close();
  }
});

Deno.test("dns: up on NOERROR, down naming NXDOMAIN, answers to other ids ignored", async () => {
  const server = await udpServer((msg) => {
    const name = msg.subarray(13, 13 + msg[12]).toString();
    const reply = new Uint8Array(msg);
    const view = new DataView(reply.buffer);
    view.setUint16(2, name === "www" ? 0x8180 : 0x8183);
    // A stray answer with another id first, as a spoofer or a late answer would send.
    const stray = new Uint8Array(reply);
    new DataView(stray.buffer).setUint16(0, view.getUint16(0) ^ 0xffff);
    new DataView(stray.buffer).setUint16(2, 0x8183);
    return [stray, reply];
  });
  try {
    const t = { ...base, type: "dns" as const, port: server.port };
    assert.equal(await prober({ ...t, query: "www.example.test" }, 1000), null);
    assert.match(
      (await prober({ ...t, query: "nope.example.test" }, 1000)) ?? "",
      /answered NXDOMAIN for nope\.example\.test A, expected NOERROR/,
    );
    assert.match(
      (await prober({ ...t, port: await closedPort(), query: "www" }, 1000)) ?? "",
      /ICMP port unreachable/,
    );
  } finally {
    await server.close();
  }
});

Deno.test("exec: exit 0 is up; another status is down with the last line it printed; DSR_* are in its environment", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dsr-exec-" });
  try {
    const script = `${dir}/check`;
    await Deno.writeTextFile(
      script,
      '#!/bin/sh\necho "$DSR_VIP $DSR_PORT $DSR_PROTO $DSR_RIP $1" > "$0.env"\n' +
        'echo first line\necho "status $2" >&2\nexit "$2"\n',
    );
    await Deno.chmod(script, 0o755);
    const t = { ...base, type: "exec" as const, ip: "198.18.0.11", command: [script, "a b", "0"] };
    assert.equal(await prober(t, 2000), null);
    assert.equal(
      (await Deno.readTextFile(`${script}.env`)).trim(),
      "198.18.0.100 53 udp 198.18.0.11 a b",
    );
    assert.equal(
      await prober({ ...t, command: [script, "x", "3"] }, 2000),
      "check exited 3: status 3",
    );
    assert.match(
      (await prober({ ...t, command: [`${dir}/missing`] }, 2000)) ?? "",
      /^cannot run .*\/missing: /,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exec: a check still running at the timeout is killed with everything it started, leaving no process", async () => {
  const marker = `dsr-exec-test-${crypto.randomUUID().slice(0, 8)}`;
  const t = {
    ...base,
    type: "exec" as const,
    // A shell that starts a child and ignores SIGTERM: only the group's SIGKILL ends both.
    command: [
      "/bin/sh",
      "-c",
      `trap '' TERM; /bin/sh -c 'sleep 30' ${marker} & sleep 31; wait`,
      marker,
    ],
  };
  const started = performance.now();
  assert.equal(await prober(t, 300), "sh killed at the timeout (300 ms)");
  const took = performance.now() - started;
  assert.ok(took < 600, `ended after ${took} ms`);
  const left = await new Deno.Command("pgrep", { args: ["-f", marker] }).output();
  assert.equal(new TextDecoder().decode(left.stdout), "", "no process of the check is left");
  const zombies = await new Deno.Command("ps", {
    args: ["-o", "stat=,pid=", "--ppid", String(Deno.pid)],
  })
    .output();
  assert.doesNotMatch(new TextDecoder().decode(zombies.stdout), /^Z/m, "and no zombie");
});
