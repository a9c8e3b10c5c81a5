/**
 * Run inside the client namespace: opens N TCP connections to HOST:PORT and,
 * for every line `i` read on stdin, sends an HTTP/1.1 keep-alive GET on
 * connection i and prints `i body` (or `i ERROR …`). Proves connections live on.
 * `deno run -A test/_keepalive_client.ts HOST PORT N`
 * @module
 */

const [hostname, port, count] = Deno.args;
const decoder = new TextDecoder();

class Session {
  pending = "";
  constructor(readonly conn: Deno.TcpConn) {}

  async get(): Promise<string> {
    await this.conn.write(new TextEncoder().encode(`GET / HTTP/1.1\r\nhost: ${hostname}\r\n\r\n`));
    const buf = new Uint8Array(4096);
    while (true) {
      const head = this.pending.indexOf("\r\n\r\n");
      if (head >= 0) {
        const length = Number(
          /content-length: *(\d+)/i.exec(this.pending.slice(0, head))?.[1] ?? "0",
        );
        if (this.pending.length >= head + 4 + length) {
          const body = this.pending.slice(head + 4, head + 4 + length);
          this.pending = this.pending.slice(head + 4 + length);
          return body.trim();
        }
      }
      const n = await this.conn.read(buf);
      if (n === null) throw new Error("connection closed");
      this.pending += decoder.decode(buf.subarray(0, n));
    }
  }
}

const sessions: Session[] = [];
for (let i = 0; i < Number(count); i++) {
  sessions.push(new Session(await Deno.connect({ hostname, port: Number(port) })));
}
console.log("connected");

let buffered = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  buffered += chunk;
  let nl;
  while ((nl = buffered.indexOf("\n")) >= 0) {
    const i = Number(buffered.slice(0, nl));
    buffered = buffered.slice(nl + 1);
    try {
      const body = await Promise.race([
        sessions[i].get(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timeout")), 10_000)),
      ]);
      console.log(`${i} ${body}`);
    } catch (error) {
      console.log(`${i} ERROR ${(error as Error).message}`);
    }
  }
}
for (const s of sessions) s.conn.close();
