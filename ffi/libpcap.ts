/**
 * Typed bindings to libpcap, loaded at run time. Only the calls dsr uses are
 * declared. Pointer-sized integers are `usize`/`u64` so the hot calls stay on
 * V8's fast FFI path when given BigInt arguments.
 * @module
 */

const SYMBOLS = {
  pcap_create: { parameters: ["buffer", "buffer"], result: "pointer" },
  pcap_set_snaplen: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_promisc: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_immediate_mode: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_buffer_size: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_set_timeout: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_activate: { parameters: ["pointer"], result: "i32" },
  pcap_setdirection: { parameters: ["pointer", "i32"], result: "i32" },
  pcap_compile: { parameters: ["pointer", "buffer", "buffer", "i32", "u32"], result: "i32" },
  pcap_setfilter: { parameters: ["pointer", "buffer"], result: "i32" },
  pcap_freecode: { parameters: ["buffer"], result: "void" },
  pcap_setnonblock: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  pcap_get_selectable_fd: { parameters: ["pointer"], result: "i32" },
  pcap_next_ex: { parameters: ["pointer", "pointer", "pointer"], result: "i32" },
  pcap_inject: { parameters: ["pointer", "pointer", "usize"], result: "i32" },
  pcap_stats: { parameters: ["pointer", "buffer"], result: "i32" },
  pcap_geterr: { parameters: ["pointer"], result: "pointer" },
  pcap_datalink: { parameters: ["pointer"], result: "i32" },
  pcap_close: { parameters: ["pointer"], result: "void" },
  pcap_lib_version: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The libpcap symbols dsr calls. */
export type PcapLib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** Size of the error buffer libpcap writes into. */
export const PCAP_ERRBUF_SIZE = 256;
/** `pcap_setdirection` value for received frames only. */
export const PCAP_D_IN = 1;
/** `pcap_datalink` value for Ethernet. */
export const DLT_EN10MB = 1;
/** `pcap_activate` returns warnings as positive values. */
export const PCAP_ERROR_PERM_DENIED = -8;

const CANDIDATES = ["libpcap.so.0.8", "libpcap.so.1", "libpcap.so"];

/** Raised when libpcap cannot be loaded; the message names the package to install. */
export class LibpcapMissingError extends Error {
  constructor(readonly tried: readonly string[], options?: ErrorOptions) {
    super(
      `libpcap could not be loaded (tried ${
        tried.join(", ")
      }): install the Debian package libpcap0.8`,
      options,
    );
    this.name = "LibpcapMissingError";
  }
}

let cached: PcapLib | undefined;

/**
 * Loads libpcap once per thread.
 * @throws {LibpcapMissingError} when no candidate library loads.
 */
export function loadLibpcap(): PcapLib {
  if (cached) return cached;
  let last: unknown;
  for (const name of CANDIDATES) {
    try {
      cached = Deno.dlopen(name, SYMBOLS).symbols;
      return cached;
    } catch (error) {
      last = error;
    }
  }
  throw new LibpcapMissingError(CANDIDATES, { cause: last });
}

/** Reads a NUL-terminated C string from a buffer (libpcap's errbuf). */
export function cString(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return new TextDecoder().decode(buf.subarray(0, end < 0 ? buf.length : end));
}

/** Encodes a JS string as a NUL-terminated C string. */
export function toCString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** Reads a C string from a pointer libpcap returned (pcap_geterr). */
export function pointerString(ptr: Deno.PointerValue): string {
  return ptr === null ? "" : new Deno.UnsafePointerView(ptr).getCString();
}
