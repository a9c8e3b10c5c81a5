/**
 * `dsr config import --from ipvsadm`: a configuration document from the
 * rules `ipvsadm-save -n` (that is `ipvsadm -S -n`) prints. ipvsadm 1.31
 * (Debian 12) writes one line per service and per real server:
 *
 * ```
 * -A -t 198.18.0.100:80 -s wlc -p 300
 * -a -t 198.18.0.100:80 -r 198.18.0.11:80 -g -w 1
 * ```
 *
 * a service as `-A {-t|-u|--sctp-service} ADDR:PORT -s SCHED[ -p T[ -M MASK]][ --pe NAME][ -o][ -b FLAGS]`
 * or `-A -f MARK …`, a real server as `-a … -r ADDR:PORT {-g|-m|-i} -w W` (tunnels add
 * `--tun-type …`). These are the format strings of ipvsadm.c's
 * print_service_entry, as found in the installed binary. Long option
 * names (a hand-written rules file for `ipvsadm -R`) and `--set TCP TCPFIN UDP` are read too.
 * Only direct routing maps onto dsr: masquerading (`-m`), tunnels (`-i`),
 * firewall marks, SCTP, persistence netmasks, persistence engines and
 * scheduler flags are refused naming the line.
 * @module
 */

import {
  type Config,
  defaultCheck,
  parseConfig,
  type Proto,
  serviceKey,
  type Vip,
} from "./config.ts";
import { ImportError, type ImportResult } from "./import_result.ts";
import { SCHEDULER_NAMES } from "../dataplane/scheduler.ts";

/** Long option names and their short forms, as ipvsadm(8) lists them. */
const LONG: Record<string, string> = {
  "--add-service": "-A",
  "--edit-service": "-E",
  "--add-server": "-a",
  "--edit-server": "-e",
  "--tcp-service": "-t",
  "--udp-service": "-u",
  "--fwmark-service": "-f",
  "--scheduler": "-s",
  "--persistent": "-p",
  "--netmask": "-M",
  "--real-server": "-r",
  "--gatewaying": "-g",
  "--masquerading": "-m",
  "--ipip": "-i",
  "--weight": "-w",
  "--u-threshold": "-x",
  "--l-threshold": "-y",
  "--ops": "-o",
  "--sched-flags": "-b",
};

/** Options that take a value. */
const VALUED = new Set([
  "-t",
  "-u",
  "--sctp-service",
  "-f",
  "-s",
  "-M",
  "-r",
  "-w",
  "-x",
  "-y",
  "-b",
  "--pe",
  "--tun-type",
  "--tun-port",
]);

interface Line {
  n: number;
  text: string;
  command: string;
  opts: Map<string, string | true>;
}

function fail(line: Line, message: string): never {
  throw new ImportError(line.n, `${message} (in "${line.text}")`);
}

function parseLine(n: number, text: string): Line | null {
  const words = text.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0 || words[0].startsWith("#")) return null;
  const line: Line = { n, text: text.trim(), command: "", opts: new Map() };
  for (let i = 0; i < words.length; i++) {
    const w = LONG[words[i]] ?? words[i];
    if (i === 0) {
      line.command = w;
      continue;
    }
    if (VALUED.has(w)) {
      if (i + 1 >= words.length) fail(line, `${words[i]} needs a value`);
      line.opts.set(w, words[++i]);
    } else if (w === "-p") {
      // The timeout is optional: `-p` alone means ipvsadm's default.
      line.opts.set(w, /^\d+$/.test(words[i + 1] ?? "") ? words[++i] : true);
    } else {
      line.opts.set(w, true);
    }
  }
  return line;
}

/** `1.2.3.4:80` or `[2001:db8::1]:80`, numeric only. */
function parseAddrPort(line: Line, text: string): { ip: string; port: number } {
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d+)$/.exec(text) ?? /^([0-9.]+):(\d+)$/.exec(text);
  if (!m || Number(m[2]) > 65535) {
    fail(line, `"${text}" is not ADDRESS:PORT in numbers: save the rules with ipvsadm-save -n`);
  }
  return { ip: m[1], port: Number(m[2]) };
}

function serviceOf(line: Line): { vip: string; port: number; proto: Proto } {
  if (line.opts.has("-f")) {
    fail(
      line,
      "firewall-mark services (-f) have no address and port: dsr balances VIP:PORT services",
    );
  }
  if (line.opts.has("--sctp-service")) {
    fail(line, "SCTP services are not supported: dsr balances TCP and UDP");
  }
  const tcp = line.opts.get("-t");
  const udp = line.opts.get("-u");
  const text = typeof tcp === "string" ? tcp : typeof udp === "string" ? udp : null;
  if (text === null) fail(line, "no service (-t or -u ADDRESS:PORT)");
  const { ip, port } = parseAddrPort(line, text);
  return { vip: ip, port, proto: typeof tcp === "string" ? "tcp" : "udp" };
}

function addService(line: Line, vips: Map<string, Vip>, warnings: string[]): void {
  const ref = serviceOf(line);
  const key = serviceKey(ref);
  if (vips.has(key)) fail(line, `service ${key} is added twice`);
  const sched = line.opts.get("-s") ?? "wlc"; // ipvsadm's default scheduler
  if (!(SCHEDULER_NAMES as readonly string[]).includes(sched as string)) {
    fail(line, `scheduler ${sched} is not one dsr has (${SCHEDULER_NAMES.join(" ")})`);
  }
  if (line.opts.has("-M")) {
    fail(
      line,
      `persistence netmask -M ${line.opts.get("-M")}: dsr keeps affinity per client address only`,
    );
  }
  if (line.opts.has("--pe")) {
    fail(line, `persistence engine --pe ${line.opts.get("--pe")} is not supported`);
  }
  if (line.opts.has("-b")) {
    fail(line, `scheduler flags -b ${line.opts.get("-b")} are not supported`);
  }
  // IPVS schedules a TCP service's packets by connection whatever -o says.
  const ops = line.opts.has("-o") && ref.proto === "udp";
  if (line.opts.has("-o") && !ops) {
    warnings.push(`line ${line.n}: -o ignored: IPVS applies it to UDP only`);
  }
  const p = line.opts.get("-p");
  // `-p` alone is ipvsadm's default persistence of 300 s.
  const persist = p === undefined ? 0 : p === true ? 300 : Number(p);
  if (!Number.isInteger(persist) || persist < 0) fail(line, `-p ${p} is not a number of seconds`);
  for (const [opt] of line.opts) {
    if (!["-t", "-u", "-s", "-p", "-o"].includes(opt)) {
      warnings.push(`line ${line.n}: ${opt} ignored`);
    }
  }
  // IPVS has no health checks; dsr's default (tcp for TCP) applies, except
  // where it has no port to try.
  const check = ref.port === 0 ? { ...defaultCheck(ref.proto), type: "none" as const } : null;
  if (ref.port === 0 && ref.proto === "tcp") {
    warnings.push(
      `line ${line.n}: ${key} covers every port, so it gets no health check ` +
        `(give it one with dsr vip set ${ref.vip}:0 --check tcp --check-port N)`,
    );
  }
  vips.set(key, {
    ...ref,
    scheduler: sched as Vip["scheduler"],
    persist,
    fallback: null,
    need: 1,
    check,
    ops,
    rips: [],
  });
}

function addServer(line: Line, vips: Map<string, Vip>): void {
  const ref = serviceOf(line);
  const vip = vips.get(serviceKey(ref));
  if (!vip) fail(line, `real server of ${serviceKey(ref)}, which no -A line added before`);
  if (line.opts.has("-m")) {
    fail(line, "masquerading (-m, NAT) is not direct routing: dsr forwards DR only");
  }
  if (line.opts.has("-i")) {
    fail(line, "tunnelling (-i, IPIP) is not direct routing: dsr forwards DR only");
  }
  const r = line.opts.get("-r");
  if (typeof r !== "string") fail(line, "no real server (-r ADDRESS:PORT)");
  const { ip, port } = parseAddrPort(line, r);
  if (port !== ref.port && port !== 0 && ref.port !== 0) {
    fail(
      line,
      `port translation is not possible in DR mode (VIP port ${ref.port}, real server port ${port})`,
    );
  }
  const w = line.opts.get("-w") ?? "1";
  const weight = Number(w);
  if (!Number.isInteger(weight) || weight < 0 || weight > 65535) {
    fail(line, `-w ${w} is not a weight`);
  }
  if (line.opts.has("-x") || line.opts.has("-y")) {
    fail(line, "connection thresholds (-x, -y) are not supported");
  }
  if (vip.rips.some((x) => x.ip === ip)) fail(line, `real server ${ip} is added twice`);
  vip.rips.push({ ip, weight, drain: false, check: null });
}

/**
 * Reads `ipvsadm-save -n` output (or an `ipvsadm -R` rules file).
 * @throws {ImportError} naming the line of anything dsr cannot do (NAT, tunnels, …)
 * @throws {ConfigError} when the result is not a valid document (a bad address, …)
 */
export function importIpvsadm(text: string): ImportResult {
  const vips = new Map<string, Vip>();
  const warnings: string[] = [];
  let timeouts: Config["timeouts"] = { tcp: 900, tcpfin: 120, udp: 300 };
  text.split("\n").forEach((raw, i) => {
    const line = parseLine(i + 1, raw);
    if (!line) return;
    if (line.command === "-A") addService(line, vips, warnings);
    else if (line.command === "-a") addServer(line, vips);
    else if (line.command === "--set") {
      const [tcp, tcpfin, udp] = raw.trim().split(/\s+/).slice(1).map(Number);
      // 0 leaves a timeout as it is, as in ipvsadm.
      timeouts = {
        tcp: tcp || timeouts.tcp,
        tcpfin: tcpfin || timeouts.tcpfin,
        udp: udp || timeouts.udp,
      };
    } else if (line.command === "-C") {
      vips.clear();
    } else {
      fail(line, `${line.command} is not a command ipvsadm-save writes (-A, -a)`);
    }
  });
  return { config: parseConfig({ version: 1, timeouts, vips: [...vips.values()] }), warnings };
}
