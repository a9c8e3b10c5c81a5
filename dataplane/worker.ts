/**
 * Worker entry of the data plane: opens the interface with libpcap and runs
 * the forwarding loop on this thread, so the control thread never waits on
 * packet I/O. Talks to the control thread by messages and shared memory only.
 * @module
 */

import { PcapPacketIo } from "../ffi/pcap_io.ts";
import { ForwardingLoop, type LoopMessage, type LoopReport } from "./loop.ts";
import type { SharedTables } from "./tables.ts";

/** The first message the control thread sends. */
export interface WorkerInit {
  type: "init";
  iface: string;
  shared: SharedTables;
  maxFlows: number;
}

/** What the worker reports back. */
export type WorkerReport =
  | LoopReport
  | { type: "ready" }
  | { type: "error"; message: string }
  | { type: "stopped" };

const scope = self as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: WorkerReport): void;
  close(): void;
};

let loop: ForwardingLoop | null = null;

scope.onmessage = (event: MessageEvent<WorkerInit | LoopMessage>) => {
  const data = event.data;
  if ("type" in data && data.type === "init") {
    start(data);
  } else {
    loop?.post(data as LoopMessage);
  }
};

function start(init: WorkerInit): void {
  let io: PcapPacketIo;
  try {
    io = new PcapPacketIo(init.iface);
  } catch (error) {
    scope.postMessage({ type: "error", message: (error as Error).message });
    return;
  }
  loop = new ForwardingLoop(io, init.shared, {
    maxFlows: init.maxFlows,
    report: (report) => scope.postMessage(report),
  });
  scope.postMessage({ type: "ready" });
  loop.run().then(
    () => {
      io.close();
      scope.postMessage({ type: "stopped" });
    },
    (error) => {
      io.close();
      scope.postMessage({ type: "error", message: String(error) });
    },
  );
}
