/**
 * End to end on a namespace lab: the daemon's tc ingress drop keeps frames to
 * the VIP out of the balancer's own IP stack (its InAddrErrors counter, which
 * counts every frame the stack routed and dropped, stays still) while the
 * capture still forwards them; it follows VIP changes and goes with the
 * daemon (taking away the clsact qdisc it added, or that a killed daemon
 * added, leaving an ingress qdisc it found). With --no-ingress-drop the counter moves, which shows it counts
 * what the filter spares.
 */

import assert from "node:assert/strict";
import { nsExec } from "../lab/topology.ts";
import { configureLab, DSR, dsrOk, startDaemon, startServers, stopAll, tempPaths } from "./_dsr.ts";
import { requireRoot, withLab } from "./_netns.ts";

const BURST = new URL("./_http_burst.ts", import.meta.url).pathname;

/** The balancer stack's count of packets it received for an address it does not hold. */
async function inAddrErrors(ns: string): Promise<number> {
  const snmp = (await nsExec(ns, ["cat", "/proc/net/snmp"], { check: true })).stdout;
  const [names, values] = snmp.split("\n").filter((l) => l.startsWith("Ip:"));
  const at = names.split(/\s+/).indexOf("InAddrErrors");
  return Number(values.split(/\s+/)[at]);
}

async function ingress(ns: string): Promise<{ filters: string; qdiscs: string }> {
  const filters = await nsExec(ns, ["tc", "filter", "show", "dev", "eth0", "ingress"]);
  const qdiscs = await nsExec(ns, ["tc", "qdisc", "show", "dev", "eth0"]);
  return { filters: filters.stdout, qdiscs: qdiscs.stdout };
}

for (const drop of [true, false]) {
  Deno.test(
    drop
      ? "the ingress drop keeps VIP frames out of the balancer's IP stack, follows the VIPs and leaves with the daemon"
      : "with --no-ingress-drop the balancer's IP stack routes and drops every VIP frame",
    async () => {
      requireRoot();
      await withLab({ servers: 2 }, async (lab) => {
        const paths = await tempPaths();
        const processes = startServers(lab);
        const lb = lab.balancer.ns;
        try {
          await configureLab(paths, lab);
          const daemon = await startDaemon(paths, lab, drop ? [] : ["--no-ingress-drop"]);
          processes.push(daemon);
          const before = await inAddrErrors(lb);
          const run = await nsExec(lab.client.ns, [
            DSR[0],
            "run",
            "-A",
            BURST,
            `http://${lab.vip}/`,
            "50",
          ], {
            check: true,
          });
          assert.equal(JSON.parse(run.stdout).ok, 50, run.stdout);
          const spared = (await inAddrErrors(lb)) - before;
          const shown = await ingress(lb);
          if (!drop) {
            assert.ok(spared >= 50 * 3, `the stack saw ${spared} VIP packets`);
            assert.doesNotMatch(shown.filters, /pref 213/);
            return;
          }
          assert.equal(spared, 0, "no VIP packet reached the balancer's IP stack");
          assert.match(shown.filters, /pref 213 bpf/);
          assert.match(shown.qdiscs, /clsact/);

          // A second VIP joins the filter; deleting every VIP removes it.
          const other = lab.vip.replace(/\d+$/, (n) => String(Number(n) + 1));
          await dsrOk(paths, ["vip", "add", `${other}:80`]);
          const hex = (ip: string) => ip.split(".").reduce((a, b) => a * 256 + Number(b), 0);
          assert.match((await ingress(lb)).filters, new RegExp(`21 \\d+ 0 ${hex(other)}`));
          await dsrOk(paths, ["vip", "del", `${other}:80`]);
          await dsrOk(paths, ["vip", "del", `${lab.vip}:80`]);
          assert.doesNotMatch((await ingress(lb)).filters, /pref 213/);
          await dsrOk(paths, ["vip", "add", `${lab.vip}:80`]);
          assert.match((await ingress(lb)).filters, /pref 213 bpf/);

          await daemon.kill();
          const after = await ingress(lb);
          assert.equal(after.filters.trim(), "", "the filter left with the daemon");
          assert.doesNotMatch(after.qdiscs, /clsact/, "and so did the qdisc it added");

          // A daemon killed outright leaves its filter and qdisc behind; the
          // next one takes both over, and its stop removes them.
          const killed = await startDaemon(paths, lab);
          processes.push(killed);
          killed.child.kill("SIGKILL");
          await killed.kill();
          const orphaned = await ingress(lb);
          assert.match(orphaned.filters, /pref 213 bpf/);
          assert.match(orphaned.qdiscs, /clsact/);
          const next = await startDaemon(paths, lab);
          processes.push(next);
          await next.kill();
          const cleaned = await ingress(lb);
          assert.equal(cleaned.filters.trim(), "");
          assert.doesNotMatch(
            cleaned.qdiscs,
            /clsact/,
            "the dead daemon's qdisc left with the next",
          );

          // An ingress qdisc of the operator's is used as it is, and stays.
          await nsExec(lb, ["tc", "qdisc", "add", "dev", "eth0", "ingress"], { check: true });
          const again = await startDaemon(paths, lab);
          processes.push(again);
          const shared = await ingress(lb);
          assert.match(shared.filters, /pref 213 bpf/);
          assert.doesNotMatch(shared.qdiscs, /clsact/);
          await again.kill();
          const left = await ingress(lb);
          assert.equal(left.filters.trim(), "");
          assert.match(left.qdiscs, /qdisc ingress/, "the operator's qdisc is still there");

          // So is an empty clsact qdisc of the operator's, VIP changes and all.
          await nsExec(lb, ["tc", "qdisc", "del", "dev", "eth0", "ingress"], { check: true });
          await nsExec(lb, ["tc", "qdisc", "add", "dev", "eth0", "clsact"], { check: true });
          const third = await startDaemon(paths, lab);
          processes.push(third);
          await dsrOk(paths, ["vip", "add", `${other}:80`]);
          await dsrOk(paths, ["vip", "del", `${other}:80`]);
          await third.kill();
          const kept = await ingress(lb);
          assert.equal(kept.filters.trim(), "");
          assert.match(kept.qdiscs, /qdisc clsact/, "the operator's clsact is still there");
        } finally {
          await stopAll(processes);
          await Deno.remove(paths.dir, { recursive: true }).catch(() => {});
        }
      });
    },
  );
}
