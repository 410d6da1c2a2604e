#!/usr/bin/env bash
# The generic-netlink fuzzer (fuzz.py) against the loaded implementation, in a
# guest: fuzz.sh SECONDS [SEED]. WG_IMPL=c fuzzes the in-tree C driver
# (without the half-applied check, which is our module's rule only).
#
# Before: a tunnel between namespaces ta and tb (ping through it). During:
# two fuzzers, one in namespace fz (target wgf0, up, with traffic towards its
# peers; wgf1 toggled up and down, wgf2 deleted and re-created underneath,
# wgf0 dumped meanwhile: disturb.py) and one in fz2 (its own devices).
# After: the tunnel still carries a ping, every namespace is deleted, and
# the module unloads. Exit status 0 when all of that held; the kernel's
# detectors (KASAN, lockdep, kmemleak, hung tasks) are the runner's.
. "$(dirname "$0")/../vm/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
set -e
secs=${1:?usage: fuzz.sh SECONDS [SEED]}
seed=${2:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
impl=${WG_IMPL:-rs}
echo "fuzz.sh: implementation $impl, seed $seed, $secs s"

if [ "$impl" = c ]; then
	unload 2>/dev/null || true
	modprobe udp_tunnel; modprobe ip6_udp_tunnel
	insmod "$WG_C_MODULE"
	refute loaded_is_ours
	strict=
else
	modprobe wireguard
	loaded_is_ours
	strict=--strict
fi

# The tunnel.
for ns in ta tb fz fz2; do ip netns del $ns 2>/dev/null || true; ip netns add $ns; ip -n $ns link set lo up; done
ip link add va netns ta type veth peer name vb netns tb
ip -n ta addr add 192.168.77.1/24 dev va; ip -n ta link set va up
ip -n tb addr add 192.168.77.2/24 dev vb; ip -n tb link set vb up
ka=$(wg genkey); kb=$(wg genkey)
printf '%s\n' "$ka" >/tmp/fz-ka; printf '%s\n' "$kb" >/tmp/fz-kb
ip -n ta link add wga type wireguard; ip -n tb link add wgb type wireguard
ip netns exec ta wg set wga private-key /tmp/fz-ka listen-port 51820 \
	peer "$(wg pubkey <<<"$kb")" endpoint 192.168.77.2:51820 allowed-ips 10.66.0.2/32
ip netns exec tb wg set wgb private-key /tmp/fz-kb listen-port 51820 \
	peer "$(wg pubkey <<<"$ka")" endpoint 192.168.77.1:51820 allowed-ips 10.66.0.1/32
ip -n ta addr add 10.66.0.1/24 dev wga; ip -n ta link set wga up
ip -n tb addr add 10.66.0.2/24 dev wgb; ip -n tb link set wgb up
ip netns exec ta ping -c 3 -i 0.5 -W 10 10.66.0.2
echo "tunnel up"

# The fuzzed devices.
ip -n fz link add wgf0 type wireguard
ip -n fz link add wgf1 type wireguard
ip -n fz link add wgf2 type wireguard
ip -n fz addr add 10.77.255.1/16 dev wgf0; ip -n fz link set wgf0 up
ip -n fz2 link add wgb0 type wireguard
ip -n fz2 link add wgb1 type wireguard
ip -n fz2 link set wgb1 up

# What runs beside the fuzzers: traffic towards wgf0's peers (their
# endpoints do not answer: handshake initiations, staged packets), and one
# process (disturb.py: no exec per action, which costs about 0.5 s of CPU
# each under emulation) that brings wgf1 up and down, deletes and
# re-creates wgf2, and dumps wgf0 as `wg show` does, twice a second.
bg=()
ip netns exec fz ping -q -i 0.3 -W 1 10.77.1.1 >/dev/null 2>&1 & bg+=($!)
ip netns exec fz python3 "$here/disturb.py" "$((secs + 120))" --toggle wgf1 --recreate wgf2 --dump wgf0 \
	>/tmp/fz-disturb.log 2>&1 & bg+=($!)

status=0
echo "fuzzers start: $(date +%T)"
ip netns exec fz python3 "$here/fuzz.py" "$secs" "$seed" wgf0 --others wgf1,wgf2 $strict >/tmp/fz-a.log 2>&1 & a=$!
ip netns exec fz2 python3 "$here/fuzz.py" "$secs" "$((seed + 1))" wgb0 --others wgb1 $strict >/tmp/fz-b.log 2>&1 & b=$!
wait $a || status=1
wait $b || status=1
echo "fuzzers end: $(date +%T)"
for p in "${bg[@]}"; do kill "$p" 2>/dev/null || true; done
for p in "${bg[@]}"; do wait "$p" 2>/dev/null || true; done
echo "== fuzzer in fz (seed $seed)"; cat /tmp/fz-a.log
echo "== fuzzer in fz2 (seed $((seed + 1)))"; cat /tmp/fz-b.log
echo "== beside them"; cat /tmp/fz-disturb.log
if [ "$status" != 0 ]; then
	echo "a fuzzer failed (seeds $seed, $((seed + 1))); tasks:"
	ps -eo pid,stat,wchan:32,etime,args | grep -v ' \[' | tail -n 40
	grep -i 'wireguard\|genl' /proc/net/netlink 2>/dev/null || cat /proc/net/netlink | head -n 30
	exit 1
fi

# The tunnel, untouched by all of that, still works.
ip netns exec ta ping -c 3 -i 0.5 -W 10 10.66.0.2 || { echo "the tunnel no longer carries a ping"; exit 1; }
ip netns exec tb wg show wgb
echo "tunnel still up"

# Everything goes away, and the module unloads.
for ns in ta tb fz fz2; do ip netns del $ns; done
# Namespaces are dismantled in a work item: give it time under emulation.
for i in $(seq 30); do [ "$(count_devs)" = 0 ] && break; sleep 1; done
[ "$(count_devs)" = 0 ] || { echo "devices left: $(wg_devs)"; exit 1; }
rmmod wireguard
refute test -d /sys/module/wireguard
echo "fuzz.sh: seed $seed: ok"
