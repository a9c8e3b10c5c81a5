/**
 * `dsr start --garp-interval S` on a real wire: gratuitous ARP for the VIP
 * every S seconds, as keepalived's garp_master_refresh, seen by tcpdump on
 * the client; without it, none after the start.
 */

import assert from "node:assert/strict";
import { configureLab, startDaemon, startServers, stopAll, tempPaths } from "./_dsr.ts";
import { type NsProcess, nsSpawn, requireRoot, waitFor, withLab } from "./_netns.ts";

for (const interval of [1, null]) {
  Deno.test(
    interval
      ? "--garp-interval 1 sends a gratuitous ARP for the VIP every second"
      : "without --garp-interval the VIP is announced at start only",
    async () => {
      requireRoot();
      await withLab({ servers: 1 }, async (lab) => {
        const paths = await tempPaths();
        const processes: NsProcess[] = startServers(lab);
        try {
          await configureLab(paths, lab);
          const dump = nsSpawn(lab.client.ns, [
            "tcpdump",
            "-i",
            lab.client.iface,
            "-n",
            "-l",
            "-U",
            "arp",
          ]);
          processes.push(dump);
          await waitFor("tcpdump to listen", () => dump.output().includes("listening on"));
          const garp = new RegExp(
            `Request who-has ${lab.vip.replaceAll(".", "\\.")} tell ${
              lab.vip.replaceAll(".", "\\.")
            }`,
            "g",
          );
          processes.push(
            await startDaemon(paths, lab, interval ? ["--garp-interval", String(interval)] : []),
          );
          await waitFor(
            "the GARP sent at start",
            () => (dump.output().match(garp) ?? []).length > 0,
          );
          const atStart = dump.output().match(garp)!.length;
          await new Promise((r) => setTimeout(r, 3500));
          const more = dump.output().match(garp)!.length - atStart;
          if (interval) assert.ok(more >= 3 && more <= 4, `${more} GARPs in 3.5 s`);
          else assert.equal(more, 0);
        } finally {
          await stopAll(processes);
          await Deno.remove(paths.dir, { recursive: true });
        }
      });
    },
  );
}
