/**
 * A connected UDP socket through libc, for the `udp` and `dns` health
 * checks. Deno's own UDP sockets (`Deno.listenDatagram`, and `node:dgram`
 * even when connected) never report the ICMP errors the kernel queues on a
 * connected socket, so an ICMP port unreachable would look like silence and
 * the check could only fail at its timeout. Here `poll` reports `POLLERR`
 * and `SO_ERROR` names it (`ECONNREFUSED`), so a closed port fails at once.
 * `poll` runs on a worker thread (`nonblocking`), so the event loop never waits.
 * @module
 */

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  close: { parameters: ["i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

let cached: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | undefined;
function libc() {
  cached ??= Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  return cached;
}

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_ERROR = 4;
const POLLIN = 0x1;
const POLLERR = 0x8;
const MSG_DONTWAIT = 0x40;

/** errno values a connected UDP socket reports, by name. */
const ERRNO_NAMES: Record<number, string> = {
  101: "ENETUNREACH",
  111: "ECONNREFUSED",
  113: "EHOSTUNREACH",
};

/** What one wait on the socket gave. */
export type UdpEvent =
  | { kind: "reply"; data: Uint8Array }
  | { kind: "error"; errno: number; name: string }
  | { kind: "timeout" };

/** A UDP socket connected to one address and port. */
export class UdpSocket {
  #fd: number;
  #closed = false;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /**
   * Opens a socket connected to `address` (4 or 16 bytes, network order) and `port`.
   * @throws {Error} when the socket cannot be made or connected
   */
  static connect(address: Uint8Array, port: number): UdpSocket {
    const v6 = address.length === 16;
    if (!v6 && address.length !== 4) throw new TypeError("an address is 4 or 16 bytes");
    const sa = new Uint8Array(v6 ? 28 : 16);
    const view = new DataView(sa.buffer);
    view.setUint16(0, v6 ? AF_INET6 : AF_INET, true);
    view.setUint16(2, port, false);
    sa.set(address, v6 ? 8 : 4);
    const fd = libc().socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error("cannot open a UDP socket");
    if (libc().connect(fd, sa, sa.length) !== 0) {
      libc().close(fd);
      throw new Error("cannot connect the UDP socket (no route?)");
    }
    return new UdpSocket(fd);
  }

  /**
   * Sends one datagram.
   * @throws {Error} when the kernel refuses it at once
   */
  send(data: Uint8Array): void {
    // A zero-length buffer still needs a valid pointer.
    const bytes = data.length > 0 ? data : new Uint8Array(1);
    if (Number(libc().send(this.#fd, bytes, BigInt(data.length), MSG_DONTWAIT)) < 0) {
      const pending = this.#pendingError();
      throw new Error(`cannot send: ${pending ? ERRNO_NAMES[pending] ?? pending : "refused"}`);
    }
  }

  /** Waits up to `ms` for a datagram or an error (an ICMP error the kernel queued). */
  async receive(ms: number, maxBytes = 4096): Promise<UdpEvent> {
    const pfd = new Uint8Array(8);
    const view = new DataView(pfd.buffer);
    view.setInt32(0, this.#fd, true);
    view.setInt16(4, POLLIN, true);
    const deadline = performance.now() + ms;
    while (!this.#closed) {
      const left = Math.max(0, Math.ceil(deadline - performance.now()));
      view.setInt16(6, 0, true);
      const n = await libc().poll(pfd, 1n, left);
      if (this.#closed) break;
      const revents = view.getInt16(6, true);
      if (n > 0 && revents & POLLERR) {
        const errno = this.#pendingError();
        if (errno) return { kind: "error", errno, name: ERRNO_NAMES[errno] ?? `errno ${errno}` };
      }
      if (n > 0 && revents & POLLIN) {
        const buf = new Uint8Array(maxBytes);
        const got = Number(libc().recv(this.#fd, buf, BigInt(buf.length), MSG_DONTWAIT));
        if (got >= 0) return { kind: "reply", data: buf.subarray(0, got) };
        // recv consumed a queued error into errno, which FFI does not show: ask SO_ERROR next round.
      }
      if (n === 0 || left === 0) break;
    }
    return { kind: "timeout" };
  }

  /** Closes the socket; a second call does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    libc().close(this.#fd);
  }

  #pendingError(): number {
    const value = new Int32Array(1);
    const len = new Uint32Array([4]);
    libc().getsockopt(
      this.#fd,
      SOL_SOCKET,
      SO_ERROR,
      new Uint8Array(value.buffer),
      new Uint8Array(len.buffer),
    );
    return value[0];
  }
}
