/**
 * The packet I/O seam of the data plane: libpcap on a real interface
 * (`ffi/pcap_io.ts`) or memory in unit tests. Frames are copied into one
 * receive buffer owned by the implementation, so the loop never allocates.
 * @module
 */

/** Where the forwarding loop reads and writes frames. */
export interface PacketIo {
  /** The buffer the last `next` filled (it may change from frame to frame). */
  readonly rx: Uint8Array;
  /** A scratch buffer for frames the data plane builds (ARP, ICMP replies). */
  readonly tx: Uint8Array;
  /** Copies the next waiting frame into `rx` and returns its length; 0 when none waits, -1 once closed. */
  next(): number;
  /**
   * Sends `len` bytes of `frame` (`rx` or `tx`) out of the interface; false
   * when the send failed. A sent `rx` may wait in a batch until `flush`,
   * which reports it if it fails.
   */
  send(frame: Uint8Array, len: number): boolean;
  /**
   * Sends the first `len` bytes of the frame another leg's PacketIo last
   * read (its `rx`, rewritten in place) out of this interface: a balancer
   * with several legs takes a frame on one and forwards it by another. The
   * frame is copied into this leg's batch, so `from` may read on at once;
   * false when the send failed.
   */
  forward(from: PacketIo, len: number): boolean;
  /**
   * Sends whatever waits in the batch; returns how many batched frames
   * failed since the last call, those of batches sent meanwhile included.
   */
  flush(): number;
  /** Blocks the calling thread until a frame may be waiting or `ms` passes. */
  wait(ms: number): void;
  /** Restricts capture to frames matching a BPF expression. */
  setFilter(expression: string): void;
  /** Frames the kernel dropped before we read them. */
  kernelDrops(): number;
  /** Releases the interface. */
  close(): void;
}

/** In-memory PacketIo for unit tests: queue frames in, read what was sent. */
export class MemoryPacketIo implements PacketIo {
  readonly rx = new Uint8Array(65536);
  readonly tx = new Uint8Array(65536);
  readonly sent: Uint8Array[] = [];
  filter = "";
  #queue: Uint8Array[] = [];
  #closed = false;

  /** Queues a frame to be returned by `next`. */
  push(frame: Uint8Array): void {
    this.#queue.push(frame);
  }

  next(): number {
    if (this.#closed) return -1;
    const frame = this.#queue.shift();
    if (!frame) return 0;
    this.rx.set(frame);
    return frame.length;
  }

  send(frame: Uint8Array, len: number): boolean {
    this.sent.push(frame.slice(0, len));
    return true;
  }

  forward(from: PacketIo, len: number): boolean {
    this.sent.push(from.rx.slice(0, len));
    return true;
  }

  flush(): number {
    return 0;
  }

  wait(_ms: number): void {}

  setFilter(expression: string): void {
    this.filter = expression;
  }

  kernelDrops(): number {
    return 0;
  }

  close(): void {
    this.#closed = true;
  }
}
