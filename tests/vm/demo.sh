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
say "clean-up"
run ip netns del ns1
run ip netns del ns2
run modprobe -r wireguard
