import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { requireRoot, uniquePrefix } from "../test/_netns.ts";
import { type BatchSocket, sendBatch } from "./pcap_io.ts";

/**
 * A socket that answers each `sendmmsg` from a script, records every call's
 * first frame and count and each wait, and refuses a call outside the batch.
 */
function scripted(
  answers: number[],
  queued: number,
): BatchSocket & { calls: [number, number][]; waits: number[] } {
  const calls: [number, number][] = [];
  const socket = {
    calls,
    /** For each wait, how many calls came before it. */
    waits: [] as number[],
    sendmmsg(from: number, count: number): number {
      assert.ok(count > 0 && from >= 0 && from + count <= queued, `sendmmsg(${from}, ${count})`);
      calls.push([from, count]);
      const n = answers.shift() ?? -1;
      return n > count ? count : n;
    },
    waitForRoom(): void {
      socket.waits.push(calls.length);
    },
  };
  return socket;
}

Deno.test("sendBatch sends a batch the socket takes whole with one call", () => {
  const socket = scripted([64], 64);
  assert.equal(sendBatch(socket, 64), 0);
  assert.deepEqual(socket.calls, [[0, 64]]);
  assert.deepEqual(socket.waits, []);
  const one = scripted([1], 1);
  assert.equal(sendBatch(one, 1), 0);
  assert.deepEqual(one.calls, [[0, 1]]);
});

Deno.test("sendBatch sends the rest of a partly taken batch at once, from the first frame not sent", () => {
  const socket = scripted([20, 30, 14], 64);
  assert.equal(sendBatch(socket, 64), 0);
  assert.deepEqual(socket.calls, [[0, 64], [20, 44], [50, 14]]);
  assert.deepEqual(socket.waits, []);
});

Deno.test("sendBatch waits for room when the send buffer is full, then sends the rest", () => {
  // 20 go, then EAGAIN (-1), then room again.
  const socket = scripted([20, -1, 44], 64);
  assert.equal(sendBatch(socket, 64), 0);
  assert.deepEqual(socket.calls, [[0, 64], [20, 44], [20, 44]]);
  assert.deepEqual(socket.waits, [2], "one wait, after the refused call");
  // A call that takes nothing counts as refused too.
  const zero = scripted([0, 64], 64);
  assert.equal(sendBatch(zero, 64), 0);
  assert.deepEqual(zero.calls, [[0, 64], [0, 64]]);
  assert.deepEqual(zero.waits, [1]);
});

Deno.test("sendBatch gives up after four waits and reports what did not go", () => {
  const socket = scripted([10], 64);
  assert.equal(sendBatch(socket, 64), 54);
  assert.deepEqual(socket.calls, [[0, 64], [10, 54], [10, 54], [10, 54], [10, 54], [10, 54]]);
  assert.deepEqual(socket.waits, [2, 3, 4, 5]);
});

Deno.test("sendBatch's four waits are for the whole batch: progress between them does not renew them", () => {
  const socket = scripted([10, -1, 10, -1, 10, -1, 10, -1, 10, -1, 14], 64);
  assert.equal(sendBatch(socket, 64), 14);
  assert.deepEqual(socket.calls, [
    [0, 64],
    [10, 54],
    [10, 54],
    [20, 44],
    [20, 44],
    [30, 34],
    [30, 34],
    [40, 24],
    [40, 24],
    [50, 14],
  ]);
  assert.deepEqual(socket.waits, [2, 4, 6, 8]);
});

Deno.test("sendBatch of nothing sends nothing", () => {
  const socket = scripted([], 0);
  assert.equal(sendBatch(socket, 0), 0);
  assert.deepEqual(socket.calls, []);
  assert.deepEqual(socket.waits, []);
});

Deno.test("PcapPacketIo puts on the wire exactly what it was handed, in order: rx slots batched with their lengths, tx frames between", async () => {
  requireRoot();
  const ns = uniquePrefix();
  const ip = async (...args: string[]) => {
    const out = await new Deno.Command("ip", { args, stderr: "piped", stdout: "null" }).output();
    if (!out.success) {
      throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
  try {
    await ip("netns", "add", ns);
    // No IPv6 on the pair: the kernel sends nothing of its own on it.
    await ip("netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1");
    await ip(
      ...[
        "-n",
        ns,
        "link",
        "add",
        "name",
        "wire-a",
        "address",
        "02:00:00:00:00:0a",
        "type",
        "veth",
      ],
      ...["peer", "name", "wire-b", "address", "02:00:00:00:00:0b"],
    );
    await ip("-n", ns, "link", "set", "wire-a", "up");
    await ip("-n", ns, "link", "set", "wire-b", "up");
    const root = fileURLToPath(new URL("..", import.meta.url));
    const run = await new Deno.Command("ip", {
      args: [
        ...["netns", "exec", ns, Deno.execPath(), "run", "-q", "-A", "--config"],
        ...[`${root}deno.json`, `${root}test/_pcap_io_wire.ts`, "wire-a", "wire-b"],
      ],
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(run.stderr);
    assert.equal(run.code, 0, stderr);
    const log: Record<"injected" | "read" | "handed" | "received", string[]> & {
      unsent: number[];
      observerDrops: number;
    } = JSON.parse(new TextDecoder().decode(run.stdout));

    assert.equal(log.injected.length, 200);
    assert.deepEqual(log.read, log.injected, "next() copies each frame whole into rx");
    // 200 read, 29 dropped, 2 built by A.
    assert.equal(log.handed.length, 173);
    assert.deepEqual(log.unsent, [0, 0], "flush reports no failed frame");
    assert.equal(log.observerDrops, 0, "the capture on the far end lost nothing");
    assert.equal(log.received.length, log.handed.length, "as many frames came out as were sent");
    for (let i = 0; i < log.handed.length; i++) {
      assert.equal(log.received[i], log.handed[i], `frame ${i} on the wire`);
    }
  } finally {
    await ip("netns", "del", ns).catch(() => {});
  }
});
