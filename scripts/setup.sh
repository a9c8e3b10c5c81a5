#!/usr/bin/env bash
# Installs what dsr, its lab and its tests need on Debian 12 with Node and
# npm: libpcap, iproute2, keepalived, bird2 and friends from Debian, Deno 2.9.6 from npm, and
# the npm packages pinned in deno.lock. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
# keepalived, bird2, nginx and openssh-server ship services: keep apt from starting them in the
# host's namespace (tests run their own copies inside namespaces; nginx and
# dnsmasq serve the https and dns health-check tests).
if [ ! -x /usr/sbin/policy-rc.d ] || ! grep -q 'exit 101' /usr/sbin/policy-rc.d; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
fi
need=()
for p in libpcap0.8 libpcap-dev gcc iproute2 ethtool tcpdump curl procps util-linux netsniff-ng iputils-ping tmux keepalived bird2 nginx dnsmasq-base openssl openssh-server openssh-client systemd; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! deno --version 2>/dev/null | grep -q '^deno 2\.9\.6 '; then
  npm install -g deno@2.9.6 >/dev/null 2>&1
fi
deno install --frozen >/dev/null
echo "setup: $(deno --version | head -1), libpcap and lab tools ready"
