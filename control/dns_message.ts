/**
 * The one DNS exchange the `dns` health check needs (RFC 1035 §4.1): a
 * recursion-desired query for one name of type A, class IN, and the reading
 * of an answer's header. Written here rather than taken from npm: the check
 * needs 12 header bytes and one question, and no maintained package offers
 * just that without a resolver, sockets and a cache around it.
 * @module
 */

/** RCODE names of RFC 1035 §4.1.1 and RFC 6895, for messages. */
const RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"];

const TYPE_A = 1;
const CLASS_IN = 1;
const FLAG_QR = 0x8000;
const FLAG_RD = 0x0100;
const HEADER = 12;

/** Why `name` cannot be queried, or null when it can. */
export function badDnsName(name: string): string | null {
  if (name === "" || name === ".") return null;
  const bare = name.endsWith(".") ? name.slice(0, -1) : name;
  if (bare.length > 253) return "longer than 253 characters";
  for (const label of bare.split(".")) {
    if (label.length === 0) return "has an empty label";
    if (label.length > 63) return `label "${label.slice(0, 20)}…" is longer than 63 characters`;
    if (!/^[A-Za-z0-9_-]+$/.test(label)) {
      return `label "${label}" has a character outside A-Z a-z 0-9 - _`;
    }
  }
  return null;
}

function encodeName(name: string): number[] {
  const bare = name.endsWith(".") ? name.slice(0, -1) : name;
  const out: number[] = [];
  for (const label of bare === "" ? [] : bare.split(".")) {
    out.push(label.length, ...new TextEncoder().encode(label));
  }
  out.push(0);
  return out;
}

/**
 * A query for `name`, type A, class IN, recursion desired.
 * @param id the message id the answer must carry
 * @throws {RangeError} when `name` is not a valid DNS name
 */
export function encodeQuery(name: string, id: number): Uint8Array {
  const why = badDnsName(name);
  if (why) throw new RangeError(`invalid DNS name "${name}": ${why}`);
  const question = [...encodeName(name), 0, TYPE_A, 0, CLASS_IN];
  const msg = new Uint8Array(HEADER + question.length);
  const view = new DataView(msg.buffer);
  view.setUint16(0, id);
  view.setUint16(2, FLAG_RD);
  view.setUint16(4, 1);
  msg.set(question, HEADER);
  return msg;
}

function lower(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
}

/** What an answer said, as far as the check cares. */
export interface DnsAnswer {
  rcode: number;
  /** `NOERROR`, `NXDOMAIN`, … or `RCODE n`. */
  rcodeName: string;
  answers: number;
}

/**
 * Reads the answer to `query`: null when `data` is not that answer (another
 * id, not a response, another question), which the check then ignores as
 * the resolver of a stub would.
 */
export function parseAnswer(data: Uint8Array, query: Uint8Array): DnsAnswer | null {
  if (data.length < query.length) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const q = new DataView(query.buffer, query.byteOffset, query.byteLength);
  if (view.getUint16(0) !== q.getUint16(0)) return null;
  const flags = view.getUint16(2);
  if (!(flags & FLAG_QR) || view.getUint16(4) !== 1) return null;
  // Names compare without case (RFC 4343); servers may echo 0x20-mixed case.
  for (let i = HEADER; i < query.length; i++) {
    if (lower(data[i]) !== lower(query[i])) return null;
  }
  const rcode = flags & 0xf;
  return { rcode, rcodeName: RCODES[rcode] ?? `RCODE ${rcode}`, answers: view.getUint16(6) };
}
