/**
 * The few libc calls the packet loop needs: `memcpy` from an address libpcap
 * handed out (declared with a `u64` source so no pointer object is made per
 * packet) and `poll` to sleep on the capture descriptor.
 * @module
 */

const SYMBOLS = {
  memcpy: { parameters: ["pointer", "u64", "usize"], result: "pointer" },
  poll: { parameters: ["pointer", "u64", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The libc symbols dsr calls. */
export type LibC = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let cached: LibC | undefined;

/** Loads libc once per thread. */
export function loadLibc(): LibC {
  cached ??= Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  return cached;
}

/** `struct pollfd` events bit for readable data. */
export const POLLIN = 0x1;
