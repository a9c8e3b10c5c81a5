/**
 * Real servers for the health-check tests, each run inside a real server's
 * namespace: nginx with TLS certificates made by openssl, dnsmasq
 * answering one name, a UDP echo and a TCP server that greets first (as SSH
 * and SMTP do). Every one binds the real server's own address, so stopping
 * it leaves nothing else listening on the port.
 * @module
 */

import { nsExec } from "../lab/topology.ts";
import { DSR } from "./_dsr.ts";
import { type NsProcess, nsSpawn, waitFor } from "./_netns.ts";

/** A CA, a certificate for `name` it signed, and a self-signed certificate, under `dir`. */
export async function makeCertificates(dir: string, name: string): Promise<void> {
  const openssl = async (args: string[]) => {
    const out = await new Deno.Command("openssl", { args, stdout: "null", stderr: "piped" })
      .output();
    if (!out.success) {
      throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
  const key = ["-newkey", "rsa:2048", "-nodes", "-days", "2"];
  await openssl([
    "req",
    "-x509",
    ...key,
    "-keyout",
    `${dir}/ca.key`,
    "-out",
    `${dir}/ca.pem`,
    "-subj",
    "/CN=dsr test CA",
  ]);
  await openssl([
    "req",
    ...key.filter((a) => a !== "-days" && a !== "2"),
    "-keyout",
    `${dir}/site.key`,
    "-out",
    `${dir}/site.csr`,
    "-subj",
    `/CN=${name}`,
  ]);
  await Deno.writeTextFile(`${dir}/site.ext`, `subjectAltName=DNS:${name}\n`);
  await openssl([
    "x509",
    "-req",
    "-in",
    `${dir}/site.csr`,
    "-CA",
    `${dir}/ca.pem`,
    "-CAkey",
    `${dir}/ca.key`,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    `${dir}/site.ext`,
    "-out",
    `${dir}/site.pem`,
  ]);
  await openssl([
    "req",
    "-x509",
    ...key,
    "-keyout",
    `${dir}/self.key`,
    "-out",
    `${dir}/self.pem`,
    "-subj",
    `/CN=${name}`,
    "-addext",
    `subjectAltName=DNS:${name}`,
  ]);
}

/**
 * nginx on `ip`: port 443 with the CA-signed certificate, port 8443 with the
 * self-signed one; both answer 200 `name`. Files under `dir` (from {@link makeCertificates}).
 */
export async function startNginx(
  ns: string,
  ip: string,
  name: string,
  dir: string,
): Promise<NsProcess> {
  const own = `${dir}/nginx-${name}`;
  await Deno.mkdir(own, { recursive: true });
  const server = (port: number, cert: string) => `
    server {
      listen ${ip}:${port} ssl;
      ssl_certificate ${dir}/${cert}.pem;
      ssl_certificate_key ${dir}/${cert}.key;
      location / { return 200 "${name}\\n"; }
    }`;
  await Deno.writeTextFile(
    `${own}/nginx.conf`,
    `worker_processes 1;
pid ${own}/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${own}/body;
  proxy_temp_path ${own}/proxy;
  fastcgi_temp_path ${own}/fastcgi;
  uwsgi_temp_path ${own}/uwsgi;
  scgi_temp_path ${own}/scgi;
  ${server(443, "site")}
  ${server(8443, "self")}
}
`,
  );
  const p = nsSpawn(ns, [
    "nginx",
    "-e",
    `${own}/error.log`,
    "-p",
    own,
    "-c",
    `${own}/nginx.conf`,
    "-g",
    "daemon off;",
  ]);
  await listening(ns, "tcp", ip, 443, p);
  return p;
}

/** dnsmasq on `ip`:53 answering `name` A with `answer`, REFUSED for other names. */
export async function startDnsmasq(
  ns: string,
  ip: string,
  name: string,
  answer: string,
  dir: string,
): Promise<NsProcess> {
  const p = nsSpawn(ns, [
    "dnsmasq",
    "--keep-in-foreground",
    "--conf-file=/dev/null",
    "--no-resolv",
    "--no-hosts",
    "--bind-interfaces",
    `--listen-address=${ip}`,
    "--port=53",
    `--pid-file=${dir}/dnsmasq-${ip}.pid`,
    `--address=/${name}/${answer}`,
    "--user=root",
  ]);
  await listening(ns, "udp", ip, 53, p);
  return p;
}

const HELPER = new URL("./_check_helper.ts", import.meta.url).pathname;

/** A UDP server on `ip`:`port` answering each datagram `echo: <datagram>`. */
export async function startUdpEcho(ns: string, ip: string, port: number): Promise<NsProcess> {
  const p = nsSpawn(ns, [DSR[0], "run", "-A", HELPER, "udp-echo", ip, String(port)]);
  await listening(ns, "udp", ip, port, p);
  return p;
}

/** A TCP server on `ip`:`port` that writes a greeting line as soon as it accepts, as SMTP does. */
export async function startGreeter(ns: string, ip: string, port: number): Promise<NsProcess> {
  const p = nsSpawn(ns, [DSR[0], "run", "-A", HELPER, "greeter", ip, String(port)]);
  await listening(ns, "tcp", ip, port, p);
  return p;
}

async function listening(ns: string, proto: "tcp" | "udp", ip: string, port: number, p: NsProcess) {
  try {
    await waitFor(`${proto} ${ip}:${port} to listen`, async () => {
      const out = await nsExec(ns, [
        "ss",
        "-Hln",
        proto === "tcp" ? "-t" : "-u",
        `src ${ip}:${port}`,
      ]);
      return out.stdout.trim() !== "";
    }, 10_000);
  } catch (error) {
    await p.kill();
    throw new Error(`${(error as Error).message}\n${p.output()}`);
  }
}
