/**
 * Worker entry of the data plane: opens the interface (each leg of a
 * balancer with several) with libpcap and runs the forwarding loop on this
 * thread, so the control thread never waits on packet I/O. Talks to the
 * control thread by messages and shared memory only.
 * @module
 */

import { PcapPacketIo, waitOnAny } from "../ffi/pcap_io.ts";
import { ForwardingLoop, type LoopMessage, type LoopReport } from "./loop.ts";
import type { SharedTables } from "./tables.ts";

/** The first message the control thread sends. */
export interface WorkerInit {
  type: "init";
  /** The interfaces, in the order of the programs' legs (one for most balancers). */
  ifaces: string[];
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
  const ios: PcapPacketIo[] = [];
  const closeAll = () => {
    for (const io of ios) io.close();
  };
  try {
    for (const iface of init.ifaces) ios.push(new PcapPacketIo(iface));
  } catch (error) {
    // Every leg or none: the legs opened already are released.
    closeAll();
    scope.postMessage({ type: "error", message: (error as Error).message });
    return;
  }
  loop = new ForwardingLoop(ios, init.shared, {
    maxFlows: init.maxFlows,
    report: (report) => scope.postMessage(report),
    // One leg waits on its own capture, as before legs existed.
    ...ios.length > 1 ? { wait: waitOnAny(ios) } : {},
  });
  scope.postMessage({ type: "ready" });
  loop.run().then(
    () => {
      closeAll();
      scope.postMessage({ type: "stopped" });
    },
    (error) => {
      closeAll();
      scope.postMessage({ type: "error", message: String(error) });
    },
  );
}
