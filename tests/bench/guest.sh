#!/usr/bin/env bash
# `make bench`, inside the guest (scripts/bench.sh boots it with
# scripts/vm-run.sh on the release kernel): DATA ROUNDS SECONDS
#
# For each round, for each implementation (ours and the in-tree C driver,
# ours first in odd rounds and C first in even ones), loads that module alone, builds the same set-up from scratch
# (two namespaces over a veth pair, a wg0 in each, MTU 1420, plus 100 extra
# peers on ns1's wg0 for the handshake scenario), runs every scenario for
# SECONDS, and leaves raw figures in $RESULTS/raw/ROUND-IMPL-SCENARIO.*:
#
#   tcp1.json      iperf3 ns2 -> ns1 through the tunnel, one TCP stream,
#                  with guest CPU jiffies from /proc/stat around it (tcp1.cpu)
#   tcp1big.json   the same with big TCP offered: ns2's wg0 gso_max_size and
#                  gso_ipv4_max_size 192 KiB (tcp1big.txt: whether the device
#                  took it; the C driver of 6.12 refuses, and runs at 64 KiB)
#   tcpN.json      the same with one stream per vCPU
#   udp64.json     iperf3 UDP, 64-byte payloads, unlimited rate
#   hs.txt         1,000 handshakes with the 100 extra peers (wgbench.py),
#                  with the guest's CPU jiffies around it (hs.cpu)
#   flood.json     one TCP stream while wgbench.py floods initiations with a
#                  valid mac1 from 1024 spoofed sources (flood.txt: its rate)
#   ping-idle.txt  ping through the idle tunnel
#   ping-load.txt  ping through the tunnel while one TCP stream runs
#                  (load.json)
#
# scripts/bench.sh computes medians and ratios from these on the host.
#
# With a fourth argument 1 (BENCH_PROFILE=1), after the rounds: one more set-up
# per implementation, outside the figures, where the single TCP stream, UDP
# 64-byte, the handshakes and the flood each run under `perf record -a` (the
# cpu-clock software event: no PMU under emulation), and the flat profile by
# symbol goes to $RESULTS/profile/IMPL-SCENARIO.txt.
set -u
. "$(dirname "$0")/../vm/lib.sh"     # loaded_is_ours
. "$(dirname "$0")/../hostile/impl.sh" # impl_load, hold_netstamp_key
. "$(dirname "$0")/lib.sh"             # note, cpu_jiffies, quiet, write_meta
top=$(cd "$(dirname "$0")/../.." && pwd)
data=$1 rounds=$2 secs=$3 profile=${4:-0}
# BENCH_BASE: another build of ours takes the C driver's place (column "c").
base=${5:-}
[ -z "$base" ] || WG_C_MODULE=$base
raw=$RESULTS/raw
mkdir -p "$raw"
bench=(python3 -S "$top/tests/bench/wgbench.py")
wgpeer=(python3 -S "$top/tests/sendpath/wgpeer.py")
ncpu=$(nproc)

setup() {
	ip netns add ns1 && ip netns add ns2 || return 1
	ip -n ns1 link set lo up
	ip -n ns2 link set lo up
	ip link add veth1 netns ns1 type veth peer name veth2 netns ns2 || return 1
	ip -n ns1 addr add 10.0.0.1/24 dev veth1
	ip -n ns2 addr add 10.0.0.2/24 dev veth2
	ip -n ns1 link set veth1 up
	ip -n ns2 link set veth2 up
	ip -n ns1 link add wg0 type wireguard || return 1
	ip -n ns2 link add wg0 type wireguard || return 1
	wg genkey >/tmp/k2
	ip netns exec ns1 wg set wg0 private-key "$data/device.key" listen-port 51820 \
		peer "$(wg pubkey </tmp/k2)" allowed-ips 192.168.4.2/32 endpoint 10.0.0.2:51821 || return 1
	ip netns exec ns1 wg addconf wg0 "$data/peers.conf" || return 1
	ip netns exec ns2 wg set wg0 private-key /tmp/k2 listen-port 51821 \
		peer "$(wg pubkey <"$data/device.key")" allowed-ips 192.168.4.1/32 endpoint 10.0.0.1:51820 || return 1
	ip -n ns1 addr add 192.168.4.1/24 dev wg0
	ip -n ns2 addr add 192.168.4.2/24 dev wg0
	ip -n ns1 link set wg0 mtu 1420 up
	ip -n ns2 link set wg0 mtu 1420 up
	# The handshake tester's source addresses in ns2 (three per peer,
	# 10.1.PEER.1-3), routed from ns1 through ns2's veth address.
	local p k
	for p in $(seq 0 99); do for k in 1 2 3; do echo "addr add 10.1.$p.$k/32 dev veth2"; done; done |
		ip -n ns2 -batch - || return 1
	ip -n ns1 route add 10.1.0.0/16 via 10.0.0.2 || return 1
	# Replies to the flood's spoofed sources go to ns2, which drops them.
	ip -n ns1 route add 10.200.0.0/16 via 10.0.0.2 || return 1
	# The first handshake of the real peer, outside any timed part.
	ip netns exec ns2 ping -q -c 3 -i 0.3 -w 20 192.168.4.1 >/dev/null || return 1
}

teardown() {
	ip netns del ns1 2>/dev/null
	ip netns del ns2 2>/dev/null
	local i
	for i in $(seq 1 100); do
		[ -d /sys/module/wireguard ] || return 0
		rmmod wireguard 2>/dev/null && return 0
		sleep 0.2
	done
	echo "rmmod wireguard failed"
	return 1
}

# iperf3 ns2 -> ns1 through the tunnel: OUT SECONDS [client options]
iperf() {
	local out=$1 t=$2 server i
	shift 2
	timeout $((t + 60)) ip netns exec ns1 iperf3 -s -1 >/dev/null 2>&1 &
	server=$!
	for i in $(seq 1 100); do
		ip netns exec ns1 ss -ltnH 'sport = :5201' | grep -q . && break
		sleep 0.1
	done
	timeout $((t + 40)) ip netns exec ns2 iperf3 -c 192.168.4.1 -t "$t" -J --connect-timeout 10000 "$@" >"$out"
	local status=$?
	wait $server
	return $status
}

scenarios() {
	local p=$1 a b
	note "$p: tcp1"
	a=$(cpu_jiffies)
	iperf "$raw/$p-tcp1.json" "$secs" || note "$p: tcp1 failed"
	b=$(cpu_jiffies)
	echo "before $a after $b hz $(getconf CLK_TCK)" >"$raw/$p-tcp1.cpu"

	note "$p: tcp1big (gso_max_size 192 KiB offered)"
	ip netns exec ns2 "${wgpeer[@]}" gsosize --ifname wg0 --size 196608 >"$raw/$p-tcp1big.txt" 2>&1
	iperf "$raw/$p-tcp1big.json" "$secs" || note "$p: tcp1big failed"
	ip netns exec ns2 "${wgpeer[@]}" gsosize --ifname wg0 --size 65536 >/dev/null 2>&1

	note "$p: tcpN ($ncpu streams)"
	iperf "$raw/$p-tcpN.json" "$secs" -P "$ncpu" || note "$p: tcpN failed"

	note "$p: udp64"
	iperf "$raw/$p-udp64.json" "$secs" -u -l 64 -b 0 || note "$p: udp64 failed"

	note "$p: ping idle"
	ip netns exec ns2 ping -c 20 -i 0.2 -w 30 192.168.4.1 >"$raw/$p-ping-idle.txt" 2>&1 || note "$p: ping idle failed"

	note "$p: ping under load (one TCP stream)"
	iperf "$raw/$p-load.json" "$secs" &
	local load=$!
	sleep 1
	ip netns exec ns2 ping -c $(((secs - 2) * 5)) -i 0.2 -w $((secs + 20)) 192.168.4.1 >"$raw/$p-ping-load.txt" 2>&1 ||
		note "$p: ping under load failed"
	wait $load || note "$p: the load of ping-load failed"

	note "$p: handshakes"
	a=$(cpu_jiffies)
	timeout 300 ip netns exec ns2 "${bench[@]}" handshakes "$data" 10.0.0.1 51820 10.1 "$raw/$p-hs.txt" ||
		note "$p: handshakes failed"
	b=$(cpu_jiffies)
	echo "before $a after $b hz $(getconf CLK_TCK)" >"$raw/$p-hs.cpu"

	note "$p: TCP under a flood of initiations"
	local mac1
	mac1=$(ip netns exec ns1 cat /sys/class/net/veth1/address)
	ip netns exec ns2 "${bench[@]}" flood veth2 "$(ip netns exec ns2 cat /sys/class/net/veth2/address)" "$mac1" \
		10.0.0.1 51820 "$data/device.pub" $((secs + 2)) "$raw/$p-flood.txt" &
	local flood=$!
	sleep 1
	iperf "$raw/$p-flood.json" "$secs" || note "$p: flood's iperf3 failed"
	wait $flood || note "$p: the flood failed"

	ip netns exec ns1 wg show wg0 dump >"$raw/$p-wg-ns1.txt"
	ip netns exec ns2 wg show wg0 dump >"$raw/$p-wg-ns2.txt"
	for ns in ns1 ns2; do
		ip -n $ns -s link show wg0 >>"$raw/$p-links.txt"
	done
}

dmesg -n 5
hold_netstamp_key
write_meta "$rounds" "$secs"

failures=0
# Loads IMPL and sets the tunnel up; on failure notes it as WHAT, counts it,
# tears down what was made and returns 1.
begin_impl() { # IMPL WHAT
	WG_IMPL=$1
	local load=impl_load
	[ "$1" = rs ] || [ -z "$base" ] || load="load_by_path $base"
	if ! $load || ! quiet || ! setup; then
		note "$2: set-up failed"
		failures=$((failures + 1))
		teardown
		return 1
	fi
}

# The order alternates from round to round (ours first in odd rounds, C
# first in even ones): an A/A run (BENCH_BASE = the same module) with ours
# always first measured the first place about 10% lower on several rows
# (TCP 0.89, handshakes 0.89, CPU per handshake 0.88; session 10).
for r in $(seq 1 "$rounds"); do
	order="rs c"
	[ $((r % 2)) = 1 ] || order="c rs"
	for impl in $order; do
		p=$r-$impl
		note "round $r, $impl"
		begin_impl "$impl" "$p" || continue
		scenarios "$p"
		teardown || failures=$((failures + 1))
	done
done

# perf record -a around a command: NAME CMD...
perf_around() {
	local name=$1
	shift
	perf record -q -a -g -e cpu-clock -F 499 -o /tmp/perf.data -- "$@" >/dev/null 2>&1
	{
		echo "# $name: perf record -a -g -e cpu-clock, flat profile by symbol (all CPUs)"
		perf report -i /tmp/perf.data --no-children --sort dso,sym --stdio -g none 2>/dev/null |
			grep -v '^#' | grep -v '^$' | head -n 60
		# cpu-clock samples are taken in a timer interrupt: time spent with
		# interrupts off lands on the function that turns them back on
		# (_raw_spin_unlock_irqrestore and the like). Who called it says whose.
		echo
		echo "# $name: call chains of the symbols above 3% (callers, branches above 1%)"
		perf report -i /tmp/perf.data --no-children --sort sym --stdio --percent-limit 3 \
			-g graph,1,callee --max-stack 14 2>/dev/null | grep -v '^$' | head -n 400
	} >"$RESULTS/profile/$name.txt"
}

if [ "$profile" = 1 ]; then
	mkdir -p "$RESULTS/profile"
	for impl in rs c; do
		note "profile, $impl"
		begin_impl "$impl" "profile $impl" || continue
		perf_around $impl-tcp1 bash -c "$(declare -f iperf); iperf /tmp/p.json $secs"
		perf_around $impl-udp64 bash -c "$(declare -f iperf); iperf /tmp/p.json $secs -u -l 64 -b 0"
		perf_around $impl-hs timeout 300 ip netns exec ns2 "${bench[@]}" handshakes "$data" 10.0.0.1 51820 10.1 /tmp/p.txt
		mac1=$(ip netns exec ns1 cat /sys/class/net/veth1/address)
		mac2=$(ip netns exec ns2 cat /sys/class/net/veth2/address)
		perf_around $impl-flood ip netns exec ns2 "${bench[@]}" flood veth2 "$mac2" "$mac1" \
			10.0.0.1 51820 "$data/device.pub" "$secs" /tmp/p.txt
		teardown || failures=$((failures + 1))
	done
fi
note "done, $failures set-up failures"
exit "$failures"
