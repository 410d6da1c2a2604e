#!/usr/bin/env bash
# The demo, run inside the guest by scripts/demo.sh: two namespaces joined by
# a veth pair, a WireGuard device in each (created by `ip link add ... type
# wireguard`, which autoloads the module), configured with the stock wg(8);
# then ping and iperf3 through the tunnel, and `wg show` with the handshake
# and the transfer counters. Any step that fails stops the demo with a
# non-zero status and a loud message: nothing here is allowed to pretend.
#
# WG_IMPL=c runs it on the in-tree C driver instead of our module.
set -eEu
. "$(dirname "$0")/lib.sh"  # loaded_is_ours
. "$(dirname "$0")/../hostile/impl.sh"  # WG_IMPL
say() { printf '\n\033[1m### %s\033[0m\n' "$*"; }
step=
run() { step="$*"; printf '$ %s\n' "$*"; "$@"; }
trap 'status=$?; printf "\n\033[1;31m### DEMO FAILED: \"%s\" exited with status %s\033[0m\n" "${step:-$BASH_COMMAND}" "$status"' ERR
# Not part of the show: works around an emulator hazard (see impl.sh).
hold_netstamp_key

say "kernel $(uname -r); wireguard module loaded: $([ -d /sys/module/wireguard ] && echo yes || echo no)"
if [ "$WG_IMPL" = c ]; then
	say "WG_IMPL=c: the in-tree C driver, loaded by path (the reference, not our module)"
	run modprobe udp_tunnel
	run modprobe ip6_udp_tunnel
	run insmod "$WG_C_MODULE"
fi
run ip netns add ns1
run ip netns add ns2
say "a veth pair between the namespaces: the outside of the tunnel (10.0.0.0/24)"
run ip link add veth1 netns ns1 type veth peer name veth2 netns ns2
run ip -n ns1 addr add 10.0.0.1/24 dev veth1
run ip -n ns2 addr add 10.0.0.2/24 dev veth2
run ip -n ns1 link set veth1 up
run ip -n ns2 link set veth2 up
say "ip link add wg0 type wireguard, in each namespace$([ "$WG_IMPL" = rs ] && echo " (autoloads the module)")"
run ip -n ns1 link add wg0 type wireguard
run ip -n ns2 link add wg0 type wireguard
say "the module that was loaded"
if [ "$WG_IMPL" = rs ]; then
	run modprobe --show-depends wireguard
	loaded_is_ours || { echo "the loaded wireguard module is not ours"; false; }
	run modinfo -F description "$WG_RS_MODULE"
else
	run modinfo -F filename "$WG_C_MODULE"
fi
run cat /sys/module/wireguard/version
say "the devices"
run ip -n ns1 -d link show wg0
run ip -n ns2 -d link show wg0
run genl ctrl get name wireguard
say "configured with the stock wg(8): keys, listen ports, each the other's peer"
umask 077
wg genkey >/tmp/k1
wg genkey >/tmp/k2
run ip netns exec ns1 wg set wg0 private-key /tmp/k1 listen-port 51820 \
	peer "$(wg pubkey </tmp/k2)" allowed-ips 192.168.4.2/32,fd00::2/128 endpoint 10.0.0.2:51821
run ip netns exec ns2 wg set wg0 private-key /tmp/k2 listen-port 51821 \
	peer "$(wg pubkey </tmp/k1)" allowed-ips 192.168.4.1/32,fd00::1/128 endpoint 10.0.0.1:51820
say "the inside of the tunnel: 192.168.4.0/24 and fd00::/64"
run ip -n ns1 addr add 192.168.4.1/24 dev wg0
run ip -n ns1 addr add fd00::1/64 dev wg0 nodad
run ip -n ns2 addr add 192.168.4.2/24 dev wg0
run ip -n ns2 addr add fd00::2/64 dev wg0 nodad
run ip -n ns1 link set wg0 up
run ip -n ns2 link set wg0 up
run ip netns exec ns1 wg show
say "before any traffic: no handshake yet, nothing transferred"
run ip netns exec ns1 wg show wg0 latest-handshakes
run ip netns exec ns1 wg show wg0 transfer

say "ping through the tunnel (the first packet triggers the handshake)"
run ip netns exec ns1 ping -c 4 -i 0.3 -w 20 192.168.4.2
run ip netns exec ns2 ping -c 4 -i 0.3 -w 20 fd00::1
say "iperf3 through the tunnel, 5 s each way (under emulation: slow; the point is that it flows)"
timeout 120 ip netns exec ns1 iperf3 -s -1 >/tmp/iperf3-server.log 2>&1 &
server=$!
for i in $(seq 1 50); do
	ip netns exec ns1 ss -ltnH 'sport = :5201' | grep -q . && break
	sleep 0.2
done
run timeout 60 ip netns exec ns2 iperf3 -c 192.168.4.1 -t 5 -f m --connect-timeout 10000
step="the iperf3 server in ns1"
wait $server
timeout 120 ip netns exec ns1 iperf3 -s -1 >/tmp/iperf3-server.log 2>&1 &
server=$!
for i in $(seq 1 50); do
	ip netns exec ns1 ss -ltnH 'sport = :5201' | grep -q . && break
	sleep 0.2
done
run timeout 60 ip netns exec ns2 iperf3 -c 192.168.4.1 -t 5 -f m --connect-timeout 10000 -R
step="the iperf3 server in ns1"
wait $server

say "wg show, after: a latest handshake and the transfer counters, on both sides"
run ip netns exec ns1 wg show
run ip netns exec ns2 wg show
# The demo checks what it shows: a handshake time and bytes both ways.
step="the check of wg show's latest handshake and transfer counters"
for ns in ns1 ns2; do
	hs=$(ip netns exec $ns wg show wg0 latest-handshakes | awk '{ print $2 }')
	read -r _ rx tx < <(ip netns exec $ns wg show wg0 transfer)
	if ! [ "$hs" -gt 0 ] || ! [ "$rx" -gt 0 ] || ! [ "$tx" -gt 0 ]; then
		echo "$ns: latest handshake '$hs', rx '$rx', tx '$tx': the tunnel did not carry traffic"
		false
	fi
	echo "$ns: handshake at $(date -d "@$hs" +%T), received $rx bytes, sent $tx bytes through the tunnel"
done

say "clean-up"
run ip netns del ns1
run ip netns del ns2
sleep 1
run rmmod wireguard
say "demo finished: traffic crossed the tunnel both ways"
