#!/usr/bin/env bash
# The soak, inside the guest: SECONDS_OF_TRAFFIC as argument (default
# $SOAK_SECONDS, else 60). tests/vm/suite/netlink_ours.sh runs it for 30 s
# in `make check` (in its boot, after the netlink checks; its own suite,
# 60 s, until 2026-12-04); `make soak` for 600 s; both on the debug kernel.
#
# wg0 (ns1) and wg1 (ns2) over a veth pair. For the whole duration, iperf3 TCP
# in both directions through the tunnel (ns2 -> ns1 and ns1 -> ns2 at once),
# while a loop reconfigures everything around it with wg(8) and ip(8):
#   - extra peers on wg0 and wg1 added and removed (random keys, allowed IPs,
#     endpoints that answer with ICMP port unreachable, some with persistent
#     keepalive, so their handshake timers run when they are removed);
#   - the real peer: preshared key changed (on both sides, back to back),
#     persistent keepalive changed, allowed IPs replaced by lists that keep
#     the tunnel's own address and add or drop other prefixes, endpoint set;
#   - wg0's listen port moved back and forth under traffic (wg1 follows it by
#     roaming: wg0 keeps sending to it);
#   - a throwaway device wg9: private key replaced, listen port changed, whole
#     configurations set with setconf, up and down, deleted and re-created;
#   - `wg show all dump` in both namespaces throughout.
# Then the traffic stops, the devices and namespaces are deleted, the module
# is unloaded (rmmod must succeed) and, after kmemleak's minimum object age,
# a kmemleak scan must report nothing (guest.sh scans again, and the VM runner
# fails the run on any kernel splat or leak).
# Passes if both iperf3 runs completed without error and carried data, the
# peers' transfer counters show the traffic, every reconfiguration command
# succeeded, and the module unloaded leak-free.
#
# WG_IMPL=c tests the in-tree C driver instead of our module.
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/hostile/impl.sh"
duration=${1:-${SOAK_SECONDS:-60}}
rate=1M  # per direction (see t_traffic_under_churn)
W=/tmp/soak
rm -rf "$W"
mkdir -p "$W"
umask 077
echo "soak: $duration s of traffic, WG_IMPL=$WG_IMPL" | tee "$RESULTS/soak-summary.txt"
hold_netstamp_key

n1() { ip netns exec ns1 "$@"; }
n2() { ip netns exec ns2 "$@"; }
# For the reconfiguration loop: only the network namespace, no remounted
# /sys (cheaper per command: every exec counts under emulation).
e1() { nsenter --net=/run/netns/ns1 "$@"; }
e2() { nsenter --net=/run/netns/ns2 "$@"; }

# Random 32-byte values (private, public and preshared keys alike), made in
# one process: a wg genkey per key would cost a good fraction of a second each
# under emulation.
python3 -c 'import base64, os
for _ in range(512): print(base64.b64encode(os.urandom(32)).decode())' >"$W/pool"
wg genkey >"$W/k0"
wg genkey >"$W/k1"
P0=$(wg pubkey <"$W/k0") P1=$(wg pubkey <"$W/k1")
BASE0=192.168.241.2/32,fd00::2/128  # wg0's allowed IPs for wg1: the tunnel's own
BASE1=192.168.241.1/32,fd00::1/128

t_setup() {
	ip netns add ns1
	ip netns add ns2
	ip -n ns1 link set lo up
	ip -n ns2 link set lo up
	ip link add veth1 netns ns1 type veth peer name veth2 netns ns2
	ip -n ns1 addr add 10.10.0.1/24 dev veth1
	ip -n ns2 addr add 10.10.0.2/24 dev veth2
	ip -n ns1 link set veth1 up
	ip -n ns2 link set veth2 up
	ip -n ns1 link add wg0 type wireguard
	ip -n ns2 link add wg1 type wireguard
	ip -n ns1 link add wg9 type wireguard
	n1 wg set wg0 private-key "$W/k0" listen-port 51820 peer "$P1" allowed-ips "$BASE0" endpoint 10.10.0.2:51821
	n2 wg set wg1 private-key "$W/k1" listen-port 51821 peer "$P0" allowed-ips "$BASE1" endpoint 10.10.0.1:51820
	ip -n ns1 addr add 192.168.241.1/24 dev wg0
	ip -n ns1 addr add fd00::1/64 dev wg0 nodad
	ip -n ns2 addr add 192.168.241.2/24 dev wg1
	ip -n ns2 addr add fd00::2/64 dev wg1 nodad
	ip -n ns1 link set wg0 up
	ip -n ns2 link set wg1 up
	n2 ping -q -c 3 -i 0.2 -w 30 192.168.241.1
	n1 ping -q -c 3 -i 0.2 -w 30 fd00::2
}

# The reconfiguration loop, until $W/stop exists. Every command must succeed;
# failures are counted and logged, with the command, into $W/churn.log.
churn() {
	local pool i=0 ops=0 fails=0 extra0=() extra1=() k port a b
	mapfile -t pool <"$W/pool"
	key() { printf '%s\n' "${pool[RANDOM % ${#pool[@]}]}"; }
	do_() {
		ops=$((ops + 1))
		if ! "$@" >>"$W/churn.log" 2>&1; then
			fails=$((fails + 1))
			echo "FAILED: $*" >>"$W/churn.log"
		fi
	}
	# Adds 3 extra peers to DEV in NS, removes the oldest beyond 12.
	extra_peers() { # NS DEV ARRAY-NAME
		local ns=$1 dev=$2 args=() j
		local -n list=$3
		for j in 1 2 3; do
			k=$(key)
			list+=("$k")
			args+=(peer "$k" allowed-ips "10.202.$((RANDOM % 256)).$((RANDOM % 256))/32,fd99::$(printf %x $RANDOM)/128"
				endpoint "10.10.0.$((RANDOM % 2 + 1)):$((60000 + RANDOM % 1000))" persistent-keepalive $((RANDOM % 3)))
		done
		while [ "${#list[@]}" -gt 12 ]; do
			args+=(peer "${list[0]}" remove)
			list=("${list[@]:1}")
		done
		do_ nsenter --net="/run/netns/$ns" wg set "$dev" "${args[@]}"
	}
	while [ ! -e "$W/stop" ]; do
		i=$((i + 1))
		case $((i % 7)) in
		0) extra_peers ns1 wg0 extra0 ;;
		1) extra_peers ns2 wg1 extra1 ;;
		2) # wg9: a new private key and port; sometimes a whole new configuration
			key >"$W/k9"
			do_ e1 wg set wg9 private-key "$W/k9" listen-port $((40000 + RANDOM % 1000))
			if [ $((i % 3)) = 0 ]; then
				{
					printf '[Interface]\nPrivateKey = %s\nListenPort = %d\n' "$(key)" $((41000 + RANDOM % 1000))
					for a in 1 2 3 4; do
						printf '[Peer]\nPublicKey = %s\nPresharedKey = %s\nAllowedIPs = 10.209.%d.0/24\nEndpoint = 10.10.0.2:%d\nPersistentKeepalive = %d\n' \
							"$(key)" "$(key)" $((RANDOM % 256)) $((62000 + RANDOM % 100)) $((RANDOM % 2))
					done
				} >"$W/wg9.conf"
				do_ e1 wg setconf wg9 "$W/wg9.conf"
			fi
			;;
		3) # the real peer's preshared key, on both sides back to back
			key >"$W/psk"
			do_ e2 wg set wg1 peer "$P0" preshared-key "$W/psk"
			do_ e1 wg set wg0 peer "$P1" preshared-key "$W/psk"
			;;
		4) # the real peer's allowed IPs: the tunnel's own, plus or minus others
			a=$((RANDOM % 256)) b=$(printf %x $RANDOM)
			if [ $((i % 2)) = 0 ]; then
				do_ e1 wg set wg0 peer "$P1" allowed-ips "$BASE0,10.201.$a.0/24,fd98::$b/128" endpoint 10.10.0.2:51821
				do_ e2 wg set wg1 peer "$P0" allowed-ips "10.203.$a.0/24,$BASE1"
			else
				do_ e1 wg set wg0 peer "$P1" allowed-ips "$BASE0"
				do_ e2 wg set wg1 peer "$P0" allowed-ips "$BASE1"
			fi
			;;
		5) # persistent keepalive of the real peer; wg9 down, up, or re-created
			do_ e1 wg set wg0 peer "$P1" persistent-keepalive $((RANDOM % 3 * 5))
			do_ e2 wg set wg1 peer "$P0" persistent-keepalive $((RANDOM % 2 * 25))
			case $((i % 3)) in
			0) do_ ip -n ns1 link set wg9 up ;;
			1) do_ ip -n ns1 link set wg9 down ;;
			2) do_ ip -n ns1 link del wg9 && do_ ip -n ns1 link add wg9 type wireguard ;;
			esac
			;;
		6) # wg0's listen port, under traffic; every reader's view
			if [ $((i % 2)) = 0 ]; then port=51830; else port=51820; fi
			do_ e1 wg set wg0 listen-port "$port"
			do_ e1 wg show all dump
			do_ e2 wg show all dump
			;;
		esac
	done
	echo "$i $ops $fails" >"$W/churn.status"
}

# Both directions at once for the duration; then the results.
t_traffic_under_churn() {
	local up down s_up=0 s_down=0 s_srv1=0 s_srv2=0 i
	n1 nice -n 10 iperf3 -s -1 -p 5201 >"$W/server1.log" 2>&1 &
	local srv1=$!
	n2 nice -n 10 iperf3 -s -1 -p 5202 >"$W/server2.log" 2>&1 &
	local srv2=$!
	for i in $(seq 1 50); do
		n1 ss -ltnH 'sport = :5201' | grep -q . && n2 ss -ltnH 'sport = :5202' | grep -q . && break
		sleep 0.2
	done
	rm -f "$W/stop"
	churn &
	local churner=$!
	# ns2 -> ns1 (wg1 sends data), and ns1 -> ns2 (wg0 sends data), each
	# capped at $rate and niced: under emulation, two unbounded streams take
	# every cycle (mostly in the kernel, which nice does not reach) and starve
	# the reconfiguration loop, which is the other half of the test.
	timeout $((duration + 180)) ip netns exec ns2 nice -n 10 iperf3 -c 192.168.241.1 -p 5201 -t "$duration" -b "$rate" -J >"$W/up.json" 2>"$W/up.err" &
	up=$!
	timeout $((duration + 180)) ip netns exec ns1 nice -n 10 iperf3 -c 192.168.241.2 -p 5202 -t "$duration" -b "$rate" -J >"$W/down.json" 2>"$W/down.err" &
	down=$!
	wait "$up" || s_up=$?
	wait "$down" || s_down=$?
	touch "$W/stop"
	wait "$churner" || true
	wait "$srv1" || s_srv1=$?
	wait "$srv2" || s_srv2=$?
	cp "$W/up.json" "$W/down.json" "$W/churn.log" "$RESULTS/" 2>/dev/null || true
	echo "iperf3 exit statuses: ns2->ns1 $s_up, ns1->ns2 $s_down; servers $s_srv1 $s_srv2"
	local bytes dir got_up got_down
	for dir in up down; do
		bytes=$(python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
if "error" in j:
    sys.exit("iperf3 error: " + j["error"])
e = j["end"]
print(e["sum_sent"]["bytes"], e["sum_received"]["bytes"], "%.2f" % (e["sum_received"]["bits_per_second"] / 1e6))' "$W/$dir.json") ||
			{ echo "$dir: no result"; cat "$W/$dir.err"; return 1; }
		set -- $bytes
		echo "iperf3 $dir: sent $1 bytes, received $2 bytes, $3 Mbit/s" | tee -a "$RESULTS/soak-summary.txt"
		[ "$1" -gt 0 ] && [ "$2" -gt 0 ] || { echo "$dir: no data went through"; return 1; }
		eval "got_$dir=$2"
	done
	[ "$s_up" = 0 ] && [ "$s_down" = 0 ] && [ "$s_srv1" = 0 ] && [ "$s_srv2" = 0 ]
	read -r iters ops fails <"$W/churn.status"
	echo "reconfiguration: $iters rounds, $ops commands, $fails failed" | tee -a "$RESULTS/soak-summary.txt"
	[ "$fails" = 0 ] || { grep -A3 FAILED "$W/churn.log" | head -n 40; return 1; }
	[ "$ops" -gt 0 ]
	# The peers' counters saw it too: what a device received from its peer
	# (whole messages) is at least the TCP payload its iperf3 server got.
	n1 wg show all dump >"$RESULTS/soak-ns1-dump.txt"
	n2 wg show all dump >"$RESULTS/soak-ns2-dump.txt"
	local rx tx
	read -r _ rx tx < <(n1 wg show wg0 transfer | grep -F "$P1")
	echo "wg0: rx $rx tx $tx (iperf3 server in ns1 received $got_up)" | tee -a "$RESULTS/soak-summary.txt"
	[ "$rx" -ge "$got_up" ] && [ "$tx" -gt 0 ]
	read -r _ rx tx < <(n2 wg show wg1 transfer | grep -F "$P0")
	echo "wg1: rx $rx tx $tx (iperf3 server in ns2 received $got_down)" | tee -a "$RESULTS/soak-summary.txt"
	[ "$rx" -ge "$got_down" ] && [ "$tx" -gt 0 ]
	# And the tunnel still works after all that, once the real peer's
	# configuration is back to the start (the loop may have left wg0 on the
	# other port with wg1 not yet roamed to it, as nothing was sent since).
	n1 wg set wg0 listen-port 51820 peer "$P1" allowed-ips "$BASE0" endpoint 10.10.0.2:51821
	n2 wg set wg1 peer "$P0" allowed-ips "$BASE1" endpoint 10.10.0.1:51820
	n2 ping -q -c 3 -i 0.2 -w 30 192.168.241.1
	n1 ping -q -c 3 -i 0.2 -w 30 fd00::2
}

t_teardown_and_unload() {
	ip -n ns1 link del wg0
	ip -n ns2 link del wg1
	ip -n ns1 link del wg9 2>/dev/null || true
	ip netns del ns1
	ip netns del ns2
	impl_unload
}

# kmemleak reports only objects older than 5 s: wait past that after the
# unload, so that what the teardown leaked is old enough to be reported.
t_kmemleak_after_unload() {
	local k=/sys/kernel/debug/kmemleak
	[ -e $k ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null || true
	if [ ! -e $k ]; then
		echo "no kmemleak in this kernel: nothing to check"
		return 0
	fi
	sleep 6
	echo scan >$k
	sleep 1
	echo scan >$k
	cat $k >"$RESULTS/soak-kmemleak.txt"
	if [ -s "$RESULTS/soak-kmemleak.txt" ]; then
		head -n 60 "$RESULTS/soak-kmemleak.txt"
		return 1
	fi
}

check soak_load impl_load
check soak_setup t_setup
check soak_traffic_under_churn t_traffic_under_churn
check soak_teardown_and_unload t_teardown_and_unload
check soak_kmemleak_after_unload t_kmemleak_after_unload
finish
