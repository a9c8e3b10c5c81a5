/**
 * The `udp` and `dns` health checks (SPEC §3): one datagram to RIP:port on a
 * connected socket, up on an answer, down at once when the kernel reports an
 * ICMP error for it (port unreachable: nothing listens), else down at the
 * timeout.
 * @module
 */

import { parseIpv4 } from "../dataplane/addr.ts";
import { UdpSocket } from "../ffi/udp_socket.ts";
import { encodeQuery, parseAnswer } from "./dns_message.ts";

/** What ICMP errors on a connected UDP socket mean, for messages. */
const MEANING: Record<string, string> = {
  ECONNREFUSED: "ICMP port unreachable: nothing listens",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
};

/** The 4 or 16 bytes of an IPv4 or IPv6 address in text. */
export function addressBytes(ip: string): Uint8Array {
  if (!ip.includes(":")) {
    const n = parseIpv4(ip);
    return new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  }
  const [head, tail = null] = ip.split("::");
  const words = (part: string) => part === "" ? [] : part.split(":").map((w) => parseInt(w, 16));
  const left = words(head);
  const right = tail === null ? [] : words(tail);
  const all = [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/**
 * Sends `payload` to `ip`:`port` and waits up to `ms` for a datagram that
 * `accept` takes. `accept` returns null to pass, an error text to fail, or
 * undefined to ignore the datagram and keep waiting.
 * @returns null when the check passed, else why it failed
 */
export async function udpExchange(
  target: { ip: string; port: number; payload: Uint8Array },
  ms: number,
  accept: (data: Uint8Array) => string | null | undefined,
): Promise<string | null> {
  const where = `${target.ip}:${target.port}/udp`;
  let socket: UdpSocket;
  try {
    socket = UdpSocket.connect(addressBytes(target.ip), target.port);
  } catch (error) {
    return `${where}: ${(error as Error).message}`;
  }
  try {
    socket.send(target.payload);
    const deadline = performance.now() + ms;
    for (;;) {
      const event = await socket.receive(Math.max(0, deadline - performance.now()));
      if (event.kind === "timeout") return `no answer from ${where} within ${ms} ms`;
      if (event.kind === "error") return `${where}: ${MEANING[event.name] ?? event.name}`;
      const verdict = accept(event.data);
      if (verdict !== undefined) return verdict;
    }
  } catch (error) {
    return `${where}: ${(error as Error).message}`;
  } finally {
    socket.close();
  }
}

/** The `udp` check: up on any answer, or on one containing `receive` when given. */
export function udpCheck(
  t: { ip: string; port: number; send?: string; receive?: string },
  ms: number,
): Promise<string | null> {
  const payload = new TextEncoder().encode(t.send ?? "");
  return udpExchange({ ip: t.ip, port: t.port, payload }, ms, (data) => {
    if (t.receive === undefined) return null;
    const text = new TextDecoder().decode(data);
    return text.includes(t.receive)
      ? null
      : `${t.ip}:${t.port}/udp answered ${JSON.stringify(text.slice(0, 60))}, ` +
        `which does not contain ${JSON.stringify(t.receive)}`;
  });
}

/** The `dns` check: up when the answer to `query` (type A) has RCODE NOERROR. */
export function dnsCheck(
  t: { ip: string; port: number; query: string },
  ms: number,
): Promise<string | null> {
  const id = crypto.getRandomValues(new Uint16Array(1))[0];
  const query = encodeQuery(t.query, id);
  return udpExchange({ ip: t.ip, port: t.port, payload: query }, ms, (data) => {
    const answer = parseAnswer(data, query);
    if (answer === null) return undefined;
    return answer.rcode === 0
      ? null
      : `${t.ip}:${t.port} answered ${answer.rcodeName} for ${t.query} A, expected NOERROR`;
  });
}
