/**
 * IPv4 and MAC address conversions shared by the data plane, the control
 * plane and the command line. IPv4 addresses travel as unsigned 32-bit
 * numbers (host order, `>>> 0`), which keeps the packet loop free of strings.
 * @module
 */

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const MAC = /^([0-9a-fA-F]{2})(?::([0-9a-fA-F]{2})){5}$/;

/**
 * Parses dotted-quad IPv4 text into an unsigned 32-bit number.
 * @throws {TypeError} when the text is not an IPv4 address.
 */
export function parseIpv4(text: string): number {
  const m = IPV4.exec(text);
  if (!m) throw new TypeError(`not an IPv4 address: "${text}"`);
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255 || (m[i].length > 1 && m[i][0] === "0")) {
      throw new TypeError(`not an IPv4 address: "${text}"`);
    }
    value = value * 256 + octet;
  }
  return value >>> 0;
}

/** Whether `text` is dotted-quad IPv4. */
export function isIpv4(text: string): boolean {
  try {
    parseIpv4(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why `ip` cannot be a VIP or a real server, or null when it can: a VIP and a
 * real server are unicast host addresses (frames go to them by ARP).
 */
export function notUnicast(ip: number): string | null {
  const top = ip >>> 24;
  if (top === 0) return 'an address of 0.0.0.0/8 ("this network")';
  if (top === 127) return "a loopback address";
  if (top >= 224 && top < 240) return "a multicast address";
  if (ip >>> 0 === 0xffffffff) return "the broadcast address";
  if (top >= 240) return "a reserved address (240.0.0.0/4)";
  return null;
}

/** Formats an unsigned 32-bit IPv4 address as dotted quad. */
export function formatIpv4(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/**
 * Parses `aa:bb:cc:dd:ee:ff` into six bytes.
 * @throws {TypeError} when the text is not a MAC address.
 */
export function parseMac(text: string): Uint8Array {
  if (!MAC.test(text)) throw new TypeError(`not a MAC address: "${text}"`);
  return Uint8Array.from(text.split(":"), (h) => parseInt(h, 16));
}

/** Formats six bytes starting at `offset` as `aa:bb:cc:dd:ee:ff`. */
export function formatMac(bytes: Uint8Array, offset = 0): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(bytes[offset + i].toString(16).padStart(2, "0"));
  return parts.join(":");
}

/** An IPv4 network: base address and prefix length. */
export interface Ipv4Net {
  /** Network address (host bits zero). */
  readonly base: number;
  /** Prefix length, 0 to 32. */
  readonly prefix: number;
}

/** The netmask of a prefix length as an unsigned 32-bit number. */
export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Whether `ip` lies inside `net`. */
export function netContains(net: Ipv4Net, ip: number): boolean {
  const mask = prefixMask(net.prefix);
  return ((ip & mask) >>> 0) === net.base;
}

/** Formats a network as CIDR text (`198.18.0.0/24`). */
export function formatNet(net: Ipv4Net): string {
  return `${formatIpv4(net.base)}/${net.prefix}`;
}
