import assert from "node:assert/strict";
import { addRip, addVip, setRip } from "../control/config_ops.ts";
import { emptyConfig } from "../control/config.ts";
import { namesIn, splitWords } from "./completion.ts";

Deno.test("a line being completed gives its global options, --proto and positional words", () => {
  assert.deepEqual(
    splitWords([
      "--host",
      "ssh://lb1",
      "rip",
      "del",
      "--proto=udp",
      "--ssh-config",
      "/c",
      "198.18.0.100:53",
      "",
    ]),
    {
      globals: { host: ["ssh://lb1"], sshConfig: "/c" },
      positional: ["rip", "del", "198.18.0.100:53", ""],
      proto: "udp",
    },
  );
  assert.deepEqual(splitWords(["vip", "del", "--pro"]).positional, ["vip", "del", "--pro"]);
  assert.deepEqual(splitWords(["--socket=/s", "vip", "--json", "garp", ""]), {
    globals: { host: [], socket: "/s" },
    positional: ["vip", "garp", ""],
    proto: null,
  });
});

Deno.test("services, VIPs and the real servers of the VIP:PORT typed are offered", () => {
  const web = { vip: "198.18.0.100", port: 80, proto: "tcp" as const };
  const dns = { vip: "198.18.0.100", port: 53, proto: "udp" as const };
  let c = addVip(addVip(emptyConfig(), web), dns);
  c = addRip(addRip(c, web, { ip: "198.18.0.11" }), web, { ip: "198.18.0.12", weight: 3 });
  c = setRip(addRip(c, dns, { ip: "198.18.0.21" }), dns, "198.18.0.21", { drain: true });
  const names = namesIn(c, { vipPort: "198.18.0.100:80", proto: null });
  assert.deepEqual(names.services, [
    ["198.18.0.100:80", "tcp mh, 2 real servers"],
    ["198.18.0.100:53", "udp mh, 1 real server"],
  ]);
  assert.deepEqual(names.vips, [["198.18.0.100", "VIP"]]);
  assert.deepEqual(names.rips, [["198.18.0.11", "tcp, weight 1"], [
    "198.18.0.12",
    "tcp, weight 3",
  ]]);
  assert.deepEqual(namesIn(c, { vipPort: "198.18.0.100:53", proto: "udp" }).rips, [[
    "198.18.0.21",
    "udp, weight 1, draining",
  ]]);
  assert.deepEqual(namesIn(c, { vipPort: "198.18.0.100:53", proto: "tcp" }).rips, []);
  assert.deepEqual(namesIn(c, { vipPort: null, proto: null }).rips, []);
});
