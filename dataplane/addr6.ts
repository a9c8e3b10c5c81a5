/**
 * IPv6 address conversions shared by the data plane, the control plane and
 * the command line. In the packet loop an IPv6 address is four signed 32-bit
 * words, most significant first (the order of the bytes on the wire), so it
 * compares with the words of a typed array and never becomes a string or an
 * object. Text is RFC 5952's canonical form.
 * @module
 */

import { parseIpv4 } from "./addr.ts";

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/**
 * Parses IPv6 text (any RFC 4291 form, a trailing dotted quad included; no
 * zone) into 16 bytes.
 * @throws {TypeError} when the text is not an IPv6 address.
 */
export function parseIpv6(text: string): Uint8Array {
  const bad = () => new TypeError(`not an IPv6 address: "${text}"`);
  if (text.length < 2 || text.length > 45 || text.includes("%")) throw bad();
  const halves = text.split("::");
  if (halves.length > 2) throw bad();
  const groups = (part: string, last: boolean): number[] => {
    if (part === "") return [];
    const out: number[] = [];
    const items = part.split(":");
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (last && i === items.length - 1 && item.includes(".")) {
        let v4: number;
        try {
          v4 = parseIpv4(item);
        } catch {
          throw bad();
        }
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (HEX_GROUP.test(item)) out.push(parseInt(item, 16));
      else throw bad();
    }
    return out;
  };
  const head = groups(halves[0], halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1], true) : [];
  const count = head.length + tail.length;
  if (halves.length === 1 ? count !== 8 : count > 7) throw bad();
  const all = [...head, ...new Array(8 - count).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[i * 2] = g >>> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  return bytes;
}

/** Whether `text` is an IPv6 address. */
export function isIpv6(text: string): boolean {
  try {
    parseIpv6(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Formats the 16 bytes at `offset` in RFC 5952 form: lower case, no leading
 * zeros, the longest run of two or more zero groups (the first of equal runs)
 * as `::`.
 */
export function formatIpv6(bytes: ArrayLike<number>, offset = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((bytes[offset + i * 2] << 8) | bytes[offset + i * 2 + 1]);
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (from: number, to: number) => g.slice(from, to).map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(0, 8);
  return `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}

/**
 * The canonical (RFC 5952) text of an IPv6 address.
 * @throws {TypeError} when the text is not an IPv6 address.
 */
export function canonicalIpv6(text: string): string {
  return formatIpv6(parseIpv6(text));
}

/** The four 32-bit words (signed, most significant first) of 16 address bytes at `offset`. */
export function ipv6Words(bytes: ArrayLike<number>, offset = 0): Int32Array {
  const words = new Int32Array(4);
  for (let w = 0; w < 4; w++) {
    const i = offset + w * 4;
    words[w] = (bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3];
  }
  return words;
}

/** The 16 bytes of four 32-bit words (as {@link ipv6Words} makes them). */
export function wordsToBytes(words: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(16);
  for (let w = 0; w < 4; w++) {
    bytes[w * 4] = words[w] >>> 24;
    bytes[w * 4 + 1] = words[w] >>> 16;
    bytes[w * 4 + 2] = words[w] >>> 8;
    bytes[w * 4 + 3] = words[w];
  }
  return bytes;
}

/**
 * Why 16 address bytes cannot be a VIP or a real server, or null when they
 * can: a VIP and a real server are global or unique-local unicast addresses
 * (frames reach them by Neighbor Discovery on one link, without a zone).
 */
export function notUnicast6(bytes: Uint8Array): string | null {
  const zero = (from: number, to: number) => bytes.subarray(from, to).every((b) => b === 0);
  if (zero(0, 16)) return "the unspecified address (::)";
  if (zero(0, 15) && bytes[15] === 1) return "the loopback address (::1)";
  if (bytes[0] === 0xff) return "a multicast address (ff00::/8)";
  if (bytes[0] === 0xfe && (bytes[1] & 0xc0) === 0x80) return "a link-local address (fe80::/10)";
  if (zero(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return "an IPv4-mapped address (::ffff:0:0/96): use the IPv4 address";
  }
  return null;
}

/** An IPv6 network: base address (host bits zero) and prefix length. */
export interface Ipv6Net {
  /** Network address, 16 bytes. */
  readonly base: Uint8Array;
  /** Prefix length, 0 to 128. */
  readonly prefix: number;
}

/** The network of `prefix` bits holding the address `bytes`. */
export function ipv6Net(bytes: Uint8Array, prefix: number): Ipv6Net {
  const base = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    base[i] = bytes[i] & ((0xff << (8 - bits)) & 0xff);
  }
  return { base, prefix };
}

/** Whether the address `bytes` lies inside `net`. */
export function net6Contains(net: Ipv6Net, bytes: Uint8Array): boolean {
  const inside = ipv6Net(bytes, net.prefix).base;
  return inside.every((b, i) => b === net.base[i]);
}

/** Formats a network as CIDR text (`2001:2::/64`). */
export function formatNet6(net: Ipv6Net): string {
  return `${formatIpv6(net.base)}/${net.prefix}`;
}

/**
 * The solicited-node multicast address of `bytes` (ff02::1:ffXX:XXXX, RFC
 * 4291 §2.7.1): where a Neighbor Solicitation for it is sent.
 */
export function solicitedNode(bytes: ArrayLike<number>, offset = 0): Uint8Array {
  const out = parseIpv6("ff02::1:ff00:0");
  out[13] = bytes[offset + 13];
  out[14] = bytes[offset + 14];
  out[15] = bytes[offset + 15];
  return out;
}
