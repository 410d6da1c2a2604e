#!/usr/bin/env bash
# Threaded NAPI (`echo 1 > /sys/class/net/wgN/threaded`), inside the guest.
# Arguments: SECONDS_OF_LOAD per mode (default 15), MODES (default
# "off on toggle held"). tests/vm/suite/lifecycle.sh runs mode "held" for 15 s
# (make check); `make napi` all four for 120 s each.
#
# The receive path delivers a peer's packets in order from its NAPI poll, and
# a packet whose decryption finishes after the poll looked at it is delivered
# by the poll its decryption worker schedules then (receive.rs napi_poll).
# With threaded NAPI that poll runs in a kernel thread, possibly on another
# CPU, while the worker schedules it; a lost wake-up strands the finished
# packet at the head of the peer's queue, and with it everything behind it,
# until some later packet of that peer wakes the poll (an upstream attempt
# at threaded NAPI stalled that way for good, CVE-2026-52945). Under steady
# traffic the next packet hides such a loss, so each mode ends with isolated
# packets that nothing follows.
#
# wg0 (ns1) and wg1 (ns2) over a veth pair, on the guest's 2 vCPUs, in three
# modes: threaded NAPI off; on (wg0 switched with its peer in place; wg1
# switched with only a placeholder peer, so the real peer's NAPI is created
# threaded); switched on and off every half second during the load; and
# held: on, with every 64th decryption held for 10 ms (the kprobe module
# tests/kmod/wg_delay.c on chacha20poly1305_decrypt_sg_inplace), so that
# the packets decrypted beside a held one finish first and their polls find
# the head of the queue still being decrypted, again and again: the case
# whose wake-up must not be lost (without the holds, both decryptions of
# 2 vCPUs finish close together and a poll seldom sees it). Per mode:
#   - the NAPI threads exist when on (napi/wg0-N, napi/wg1-N);
#   - for SECONDS: iperf3 TCP both ways at once (unbounded) and ping floods
#     both ways: both iperf3 runs complete, and no receiver went more than
#     3 of its 2-second intervals in a row without data (no stall; no
#     throughput threshold; a few empty intervals were seen at the start
#     with other VMs sharing the host's cores);
#   - then, the tunnel otherwise idle, 5 single pings each way, each answered
#     within 10 s (a stranded packet is released only by the next one of its
#     peer: a keepalive 10 s later at the earliest);
#   - the devices' rx error and drop counters are reported.
# The VM runner fails the run on any kernel splat (lockdep, KASAN, hung task).
#
# Run alone:  scripts/vm-run.sh --flavour debug --timeout 1500 --name napi tests/vm/napi.sh 120
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/hostile/impl.sh"
load=${1:-15}
W=/tmp/napi
rm -rf "$W"
mkdir -p "$W"
hold_netstamp_key

n1() { ip netns exec ns1 "$@"; }
n2() { ip netns exec ns2 "$@"; }

napi_setup() { # MODE
	local mode=$1
	ip netns del ns1 2>/dev/null || true
	ip netns del ns2 2>/dev/null || true
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
	wg genkey >"$W/k0"
	wg genkey >"$W/k1"
	local p0 p1
	p0=$(wg pubkey <"$W/k0") p1=$(wg pubkey <"$W/k1")
	n1 wg set wg0 private-key "$W/k0" listen-port 51820 peer "$p1" allowed-ips 192.168.241.2/32,fd00::2/128 endpoint 10.10.0.2:51821
	# wg1: a placeholder peer first (the threaded switch wants a NAPI context
	# on the device), then threaded mode, then the real peer.
	n2 wg set wg1 private-key "$W/k1" listen-port 51821 peer "$(wg genkey | wg pubkey)" allowed-ips 10.99.0.1/32
	local threaded=0
	case $mode in on | held) threaded=1 ;; esac
	if [ $threaded = 1 ]; then
		n1 sh -c 'echo 1 >/sys/class/net/wg0/threaded'
		n2 sh -c 'echo 1 >/sys/class/net/wg1/threaded'
	fi
	n2 wg set wg1 peer "$p0" allowed-ips 192.168.241.1/32,fd00::1/128 endpoint 10.10.0.1:51820
	ip -n ns1 addr add 192.168.241.1/24 dev wg0
	ip -n ns1 addr add fd00::1/64 dev wg0 nodad
	ip -n ns2 addr add 192.168.241.2/24 dev wg1
	ip -n ns2 addr add fd00::2/64 dev wg1 nodad
	ip -n ns1 link set wg0 up
	ip -n ns2 link set wg1 up
	local want=$threaded
	[ "$(n1 cat /sys/class/net/wg0/threaded)" = $want ] || { echo "wg0: threaded is $(n1 cat /sys/class/net/wg0/threaded)"; return 1; }
	[ "$(n2 cat /sys/class/net/wg1/threaded)" = $want ] || { echo "wg1: threaded is $(n2 cat /sys/class/net/wg1/threaded)"; return 1; }
	if [ $threaded = 1 ]; then
		# One NAPI thread per peer: wg0's one, wg1's placeholder and real one.
		local threads
		threads=$(ps -eo comm= | grep -Ec '^napi/wg[01]-' || true)
		ps -eo pid=,comm= | grep -E ' napi/wg[01]-' || true
		[ "$threads" -ge 3 ] || { echo "$threads NAPI threads of wg0/wg1, want 3"; return 1; }
	fi
	n2 ping -q -c 3 -i 0.2 -w 30 192.168.241.1
	n1 ping -q -c 3 -i 0.2 -w 30 fd00::2
}

# Switches threaded NAPI of both devices on and off until $W/stop exists
# (through ip netns exec, whose /sys shows the namespace's devices).
toggler() {
	local v=1 n=0
	while [ ! -e "$W/stop" ]; do
		n1 sh -c "echo $v >/sys/class/net/wg0/threaded" 2>>"$W/toggle.err" || echo "wg0: could not write $v" >>"$W/toggle.err"
		n2 sh -c "echo $v >/sys/class/net/wg1/threaded" 2>>"$W/toggle.err" || echo "wg1: could not write $v" >>"$W/toggle.err"
		v=$((1 - v))
		n=$((n + 1))
		sleep 0.5
	done
	echo "threaded NAPI switched $n times"
}

# Receiver-side bytes of each 2-second interval of an iperf3 server's JSON;
# fails if the run failed or any interval but the last carried nothing.
intervals_ok() { # JSON LABEL
	python3 - "$1" "$2" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
label = sys.argv[2]
if "error" in j:
    sys.exit(f"{label}: iperf3 error: {j['error']}")
iv = [(i["sum"]["seconds"], i["sum"]["bytes"]) for i in j["intervals"]]
# The last interval runs on after the client stopped sending (until the
# results are exchanged): it need not carry data. (Under emulation the
# others are not exactly 2 s long either.)
full = [b for s, b in iv[:-1]]
total = j["end"]["sum_received"]["bytes"] if "sum_received" in j["end"] else sum(b for _, b in iv)
print(f"{label}: {len(iv)} intervals, bytes per interval {[b for _, b in iv]}, total {total}")
if not full or total == 0:
    sys.exit(f"{label}: no data")
# A stall of the receive path stops the stream for good (TCP's
# retransmissions are stranded behind the head too). With other VMs
# sharing the host's 2 cores, a stream was seen starting only in its third
# interval, with every thread runnable; so a run of up to 3 empty
# intervals (6 s) passes, a longer one fails.
run = longest = 0
for b in full:
    run = run + 1 if b == 0 else 0
    longest = max(longest, run)
if longest > 3:
    sys.exit(f"{label}: {longest} intervals (2 s each) in a row without data")
EOF
}

napi_load() { # MODE
	local mode=$1 s1 s2 c1 c2 f1 f2 tg= st=0 i
	# Servers report per-interval bytes received (-i 2, JSON).
	n1 iperf3 -s -1 -p 5201 -i 2 -J >"$W/srv1.json" 2>"$W/srv1.err" &
	s1=$!
	n2 iperf3 -s -1 -p 5202 -i 2 -J >"$W/srv2.json" 2>"$W/srv2.err" &
	s2=$!
	for i in $(seq 1 50); do
		n1 ss -ltnH 'sport = :5201' | grep -q . && n2 ss -ltnH 'sport = :5202' | grep -q . && break
		sleep 0.2
	done
	rm -f "$W/stop"
	if [ "$mode" = toggle ]; then
		toggler &
		tg=$!
	fi
	n1 timeout -s INT $((load + 5)) ping -f -q 192.168.241.2 >"$W/flood1.txt" 2>&1 &
	f1=$!
	n2 timeout -s INT $((load + 5)) ping -f -q fd00::1 >"$W/flood2.txt" 2>&1 &
	f2=$!
	timeout $((load + 120)) ip netns exec ns2 iperf3 -c 192.168.241.1 -p 5201 -t "$load" -i 2 --connect-timeout 10000 -J >"$W/c1.json" 2>&1 &
	c1=$!
	timeout $((load + 120)) ip netns exec ns1 iperf3 -c 192.168.241.2 -p 5202 -t "$load" -i 2 --connect-timeout 10000 -J >"$W/c2.json" 2>&1 &
	c2=$!
	wait "$c1" || { echo "iperf3 ns2->ns1 exited with $?"; st=1; }
	wait "$c2" || { echo "iperf3 ns1->ns2 exited with $?"; st=1; }
	touch "$W/stop"
	[ -z "$tg" ] || wait "$tg"
	wait "$f1" "$f2" || true
	wait "$s1" || { echo "iperf3 server ns1 exited with $?"; st=1; }
	wait "$s2" || { echo "iperf3 server ns2 exited with $?"; st=1; }
	tail -n 2 "$W/flood1.txt" "$W/flood2.txt"
	cp "$W/srv1.json" "$RESULTS/napi-$mode-srv1.json"
	cp "$W/srv2.json" "$RESULTS/napi-$mode-srv2.json"
	intervals_ok "$W/srv1.json" "$mode ns2->ns1" || st=1
	intervals_ok "$W/srv2.json" "$mode ns1->ns2" || st=1
	[ ! -s "$W/toggle.err" ] || { echo "threaded switch failed:"; head "$W/toggle.err"; st=1; }
	return $st
}

# Single packets with nothing after them: each must arrive on its own.
napi_isolated() {
	local i
	sleep 1
	for i in 1 2 3 4 5; do
		n1 ping -q -n -c 1 -W 10 192.168.241.2 >/dev/null || { echo "ping $i ns1->ns2 unanswered within 10 s"; return 1; }
		sleep 0.5
		n2 ping -q -n -c 1 -W 10 fd00::1 >/dev/null || { echo "ping $i ns2->ns1 unanswered within 10 s"; return 1; }
		sleep 0.5
	done
	n1 ip -s link show wg0
	n2 ip -s link show wg1
}

t_napi() { # MODE
	local ko=$top/build/debug/wg_delay.ko held st=0
	napi_setup "$@"
	if [ "$1" = held ]; then
		[ -e "$ko" ] || { echo "no $ko (scripts/build-module.sh debug builds it)"; return 1; }
		insmod "$ko" symbol=chacha20poly1305_decrypt_sg_inplace delay_ms=10 period=64 || return 1
	fi
	napi_load "$@" && napi_isolated || st=1
	if [ "$1" = held ]; then
		held=$(cat /sys/module/wg_delay/parameters/held)
		echo "decryptions held: $held of $(cat /sys/module/wg_delay/parameters/hits)"
		rmmod wg_delay
		[ "$held" -gt 0 ] || { echo "no decryption was held"; st=1; }
	fi
	ip netns del ns1
	ip netns del ns2
	return $st
}

modes=${2:-off on toggle held}
echo "threaded NAPI: $load s of load per mode, modes: $modes"
check napi_load impl_load
for m in $modes; do
	case $m in
	off) check napi_threaded_off t_napi off ;;
	on) check napi_threaded_on t_napi on ;;
	toggle) check napi_threaded_toggled t_napi toggle ;;
	held) check napi_threaded_held t_napi held ;;
	*) echo "unknown mode $m"; failures=$((failures + 1)) ;;
	esac
done
ip netns del ns1 2>/dev/null || true
ip netns del ns2 2>/dev/null || true
finish
