#!/usr/bin/env bash
# The demo, run inside the guest by scripts/demo.sh: two namespaces, a
# WireGuard device in each, created by `ip link add ... type wireguard` with
# the module autoloaded.
set -eu
say() { printf '\n\033[1m### %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "kernel $(uname -r); wireguard module loaded: $([ -d /sys/module/wireguard ] && echo yes || echo no)"
run ip netns add ns1
run ip netns add ns2
say "ip link add wg0 type wireguard, in each namespace (autoloads the module)"
run ip -n ns1 link add wg0 type wireguard
run ip -n ns2 link add wg0 type wireguard
say "the module that was loaded"
run modprobe --show-depends wireguard
run cat /sys/module/wireguard/version
run modinfo -F description "$WG_RS_MODULE"
say "the devices"
run ip -n ns1 -d link show wg0
run ip -n ns2 -d link show wg0
run genl ctrl get name wireguard
say "configured with the stock wg(8): keys, listen ports, each the other's peer"
umask 077
wg genkey >/tmp/k1; wg genkey >/tmp/k2
run ip netns exec ns1 wg set wg0 private-key /tmp/k1 listen-port 51820 \
	peer "$(wg pubkey </tmp/k2)" allowed-ips 10.0.0.2/32,fd00::2/128 endpoint 127.0.0.1:51821
run ip netns exec ns2 wg set wg0 private-key /tmp/k2 listen-port 51821 \
	peer "$(wg pubkey </tmp/k1)" allowed-ips 10.0.0.1/32,fd00::1/128 endpoint 127.0.0.1:51820 persistent-keepalive 25
run ip -n ns1 link set wg0 up
run ip -n ns2 link set wg0 up
run ip netns exec ns1 wg show
run ip netns exec ns2 wg showconf wg0
say "(no data plane yet: no packets cross the tunnel in this version)"

say "clean-up"
run ip netns del ns1
run ip netns del ns2
run modprobe -r wireguard
