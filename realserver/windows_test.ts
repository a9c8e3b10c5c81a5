import assert from "node:assert/strict";
import { windowsRemoveScript, windowsSetupScript } from "./windows.ts";

const VIPS = ["198.18.0.100", "198.18.0.101"];

/** Asserts that `script` has a line containing `text`. */
function hasLine(script: string, text: string): void {
  assert.ok(script.split("\n").some((l) => l.includes(text)), `no line with: ${text}`);
}

Deno.test("the Windows script puts each VIP on the loopback adapter as /32, skipped as source", () => {
  const script = windowsSetupScript(VIPS);
  hasLine(script, "Microsoft KM-TEST Loopback Adapter");
  hasLine(script, "devcon install");
  hasLine(script, "pnputil");
  hasLine(script, "Device Manager");
  hasLine(script, "Rename-NetAdapter -Name $adapter.Name -NewName dsr-loopback");
  for (const vip of VIPS) {
    hasLine(
      script,
      `New-NetIPAddress -InterfaceAlias dsr-loopback -IPAddress ${vip} -PrefixLength 32 -SkipAsSource $true`,
    );
  }
});

Deno.test("the Windows script turns on the weak host model on the loopback and the LAN adapter", () => {
  const script = windowsSetupScript(VIPS);
  hasLine(script, '$Lan = "');
  hasLine(
    script,
    "Set-NetIPInterface -InterfaceAlias dsr-loopback -WeakHostReceive Enabled -WeakHostSend Enabled",
  );
  hasLine(script, "Set-NetIPInterface -InterfaceAlias $Lan -WeakHostReceive Enabled");
  // netsh equivalents, as comments for hosts without the NetTCPIP module.
  const netsh = script.split("\n").filter((l) => l.includes("netsh interface ipv4 set interface"));
  assert.equal(netsh.length, 2);
  for (const line of netsh) assert.match(line, /^#/);
  assert.match(netsh[0], /"dsr-loopback" weakhostreceive=enabled weakhostsend=enabled$/);
  assert.match(netsh[1], /weakhostreceive=enabled$/);
});

Deno.test("the Windows script opens the firewall for each VIP and keeps the VIPs out of DNS", () => {
  const script = windowsSetupScript(VIPS);
  for (const vip of VIPS) {
    hasLine(
      script,
      `New-NetFirewallRule -DisplayName "dsr VIP ${vip}" -Direction Inbound -LocalAddress ${vip} -Action Allow`,
    );
  }
  hasLine(
    script,
    "Set-DnsClient -InterfaceAlias dsr-loopback -RegisterThisConnectionsAddress $false",
  );
});

Deno.test("the Windows removal script takes each VIP and its firewall rule away", () => {
  const script = windowsRemoveScript(VIPS);
  for (const vip of VIPS) {
    hasLine(script, `Remove-NetFirewallRule -DisplayName "dsr VIP ${vip}"`);
    hasLine(script, `Remove-NetIPAddress -InterfaceAlias dsr-loopback -IPAddress ${vip}`);
  }
});

Deno.test("for an IPv6 VIP the Windows script adds it as /128 and sets the IPv6 weak host model too", () => {
  const script = windowsSetupScript(["2001:2::100", "198.18.0.100"]);
  hasLine(
    script,
    "New-NetIPAddress -InterfaceAlias dsr-loopback -IPAddress 2001:2::100 -PrefixLength 128 -SkipAsSource $true",
  );
  hasLine(
    script,
    "New-NetIPAddress -InterfaceAlias dsr-loopback -IPAddress 198.18.0.100 -PrefixLength 32",
  );
  hasLine(
    script,
    "Set-NetIPInterface -InterfaceAlias dsr-loopback -AddressFamily IPv6 -WeakHostReceive Enabled -WeakHostSend Enabled",
  );
  hasLine(
    script,
    "Set-NetIPInterface -InterfaceAlias $Lan -AddressFamily IPv6 -WeakHostReceive Enabled",
  );
  hasLine(
    script,
    '#    netsh interface ipv6 set interface "dsr-loopback" weakhostreceive=enabled weakhostsend=enabled',
  );
  hasLine(script, "-LocalAddress 2001:2::100 -Action Allow");
  assert.ok(
    !windowsSetupScript(["198.18.0.100"]).includes("-AddressFamily IPv6"),
    "no IPv6 lines without an IPv6 VIP",
  );
});
