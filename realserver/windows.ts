/**
 * `dsr realserver setup --os windows`: the PowerShell script that solves the
 * ARP problem on a Windows real server (SPEC §6). It is printed, never run:
 * the operator runs it on the server. Both scripts are safe to run twice.
 * @module
 */

const LOOPBACK = "dsr-loopback";
const rule = (vip: string) => `"dsr VIP ${vip}"`;

/** The IPv6 lines of the weak host model: only when a VIP is IPv6. */
function weakHost6(vips: string[]): string[] {
  if (!vips.some((vip) => vip.includes(":"))) return [];
  return [
    "#    IPv6 VIPs: the same on the adapters' IPv6 interfaces (the lines above change every",
    "#    family of an alias; these name IPv6 alone, as netsh must).",
    `Set-NetIPInterface -InterfaceAlias ${LOOPBACK} -AddressFamily IPv6 -WeakHostReceive Enabled -WeakHostSend Enabled`,
    "Set-NetIPInterface -InterfaceAlias $Lan -AddressFamily IPv6 -WeakHostReceive Enabled",
    `#    netsh interface ipv6 set interface "${LOOPBACK}" weakhostreceive=enabled weakhostsend=enabled`,
    '#    netsh interface ipv6 set interface "Ethernet" weakhostreceive=enabled',
  ];
}

/** The script that puts `vips` (either family) on a loopback adapter with the weak host model. */
export function windowsSetupScript(vips: string[]): string {
  return [
    `# dsr real server setup for VIP ${vips.join(", ")} (Direct Server Return), Windows.`,
    "# Run in an elevated PowerShell. Windows keeps all of it across reboots.",
    '$ErrorActionPreference = "Stop"',
    "",
    "# The adapter facing the balancer: set its name as Get-NetAdapter shows it.",
    '$Lan = "Ethernet"',
    "",
    "# 1. The VIPs live on a Microsoft KM-TEST Loopback Adapter: it is on no wire, so",
    "#    Windows never answers ARP for them. Add one once, then run this script:",
    "#    - Device Manager: Action > Add legacy hardware > Network adapters > Microsoft >",
    "#      Microsoft KM-TEST Loopback Adapter; or",
    "#    - devcon (Windows Driver Kit): devcon install $env:windir\\inf\\netloop.inf *msloop",
    "#      (pnputil /add-driver $env:windir\\inf\\netloop.inf /install only stages the driver).",
    `if (-not (Get-NetAdapter -Name ${LOOPBACK} -ErrorAction SilentlyContinue)) {`,
    "  $adapter = Get-NetAdapter |",
    '    Where-Object InterfaceDescription -like "Microsoft KM-TEST Loopback Adapter*" |',
    "    Select-Object -First 1",
    '  if (-not $adapter) { throw "No Microsoft KM-TEST Loopback Adapter: add one first" }',
    `  Rename-NetAdapter -Name $adapter.Name -NewName ${LOOPBACK}`,
    "}",
    "",
    "# 2. Each VIP as /32 (IPv6: /128); SkipAsSource keeps Windows from using it for its own",
    "#    connections.",
    ...vips.flatMap((vip) => [
      `if (-not (Get-NetIPAddress -InterfaceAlias ${LOOPBACK} -IPAddress ${vip} -ErrorAction SilentlyContinue)) {`,
      `  New-NetIPAddress -InterfaceAlias ${LOOPBACK} -IPAddress ${vip} -PrefixLength ${
        vip.includes(":") ? 128 : 32
      } -SkipAsSource $true | Out-Null`,
      "}",
    ]),
    "",
    "# 3. Weak host model: the LAN adapter accepts packets for a VIP it does not hold, and",
    "#    replies sourced from a VIP of the loopback may leave through the LAN adapter.",
    `Set-NetIPInterface -InterfaceAlias ${LOOPBACK} -WeakHostReceive Enabled -WeakHostSend Enabled`,
    "Set-NetIPInterface -InterfaceAlias $Lan -WeakHostReceive Enabled",
    "#    The same with netsh:",
    `#    netsh interface ipv4 set interface "${LOOPBACK}" weakhostreceive=enabled weakhostsend=enabled`,
    '#    netsh interface ipv4 set interface "Ethernet" weakhostreceive=enabled',
    ...weakHost6(vips),
    "",
    "# 4. Let clients reach each VIP through Windows Firewall.",
    ...vips.flatMap((vip) => [
      `if (-not (Get-NetFirewallRule -DisplayName ${rule(vip)} -ErrorAction SilentlyContinue)) {`,
      `  New-NetFirewallRule -DisplayName ${
        rule(vip)
      } -Direction Inbound -LocalAddress ${vip} -Action Allow | Out-Null`,
      "}",
    ]),
    "",
    "# 5. Keep the VIPs out of DNS: clients must find them at the balancer only.",
    `Set-DnsClient -InterfaceAlias ${LOOPBACK} -RegisterThisConnectionsAddress $false`,
    "",
    `Write-Host "real server ready for VIP ${vips.join(", ")}"`,
    "",
  ].join("\n");
}

/** The script that takes `vips` off the loopback adapter and removes their firewall rules. */
export function windowsRemoveScript(vips: string[]): string {
  return [
    `# dsr real server removal for VIP ${vips.join(", ")}, Windows. Run in an elevated PowerShell.`,
    '$ErrorActionPreference = "Stop"',
    ...vips.flatMap((vip) => [
      `Remove-NetFirewallRule -DisplayName ${rule(vip)} -ErrorAction SilentlyContinue`,
      `Remove-NetIPAddress -InterfaceAlias ${LOOPBACK} -IPAddress ${vip} -Confirm:$false -ErrorAction SilentlyContinue`,
    ]),
    "# Once no VIP is left: if the LAN adapter had the strong host model before, put it back",
    '#   Set-NetIPInterface -InterfaceAlias "Ethernet" -WeakHostReceive Disabled',
    "# and remove the loopback adapter in Device Manager if nothing else uses it.",
    `Write-Host "removed VIP ${vips.join(", ")}"`,
    "",
  ].join("\n");
}
