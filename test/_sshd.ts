/**
 * Real OpenSSH for end-to-end tests: keys made for the test, an sshd per
 * namespace with its own config, host key, pid file and authorized_keys,
 * and an ssh_config for the client side (`dsr --ssh-config`) that trusts
 * exactly those host keys.
 * @module
 */

import { type NsProcess, nsSpawn, waitFor } from "./_netns.ts";

const SSHD = "/usr/sbin/sshd";

/** Fails clearly when OpenSSH is not installed (scripts/setup.sh installs it). */
export function requireOpenSsh(): void {
  for (const [bin, pkg] of [[SSHD, "openssh-server"], ["ssh", "openssh-client"]]) {
    try {
      new Deno.Command(bin, { args: ["-V"], stdout: "null", stderr: "null" }).outputSync();
    } catch (error) {
      throw new Error(
        `This test needs ${bin} (apt-get install ${pkg}): ${(error as Error).message}`,
      );
    }
  }
}

async function run(cmd: string[]): Promise<void> {
  const out = await new Deno.Command(cmd[0], { args: cmd.slice(1), stdin: "null" }).output();
  if (!out.success) {
    throw new Error(`${cmd.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** An ed25519 key pair at `path` (and `path.pub`); returns the public key line. */
export async function makeKey(path: string): Promise<string> {
  await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dsr-test", "-f", path]);
  return (await Deno.readTextFile(`${path}.pub`)).trim();
}

/** One running sshd. */
export interface Sshd {
  address: string;
  /** `ADDRESS ssh-ed25519 AAAA…`, its line for known_hosts. */
  knownHost: string;
  process: NsProcess;
}

/**
 * Starts sshd in namespace `ns`, listening on `address`:22, letting in the
 * holders of `authorizedKeys` (root included), allowing Unix-socket
 * forwarding; resolves once it listens.
 * @param o.dir a private directory for its config, host key and pid file
 */
export async function startSshd(
  ns: string,
  o: { address: string; dir: string; authorizedKeys: string[] },
): Promise<Sshd> {
  const { address, dir, authorizedKeys } = o;
  await Deno.mkdir(dir, { recursive: true });
  const hostKey = await makeKey(`${dir}/host_ed25519`);
  await Deno.writeTextFile(`${dir}/authorized_keys`, authorizedKeys.join("\n") + "\n");
  await Deno.writeTextFile(
    `${dir}/sshd_config`,
    [
      `ListenAddress ${address}:22`,
      `HostKey ${dir}/host_ed25519`,
      `PidFile ${dir}/sshd.pid`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      // The test's temporary directories are not laid out as a home directory.
      "StrictModes no",
      "AllowStreamLocalForwarding local",
      // OpenSSH applies this to Unix-socket forwards too: "no" would refuse dsr's.
      "AllowTcpForwarding local",
      "X11Forwarding no",
      "PermitTTY no",
      "",
    ].join("\n"),
  );
  // sshd's privilege separation directory (Debian creates it at boot, not at install).
  await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  const process = nsSpawn(ns, [SSHD, "-D", "-e", "-f", `${dir}/sshd_config`]);
  try {
    await waitFor(`sshd on ${address} to listen`, () => process.output().includes("listening"));
  } catch (error) {
    await process.kill();
    throw new Error(`${(error as Error).message}\n${process.output()}`);
  }
  const [type, key] = hostKey.split(" ");
  return { address, knownHost: `${address} ${type} ${key}`, process };
}

/**
 * Writes an ssh_config for `dsr --ssh-config` / `ssh -F`: log in as `user`
 * with `identity`, trust only the host keys in `knownHosts`.
 * @returns its path
 */
export async function clientConfig(
  dir: string,
  name: string,
  options: { identity: string; knownHosts: string[]; user?: string },
): Promise<string> {
  const known = `${dir}/${name}.known_hosts`;
  await Deno.writeTextFile(known, options.knownHosts.join("\n") + "\n");
  const path = `${dir}/${name}.ssh_config`;
  await Deno.writeTextFile(
    path,
    [
      "Host *",
      `  User ${options.user ?? "root"}`,
      `  IdentityFile ${options.identity}`,
      "  IdentitiesOnly yes",
      `  UserKnownHostsFile ${known}`,
      "  GlobalKnownHostsFile /dev/null",
      "  StrictHostKeyChecking yes",
      "",
    ].join("\n"),
  );
  return path;
}
