/**
 * PacketIo over a libpcap handle. Every pointer and BigInt the loop needs is
 * made once here, so `next` and `send` cost a few fast FFI calls and no
 * allocation beyond the one BigInt V8 makes when reading the frame address.
 * @module
 */

import type { PacketIo } from "../dataplane/packet_io.ts";
import { type LibC, loadLibc, POLLIN } from "./libc.ts";
import {
  cString,
  DLT_EN10MB,
  loadLibpcap,
  PCAP_D_IN,
  PCAP_ERRBUF_SIZE,
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

const SIZES: bigint[] = [];
/** BigInt lengths made once, so passing a length to a `usize` allocates nothing. */
function sizeOf(n: number): bigint {
  return SIZES[n];
}

/** Opens `iface` for capture and injection of Ethernet frames. */
export class PcapPacketIo implements PacketIo {
  readonly rx: Uint8Array<ArrayBuffer>;
  readonly tx: Uint8Array<ArrayBuffer>;
  readonly #pcap: PcapLib;
  readonly #libc: LibC;
  readonly #handle: Deno.PointerObject;
  readonly #rxPtr: Deno.PointerObject;
  readonly #txPtr: Deno.PointerObject;
  readonly #hdrAddr = new BigUint64Array(1);
  readonly #dataAddr = new BigUint64Array(1);
  readonly #hdrAddrPtr: Deno.PointerObject;
  readonly #dataAddrPtr: Deno.PointerObject;
  readonly #hdr = new Uint32Array(6);
  readonly #hdrPtr: Deno.PointerObject;
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
    this.rx = new Uint8Array(this.#snaplen);
    this.tx = new Uint8Array(this.#snaplen);
    this.#rxPtr = Deno.UnsafePointer.of(this.rx)!;
    this.#txPtr = Deno.UnsafePointer.of(this.tx)!;
    this.#hdrAddrPtr = Deno.UnsafePointer.of(this.#hdrAddr)!;
    this.#dataAddrPtr = Deno.UnsafePointer.of(this.#dataAddr)!;
    this.#hdrPtr = Deno.UnsafePointer.of(this.#hdr)!;
    this.#pollfdPtr = Deno.UnsafePointer.of(this.#pollfd)!;

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
      const text = pointerString(p.pcap_geterr(h));
      throw new PcapError(`cannot capture on ${this.iface}: ${text || `error ${rc}`}`, rc);
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
    this.#pollfd[0] = p.pcap_get_selectable_fd(h);
    this.#pollfd[1] = POLLIN;
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
    // pcap_pkthdr: timeval (16 bytes), caplen, len.
    this.#libc.memcpy(this.#hdrPtr, this.#hdrAddr[0], 24n);
    const caplen = this.#hdr[4];
    this.#libc.memcpy(this.#rxPtr, this.#dataAddr[0], sizeOf(caplen));
    return caplen;
  }

  send(frame: Uint8Array, len: number): boolean {
    const ptr = frame === this.rx ? this.#rxPtr : frame === this.tx ? this.#txPtr : null;
    if (ptr === null) {
      const copy = Deno.UnsafePointer.of(frame as Uint8Array<ArrayBuffer>);
      return this.#pcap.pcap_inject(this.#handle, copy, BigInt(len)) === len;
    }
    return this.#pcap.pcap_inject(this.#handle, ptr, sizeOf(len)) === len;
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
    this.#closed = true;
    this.#pcap.pcap_close(this.#handle);
  }
}
