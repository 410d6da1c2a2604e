#!/usr/bin/env bash
# `make bench`, inside the guest (scripts/bench.sh boots it with
# scripts/vm-run.sh on the release kernel):
# DATA ROUNDS SECONDS PROFILE SCENARIOS [BASE]
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
#   udp64.json     iperf3 UDP, 64-byte payloads, unlimited rate (udp64.txt:
#                  the packets ns2's wg0 and veth2 sent meanwhile)
#   hs.txt         3,000 handshakes with the 100 extra peers (wgbench.py),
#                  with the guest's CPU jiffies around it (hs.cpu)
#   flood.json     one TCP stream while wgbench.py floods initiations with a
#                  valid mac1 from 1024 spoofed sources (flood.txt: its rate)
#   floodpaced.json  the same under a flood paced at FLOOD_PACED initiations
#                  a second (floodpaced.txt: the rate reached): unpaced, the
#                  flooder shares the guest's vCPUs with the device, so
#                  what it offers depends on the implementation's share
#   ping-idle.txt  ping through the idle tunnel
#   ping-load.txt  ping through the tunnel while one TCP stream runs
#                  (load.json)
#   tcp1cpu.json   one TCP stream with only the first vCPU online (the others
#                  taken offline around it): with tcpN, the scaling from one
#                  vCPU to all
#   tcp50.txt      50 more peers on ns1's wg0, each a wg device of its own in
#                  ns2 (wg1..wg50, 192.168.5.N): one TCP stream to each at
#                  once, ns1 -> ns2 (50 iperf3 pairs, each -O 2: the first
#                  two seconds, the starts and slow start, left out); the
#                  sum of their receivers' throughputs, and how many ran
#
# scripts/bench.sh computes medians and ratios from these on the host.
#
# A fifth argument other than "all" (BENCH_SCENARIOS, comma-separated names
# as above: tcp1, tcp1big, tcpN, udp64, ping-idle, ping-load, hs, flood,
# tcp1cpu, tcp50, floodpaced: tests/bench/report.py's SCENARIOS, against
# which scripts/bench.sh checks them) runs only those scenarios (ping-load's file is
# ping-load.txt and its load load.json); meta.txt lists them, for the report.
# Never empty (scripts/vm-run.sh drops empty arguments): the sixth, BASE
# (BENCH_BASE), may be.
#
# With a fourth argument 1 (BENCH_PROFILE=1), after the rounds: one more set-up
# per implementation, outside the figures, where the single TCP stream, UDP
# 64-byte, the handshakes and the flood each run under `perf record -a` (the
# cpu-clock software event: no PMU under emulation), and the flat profile by
# symbol goes to $RESULTS/profile/IMPL-SCENARIO.txt; then the two flood rows
# once more each, unprofiled, with each thread's share of the CPUs over
# their middle (tests/bench/threads.py: $RESULTS/profile/IMPL-floodRATE-threads.txt,
# RATE 0 for the unpaced flood).
set -u
. "$(dirname "$0")/../vm/lib.sh"     # loaded_is_ours
. "$(dirname "$0")/../hostile/impl.sh" # impl_load, hold_netstamp_key
. "$(dirname "$0")/lib.sh"             # note, cpu_jiffies, quiet, write_meta
top=$(cd "$(dirname "$0")/../.." && pwd)
data=$1 rounds=$2 secs=$3 profile=${4:-0} scenarios=${5:-all}
# BENCH_BASE: another build of ours takes the C driver's place (column "c").
base=${6:-}
[ -z "$base" ] || WG_C_MODULE=$base
raw=$RESULTS/raw
mkdir -p "$raw"
bench=(python3 -S "$top/tests/bench/wgbench.py")
wgpeer=(python3 -S "$top/tests/sendpath/wgpeer.py")
ncpu=$(nproc)
# The paced flood's rate: below what the flooder reaches beside either
# implementation here (11 to 27 thousand a second unpaced), so that both get
# the same flood; enough to put the device under load (its queue fills at a
# Diffie-Hellman per message).
FLOOD_PACED=8000

# Whether scenario NAME is to run (all of them unless BENCH_SCENARIOS).
want() {
	[ "$scenarios" = all ] || case ",$scenarios," in *",$1,"*) ;; *) return 1 ;; esac
}

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

# The packets ns2's device DEV sent.
tx_packets() { ip netns exec ns2 cat "/sys/class/net/$1/statistics/tx_packets"; }

# Only the first N vCPUs online (the rest taken offline): N.
cpus_online() {
	local c n=0
	for c in /sys/devices/system/cpu/cpu[0-9]*; do
		n=$((n + 1))
		[ -e "$c/online" ] || continue
		echo $((n <= $1 ? 1 : 0)) >"$c/online" || return 1
	done
	[ "$(nproc)" = "$1" ]
}

# 50 more peers on ns1's wg0: peer N (1..50) is ns2's wgN, its own device
# (own key, port 52000+N), 192.168.5.N; ns2 answers 192.168.4.1 from
# 192.168.5.N through wgN (a routing rule by source per device). Each peer's
# first handshake is made here, outside the timed part.
peers50() {
	local n conf=/tmp/peers50.conf pub1
	pub1=$(wg pubkey <"$data/device.key")
	: >$conf
	for n in $(seq 1 50); do
		(umask 077 && wg genkey >/tmp/k50-$n)
		ip -n ns2 link add wg$n type wireguard || return 1
		ip netns exec ns2 wg set wg$n private-key /tmp/k50-$n listen-port $((52000 + n)) \
			peer "$pub1" allowed-ips 192.168.4.1/32 endpoint 10.0.0.1:51820 || return 1
		ip -n ns2 addr add 192.168.5.$n/32 dev wg$n
		ip -n ns2 link set wg$n mtu 1420 up
		ip -n ns2 rule add from 192.168.5.$n table $((100 + n)) || return 1
		ip -n ns2 route add 192.168.4.1/32 dev wg$n table $((100 + n)) || return 1
		printf '[Peer]\nPublicKey = %s\nAllowedIPs = 192.168.5.%s/32\nEndpoint = 10.0.0.2:%s\n' \
			"$(wg pubkey </tmp/k50-$n)" $n $((52000 + n)) >>$conf
	done
	ip netns exec ns1 wg addconf wg0 $conf || return 1
	ip -n ns1 route add 192.168.5.0/24 dev wg0 || return 1
	local pids=()
	for n in $(seq 1 50); do
		ip netns exec ns1 ping -q -c 2 -i 0.5 -w 30 192.168.5.$n >/dev/null &
		pids+=($!)
	done
	local failed=0
	for n in "${pids[@]}"; do wait "$n" || failed=$((failed + 1)); done
	[ $failed = 0 ] || { echo "peers50: $failed of 50 peers did not answer a ping"; return 1; }
}

# One TCP stream ns1 -> ns2 to each of the 50 peers at once: OUT. The
# clients run longer than needed; once all 50 data connections are up (and
# 2 s more, slow start), the bytes the 50 devices of ns2 received (inner
# packets: rx_bytes of wg1..wg50) are read, SECONDS apart: one window all
# streams share, whatever the spread of their starts (100 iperf3 processes
# starting under emulation take seconds). OUT: peerN= each device's Mbit/s,
# streams= the data connections up at the window's start and end (the
# lower), mbits= the sum. Fails unless all 50 ran through the window.
tcp50() {
	local out=$1 n i up procs=()
	for n in $(seq 1 50); do
		timeout -k 5 $((secs + 150)) ip netns exec ns2 iperf3 -s -1 -B 192.168.5.$n >/dev/null 2>&1 &
		procs+=($!)
	done
	for i in $(seq 1 300); do
		[ "$(ip netns exec ns2 ss -ltnH 'sport = :5201' | wc -l)" -ge 50 ] && break
		sleep 0.1
	done
	for n in $(seq 1 50); do
		timeout -k 5 $((secs + 120)) ip netns exec ns1 iperf3 -c 192.168.5.$n -t $((secs + 90)) \
			--connect-timeout 10000 >/dev/null 2>&1 &
		procs+=($!)
	done
	# Each test: a control and a data connection.
	tcp50_up() { ip netns exec ns1 ss -tnH state established 'dport = :5201' | wc -l; }
	for i in $(seq 1 600); do
		[ "$(tcp50_up)" -ge 100 ] && break
		sleep 0.1
	done
	sleep 2
	local up0 up1
	up0=$(tcp50_up)
	ip netns exec ns2 python3 -S - "$secs" >"$out" <<-'EOF'
		import sys, time
		def read():
		    t, b = time.monotonic(), []
		    for n in range(1, 51):
		        with open("/sys/class/net/wg%d/statistics/rx_bytes" % n) as f:
		            b.append(int(f.read()))
		    return (t + time.monotonic()) / 2, b
		t0, b0 = read()
		time.sleep(float(sys.argv[1]))
		t1, b1 = read()
		dt, total = t1 - t0, 0.0
		for n, (a, b) in enumerate(zip(b0, b1), 1):
		    r = (b - a) * 8 / dt / 1e6
		    print("peer%d=%.3f" % (n, r))
		    total += r
		print("seconds=%.3f" % dt)
		print("mbits=%.3f" % total)
	EOF
	up1=$(tcp50_up)
	echo "streams=$(((up0 < up1 ? up0 : up1) / 2))" >>"$out"
	# Killed outright: an iperf3 told to stop (SIGTERM) reports to its
	# peer first, and 50 of them at once were seen to hang there.
	pkill -KILL -x iperf3
	for n in "${procs[@]}"; do wait "$n" 2>/dev/null; done
	grep -q '^streams=50$' "$out"
}

# One TCP stream (iperf3 to JSON) while wgbench.py floods ns1's wg0 with
# initiations from ns2 (RATE a second, 0: as fast as it can; its count to
# FLOODOUT), and COMMAND, if given, 2 s into the stream: JSON FLOODOUT RATE
# [COMMAND...]. Fails if the stream or the flood did.
tcp_under_flood() {
	local json=$1 out=$2 rate=$3 flood load status=0
	shift 3
	ip netns exec ns2 "${bench[@]}" flood veth2 "$(ip netns exec ns2 cat /sys/class/net/veth2/address)" \
		"$(ip netns exec ns1 cat /sys/class/net/veth1/address)" 10.0.0.1 51820 "$data/device.pub" \
		$((secs + 2)) "$out" "$rate" &
	flood=$!
	sleep 1
	iperf "$json" "$secs" &
	load=$!
	if [ $# -gt 0 ]; then
		sleep 2
		"$@"
	fi
	wait $load || status=1
	wait $flood || status=1
	return $status
}

# Each thread's share of the CPUs over SECONDS, to OUT: SECONDS OUT.
threads_to() {
	python3 -S "$top/tests/bench/threads.py" "$1" >"$2"
}

scenarios() {
	local p=$1 a b w0 o0
	if want tcp1; then
		note "$p: tcp1"
		a=$(cpu_jiffies)
		iperf "$raw/$p-tcp1.json" "$secs" || note "$p: tcp1 failed"
		b=$(cpu_jiffies)
		echo "before $a after $b hz $(getconf CLK_TCK)" >"$raw/$p-tcp1.cpu"
	fi

	if want tcp1big; then
		note "$p: tcp1big (gso_max_size 192 KiB offered)"
		ip netns exec ns2 "${wgpeer[@]}" gsosize --ifname wg0 --size 196608 >"$raw/$p-tcp1big.txt" 2>&1
		iperf "$raw/$p-tcp1big.json" "$secs" || note "$p: tcp1big failed"
		ip netns exec ns2 "${wgpeer[@]}" gsosize --ifname wg0 --size 65536 >/dev/null 2>&1
	fi

	if want tcpN; then
		note "$p: tcpN ($ncpu streams)"
		iperf "$raw/$p-tcpN.json" "$secs" -P "$ncpu" || note "$p: tcpN failed"
	fi

	if want udp64; then
		note "$p: udp64"
		w0=$(tx_packets wg0) o0=$(tx_packets veth2)
		iperf "$raw/$p-udp64.json" "$secs" -u -l 64 -b 0 || note "$p: udp64 failed"
		echo "wg=$(($(tx_packets wg0) - w0)) outer=$(($(tx_packets veth2) - o0))" >"$raw/$p-udp64.txt"
	fi

	if want ping-idle; then
		note "$p: ping idle"
		ip netns exec ns2 ping -c 20 -i 0.2 -w 30 192.168.4.1 >"$raw/$p-ping-idle.txt" 2>&1 || note "$p: ping idle failed"
	fi

	if want ping-load; then
		note "$p: ping under load (one TCP stream)"
		iperf "$raw/$p-load.json" "$secs" &
		local load=$!
		sleep 1
		ip netns exec ns2 ping -c $(((secs - 2) * 5)) -i 0.2 -w $((secs + 20)) 192.168.4.1 >"$raw/$p-ping-load.txt" 2>&1 ||
			note "$p: ping under load failed"
		wait $load || note "$p: the load of ping-load failed"
	fi

	if want hs; then
		note "$p: handshakes"
		a=$(cpu_jiffies)
		timeout 300 ip netns exec ns2 "${bench[@]}" handshakes "$data" 10.0.0.1 51820 10.1 "$raw/$p-hs.txt" ||
			note "$p: handshakes failed"
		b=$(cpu_jiffies)
		echo "before $a after $b hz $(getconf CLK_TCK)" >"$raw/$p-hs.cpu"
	fi

	if want flood; then
		note "$p: TCP under a flood of initiations"
		tcp_under_flood "$raw/$p-flood.json" "$raw/$p-flood.txt" 0 || note "$p: the flood or its iperf3 failed"
	fi

	if want tcp1cpu; then
		note "$p: TCP with one vCPU online"
		if cpus_online 1; then
			iperf "$raw/$p-tcp1cpu.json" "$secs" || note "$p: tcp1cpu failed"
		else
			note "$p: could not take the other vCPUs offline"
		fi
		cpus_online "$ncpu" || note "$p: could not bring every vCPU back online"
	fi

	if want tcp50; then
		note "$p: TCP to 50 peers at once"
		if peers50; then
			tcp50 "$raw/$p-tcp50.txt" || note "$p: tcp50 failed"
		else
			note "$p: the 50 peers' set-up failed"
		fi
	fi

	if want floodpaced; then
		note "$p: TCP under a paced flood ($FLOOD_PACED initiations/s)"
		tcp_under_flood "$raw/$p-floodpaced.json" "$raw/$p-floodpaced.txt" "$FLOOD_PACED" ||
			note "$p: the paced flood or its iperf3 failed"
	fi

	ip netns exec ns1 wg show wg0 dump >"$raw/$p-wg-ns1.txt"
	ip netns exec ns2 wg show wg0 dump >"$raw/$p-wg-ns2.txt"
	for ns in ns1 ns2; do
		ip -n $ns -s link show wg0 >>"$raw/$p-links.txt"
	done
}

dmesg -n 5
hold_netstamp_key
write_meta "$rounds" "$secs"
echo "scenarios ${scenarios//,/ }" | tee -a "$RESULTS/meta.txt"

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
# Before the rounds, each implementation carries traffic once, unrecorded:
# the first run in a boot pays for what later runs find ready (under
# emulation, QEMU translating the kernel code that both share: the
# network stack, lib/crypto's ChaCha20-Poly1305, the UDP tunnel), and the
# first run of round 1 is always ours.
for impl in rs c; do
	note "warm-up, $impl (not recorded)"
	begin_impl "$impl" "warm-up $impl" || continue
	iperf /tmp/warm.json 3 >/dev/null || note "warm-up $impl: tcp failed"
	iperf /tmp/warm.json 3 -u -l 64 -b 0 >/dev/null || note "warm-up $impl: udp64 failed"
	teardown || failures=$((failures + 1))
done
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
	# Every sample's call chain, for tests/bench/hs_breakdown.py.
	case $name in *-hs)
		if perf script -i /tmp/perf.data -F cpu,ip,sym,dso >/tmp/chains.txt 2>/dev/null; then
			gzip -c /tmp/chains.txt >"$RESULTS/profile/$name-chains.gz"
		else
			note "$name: perf script failed"
		fi
		;;
	esac
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
		# Who gets the CPUs in the flood rows (one stream under the flood,
		# unpaced and paced): each thread's share over the middle of the run.
		for rate in 0 "$FLOOD_PACED"; do
			tcp_under_flood /tmp/p.json /tmp/p.txt "$rate" \
				threads_to $((secs - 4)) "$RESULTS/profile/$impl-flood$rate-threads.txt"
		done
		teardown || failures=$((failures + 1))
	done
fi
note "done, $failures set-up failures"
exit "$failures"
