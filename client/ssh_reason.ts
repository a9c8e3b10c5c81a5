/**
 * ssh's own words on why it failed, as one line an operator can act on.
 * @module
 */

/**
 * The line of ssh's stderr that says why it failed (host key, authentication,
 * an unreachable host), with a hint for the common cases; empty when ssh
 * said nothing.
 */
export function sshReason(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim())
    .filter((l) => l && !/^Warning: Permanently added/.test(l) && !/^@+$/.test(l));
  if (lines.length === 0) return "";
  const last = lines.at(-1)!;
  if (/Host key verification failed/i.test(last)) {
    if (/REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr)) {
      return "ssh: the balancer's host key has changed (Host key verification failed): " +
        "check it, then fix known_hosts";
    }
    const unknown = lines.find((l) => /host key is known for|authenticity of host/i.test(l));
    return `ssh: ${unknown ? `${unknown} ` : ""}(Host key verification failed: ` +
      "add the balancer's host key to known_hosts, e.g. by one ssh to it by hand)";
  }
  const text = last.replace(/^ssh: /, "");
  if (/Permission denied/i.test(text)) {
    return `ssh: ${text} (is this key in the balancer's authorized_keys for that user?)`;
  }
  return `ssh: ${text}`;
}

/** What ssh printed when sshd could not open a forwarded connection, or null. */
export function channelFailure(stderr: string): "prohibited" | "connect" | null {
  if (/open failed: administratively prohibited/.test(stderr)) return "prohibited";
  if (/open failed/.test(stderr)) return "connect";
  return null;
}
