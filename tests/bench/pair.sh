#!/usr/bin/env bash
# `make bench-pair` (and the second half of `make bench`), inside VM A of
# scripts/vm-pair.sh: ROUNDS SECONDS [LINK [BASE]]
#
# The same implementation on both ends of a tunnel across a virtio-net link
# between two VMs (scripts/bench-pair.sh starts them; LINK, dgram or tap,
# is the kind scripts/vm-pair.sh --link made, for the table's title;
# addresses in tests/vm/pair/lib.sh): for each
# round, ours <-> ours and C <-> C. A loads the module here, B loads the
# same one on command (pair_load through rb(): peer.sh's command server),
# each side makes its wg0 (MTU 1420, a preshared key, each the other's
# endpoint), and one ping brings the handshake up before anything is timed.
# Traffic goes from A to B. Ours goes first in odd rounds, C in even ones.
# Each carries a 3 s TCP stream once before the rounds, unrecorded (a
# warm-up). Before that, with no WireGuard module
# loaded on either side, the same scenarios run once over the bare link
# (prefix 0-link): how much the link itself allows.
#
# Raw figures in $RESULTS/raw/PREFIX-SCENARIO.* (PREFIX: ROUND-IMPL, or
# 0-link), read on the host by tests/bench/report.py --pair:
#
#   tcp1.json      iperf3 A -> B, one TCP stream
#   tcpN.json      the same with one stream per vCPU of A
#   udp64.json     iperf3 UDP, 64-byte payloads, unlimited rate (-b 0)
#   ping-idle.txt  20 pings A -> B, 0.2 s apart, nothing else running
#   ping-load.txt  pings A -> B, 0.2 s apart, while one TCP stream runs
#                  (load.json)
#   links.txt      both sides' counters afterwards (wg show, ip -s link)
#   counters.txt   both sides' interface counters and UDP MIB before the
#                  first scenario and after each (where UDP datagrams were lost)
#
# Every set-up and scenario is a check (results.txt, NAME.log): one that
# fails leaves its figure missing in the table and counts as a failure (the
# exit status is the number of failures).
. "$(dirname "$0")/../vm/lib.sh"       # check, unload, loaded_is_ours
. "$(dirname "$0")/../hostile/impl.sh" # hold_netstamp_key
. "$(dirname "$0")/../vm/pair/lib.sh"  # rb, pair_link_up, pair_load, pair_wg_up
. "$(dirname "$0")/lib.sh"             # note, quiet, bench_counters, write_meta
top=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${1:?usage: pair.sh ROUNDS SECONDS [LINK]} secs=${2:?usage: pair.sh ROUNDS SECONDS [LINK]}
link=${3:-dgram}
# BENCH_BASE: another build of ours takes the C driver's place on both ends
# (column "c"; meta.txt says "base").
base=${4:-}
[ -z "$base" ] || WG_C_MODULE=$base
raw=$RESULTS/raw
mkdir -p "$raw"
ncpu=$(nproc)
PEER_BOOT_BOUND=${PEER_BOOT_BOUND:-900}   # seconds for B's command server to answer at all

A_PRIV=$(wg genkey) B_PRIV=$(wg genkey) PSK=$(wg genpsk)
A_PUB=$(wg pubkey <<<"$A_PRIV") B_PUB=$(wg pubkey <<<"$B_PRIV")

# Checks an iperf3 -J result: no error, something received at a nonzero
# rate; prints the receiver's rate.
iperf_ok() { # JSON
	python3 -S - "$1" <<-'EOF'
	import json, sys
	r = json.load(open(sys.argv[1]))
	assert "error" not in r, r.get("error")
	recv = r["end"]["sum_received"]
	assert recv["bytes"] > 0 and recv["bits_per_second"] > 0, "nothing received"
	print(f"{sys.argv[1]}: {recv['bytes']} bytes received, {recv['bits_per_second'] / 1e6:.1f} Mbit/s")
	EOF
}

# An iperf3 server in B on ADDR for one test; none left from a failed run
# may hold the port.
b_iperf_server() { # ADDR
	rb "pair_stop_jobs; wait_for 20 eval \"! ss -tlnH 'sport = 5201' | grep -q .\""
	rb_iperf_server "$1" $((secs + 120))
}
# iperf3 from A to ADDR for $secs, client options after OUT.
iperf_client() { # ADDR OUT [OPTIONS]
	local addr=$1 out=$2
	shift 2
	timeout $((secs + 60)) iperf3 -c "$addr" -p 5201 -t "$secs" -J --connect-timeout 10000 "$@" >"$out"
	iperf_ok "$out"
}
iperf_to_b() { b_iperf_server "$1" && iperf_client "$@"; }

# A median needs at least one reply; the loss stays in the file.
ping_ok() { # OUT
	cat "$1"
	grep -q 'time=' "$1" || { echo "no reply"; return 1; }
}

s_tcp1() { iperf_to_b "$1" "$raw/$2-tcp1.json"; }
s_tcpN() { iperf_to_b "$1" "$raw/$2-tcpN.json" -P "$ncpu"; }
s_udp64() { iperf_to_b "$1" "$raw/$2-udp64.json" -u -l 64 -b 0; }
s_ping_idle() {
	ping -c 20 -i 0.2 -w 30 "$1" >"$raw/$2-ping-idle.txt" 2>&1 || true
	ping_ok "$raw/$2-ping-idle.txt"
}
s_ping_load() {
	local load status=0
	b_iperf_server "$1"
	iperf_client "$1" "$raw/$2-load.json" &
	load=$!
	sleep 1
	ping -c $(((secs - 2) * 5)) -i 0.2 -w $((secs + 20)) "$1" >"$raw/$2-ping-load.txt" 2>&1 || true
	wait $load || { echo "the load (one TCP stream) failed"; status=1; }
	ping_ok "$raw/$2-ping-load.txt"
	return $status
}

# Both sides' interface counters and UDP MIB (bench_counters), one line
# each, appended to PREFIX-counters.txt as "LABEL a|b JSON".
counters() { # PREFIX LABEL
	echo "$2 a $(bench_counters)" >>"$raw/$1-counters.txt"
	echo "$2 b $(rb ". $top/tests/bench/lib.sh && bench_counters")" >>"$raw/$1-counters.txt"
}

# Every scenario from A to ADDR, each a check named PREFIX-SCENARIO; the
# counters before the first and after each.
scenarios() { # ADDR PREFIX
	local s
	counters "$2" start
	for s in tcp1 tcpN udp64 ping_idle ping_load; do
		note "$2: $s"
		check "$2-$s" "s_$s" "$1" "$2"
		counters "$2" "$s"
	done
	{
		echo "== A"; wg show all dump 2>/dev/null; ip -s link show "$LINK"; ip -s link show "$WGIF" 2>/dev/null
		echo "== B"; rb "wg show all dump 2>/dev/null; ip -s link show $LINK; ip -s link show $WGIF 2>/dev/null; true"
	} >"$raw/$2-links.txt" 2>&1
}

# ---- set-up ----
t_link() {
	pair_link_up a
	hold_netstamp_key
	quiet
	note "waiting for the peer VM's command server (at most ${PEER_BOOT_BOUND}s)"
	local end=$((SECONDS + PEER_BOOT_BOUND))
	until rb -t 10 true; do
		((SECONDS < end)) || { echo "the peer VM did not answer within ${PEER_BOOT_BOUND}s"; return 1; }
		sleep 2
	done
	rb ". $top/tests/bench/lib.sh && quiet && uname -r && nproc && ip -br addr show $LINK"
	ping -c 3 -i 0.3 -W 2 "$OUT_B4"
	# The NIC's driver and the virtio feature bits QEMU offered (bit 0
	# VIRTIO_NET_F_CSUM, 7 GUEST_TSO4, 11 HOST_TSO4: what offloads the link
	# has; none with -netdev dgram, which carries no virtio-net header), and
	# the offloads the driver turned on.
	readlink -f "/sys/class/net/$LINK/device/driver"
	echo "virtio features $(cat "/sys/class/net/$LINK/device/features")"
	local offloads
	offloads=$(ethtool -k "$LINK")
	grep -E '^(tx-checksumming|scatter-gather|tcp-segmentation-offload|tx-udp-segmentation|generic-receive-offload|rx-checksumming|tx-gso-list):' <<<"$offloads"
	# A tap link without offloads would measure the same as dgram.
	if [ "$link" = tap ]; then
		grep -q '^tcp-segmentation-offload: on' <<<"$offloads" || { echo "the tap link offers no TSO"; return 1; }
	fi
}

# Both sides load IMPL (whatever was loaded goes first) and make wg0, each
# knowing the other's endpoint; a ping brings the handshake up.
t_begin() { # IMPL
	teardown
	rb -t 120 "${base:+WG_C_MODULE=$base }pair_load $1 && . $top/tests/bench/lib.sh && quiet && pair_wg_up b $B_PRIV $A_PUB $PSK $OUT_A4:$WG_PORT && ip link set $WGIF mtu 1420"
	pair_load "$1"
	quiet
	pair_wg_up a "$A_PRIV" "$B_PUB" "$PSK" "$OUT_B4:$WG_PORT"
	ip link set "$WGIF" mtu 1420
	ping -c 3 -i 0.3 -w 20 "$TUN_B4"
	pair_expect_state "$OUT_B4:$WG_PORT" 1
	rb "pair_expect_state $OUT_A4:$WG_PORT 1"
}

# Devices deleted and the module unloaded on both sides.
teardown() {
	pair_stop_jobs
	ip link del "$WGIF" 2>/dev/null || true
	if [ -d /sys/module/wireguard ]; then unload; fi
	rb -t 60 "pair_stop_jobs; ip link del $WGIF 2>/dev/null; if [ -d /sys/module/wireguard ]; then unload; fi"
}

write_meta "$rounds" "$secs"
echo "link $link" >>"$RESULTS/meta.txt"

passed() { grep -qx "PASS $1" "$RESULTS/results.txt"; }

check link t_link
if ! passed link; then
	note "no link to the peer VM: nothing measured"
	rb quit >/dev/null 2>&1 || true
	finish
fi
echo "vcpus_b $(rb nproc)" >>"$RESULTS/meta.txt"

note "the bare link, no WireGuard"
scenarios "$OUT_B4" 0-link
# Each implementation carries traffic once before the rounds, unrecorded:
# the first run in a boot pays for what later runs find ready (under
# emulation, QEMU translating the code both share: lib/crypto's
# ChaCha20-Poly1305, the UDP tunnel), and the first run of round 1 is ours.
warm_up() { # IMPL
	local secs=3
	t_begin "$1"
	iperf_to_b "$TUN_B4" /tmp/warm.json
	ping -c 5 -i 0.2 -w 10 "$TUN_B4" >/dev/null
}
for impl in rs c; do
	note "warm-up, $impl <-> $impl (not recorded)"
	check "warm-up-$impl" warm_up "$impl"
done
for r in $(seq 1 "$rounds"); do
	order="rs c"
	[ $((r % 2)) = 1 ] || order="c rs"   # each goes first equally often
	for impl in $order; do
		p=$r-$impl
		note "round $r, $impl <-> $impl"
		check "$p-setup" t_begin "$impl"
		passed "$p-setup" || continue
		scenarios "$TUN_B4" "$p"
	done
done
check teardown teardown
note "done, $failures failures"
# The peer VM powers off (its kernel log is judged by its own runner).
rb quit >/dev/null 2>&1 || echo "the peer VM did not take quit"
finish
