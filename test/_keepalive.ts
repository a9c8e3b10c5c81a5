/**
 * Drives test/_keepalive_client.ts inside a namespace: N long-lived TCP
 * connections to one service, asked one line at a time.
 * @module
 */

import { DSR } from "./_dsr.ts";
import { waitFor } from "./_netns.ts";

const CLIENT = new URL("./_keepalive_client.ts", import.meta.url).pathname;

/** Drives `_keepalive_client.ts`: one line in, one answer out. */
export function keepaliveClient(ns: string, vip: string, port: number, connections: number) {
  const child = new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      ns,
      DSR[0],
      "run",
      "-A",
      CLIENT,
      vip,
      String(port),
      String(connections),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const nextLine = () =>
    waitFor<string | null>("a line from the client", async () => {
      const nl = buffered.indexOf("\n");
      if (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("the client exited");
      buffered += value;
      return null;
    }, 15_000) as Promise<string>;
  return {
    connected: nextLine,
    async ask(i: number): Promise<string> {
      await writer.write(new TextEncoder().encode(`${i}\n`));
      return (await nextLine()).slice(String(i).length + 1);
    },
    async close() {
      await writer.close().catch(() => {});
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
    },
  };
}
