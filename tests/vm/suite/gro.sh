#!/usr/bin/env bash
# vm-timeout: 1500
# vm-usual: 441 (seconds on this machine kind, debug kernel, 2026-12-05, another VM sharing the cores for part of it: for the progress lines)
# UDP GRO of the outer datagrams on receive (issue 14): the encapsulation
# sockets' `gro_receive` (src/kapi/gro.rs) coalesces the data messages of one
# session that one NAPI poll of the outer device receives into one packet
# (the kernel's fraglist layout), which the stack splits again before the
# socket. Two namespaces joined by veth, the receiver's with GRO on (veth
# has it off by default), a WireGuard device in each. A packet socket on the
# receiving veth (tests/gro/grotool.py watch) sees packets after GRO: one
# longer than the link's MTU is coalesced datagrams.
#
#   udp_bursts: 150 bursts of 32 datagrams of 64 bytes through the tunnel,
#     20 ms apart, each burst one UDP GSO send (so the device seals them
#     together) and the sender's veth without UDP GSO (so they leave it as
#     single datagrams, back to back), IPv4 and IPv6 outer: every datagram
#     arrives, once, in the order sent. Ours: some outer packets were
#     coalesced (the C driver's sockets have no GRO: none).
#   tcp_singles: 2 MiB of random bytes over TCP through the tunnel, with the
#     sender's veth unable to take UDP GSO packets (tx-udp-segmentation off:
#     its super-packets leave as single datagrams), IPv4 and IPv6 outer: what
#     arrived is what was sent (SHA-256), no UDP checksum error in the
#     receiver, its device counted within 5 of the packets the sender's
#     counted. Ours: some outer packets were coalesced.
#   tcp_whole: the same with the sender's UDP GSO packets passing the veth
#     whole: they reach GRO as GSO packets, which ours leaves alone (the
#     stack splits them before the socket, as without GRO).
#   forged_bursts: a WireGuard peer in userspace (wgpeer.py bursts, behind
#     the sender's veth without UDP GSO) sends 50 bursts of 32 data messages
#     of one length (80 bytes: 32 coalesced are longer than the MTU), each
#     burst one UDP GSO send; in each, two are forged (a counter far ahead,
#     a tag that does not authenticate) and two replay the message before
#     them. Every genuine message's packet arrives, once, in order: a burst
#     that arrives coalesced (ours hands it over as one, src/receive.rs)
#     gives each packet its own fate. Ours: some outer packets were
#     coalesced.
#   forwarded: the tunnel's datagrams cross a router namespace that has a
#     WireGuard device of its own listening on the same port as the
#     receiver's (its wildcard socket matches the forwarded datagrams in GRO,
#     so ours coalesces them there), GRO on the router's ingress veth and
#     UDP GSO off on the sender's: TCP (2 MiB, SHA-256) and the UDP bursts
#     (every datagram, once, in order) through it, with the router's egress
#     veth taking the coalesced packet whole (the receiver's stack splits it)
#     and with its UDP GSO off (the router's stack splits it in software,
#     `__udp_gso_segment_list`). Ours: the router's ingress saw coalesced
#     packets.
# Each outer family's phase sets both ends' endpoints and pings first, and
# checks both after (until 2026-12-06 only the sender's was set, and the
# receiver's keepalive, owed over the family before, could move it back:
# a stored run's "IPv6" phase of tcp_singles went over IPv4).
#
# WG_IMPL=c tests the in-tree C driver instead (see tests/hostile/impl.sh):
# the same checks but the coalescing, which must then be absent.
. "$(dirname "$0")/../lib.sh"
top=$(cd "$(dirname "$0")/../../.." && pwd)
. "$top/tests/hostile/impl.sh"
PEER=(env PYTHONPYCACHEPREFIX=/tmp/pycache python3 -S "$top/tests/sendpath/wgpeer.py")
GT=(env PYTHONPYCACHEPREFIX=/tmp/pycache python3 -S "$top/tests/gro/grotool.py")
W=/tmp/gro
mkdir -p "$W"
umask 077
hold_netstamp_key

TCP_BYTES=2097152

# A WireGuard device $2 in namespace $1 listening on port $3, with address
# $4 (IPv4, /24) and $5 (IPv6, /64) inside, and its key in $W/$2.key.
wg_dev() {
	wg genkey >"$W/$2.key"
	ip -n "$1" link add "$2" type wireguard
	ip netns exec "$1" wg set "$2" private-key "$W/$2.key" listen-port "$3"
	ip -n "$1" addr add "$4/24" dev "$2"
	ip -n "$1" addr add "$5/64" dev "$2" nodad
	ip -n "$1" link set "$2" up
}

# Makes device $2 (namespace $1) a peer of device $4 (namespace $3) with
# endpoint $5 and allowed IPs $6.
wg_peer() {
	ip netns exec "$1" wg set "$2" peer "$(wg pubkey <"$W/$4.key")" endpoint "$5" allowed-ips "$6"
}

# gr-1 and gr-2 joined by veth (v1, v2: 10.79.0.0/24, fd79::/64), devices
# w1 (port 51861, 10.68.0.1) and w2 (51862, 10.68.0.2), GRO on at v2.
pair_up() {
	ip netns add gr-1
	ip netns add gr-2
	ip link add v1 netns gr-1 type veth peer name v2 netns gr-2
	ip -n gr-1 addr add 10.79.0.1/24 dev v1
	ip -n gr-1 addr add fd79::1/64 dev v1 nodad
	ip -n gr-2 addr add 10.79.0.2/24 dev v2
	ip -n gr-2 addr add fd79::2/64 dev v2 nodad
	ip -n gr-1 link set v1 up
	ip -n gr-2 link set v2 up
	# GRO on at the receiver; TSO off at the sender, else veth hands the
	# receiver packets not of its own sockets' TCP without its NAPI, so
	# without GRO (veth_skb_is_eligible_for_gro).
	ip netns exec gr-2 ethtool -K v2 gro on >/dev/null
	ip netns exec gr-1 ethtool -K v1 tso off >/dev/null
	wg_dev gr-1 w1 51861 10.68.0.1 fd68::1
	wg_dev gr-2 w2 51862 10.68.0.2 fd68::2
	wg_peer gr-1 w1 gr-2 w2 10.79.0.2:51862 10.68.0.2/32,fd68::2/128
	wg_peer gr-2 w2 gr-1 w1 10.79.0.1:51861 10.68.0.1/32,fd68::1/128
	ip netns exec gr-1 sysctl -qw net.ipv4.tcp_tso_rtt_log=20
	ip netns exec gr-1 ping -q -c 1 -w 20 10.68.0.2 >/dev/null
}

# The pair's ends at each other over IPv$1 (w1 to v2's address, w2 to
# v1's), then a ping: what either owed the other over the family before
# (a keepalive 10 s after data) is settled, and the answer came over this
# one. Sets ep and ep1 (w1's and w2's endpoints), for family_kept.
family_ends() {
	if [ "$1" = 4 ]; then ep=10.79.0.2:51862 ep1=10.79.0.1:51861; else ep=[fd79::2]:51862 ep1=[fd79::1]:51861; fi
	wg_peer gr-2 w2 gr-1 w1 "$ep1" 10.68.0.1/32,fd68::1/128
	wg_peer gr-1 w1 gr-2 w2 "$ep" 10.68.0.2/32,fd68::2/128
	ip netns exec gr-1 ping -q -c 1 -w 20 10.68.0.2 >/dev/null
}

# Fails (label $1) unless both ends are still where family_ends put them.
family_kept() {
	local status=0
	endpoint_is "$1" gr-1 w1 "$ep" || status=1
	endpoint_is "$1" gr-2 w2 "$ep1" || status=1
	return "$status"
}

pair_down() {
	ip netns del gr-1
	ip netns del gr-2
}

# Starts reading what device $2 of namespace $1 receives from or to port $3.
watch_start() {
	rm -f "$W/watch-ready" "$W/watch-stop"
	ip netns exec "$1" "${GT[@]}" watch --ifname "$2" --port "$3" --stop "$W/watch-stop" \
		--ready "$W/watch-ready" >"$W/watch" 2>&1 &
	watch_pid=$!
	for _ in $(seq 1 100); do [ -e "$W/watch-ready" ] && break; sleep 0.1; done
	[ -e "$W/watch-ready" ] || { echo "FAIL: the packet reader did not start: $(cat "$W/watch")"; return 1; }
}

# Stops it; checks the coalesced count: some for ours, none for the C
# driver. LABEL $1.
watch_check() {
	local coalesced
	touch "$W/watch-stop"
	wait "$watch_pid" || { echo "FAIL: $1: the packet reader failed: $(cat "$W/watch")"; return 1; }
	echo "$1: outer packets received: $(cat "$W/watch")"
	coalesced=$(sed -n 's/.*coalesced=\([0-9]*\).*/\1/p' "$W/watch")
	if [ -z "$coalesced" ]; then
		echo "FAIL: $1: no count from the packet reader"
		return 1
	fi
	if [ "$WG_IMPL" = c ] && [ "$coalesced" -ne 0 ]; then
		echo "FAIL: $1: the C driver's socket got coalesced packets"
		return 1
	fi
	if [ "$WG_IMPL" != c ] && [ "$coalesced" -eq 0 ]; then
		echo "FAIL: $1: no outer packet was coalesced"
		return 1
	fi
}

# The UDP bursts from namespace $1 to $3 in namespace $2 (port 5301).
udp_bursts() {
	local label=$1 from=$2 to=$3 dst=$4 sink status=0 out
	rm -f "$W/sink-ready"
	ip netns exec "$to" "${GT[@]}" udpsink --bind "$dst" --port 5301 --count 4800 \
		--ready "$W/sink-ready" --timeout 20 >"$W/usink" 2>&1 &
	sink=$!
	for _ in $(seq 1 100); do [ -e "$W/sink-ready" ] && break; sleep 0.1; done
	out=$(ip netns exec "$from" "${GT[@]}" udpburst --dst "$dst" --port 5301 --bursts 150 \
		--burst 32 --size 64 --gap 0.02) || { echo "FAIL: $label: the sender failed: $out"; status=1; }
	wait "$sink" || { echo "FAIL: $label: not every datagram arrived once and in order"; status=1; }
	echo "$label: $out; received $(cat "$W/usink")"
	return "$status"
}

# tcp_transfer (tests/vm/lib.sh), and no UDP checksum error in the
# receiving namespace ($3) meanwhile.
tcp_checked() {
	local label=$1 to=$3 c0 c1 status=0
	c0=$(csum_errors "$to")
	tcp_transfer "$@" || status=1
	c1=$(csum_errors "$to")
	if [ "$c0" != "$c1" ]; then
		echo "FAIL: $label: UDP checksum errors in $to went from $c0 to $c1"
		status=1
	fi
	return "$status"
}

t_udp_bursts() {
	local fam ep ep1 status=0
	pair_up
	ip netns exec gr-1 ethtool -K v1 tx-udp-segmentation off >/dev/null
	for fam in 4 6; do
		family_ends "$fam"
		watch_start gr-2 v2 51862 || status=1
		udp_bursts "IPv$fam outer" gr-1 gr-2 10.68.0.2 || status=1
		watch_check "IPv$fam outer" || status=1
		family_kept "IPv$fam outer" || status=1
	done
	pair_down
	return "$status"
}

t_forged_bursts() {
	local out sink status=0
	pair_up
	ip netns exec gr-1 ethtool -K v1 tx-udp-segmentation off >/dev/null
	wg genkey >"$W/up.key"
	ip netns exec gr-2 wg set w2 peer "$(wg pubkey <"$W/up.key")" allowed-ips 10.68.0.9/32
	watch_start gr-2 v2 51862 || status=1
	rm -f "$W/sink-ready"
	# 28 genuine messages in each of the 50 bursts.
	ip netns exec gr-2 "${GT[@]}" udpsink --bind 10.68.0.2 --port 5301 --count 1400 \
		--ready "$W/sink-ready" --timeout 30 >"$W/usink" 2>&1 &
	sink=$!
	for _ in $(seq 1 100); do [ -e "$W/sink-ready" ] && break; sleep 0.1; done
	out=$(ip netns exec gr-1 "${PEER[@]}" bursts --target 10.79.0.2 --port 51862 \
		--pub "$(wg pubkey <"$W/w2.key")" --static-priv "$W/up.key" --bind 10.79.0.1 \
		--lport 51870 --src 10.68.0.9 --dst 10.68.0.2 --dport 5301 --bursts 50 --burst 32 \
		--gap 0.02) || { echo "FAIL: the peer failed: $out"; status=1; }
	wait "$sink" || { echo "FAIL: not every genuine message's packet arrived once and in order"; status=1; }
	echo "$out; received $(cat "$W/usink")"
	watch_check "forged bursts" || status=1
	pair_down
	return "$status"
}

# TCP through the pair, the sender's veth with UDP GSO ($1: on or off).
tcp_pair() {
	local gso=$1 fam ep ep1 t0 t1 r0 r1 sent got status=0
	pair_up
	ip netns exec gr-1 ethtool -K v1 tx-udp-segmentation "$gso" >/dev/null
	for fam in 4 6; do
		family_ends "$fam"
		t0=$(dev_stat gr-1 w1 tx_packets)
		r0=$(dev_stat gr-2 w2 rx_packets)
		[ "$gso" = on ] || watch_start gr-2 v2 51862 || status=1
		tcp_checked "UDP GSO $gso, IPv$fam outer" gr-1 gr-2 10.68.0.2 v1 || status=1
		sleep 1
		[ "$gso" = on ] || watch_check "UDP GSO $gso, IPv$fam outer" || status=1
		t1=$(dev_stat gr-1 w1 tx_packets)
		r1=$(dev_stat gr-2 w2 rx_packets)
		sent=$((t1 - t0)) got=$((r1 - r0))
		echo "UDP GSO $gso, IPv$fam outer: w1 tx_packets +$sent, w2 rx_packets +$got"
		family_kept "UDP GSO $gso, IPv$fam outer" || status=1
		if [ $((sent - got)) -gt 5 ] || [ $((got - sent)) -gt 5 ] || [ "$sent" -lt $((TCP_BYTES / 1500)) ]; then
			echo "FAIL: UDP GSO $gso, IPv$fam outer: w1 counted $sent packets sent, w2 $got received"
			status=1
		fi
	done
	pair_down
	return "$status"
}

t_tcp_singles() { tcp_pair off; }
t_tcp_whole() { tcp_pair on; }

# gr-a -- gr-r -- gr-b: the tunnel between wa (gr-a, port 51861) and wb
# (gr-b, port 51862) crosses gr-r, which forwards and has a device of its
# own, wr, listening on 51862. GRO on gr-r's ingress veth, UDP GSO off on
# gr-a's.
t_forwarded() {
	local mode fam ep ep1 status=0
	ip netns add gr-a
	ip netns add gr-r
	ip netns add gr-b
	ip link add ga0 netns gr-a type veth peer name gr0 netns gr-r
	ip link add gb0 netns gr-b type veth peer name gr1 netns gr-r
	ip -n gr-a addr add 10.81.1.1/24 dev ga0
	ip -n gr-a addr add fd81:1::1/64 dev ga0 nodad
	ip -n gr-r addr add 10.81.1.2/24 dev gr0
	ip -n gr-r addr add fd81:1::2/64 dev gr0 nodad
	ip -n gr-r addr add 10.81.2.2/24 dev gr1
	ip -n gr-r addr add fd81:2::2/64 dev gr1 nodad
	ip -n gr-b addr add 10.81.2.1/24 dev gb0
	ip -n gr-b addr add fd81:2::1/64 dev gb0 nodad
	for l in "gr-a ga0" "gr-r gr0" "gr-r gr1" "gr-b gb0"; do
		set -- $l
		ip -n "$1" link set "$2" up
	done
	ip -n gr-a route add default via 10.81.1.2
	ip -n gr-a route add default via fd81:1::2
	ip -n gr-b route add default via 10.81.2.2
	ip -n gr-b route add default via fd81:2::2
	ip netns exec gr-r sysctl -qw net.ipv4.ip_forward=1
	ip netns exec gr-r sysctl -qw net.ipv6.conf.all.forwarding=1
	ip netns exec gr-r ethtool -K gr0 gro on >/dev/null
	ip netns exec gr-a ethtool -K ga0 tso off tx-udp-segmentation off >/dev/null
	wg_dev gr-a wa 51861 10.69.0.1 fd69::1
	wg_dev gr-b wb 51862 10.69.0.2 fd69::2
	wg_dev gr-r wr 51862 10.70.0.1 fd70::1
	wg_peer gr-b wb gr-a wa 10.81.1.1:51861 10.69.0.1/32,fd69::1/128
	ip netns exec gr-a sysctl -qw net.ipv4.tcp_tso_rtt_log=20
	for mode in whole software; do
		[ $mode = whole ] || ip netns exec gr-r ethtool -K gr1 tx-udp-segmentation off >/dev/null
		for fam in 4 6; do
			if [ $fam = 4 ]; then ep=10.81.2.1:51862 ep1=10.81.1.1:51861; else ep=[fd81:2::1]:51862 ep1=[fd81:1::1]:51861; fi
			wg_peer gr-b wb gr-a wa "$ep1" 10.69.0.1/32,fd69::1/128
			wg_peer gr-a wa gr-b wb "$ep" 10.69.0.2/32,fd69::2/128
			ip netns exec gr-a ping -q -c 1 -w 20 10.69.0.2 >/dev/null
			watch_start gr-r gr0 51862 || status=1
			tcp_checked "forwarded, $mode, IPv$fam outer" gr-a gr-b 10.69.0.2 ga0 || status=1
			udp_bursts "forwarded, $mode, IPv$fam outer" gr-a gr-b 10.69.0.2 || status=1
			watch_check "forwarded, $mode, IPv$fam outer" || status=1
			endpoint_is "forwarded, $mode, IPv$fam outer" gr-a wa "$ep" || status=1
			endpoint_is "forwarded, $mode, IPv$fam outer" gr-b wb "$ep1" || status=1
		done
	done
	ip netns del gr-a
	ip netns del gr-r
	ip netns del gr-b
	return "$status"
}

# Arguments: the checks to run (all by default), e.g. `udp_bursts`.
only=" $* "
check load impl_load
want udp_bursts && check udp_bursts t_udp_bursts
want forged_bursts && check forged_bursts t_forged_bursts
want tcp_singles && check tcp_singles t_tcp_singles
want tcp_whole && check tcp_whole t_tcp_whole
want forwarded && check forwarded t_forwarded
check unload impl_unload
finish
