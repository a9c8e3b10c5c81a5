/**
 * The daemon's own socket on this machine.
 * @module
 */

import type { Transport } from "./transport.ts";

/**
 * Why the daemon on socket `path` did not answer, in a few words.
 * @param error what the failed request threw; undefined when nobody accepted
 */
export async function whyUnreachable(path: string, error?: unknown): Promise<string> {
  try {
    await Deno.lstat(path);
  } catch {
    return "no such socket (is the daemon running?)";
  }
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const message = cause instanceof Error ? cause.message : String(cause ?? "");
  if (error === undefined || /connection refused|os error 111/i.test(message)) {
    return "connection refused (no daemon accepts on the socket)";
  }
  if (error instanceof Error && /permission denied/i.test(error.message)) return error.message;
  // Deno's fetch says "error sending request for url (…): client error (Connect): …".
  return message.replace(/^error sending request for url \([^)]*\): /, "");
}

/** The daemon's socket at `path` as a {@linkcode Transport}; nothing to release. */
export function unixTransport(path: string): Transport {
  return {
    label: path,
    path,
    explain: (error?: unknown) => whyUnreachable(path, error),
    close() {},
  };
}
