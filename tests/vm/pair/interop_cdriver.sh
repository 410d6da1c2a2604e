#!/usr/bin/env bash
# vm-peer-flavour: release
# vm-places: 1
# (One place in make check's pool, not two: B waits for commands most of the
# time; only its few seconds of iperf3 and its boot take a core.)
# (B, the C driver's VM, on the release kernel: it needs no sanitizers and
# answers sooner; A, our module, on the debug kernel: over virtio-net this
# suite once caught what no veth suite did, see below.)
# Interoperability on the wire with the in-tree C driver, in two VMs joined
# by a link (scripts/vm-pair.sh: one more virtio-net NIC in each guest, backed
# by QEMU -netdev dgram on 127.0.0.1). This VM (A) runs the driver under test:
# our module (WG_IMPL=c: the C driver, to validate the suite); the peer VM (B,
# tests/vm/pair/peer.sh) runs the C driver of the same debug kernel and takes
# commands over the link from rb() (tests/vm/pair/lib.sh). Both sides are
# configured with wg(8), with a preshared key.
#
#   link                        the link carries IPv4 and IPv6 both ways; the
#                               peer's command server answers
#   driver_under_test           the module loaded here is ours (WG_IMPL=c: the C driver)
#   peer_driver_is_c            the module loaded in B is the C driver, not ours
#   handshake_from_ours_outer4  only ours knows the other's endpoint (IPv4
#                               outer): the first ping from ours gets through,
#                               A's log shows it sent the initiation, B's that
#                               it received it and sent none, B learnt A's
#                               endpoint; then ping (IPv4 and IPv6 inside)
#                               both ways
#   handshake_from_c_outer4     the same the other way round, after both sides
#                               removed the peer and added it again
#   handshake_from_ours_outer6, handshake_from_c_outer6
#                               the same over IPv6 outer (peer re-added /
#                               devices recreated)
#   iperf3_tcp_ours_to_c        iperf3 TCP for 4 s (IPv4 outer), fresh
#                               devices: no error, nonzero throughput at the
#                               receiver, `wg show` transfer counters grew on
#                               both sides (the sender's tx and the receiver's
#                               rx by at least the bytes iperf3 delivered, the
#                               receiver's rx no more than the sender's tx)
#   iperf3_tcp_c_to_ours        the same the other way (IPv6 outer); and
#                               ours' GRO coalesced some of the C driver's
#                               datagrams (A's end of the link received
#                               packets longer than its MTU; WG_IMPL=c: none)
#   c_restart_recovers          during iperf3 TCP from ours (flowing: B's rx
#                               counter grew), B deletes its device, unloads
#                               and reloads the C driver and makes the device
#                               again without our endpoint: only ours can
#                               bring the tunnel back (its timers notice the
#                               silence and handshake anew); a ping from ours
#                               is answered within 30 s of the restart, B's
#                               log shows our new initiation, a new iperf3 run
#                               (3 s) gets through, ping both ways
#   ours_restart_recovers       the same with the roles swapped: during iperf3
#                               from B, A deletes its device, unloads and
#                               reloads our module (under incoming traffic)
#                               and makes the device again; the C driver's
#                               timers bring the tunnel back (IPv6 outer)
#   teardown                    devices deleted, modules unloaded on both sides
#   peer_vm                     (added by scripts/vm-pair.sh) B's run passed:
#                               its server ended cleanly, its kernel log is clean
#
# Measured 2026-11-22 (emulation, both VMs at once on the 2 cores, the whole
# pair run): on the debug kernel, C driver on both sides (WG_IMPL=c), 995 s,
# 13 passed, with up to three other VMs sharing the cores (load ~10); ours on
# the release kernel, 324 s, 13 passed, beside another pair. On the debug
# kernel ours then panicked at the first packet through the tunnel (a Rust
# misaligned-pointer check on an inner IP header received over virtio-net).
# vm-timeout: 1500
# vm-usual: 468 (seconds in make check on this machine kind, 2026-12-04: for the progress lines)
#
# Run:       scripts/vm-pair.sh tests/vm/pair/interop_cdriver.sh   (results: build/vm/interop_cdriver{,-peer}/)
# C vs C:    WG_IMPL=c scripts/vm-pair.sh --name interop_cdriver-c tests/vm/pair/interop_cdriver.sh
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../../interop/lib.sh"
. "$(dirname "$0")/../../hostile/impl.sh"   # hold_netstamp_key
. "$(dirname "$0")/lib.sh"

PEER_BOOT_BOUND=${PEER_BOOT_BOUND:-900}   # seconds for B's command server to answer at all
RESTART_BOUND=30                          # seconds from a restart to the first answered ping

STATE=/tmp/pair
mkdir -p "$STATE"
A_PRIV=$(wg genkey) B_PRIV=$(wg genkey) PSK=$(wg genpsk)
A_PUB=$(wg pubkey <<<"$A_PRIV") B_PUB=$(wg pubkey <<<"$B_PRIV")
EP_A4=$OUT_A4:$WG_PORT EP_B4=$OUT_B4:$WG_PORT
EP_A6=[$OUT_A6]:$WG_PORT EP_B6=[$OUT_B6]:$WG_PORT
# Test-only keys, the same for the whole run: logged for whoever reads a failure.
echo "A: $A_PUB  B: $B_PUB" >"$RESULTS/keys.txt"

# The drivers' debug lines ("wg0: Sending handshake initiation to peer N")
# tell who initiated: the C driver prints them on both kernels (dynamic
# debug), ours only where Rust debug assertions are on (the debug kernel).
A_DEBUG_LINES=1
if [ "$(wg_impl)" = rs ] && [[ $(uname -r) != *-debug ]]; then A_DEBUG_LINES=0; fi
# Ours' side of a handshake since MARK, where its debug lines exist.
a_log() { # initiated|responded MARK
	[ "$A_DEBUG_LINES" = 1 ] || { echo "(ours prints no debug lines on this kernel: not checked)"; return 0; }
	"pair_$1" "$2"
}

# Background jobs leave their pid in /tmp/pair-job-*.pid (on either side),
# so a failed test's leftovers can be ended.
stop_jobs() { pair_stop_jobs; rb pair_stop_jobs >/dev/null 2>&1 || true; }

# Both sides forget their session. recreate: devices deleted and made anew;
# readd: the peer removed and added again on the existing devices. EP_OF_B:
# the endpoint A knows for B ("" none), EP_OF_A: the one B knows for A.
fresh() { # recreate|readd EP_OF_B EP_OF_A
	local mode=$1 epb=$2 epa=$3
	# A kernel-log mark on both sides, for the checks of who initiated.
	MARK=$RANDOM$RANDOM
	say "fresh ($mode): A knows B at '${epb:-none}', B knows A at '${epa:-none}'"
	# Both sides quiet first (jobs stopped, the old device or peer gone), then
	# both configured: else the side still in the previous test's state can
	# send (a job's last packets, a pending handshake) to the side already
	# fresh, which then learns an endpoint and a session it must not have
	# (seen once: A's fresh peer roamed to B's IPv6 address).
	pair_stop_jobs
	rb "pair_stop_jobs; if [ $mode = recreate ]; then ip link del $WGIF 2>/dev/null || true; else pair_peer_remove $A_PUB; fi"
	if [ "$mode" = recreate ] || ! ip link show "$WGIF" >/dev/null 2>&1; then
		pair_wg_up a "$A_PRIV" "$B_PUB" "$PSK" "$epb"
		rb "pair_wg_up b $B_PRIV $A_PUB $PSK '$epa' && pair_expect_state '$epa' 0 && pair_mark $MARK"
	else
		pair_peer_remove "$B_PUB"
		pair_peer_add a "$B_PUB" "$PSK" "$epb"
		rb "pair_peer_add b $A_PUB $PSK '$epa' && pair_expect_state '$epa' 0 && pair_mark $MARK"
	fi
	pair_expect_state "$epb" 0
	pair_mark "$MARK"
}

# Ping both ways, IPv4 and IPv6 inside the tunnel.
ping_both_ways() {
	say "ping both ways"
	ping -c 3 -i 0.3 -W 2 "$TUN_B4"
	ping -6 -c 3 -i 0.3 -W 2 "$TUN_B6"
	rb -t 40 "ping -c 3 -i 0.3 -W 2 $TUN_A4 && ping -6 -c 3 -i 0.3 -W 2 $TUN_A6 && wg show $WGIF"
	wg show "$WGIF"
}

show_both() { say "A:"; wg show "$WGIF"; say "B:"; rb wg show "$WGIF"; }

new_mark() { MARK=$RANDOM$RANDOM; pair_mark "$MARK"; rb "pair_mark $MARK"; }

# ---- tests ----
t_link() {
	pair_link_up a
	hold_netstamp_key
	# No rate limit on debug lines (see tests/vm/pair/peer.sh).
	printf 0 >/proc/sys/net/core/message_cost
	say "waiting for the peer VM's command server (at most ${PEER_BOOT_BOUND}s)"
	local end=$((SECONDS + PEER_BOOT_BOUND))
	until rb -t 10 true; do
		((SECONDS < end)) || { echo "the peer VM did not answer within ${PEER_BOOT_BOUND}s"; return 1; }
		sleep 2
	done
	say "peer answered"
	ping -c 3 -i 0.3 -W 2 "$OUT_B4"
	ping -6 -c 3 -i 0.3 -W 2 "$OUT_B6"
	rb -t 40 "ping -c 3 -i 0.3 -W 2 $OUT_A4 && ping -6 -c 3 -i 0.3 -W 2 $OUT_A6"
	rb 'uname -r; ip -br addr show pair0'
}

t_driver_under_test() {
	wg_impl_load
	if [ "$(wg_impl)" = rs ]; then loaded_is_ours; fi
	grep . /sys/module/wireguard/{version,srcversion}
}

t_peer_driver_is_c() {
	rb 'WG_IMPL=c wg_impl_load && grep . /sys/module/wireguard/{version,srcversion} && modinfo -F filename wireguard'
	local mine theirs c_src
	mine=$(cat /sys/module/wireguard/srcversion)
	theirs=$(rb cat /sys/module/wireguard/srcversion)
	c_src=$(modinfo -F srcversion "$WG_C_MODULE")
	[ "$theirs" = "$c_src" ] || { echo "B runs srcversion $theirs, the C driver is $c_src"; return 1; }
	if [ "$(wg_impl)" = rs ]; then
		[ "$mine" != "$theirs" ] || { echo "both sides run the same module"; return 1; }
	fi
}

# Only A (ours) knows the other's endpoint: A initiates.
t_handshake_from_ours() { # 4|6 recreate|readd
	local epb epa
	if [ "$1" = 4 ]; then epb=$EP_B4 epa=$EP_A4; else epb=$EP_B6 epa=$EP_A6; fi
	fresh "$2" "$epb" ""
	ping -c 1 -w 20 "$TUN_B4"
	pair_expect_state "$epb" 1
	a_log initiated "$MARK"
	rb "pair_expect_state '$epa' 1 && pair_responded $MARK"
	ping_both_ways
}

# Only B (the C driver) knows the other's endpoint: B initiates.
t_handshake_from_c() { # 4|6 recreate|readd
	local epb epa
	if [ "$1" = 4 ]; then epb=$EP_B4 epa=$EP_A4; else epb=$EP_B6 epa=$EP_A6; fi
	fresh "$2" "" "$epa"
	rb -t 40 "ping -c 1 -w 20 $TUN_A4 && pair_expect_state '$epa' 1 && pair_initiated $MARK"
	pair_expect_state "$epb" 1
	a_log responded "$MARK"
	ping_both_ways
}

# Checks an iperf3 -J result: no error, bytes received at a nonzero rate;
# prints the bytes received.
iperf_received() { # JSON LABEL
	python3 -S - "$1" "$2" <<-'EOF'
	import json, sys
	r = json.load(open(sys.argv[1]))
	assert "error" not in r, r.get("error")
	recv, sent = r["end"]["sum_received"], r["end"]["sum_sent"]
	print(f"{sys.argv[2]}: {sent['bytes']} bytes sent, {recv['bytes']} received, "
	      f"{recv['bits_per_second'] / 1e6:.1f} Mbit/s, {sent.get('retransmits', '?')} retransmits", file=sys.stderr)
	assert recv["bytes"] > 0 and recv["bits_per_second"] > 0, "nothing received"
	print(recv["bytes"])
	EOF
}

# A's counters "rx tx", then B's.
counters() { echo "$(pair_transfer) $(rb pair_transfer)"; }

# Transfer counters grew on both sides: the sender's tx and the receiver's rx
# by at least BYTES, the way back (ACKs) by something, and the receiver got
# no more than the sender sent (slack: a keepalive crossing the reads).
assert_counters() { # BEFORE AFTER BYTES a|b(the sender)
	local b=($1) a=($2) bytes=$3 s_tx r_rx s_rx r_tx
	local d_arx=$((a[0] - b[0])) d_atx=$((a[1] - b[1])) d_brx=$((a[2] - b[2])) d_btx=$((a[3] - b[3]))
	echo "transfer deltas: A rx $d_arx tx $d_atx; B rx $d_brx tx $d_btx; iperf3 delivered $bytes"
	if [ "$4" = a ]; then s_tx=$d_atx s_rx=$d_arx r_rx=$d_brx r_tx=$d_btx; else s_tx=$d_btx s_rx=$d_brx r_rx=$d_arx r_tx=$d_atx; fi
	assert [ "$s_tx" -ge "$bytes" ]
	assert [ "$r_rx" -ge "$bytes" ]
	assert [ "$r_rx" -le $((s_tx + 4096)) ]
	assert [ "$r_tx" -gt 0 ]
	assert [ "$s_rx" -gt 0 ]
	assert [ "$s_rx" -le $((r_tx + 4096)) ]
}

# rb_iperf_server ADDR: tests/vm/pair/lib.sh
local_iperf_server() { # ADDR LABEL
	timeout 200 iperf3 -s -1 -B "$1" -p 5201 >"$RESULTS/iperf3-$2-server.log" 2>&1 </dev/null &
	echo $! >/tmp/pair-job-server.pid
	wait_for 20 eval "ss -tlnH 'sport = 5201' | grep -q LISTEN"
}

t_iperf3_ours_to_c() {
	fresh recreate "$EP_B4" "$EP_A4"
	ping -c 1 -w 20 "$TUN_B4"
	local before after bytes json=$RESULTS/iperf3-ours-to-c.json
	before=$(counters)
	rb_iperf_server "$TUN_B4"
	timeout 90 iperf3 -c "$TUN_B4" -p 5201 -t 4 -J --connect-timeout 10000 >"$json"
	bytes=$(iperf_received "$json" ours-to-c)
	sleep 1
	after=$(counters)
	assert_counters "$before" "$after" "$bytes" a
	show_both
}

t_iperf3_c_to_ours() {
	fresh recreate "$EP_B6" "$EP_A6"
	rb -t 40 "ping -c 1 -w 20 $TUN_A4"
	local before after bytes json=$RESULTS/iperf3-c-to-ours.json watch=/tmp/pair-gro-watch wpid coalesced
	before=$(counters)
	local_iperf_server "$TUN_A4" c-to-ours
	# What A's end of the link receives meanwhile, after GRO
	# (tests/gro/grotool.py): ours coalesces the C driver's datagrams, the
	# C driver (WG_IMPL=c) has no GRO on its sockets.
	rm -f "$watch".ready "$watch".stop
	PYTHONPYCACHEPREFIX=/tmp/pycache python3 -S "$(dirname "$0")/../../gro/grotool.py" watch \
		--ifname "$LINK" --port "$WG_PORT" --stop "$watch".stop --ready "$watch".ready >"$watch" 2>&1 &
	wpid=$!
	wait_for 20 test -e "$watch".ready
	rb -t 100 "timeout 90 iperf3 -c $TUN_A4 -p 5201 -t 4 -J --connect-timeout 10000" >"$json"
	bytes=$(iperf_received "$json" c-to-ours)
	touch "$watch".stop
	wait "$wpid"
	echo "A's end of the link received: $(cat "$watch")"
	coalesced=$(sed -n 's/.*coalesced=\([0-9]*\).*/\1/p' "$watch")
	if [ "$WG_IMPL" = c ]; then
		assert [ "$coalesced" = 0 ]
	else
		assert [ "${coalesced:-0}" -gt 0 ]
	fi
	sleep 1
	after=$(counters)
	assert_counters "$before" "$after" "$bytes" b
	show_both
}

# Waits until a ping from SIDE (a|b) to the other's tunnel address is answered
# within RESTART_BOUND seconds of START.
recovered() { # a|b START
	local side=$1 start=$2
	while :; do
		if [ "$side" = a ]; then ping -c 1 -W 1 "$TUN_B4" >/dev/null 2>&1 && break
		else rb "ping -c 1 -W 1 $TUN_A4" >/dev/null 2>&1 && break; fi
		((SECONDS - start <= RESTART_BOUND)) ||
			{ echo "no answer within ${RESTART_BOUND}s of the restart"; show_both; return 1; }
	done
	echo "answered again $((SECONDS - start)) s after the restart"
}

# The receiving side's rx counter grew by at least 64 KiB between two reads.
assert_flowing() { # RX_BEFORE RX_AFTER
	echo "receiver's rx grew by $(($2 - $1)) bytes"
	assert [ $(($2 - $1)) -ge 65536 ]
}

# A peer restarted in the middle of an iperf3 TCP run (60 s asked; ended
# once the test is done: TCP's retransmission backoff after a long outage
# can keep the old stream silent for a minute, so the test does not wait for
# it) recovers: the tunnel carries a ping again within RESTART_BOUND seconds
# of the restart, a new iperf3 run the same way gets through, ping both ways.
t_c_restart_recovers() {
	fresh recreate "$EP_B4" ""
	ping -c 1 -w 20 "$TUN_B4"
	local start rx0 rx1
	rb_iperf_server "$TUN_B4"
	rx0=$(rb pair_transfer | cut -d' ' -f1)
	timeout 200 iperf3 -c "$TUN_B4" -p 5201 -t 60 --connect-timeout 10000 >"$RESULTS/iperf3-c-restart.txt" 2>&1 </dev/null &
	echo $! >/tmp/pair-job-client.pid
	sleep 6
	rx1=$(rb pair_transfer | cut -d' ' -f1)
	assert_flowing "$rx0" "$rx1"
	new_mark
	say "B: the C driver's device deleted, the module reloaded, the device made again (no endpoint for A)"
	rb -t 120 "ip link del $WGIF && WG_IMPL=c wg_impl_load && pair_wg_up b $B_PRIV $A_PUB $PSK '' && cat /sys/module/wireguard/srcversion" >"$STATE/b-srcversion"
	start=$SECONDS
	say "B back"
	cat "$STATE/b-srcversion"
	[ "$(tail -n 1 "$STATE/b-srcversion")" = "$(modinfo -F srcversion "$WG_C_MODULE")" ]
	recovered a "$start"
	rb "pair_log_since $MARK '$WGIF: Receiving handshake initiation from peer'"
	stop_jobs
	rb_iperf_server "$TUN_B4"
	timeout 90 iperf3 -c "$TUN_B4" -p 5201 -t 3 -J --connect-timeout 10000 >"$RESULTS/iperf3-c-restart-after.json"
	iperf_received "$RESULTS/iperf3-c-restart-after.json" ours-to-c-after-restart >/dev/null
	ping_both_ways
	show_both
}

t_ours_restart_recovers() {
	fresh recreate "" "$EP_A6"
	rb -t 40 "ping -c 1 -w 20 $TUN_A4"
	local start rx0 rx1
	local_iperf_server "$TUN_A4" ours-restart
	rx0=$(pair_transfer | cut -d' ' -f1)
	rb "timeout 200 iperf3 -c $TUN_A4 -p 5201 -t 60 --connect-timeout 10000 >/tmp/iperf3-restart.txt 2>&1 </dev/null & echo \$! >/tmp/pair-job-client.pid"
	sleep 6
	rx1=$(pair_transfer | cut -d' ' -f1)
	assert_flowing "$rx0" "$rx1"
	new_mark
	say "A: our device deleted, the module reloaded, the device made again (no endpoint for B)"
	ip link del "$WGIF"
	wg_impl_load
	if [ "$(wg_impl)" = rs ]; then loaded_is_ours; fi
	pair_wg_up a "$A_PRIV" "$B_PUB" "$PSK" ""
	start=$SECONDS
	say "A back"
	recovered b "$start"
	a_log responded "$MARK"
	stop_jobs
	local_iperf_server "$TUN_A4" ours-restart-after
	rb -t 100 "timeout 90 iperf3 -c $TUN_A4 -p 5201 -t 3 -J --connect-timeout 10000" >"$RESULTS/iperf3-ours-restart-after.json"
	iperf_received "$RESULTS/iperf3-ours-restart-after.json" c-to-ours-after-restart >/dev/null
	ping_both_ways
	show_both
}

t_teardown() {
	stop_jobs
	ip link del "$WGIF"
	unload
	rb "ip link del $WGIF && unload"
}

check link t_link
check driver_under_test t_driver_under_test
check peer_driver_is_c t_peer_driver_is_c
check handshake_from_ours_outer4 t_handshake_from_ours 4 recreate
check handshake_from_c_outer4 t_handshake_from_c 4 readd
check handshake_from_ours_outer6 t_handshake_from_ours 6 readd
check handshake_from_c_outer6 t_handshake_from_c 6 recreate
check iperf3_tcp_ours_to_c t_iperf3_ours_to_c
check iperf3_tcp_c_to_ours t_iperf3_c_to_ours
check c_restart_recovers t_c_restart_recovers
check ours_restart_recovers t_ours_restart_recovers
check teardown t_teardown
# The peer VM powers off (its kmemleak scan and kernel log are judged by its own runner).
rb quit >/dev/null 2>&1 || echo "the peer VM did not take quit"
finish
