/**
 * Byte writers shared by the frame builders of the data plane.
 * @module
 */

/** Shortest Ethernet frame without FCS; shorter frames are padded to it. */
export const MIN_FRAME_LENGTH = 60;

/** Copies six MAC bytes from `mac[from]` to `out[at]`. */
export function copyMac(out: Uint8Array, at: number, mac: Uint8Array, from: number): void {
  for (let i = 0; i < 6; i++) out[at + i] = mac[from + i];
}

/** Writes six copies of `byte` (broadcast or zero MAC). */
export function fillMac(out: Uint8Array, at: number, byte: number): void {
  for (let i = 0; i < 6; i++) out[at + i] = byte;
}

/** Big-endian 16-bit write. */
export function put16(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 8;
  out[at + 1] = value;
}

/** Big-endian 32-bit write. */
export function put32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = value >>> 16;
  out[at + 2] = value >>> 8;
  out[at + 3] = value;
}

/** Zero-pads a frame ending at `end` to the Ethernet minimum; returns its length. */
export function pad(out: Uint8Array, end: number): number {
  for (let i = end; i < MIN_FRAME_LENGTH; i++) out[i] = 0;
  return end > MIN_FRAME_LENGTH ? end : MIN_FRAME_LENGTH;
}
