/**
 * PacketIo over a libpcap handle. Every pointer and BigInt the loop needs is
 * made once here, so `next` and `send` cost a few fast FFI calls and allocate
 * nothing. The frame address `pcap_next_ex` writes is read as two 32-bit
 * words: reading it as a BigInt would allocate one per frame, and on Linux it
 * is always libpcap's one-shot buffer, so the BigInt `memcpy` takes is made
 * once (and again only if the address ever changes).
 *
 * Received frames are copied straight into one of BATCH slots; forwarding a
 * frame queues its slot, and `flush` sends the queue with one `sendmmsg` on
 * libpcap's own socket instead of one `pcap_inject` system call per frame.
 * The `mmsghdr` and `iovec` arrays point at the slots once and for all, so a
 * send only writes a length.
 * @module
 */

import type { PacketIo } from "../dataplane/packet_io.ts";
import {
  IOVEC_SIZE,
  type LibC,
  loadLibc,
  MMSGHDR_SIZE,
  PACKET_QDISC_BYPASS,
  POLLIN,
  POLLOUT,
  SOL_PACKET,
} from "./libc.ts";
import {
  cString,
  DLT_EN10MB,
  loadLibpcap,
  PCAP_D_IN,
  PCAP_ERRBUF_SIZE,
  PCAP_ERROR_PERM_DENIED,
  type PcapLib,
  pointerString,
  toCString,
} from "./libpcap.ts";

/** Raised when libpcap refuses an operation; the message carries libpcap's text. */
export class PcapError extends Error {
  constructor(message: string, readonly code = 0) {
    super(message);
    this.name = "PcapError";
  }
}

/** How to open the capture. */
export interface PcapOptions {
  /** Bytes kept per frame; default 65535. */
  snaplen?: number;
  /** Kernel ring buffer in bytes; default 32 MiB. */
  bufferSize?: number;
}

/** Frames sent with one sendmmsg. */
const BATCH = 64;
/**
 * How long, and how many times per batch, a send waits for room in the
 * socket's send buffer before the rest of its frames count as failed.
 */
const ROOM_WAIT_MS = 10;
const ROOM_WAITS = 4;

/** The socket a batch of queued frames goes out on (an interface, so tests can stand in for it). */
export interface BatchSocket {
  /** Sends queued frames `from` … `from + count - 1`; how many went, or -1 when none did. */
  sendmmsg(from: number, count: number): number;
  /** Returns once the socket can take more, or after a bounded wait. */
  waitForRoom(): void;
}

/**
 * Sends `count` queued frames; how many could not be sent. libpcap makes its
 * socket non-blocking, and a frame stays charged to the socket's send buffer
 * until the kernel has passed it on: when the kernel defers that work (to
 * ksoftirqd on this core, under load), a burst fills the buffer and
 * `sendmmsg` fails with EAGAIN. Waiting lets that work run; dropping the
 * batch would lose up to 64 frames that a moment later would have gone.
 * A socket that takes nothing even after a wait (interface down) fails the
 * rest after `ROOM_WAITS` waits.
 */
export function sendBatch(socket: BatchSocket, count: number): number {
  let sent = 0;
  let waits = 0;
  while (sent < count) {
    const n = socket.sendmmsg(sent, count - sent);
    if (n > 0) sent += n;
    else if (waits++ < ROOM_WAITS) socket.waitForRoom();
    else break;
  }
  return count - sent;
}

const SIZES: bigint[] = [];
/** BigInt lengths made once, so passing a length to a `usize` allocates nothing. */
function sizeOf(n: number): bigint {
  return SIZES[n];
}

/** Opens `iface` for capture and injection of Ethernet frames. */
export class PcapPacketIo implements PacketIo {
  readonly tx: Uint8Array<ArrayBuffer>;
  readonly #slots: Uint8Array<ArrayBuffer>[] = [];
  readonly #slotPtrs: Deno.PointerObject[] = [];
  /** The slots' addresses as BigInts, made once: the source of another leg's `forward`. */
  readonly #slotAddrs: bigint[] = [];
  #slot = 0;
  /** Frames queued for sendmmsg: always slots 0 … queued-1. */
  #queued = 0;
  /** Frames of batches sent before `flush` that failed, for `flush` to report. */
  #unsent = 0;
  readonly #socket: BatchSocket;
  readonly #mmsg = new Uint8Array(BATCH * MMSGHDR_SIZE);
  readonly #mmsgPtr: Deno.PointerObject;
  readonly #iovLen: Uint32Array;
  readonly #iovecs = new Uint8Array(BATCH * IOVEC_SIZE);
  #fd = -1;
  readonly #pcap: PcapLib;
  readonly #libc: LibC;
  readonly #handle: Deno.PointerObject;
  readonly #txPtr: Deno.PointerObject;
  readonly #hdrAddr = new BigUint64Array(1);
  readonly #dataAddr = new BigUint64Array(1);
  readonly #dataWords = new Uint32Array(this.#dataAddr.buffer);
  #data = 0n;
  #dataLo = 0;
  #dataHi = 0;
  readonly #hdrAddrPtr: Deno.PointerObject;
  readonly #dataAddrPtr: Deno.PointerObject;
  /** libpcap's own pcap_pkthdr, mapped once (see `next`). */
  #hdr: Uint32Array | null = null;
  readonly #pollfd = new Int32Array(2);
  readonly #pollfdPtr: Deno.PointerObject;
  readonly #snaplen: number;
  #closed = false;

  /**
   * @throws {LibpcapMissingError} when libpcap is not installed.
   * @throws {PcapError} when the interface cannot be opened.
   */
  constructor(readonly iface: string, options: PcapOptions = {}) {
    this.#pcap = loadLibpcap();
    this.#libc = loadLibc();
    this.#snaplen = options.snaplen ?? 65535;
    for (let n = SIZES.length; n <= this.#snaplen; n++) SIZES.push(BigInt(n));
    this.tx = new Uint8Array(this.#snaplen);
    this.#txPtr = Deno.UnsafePointer.of(this.tx)!;
    const arena = new Uint8Array(BATCH * this.#snaplen);
    for (let i = 0; i < BATCH; i++) {
      this.#slots.push(arena.subarray(i * this.#snaplen, (i + 1) * this.#snaplen));
      this.#slotPtrs.push(Deno.UnsafePointer.of(this.#slots[i])!);
      this.#slotAddrs.push(Deno.UnsafePointer.value(this.#slotPtrs[i]) as bigint);
    }
    this.#mmsgPtr = Deno.UnsafePointer.of(this.#mmsg)!;
    this.#iovLen = new Uint32Array(this.#iovecs.buffer);
    this.#linkBatch();
    this.#hdrAddrPtr = Deno.UnsafePointer.of(this.#hdrAddr)!;
    this.#dataAddrPtr = Deno.UnsafePointer.of(this.#dataAddr)!;
    this.#pollfdPtr = Deno.UnsafePointer.of(this.#pollfd)!;
    this.#socket = {
      sendmmsg: (from, count) =>
        this.#libc.sendmmsg(
          this.#fd,
          from === 0
            ? this.#mmsgPtr
            : Deno.UnsafePointer.offset(this.#mmsgPtr, from * MMSGHDR_SIZE)!,
          count,
          0,
        ),
      waitForRoom: () => {
        this.#pollfd[1] = POLLOUT;
        this.#libc.poll(this.#pollfdPtr, 1n, ROOM_WAIT_MS);
      },
    };

    const errbuf = new Uint8Array(PCAP_ERRBUF_SIZE);
    const handle = this.#pcap.pcap_create(toCString(iface), errbuf);
    if (handle === null) throw new PcapError(`cannot open ${iface}: ${cString(errbuf)}`);
    this.#handle = handle;
    try {
      this.#configure(options.bufferSize ?? 32 << 20);
    } catch (error) {
      this.#pcap.pcap_close(handle);
      throw error;
    }
  }

  #configure(bufferSize: number): void {
    const p = this.#pcap;
    const h = this.#handle;
    p.pcap_set_snaplen(h, this.#snaplen);
    p.pcap_set_promisc(h, 0);
    // Immediate mode hands each frame over as it arrives instead of holding
    // it until a ring block fills: latency matters more than wake-ups here.
    p.pcap_set_immediate_mode(h, 1);
    p.pcap_set_buffer_size(h, bufferSize);
    const rc = p.pcap_activate(h);
    if (rc < 0) {
      const text = pointerString(p.pcap_geterr(h)) || `error ${rc}`;
      // libpcap only says "socket: Operation not permitted": name what is missing.
      const why = rc === PCAP_ERROR_PERM_DENIED
        ? `${text}: capturing needs CAP_NET_RAW (run dsr as root, or grant it CAP_NET_RAW ` +
          "as packaging/dsr.service does)"
        : text;
      throw new PcapError(`cannot capture on ${this.iface}: ${why}`, rc);
    }
    if (p.pcap_datalink(h) !== DLT_EN10MB) {
      throw new PcapError(`${this.iface} is not an Ethernet interface`);
    }
    // Our own injected frames must not come back to the loop as input.
    this.#check(p.pcap_setdirection(h, PCAP_D_IN), "set the capture direction");
    const errbuf = new Uint8Array(PCAP_ERRBUF_SIZE);
    if (p.pcap_setnonblock(h, 1, errbuf) < 0) {
      throw new PcapError(`cannot make ${this.iface} non-blocking: ${cString(errbuf)}`);
    }
    this.#fd = p.pcap_get_selectable_fd(h);
    this.#pollfd[0] = this.#fd;
    this.#pollfd[1] = POLLIN;
    // Forwarded frames need no traffic shaping on the way out; skipping the
    // qdisc layer saves a lock and a queue per frame. Not fatal if refused.
    this.#libc.setsockopt(
      this.#fd,
      SOL_PACKET,
      PACKET_QDISC_BYPASS,
      Deno.UnsafePointer.of(new Int32Array([1])),
      4,
    );
  }

  /** Points every mmsghdr at its iovec and every iovec at its slot, once. */
  #linkBatch(): void {
    const mmsg = new BigUint64Array(this.#mmsg.buffer);
    const iov = new BigUint64Array(this.#iovecs.buffer);
    const iovBase = Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.#iovecs)!) as bigint;
    for (let i = 0; i < BATCH; i++) {
      const m = (i * MMSGHDR_SIZE) / 8;
      mmsg[m + 2] = iovBase + BigInt(i * IOVEC_SIZE); // msg_iov
      mmsg[m + 3] = 1n; // msg_iovlen
      iov[(i * IOVEC_SIZE) / 8] = Deno.UnsafePointer.value(this.#slotPtrs[i]) as bigint; // iov_base
    }
  }

  /** The capture's descriptor, for a `poll` over several legs ({@link waitOnAny}). */
  get fd(): number {
    return this.#fd;
  }

  /** The slot the last `next` filled. */
  get rx(): Uint8Array<ArrayBuffer> {
    return this.#slots[this.#slot];
  }

  #check(rc: number, what: string): void {
    if (rc < 0) {
      throw new PcapError(
        `cannot ${what} on ${this.iface}: ${pointerString(this.#pcap.pcap_geterr(this.#handle))}`,
      );
    }
  }

  next(): number {
    if (this.#closed) return -1;
    const rc = this.#pcap.pcap_next_ex(this.#handle, this.#hdrAddrPtr, this.#dataAddrPtr);
    if (rc !== 1) return rc === 0 ? 0 : -1;
    // pcap_next_ex always points the header at the same field of pcap_t
    // (&p->pcap_header), so it is mapped once and read in place from then on.
    // pcap_pkthdr: timeval (16 bytes), caplen, len.
    this.#hdr ??= new Uint32Array(
      Deno.UnsafePointerView.getArrayBuffer(Deno.UnsafePointer.create(this.#hdrAddr[0])!, 24),
    );
    const caplen = this.#hdr[4];
    const lo = this.#dataWords[0];
    const hi = this.#dataWords[1];
    if (lo !== this.#dataLo || hi !== this.#dataHi) {
      this.#data = this.#dataAddr[0];
      this.#dataLo = lo;
      this.#dataHi = hi;
    }
    this.#libc.memcpy(this.#slotPtrs[this.#slot], this.#data, sizeOf(caplen));
    return caplen;
  }

  send(frame: Uint8Array, len: number): boolean {
    if (frame === this.#slots[this.#slot] && this.#slot === this.#queued) {
      // iov_len is a 64-bit field; its low word is enough for a frame length.
      this.#iovLen[(this.#queued * IOVEC_SIZE) / 4 + 2] = len;
      this.#queued++;
      this.#slot = this.#queued;
      if (this.#queued === BATCH) this.#unsent += this.#sendQueued();
      return true;
    }
    // A frame we built ourselves: keep the wire order, then send it at once.
    this.#unsent += this.#sendQueued();
    const ptr = frame === this.tx
      ? this.#txPtr
      : Deno.UnsafePointer.of(frame as Uint8Array<ArrayBuffer>);
    return this.#pcap.pcap_inject(
      this.#handle,
      ptr,
      frame === this.tx ? sizeOf(len) : BigInt(len),
    ) === len;
  }

  forward(from: PacketIo, len: number): boolean {
    if (from === this) return this.send(this.rx, len);
    if (len > this.#snaplen) return false;
    // The other leg's slot is copied into ours (the queue's next slot, the
    // one `rx` names), so it goes out in this leg's batch and the other leg
    // may read its next frame into its own slot at once.
    const slot = this.#queued;
    if (from instanceof PcapPacketIo) {
      this.#libc.memcpy(this.#slotPtrs[slot], from.#slotAddrs[from.#slot], sizeOf(len));
    } else {
      this.#slots[slot].set(from.rx.subarray(0, len));
    }
    this.#slot = slot;
    return this.send(this.#slots[slot], len);
  }

  flush(): number {
    const failed = this.#unsent + this.#sendQueued();
    this.#unsent = 0;
    return failed;
  }

  #sendQueued(): number {
    const queued = this.#queued;
    if (queued === 0) return 0;
    this.#queued = 0;
    this.#slot = 0;
    return sendBatch(this.#socket, queued);
  }

  wait(ms: number): void {
    this.#pollfd[1] = POLLIN;
    this.#libc.poll(this.#pollfdPtr, 1n, ms);
  }

  setFilter(expression: string): void {
    const program = new Uint8Array(16);
    const p = this.#pcap;
    // Netmask 0 ("unknown") only matters for broadcast checks we do not use.
    this.#check(
      p.pcap_compile(this.#handle, program, toCString(expression), 1, 0),
      "compile filter",
    );
    try {
      this.#check(p.pcap_setfilter(this.#handle, program), "set filter");
    } finally {
      p.pcap_freecode(program);
    }
  }

  kernelDrops(): number {
    const stats = new Uint32Array(4);
    if (this.#pcap.pcap_stats(this.#handle, new Uint8Array(stats.buffer)) < 0) return 0;
    return stats[1] + stats[2];
  }

  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.#pcap.pcap_close(this.#handle);
  }
}

/**
 * The wait of a balancer with several legs: blocks until a frame may be
 * waiting on any of `ios` or `ms` passes, with one `poll` on every capture
 * descriptor (waiting on one leg would leave the others' frames lying for
 * the whole wait). Made once; a wait allocates nothing.
 */
export function waitOnAny(ios: readonly PcapPacketIo[]): (ms: number) => void {
  const libc = loadLibc();
  const fds = new Int32Array(ios.length * 2);
  const ptr = Deno.UnsafePointer.of(fds)!;
  const count = BigInt(ios.length);
  return (ms) => {
    // struct pollfd: fd, then events and revents as two 16-bit halves.
    for (let i = 0; i < ios.length; i++) {
      fds[i * 2] = ios[i].fd;
      fds[i * 2 + 1] = POLLIN;
    }
    libc.poll(ptr, count, ms);
  };
}
