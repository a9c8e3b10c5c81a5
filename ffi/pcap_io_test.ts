import assert from "node:assert/strict";
import { type BatchSocket, sendBatch } from "./pcap_io.ts";

/** A socket that answers each `sendmmsg` from a script and records calls and waits. */
function scripted(answers: number[]): BatchSocket & { calls: [number, number][]; waits: number } {
  const calls: [number, number][] = [];
  const socket = {
    calls,
    waits: 0,
    sendmmsg(from: number, count: number): number {
      calls.push([from, count]);
      const n = answers.shift() ?? -1;
      return n > count ? count : n;
    },
    waitForRoom(): void {
      socket.waits++;
    },
  };
  return socket;
}

Deno.test("sendBatch sends a batch the socket takes whole with one call", () => {
  const socket = scripted([64]);
  assert.equal(sendBatch(socket, 64), 0);
  assert.deepEqual(socket.calls, [[0, 64]]);
  assert.equal(socket.waits, 0);
});

Deno.test("sendBatch waits for room when the send buffer is full, then sends the rest", () => {
  // 20 go, then EAGAIN (-1), then room again.
  const socket = scripted([20, -1, 44]);
  assert.equal(sendBatch(socket, 64), 0);
  assert.deepEqual(socket.calls, [[0, 64], [20, 44], [20, 44]]);
  assert.equal(socket.waits, 1);
});

Deno.test("sendBatch gives up after a few waits and reports what did not go", () => {
  const socket = scripted([10]);
  assert.equal(sendBatch(socket, 64), 54);
  assert.equal(socket.waits, 4);
  assert.deepEqual(socket.calls.slice(1), Array(5).fill([10, 54]));
});

Deno.test("sendBatch of nothing sends nothing", () => {
  const socket = scripted([]);
  assert.equal(sendBatch(socket, 0), 0);
  assert.deepEqual(socket.calls, []);
});
