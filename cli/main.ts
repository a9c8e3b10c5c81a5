/**
 * The root of the command line: declares the command tree (SPEC §4), loads
 * each command's code only when it runs, and is the one place that turns an
 * error into `dsr: error: …` and an exit status.
 * @module
 */

import { Command, CommanderError, Option } from "@commander-js/extra-typings";
import { RuntimeError, UsageError } from "../control/errors.ts";
import { whenInterrupted } from "../client/transport_ssh.ts";
import { addCompletions } from "./completion.ts";
import { addCheckOptions, addVipOptions } from "./options.ts";
import { DEFAULT_SOCKET, DEFAULT_STATE, everyPathsOf, pathsOf } from "./where.ts";

function buildTree(out: { code: number }) {
  const program = new Command("dsr")
    .description("Layer 4 Direct Server Return load balancer")
    .option("--socket <path>", `control socket (env DSR_SOCKET, default ${DEFAULT_SOCKET})`)
    .option("--state <file>", `state file (env DSR_STATE, default ${DEFAULT_STATE})`)
    .option(
      "--host <url>",
      "a balancer's daemon through ssh: ssh://[USER@]HOST[:PORT][/SOCKET] " +
        "(env DSR_HOST; status and top take several)",
      (url: string, all: string[] | undefined) => [...(all ?? []), url],
    )
    .option("--ssh-config <file>", "ssh_config file for --host (ssh -F; env DSR_SSH_CONFIG)")
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ outputError: () => {} });

  program.command("start").description("run the balancer on an interface (foreground)")
    .requiredOption(
      "--iface <iface>",
      "interface facing clients and real servers; again for each further leg of the balancer",
      (name: string, all: string[] | undefined) => [...(all ?? []), name],
    )
    .option("--max-flows <n>", "flow table bound", "1000000")
    .option(
      "--no-ingress-drop",
      "let the kernel's IP stack see frames to the VIPs too (default: a tc filter drops them after the capture)",
    )
    .option("--metrics <addr:port>", "serve Prometheus metrics at http://ADDR:PORT/metrics")
    .option(
      "--socket-group <group>",
      "group allowed to use the control socket (mode 0660); default root only",
    )
    .addOption(
      new Option("--log-format <format>", "log format").choices(["text", "json"]).default("text"),
    )
    .addOption(
      new Option("--role <role>", "HA role at start (under keepalived: standby)")
        .choices(["active", "standby"]).default("active"),
    )
    .option("--announce <table>", "keep announceable VIPs as /32 routes in this kernel table")
    .option(
      "--garp-interval <s>",
      "send gratuitous ARP for every VIP this often, as keepalived's garp_master_refresh (default off)",
    )
    .action(async (opts, cmd) => {
      out.code = await (await import("./commands/start.ts")).start(pathsOf(cmd), opts);
    });

  const vip = program.command("vip").description("virtual services");
  addCheckOptions(addVipOptions(vip.command("add").description("add a virtual service")))
    .argument("<vip:port>", "virtual IP and port (port 0: every port)")
    .action(async (target, opts, cmd) => {
      await (await import("./commands/vip.ts")).vipAdd(pathsOf(cmd), target, opts);
    });
  addCheckOptions(addVipOptions(vip.command("set").description("change a virtual service")))
    .argument("<vip:port>")
    .action(async (target, opts, cmd) => {
      await (await import("./commands/vip.ts")).vipSet(pathsOf(cmd), target, opts);
    });
  vip.command("del").description("delete a virtual service and its real servers")
    .argument("<vip:port>").option("--proto <proto>", "tcp or udp", "tcp")
    .action(async (target, opts, cmd) => {
      await (await import("./commands/vip.ts")).vipDel(pathsOf(cmd), target, opts);
    });
  vip.command("list").description("list virtual services").option("--json", "print JSON")
    .action(async (opts, cmd) => {
      await (await import("./commands/vip.ts")).vipList(pathsOf(cmd), opts);
    });
  vip.command("garp").description("send a gratuitous ARP for a VIP now").argument("<vip>")
    .action(async (target, _opts, cmd) => {
      await (await import("./commands/vip.ts")).vipGarp(pathsOf(cmd), target);
    });

  const rip = program.command("rip").description("real servers");
  addCheckOptions(
    rip.command("add").description("add a real server to a virtual service")
      .argument("<vip:port>").argument("<rip[:port]>")
      .option("--proto <proto>", "tcp or udp", "tcp")
      .option("--weight <n>", "scheduling weight, 0 takes no new flows", "1"),
  ).action(async (target, server, opts, cmd) => {
    await (await import("./commands/rip.ts")).ripAdd(pathsOf(cmd), target, server, opts);
  });
  addCheckOptions(
    rip.command("set").description("change a real server")
      .argument("<vip:port>").argument("<rip>")
      .option("--proto <proto>", "tcp or udp", "tcp")
      .option("--weight <n>", "scheduling weight")
      .option("--drain", "take no new flows, keep existing ones")
      .option("--enable", "take new flows again"),
  ).action(async (target, server, opts, cmd) => {
    await (await import("./commands/rip.ts")).ripSet(pathsOf(cmd), target, server, opts);
  });
  rip.command("del").description("remove a real server").argument("<vip:port>").argument("<rip>")
    .option("--proto <proto>", "tcp or udp", "tcp")
    .action(async (target, server, opts, cmd) => {
      await (await import("./commands/rip.ts")).ripDel(pathsOf(cmd), target, server, opts);
    });

  program.command("status").description("show the running balancer").option("--json", "print JSON")
    .action(async (opts, cmd) => {
      out.code = await (await import("./commands/status.ts")).status(everyPathsOf(cmd), opts);
    });
  program.command("top").description("the live dashboard: rates, real servers, drain, weight")
    .option("--interval <ms>", "milliseconds between updates", "1000")
    .action(async (opts, cmd) => {
      out.code = await (await import("./commands/top.ts")).top(everyPathsOf(cmd), opts);
    });

  program.command("timeout").description("flow timeouts").command("set")
    .description("set flow timeouts in seconds, as ipvsadm --set")
    .option("--tcp <s>", "established TCP").option("--tcpfin <s>", "TCP after FIN or RST")
    .option("--udp <s>", "UDP")
    .action(async (opts, cmd) => {
      await (await import("./commands/timeout.ts")).timeoutSet(pathsOf(cmd), opts);
    });

  const config = program.command("config").description("the whole configuration");
  config.command("export").description("print the configuration as JSON").option(
    "--json",
    "print JSON (default)",
  )
    .action(async (_opts, cmd) => {
      await (await import("./commands/config.ts")).configExport(pathsOf(cmd));
    });
  config.command("apply").description("make the configuration match a file (validated first)")
    .requiredOption("-f, --file <file>", "configuration document")
    .option("--dry-run", "print the changes and make none (exit 2 when the file is invalid)")
    .action(async (opts, cmd) => {
      await (await import("./commands/config.ts")).configApply(pathsOf(cmd), opts.file, {
        dryRun: opts.dryRun,
      });
    });
  config.command("import").description(
    "print a configuration document from ipvsadm-save -n output or a keepalived.conf",
  )
    .addOption(
      new Option("--from <kind>", "what FILE is").choices(["ipvsadm", "keepalived"])
        .makeOptionMandatory(),
    )
    .argument("<file>", "the rules (ipvsadm-save -n) or keepalived.conf; - for standard input")
    .action(async (file, opts) => {
      await (await import("./commands/config.ts")).configImport(opts.from, file);
    });

  program.command("trace").description(
    "which real server and MAC a flow gets now, and why (asks the daemon; sends no packet)",
  )
    .argument("<client>", "CLIENT[:PORT], the client's address and port")
    .argument("<service>", "VIP:PORT")
    .option("--proto <proto>", "tcp or udp (default tcp)")
    .option("--json", "print JSON")
    .action(async (client, service, opts, cmd) => {
      await (await import("./commands/trace.ts")).trace(pathsOf(cmd), client, service, opts);
    });

  program.command("doctor").description(
    "check the DR setup from the balancer: ARP, real servers, host",
  )
    .option("--json", "print JSON")
    .action(async (opts, cmd) => {
      out.code = await (await import("./commands/doctor.ts")).doctor(pathsOf(cmd), opts);
    });

  const realserver = program.command("realserver").description(
    "solve the ARP problem on a real server (run it there)",
  );
  realserver.command("setup").description(
    "put VIPs on lo and stop this host answering ARP for them",
  )
    .requiredOption("--vip <vip...>", "virtual IP (repeatable)")
    .option("--os <os>", "linux (run here) or windows (print a PowerShell script)", "linux")
    .option("--dry-run", "print the commands, change nothing")
    .option("--remove", "undo an earlier setup")
    .option("--persist", "also keep the settings across reboots")
    .action(async (opts, cmd) => {
      out.code = await (await import("./commands/realserver.ts")).realserverSetup(
        pathsOf(cmd),
        opts,
      );
    });
  realserver.command("check").description("verify the VIPs and ARP settings of this real server")
    .requiredOption("--vip <vip...>", "virtual IP (repeatable)")
    .option("--json", "print JSON")
    .action(async (opts, cmd) => {
      out.code = await (await import("./commands/realserver.ts")).realserverCheck(
        pathsOf(cmd),
        opts,
      );
    });

  const ha = program.command("ha").description(
    "high availability: the node's role, and configs for keepalived and BIRD",
  );
  const haCommands = () => import("./commands/ha.ts");
  ha.command("status").description("this node's role").option("--json", "print JSON")
    .action(async (opts, cmd) => await (await haCommands()).haStatus(pathsOf(cmd), opts));
  ha.command("promote").description("make this node active (keepalived: notify_master)")
    .action(async (_o, cmd) => await (await haCommands()).haSetRole(pathsOf(cmd), "active"));
  ha.command("demote").description("make this node standby (keepalived: backup, fault, stop)")
    .action(async (_o, cmd) => await (await haCommands()).haSetRole(pathsOf(cmd), "standby"));
  ha.command("check").description("exit 0 while the daemon answers and its interface is up")
    .option("--min-uptime <s>", "fail until the daemon has run this long (keepalived's config)")
    .action(async (opts, cmd) => await (await haCommands()).haCheck(pathsOf(cmd), opts));
  ha.command("keepalived").description("print a keepalived.conf for this node of a pair")
    .requiredOption("--iface <iface>", "interface VRRP runs on (its IPv4 address is the source)")
    .requiredOption("--peer <addr>", "the other node's address (unicast VRRP)")
    .requiredOption("--priority <n>", "VRRP priority, 1 to 254")
    .option("--vrid <n>", "virtual router id", "51")
    .option("--dsr-command <cmd>", "how keepalived runs dsr (default: this dsr)")
    .action(async (opts, cmd) => await (await haCommands()).haKeepalived(pathsOf(cmd), opts));
  ha.command("bird").description("print a BIRD 2 config announcing the --announce table over BGP")
    .requiredOption("--table <n>", "kernel table of dsr start --announce")
    .requiredOption("--asn <n>", "this node's AS number")
    .requiredOption("--peer <addr>", "the router's address")
    .requiredOption("--peer-asn <n>", "the router's AS number")
    .option("--router-id <id>", "BGP router id (default: this node's address towards --peer)")
    .action(async (opts) => await (await haCommands()).haBird(opts));

  const lab = program.command("lab").description(
    "a complete DSR network in namespaces on this host",
  );
  lab.command("up").description("build the lab and start its balancer")
    .option("--servers <n>", "real servers", "3")
    .addOption(
      new Option("--ha <kind>", "two balancers: keepalived (vrrp) or BGP and ECMP (bgp)")
        .choices(["vrrp", "bgp"]),
    )
    .action(async (opts, cmd) => {
      await (await import("./commands/lab.ts")).labUpCommand(pathsOf(cmd), opts);
    });
  lab.command("down").description("remove the lab").action(async (_opts, cmd) => {
    await (await import("./commands/lab.ts")).labDownCommand(pathsOf(cmd));
  });
  lab.command("demo").description("lab up, steady traffic, and the live view")
    .option("--servers <n>", "real servers", "3")
    .option("--seconds <s>", "how long to send traffic", "60")
    .action(async (opts, cmd) => {
      await (await import("./commands/lab.ts")).labDemoCommand(pathsOf(cmd), opts);
    });
  lab.command("serve", { hidden: true }).description(
    "a real server's HTTP server (used inside the lab)",
  )
    .requiredOption("--name <name>").option("--port <port>", "port", "80")
    .action(async (opts) => {
      await (await import("./commands/lab.ts")).labServeCommand(opts);
    });
  lab.command("traffic", { hidden: true }).description("steady HTTP requests (used inside the lab)")
    .requiredOption("--url <url>").option("--seconds <s>", "duration", "60").option(
      "--rate <n>",
      "per second",
      "20",
    )
    .action(async (opts) => {
      const { runTraffic } = await import("../lab/traffic.ts");
      const stop = new AbortController();
      Deno.addSignalListener("SIGTERM", () => stop.abort());
      const { parseInteger } = await import("../control/parse.ts");
      await runTraffic({
        url: opts.url,
        seconds: parseInteger(opts.seconds, "--seconds", 1, 86_400),
        rate: parseInteger(opts.rate, "--rate", 1, 10_000),
        signal: stop.signal,
      });
    });
  return program;
}

/**
 * The whole command tree `main` parses, the completion commands included
 * (the help snapshot test walks it).
 * @param out where a command's action leaves its exit status
 * @param args the command line, for a completion request to fetch names first
 */
export async function commandTree(
  out: { code: number } = { code: 0 },
  args: readonly string[] = [],
): Promise<ReturnType<typeof buildTree>> {
  const program = buildTree(out);
  await addCompletions(program, args);
  return program;
}

/** Runs the command line `args`; returns the exit status. */
export async function main(args: string[]): Promise<number> {
  const out = { code: 0 };
  try {
    const program = await commandTree(out, args);
    // A signal while an ssh tunnel is open closes it (and its directory) and ends the command.
    return await Promise.race([
      program.parseAsync(args, { from: "user" }).then(() => out.code),
      whenInterrupted(),
    ]);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0;
      console.error(`dsr: error: ${error.message.replace(/^error: /, "")}`);
      return 2;
    }
    if (error instanceof UsageError || error instanceof RuntimeError) {
      console.error(`dsr: error: ${error.message}`);
      return error.exitCode;
    }
    const libpcap = (error as Error)?.name === "LibpcapMissingError";
    console.error(
      `dsr: error: ${
        libpcap ? (error as Error).message : `unexpected: ${(error as Error)?.stack ?? error}`
      }`,
    );
    return 1;
  }
}
