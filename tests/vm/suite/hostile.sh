#!/usr/bin/env bash
# vm-timeout: 1800
# vm-usual: 429 (seconds in make check on this machine kind, 2026-12-04: for the progress lines)
# Hostile traffic against a live tunnel (debug kernel).
#
# wg0 (ns1) and wg1 (ns2) over a veth pair, once with IPv4 and once with IPv6
# endpoints: handshakes in both directions, data both ways, while a sniffer in
# ns1 records what wg1 sends wg0. Then a third party in ns2
# (tests/hostile/wgattack.py) throws at wg0's port, class by class: garbage
# of every length 0..2000, malformed and truncated messages of each type,
# handshakes with a bad mac1, genuine-looking initiations from an unknown key,
# data for unknown receiver indices, data for wg0's live indices under no key
# it holds, and the captured handshake and data messages replayed, each from
# ns2's address (another port), from another address, and as frames forged
# with wg1's own address and port. For each class:
#   (a) nothing comes back: no datagram to the sending sockets, no packet from
#       ns1's addresses on the wire (a sniffer in ns2) for a second after;
#   (b) `wg show dump` of both devices, and their rx counters, are the same
#       before and after (endpoint, latest handshake, transfer, ...);
#   and every datagram sent did reach a UDP socket in ns1 (so the class was
#   really delivered to wg0, not lost on the way).
# Afterwards the tunnel still works both ways, with wg0's endpoint unmoved;
# (c) the VM runner fails the run on any kernel splat or kmemleak report.
#
# Why the snapshots can be compared exactly: persistent keepalive is off, and
# the last legitimate exchange of each family is a ping from ns2 (echo
# requests from wg1, replies from wg0). After it, exactly one thing is pending
# in the protocol's timers: wg1 received data and sent none since, so it owes
# wg0 one keepalive after KEEPALIVE_TIMEOUT (10 s). wg0's keepalive timer was
# stopped by its sending the replies; both new-handshake timers are stopped by
# each side receiving an authenticated packet (the replies; the keepalive);
# a keepalive arms no timer in the receiver; rekeying happens only on sending.
# So the suite waits until that keepalive has reached wg0 (a bounded wait on
# wg0's rx counter); from then on an idle pair changes nothing in its dump
# until something is sent, and whatever moves during a class moved because of
# the class.
#
# The classes of data messages for wg0's live session (bad-ciphertext,
# replay-data) come right after the handshake classes, while that session
# is young: once it is older than REJECT_AFTER_TIME (180 s) wg0 drops them
# before decrypting or checking replay, and they would test nothing (they
# came last until 2026-12-06: 103 to 144 s after the handshake in a stored
# run); each says how old the session was at its end, and fails if it had
# expired.
#
# Cookie replies: a device under load may answer a handshake message with a
# VALID mac1 by a cookie reply. "Under load" means many handshake messages
# queued at once (512 for the C driver; it then lasts a second). The classes
# with a valid mac1 (unknown-key, replay-handshake, the control) come first in
# each family, send a handful of messages spaced apart, and follow the
# previous family's floods by more than the 10 s keepalive wait; the floods
# themselves carry at most a few hundred handshake-sized messages, all with a
# bad mac1, which no device answers.
#
# The handshake path under attack (tests/hostile/flood.sh) is its own suite,
# tests/vm/suite/flood.sh, on the release kernel (that suite's header says
# why).
#
# WG_IMPL=c tests the in-tree C driver instead of our module (see
# tests/hostile/impl.sh).
. "$(dirname "$0")/../lib.sh"
top=$(cd "$(dirname "$0")/../../.." && pwd)
. "$top/tests/hostile/impl.sh"
# tests/hostile/wgattack.py, run as a module with its compiled form cached
# under /tmp (the checkout is read-only in the guest) and without site: every
# second of start-up counts under emulation, and it runs some twenty times.
ATK=(env PYTHONPYCACHEPREFIX=/tmp/pycache python3 -S -c
	'import sys; sys.path.insert(0, sys.argv.pop(1)); import wgattack; sys.exit(wgattack.main())'
	"$top/tests/hostile")
W=/tmp/hostile
mkdir -p "$W"
umask 077
hold_netstamp_key

n1() { ip netns exec ns1 "$@"; }
n2() { ip netns exec ns2 "$@"; }

# Keys: wg0, wg1, the control device wg9, and the control's initiator.
for k in k0 k1 k9 kx; do wg genkey >"$W/$k"; done
P0=$(wg pubkey <"$W/k0") P1=$(wg pubkey <"$W/k1") P9=$(wg pubkey <"$W/k9") PX=$(wg pubkey <"$W/kx")
MAC1=02:00:00:00:00:01 MAC2=02:00:00:00:00:02

family() {
	F=$1
	if [ "$F" = 4 ]; then
		A1=10.10.0.1 A2=10.10.0.2 A3=10.10.0.3 E0=10.10.0.1:51820 E1=10.10.0.2:51821
	else
		A1=fd10::1 A2=fd10::2 A3=fd10::3 E0=[fd10::1]:51820 E1=[fd10::2]:51821
	fi
	CAP=$W/capture-v$F.txt
	common=(--target "$A1" --target-addr 10.10.0.1 --target-addr fd10::1
		--source "$A2" --source "$A3" --spoof "$E1" --ifname veth2 --src-mac "$MAC2" --dst-mac "$MAC1")
}

# All replies of COUNT echo requests, within a bound.
ping_ok() { # NS ADDR COUNT
	ip netns exec "$1" ping -q -c "$3" -i 0.2 -w 30 "$2"
}

# Every exec costs a good fraction of a second in the debug guest: what
# the checks read and copy, they read and write with bash's builtins.
peer_rx() { # NS DEV: the rx bytes of DEV's only peer
	local key rx
	read -r key rx _ < <(ip netns exec "$1" wg show "$2" transfer)
	echo "$rx"
}

# A snapshot, into FILE, of everything the devices show of their state that
# hostile packets could move: `wg show dump` of both, and the rx counters of
# both interfaces; into FILE.udp, the number of datagrams delivered to UDP
# sockets in ns1 (wg0's is the only one in use). One process tree per
# namespace: every exec costs a good fraction of a second under emulation.
snap() { # FILE
	local counters='
		$1 == DEV ":" { print DEV, "rx_bytes", $2, "rx_packets", $3 }
		$1 == "Udp:" && $2 ~ /^[0-9]+$/ { v4 = $2 }
		$1 == "Udp6InDatagrams" { v6 = $2 }
		END { print v4 + v6 >UDP }'
	n1 sh -c 'wg show wg0 dump && exec awk -v DEV=wg0 -v UDP="$1" "$2" /proc/net/dev /proc/net/snmp /proc/net/snmp6' \
		_ "$1.udp" "$counters" >"$1"
	n2 sh -c 'wg show wg1 dump && exec awk -v DEV=wg1 -v UDP=/dev/null "$1" /proc/net/dev' _ "$counters" >>"$1"
}

stop_capture() {
	if [ -s "$W/capture.pid" ]; then
		kill "$(cat "$W/capture.pid")" 2>/dev/null || true
		wait "$(cat "$W/capture.pid")" 2>/dev/null || true
	fi
	rm -f "$W/capture.pid"
}

teardown() {
	stop_capture
	ip netns del ns1 2>/dev/null || true
	ip netns del ns2 2>/dev/null || true
}

# Seconds from one $EPOCHREALTIME to another, to a tenth (no exec: builtins).
elapsed() { local d=$(( (${2/./} - ${1/./}) / 100000 )); echo "$((d / 10)).$((d % 10))"; }

need_setup() {
	[ -e "$W/setup-ok" ] || { echo "no working tunnel (see the setup check): nothing to test"; return 1; }
}

# See the header: wait (bounded) for wg1's keepalive to reach wg0.
quiesce() {
	local before now start=$SECONDS
	before=$(peer_rx ns1 wg0)
	while [ $((SECONDS - start)) -lt 40 ]; do
		sleep 1
		now=$(peer_rx ns1 wg0)
		if [ "$now" -gt "$before" ]; then
			echo "wg1's keepalive reached wg0 within $((SECONDS - start)) s of the last ping (rx $before -> $now)"
			# Exactly one keepalive (32 bytes): anything else (an initiation
			# from a new-handshake timer left armed) means the timers did
			# not end where the header says, and the classes would race it.
			[ $((now - before)) -eq 32 ] ||
				{ echo "FAIL: wg0 received $((now - before)) bytes, not one 32-byte keepalive"; return 1; }
			sleep 1
			return 0
		fi
	done
	echo "wg1's keepalive did not reach wg0 within 40 s of the last ping (rx stayed at $before)"
	return 1
}

t_setup() {
	rm -f "$W/setup-ok"
	teardown
	ip netns add ns1
	ip netns add ns2
	ip -n ns1 link set lo up
	ip -n ns2 link set lo up
	ip link add veth1 netns ns1 address "$MAC1" type veth peer name veth2 netns ns2 address "$MAC2"
	ip -n ns1 addr add 10.10.0.1/24 dev veth1
	ip -n ns1 addr add fd10::1/64 dev veth1 nodad
	ip -n ns2 addr add 10.10.0.2/24 dev veth2
	ip -n ns2 addr add 10.10.0.3/24 dev veth2
	ip -n ns2 addr add fd10::2/64 dev veth2 nodad
	# Deprecated, so that wg1's packets keep fd10::2 as their source: fd10::3
	# is only for the third party, which binds to it.
	ip -n ns2 addr add fd10::3/64 dev veth2 nodad preferred_lft 0
	ip -n ns1 link set veth1 up
	ip -n ns2 link set veth2 up
	# Neighbours resolved both ways, for every source address used later.
	ping_ok ns2 10.10.0.1 1
	n2 ping -q -c 1 -w 10 -I 10.10.0.3 10.10.0.1
	ping_ok ns2 fd10::1 1
	n2 ping -q -c 1 -w 10 -I fd10::3 fd10::1

	ip -n ns1 link add wg0 type wireguard
	ip -n ns2 link add wg1 type wireguard
	ip -n ns1 link add wg9 type wireguard
	n1 wg set wg0 private-key "$W/k0" listen-port 51820 \
		peer "$P1" allowed-ips 192.168.241.2/32,fd00::2/128 endpoint "$E1"
	n2 wg set wg1 private-key "$W/k1" listen-port 51821 \
		peer "$P0" allowed-ips 192.168.241.1/32,fd00::1/128 endpoint "$E0"
	# The control device: its only peer is the control initiator's key.
	n1 wg set wg9 private-key "$W/k9" listen-port 51829 peer "$PX" allowed-ips 192.168.249.2/32
	ip -n ns1 addr add 192.168.241.1/24 dev wg0
	ip -n ns1 addr add fd00::1/64 dev wg0 nodad
	ip -n ns2 addr add 192.168.241.2/24 dev wg1
	ip -n ns2 addr add fd00::2/64 dev wg1 nodad
	ip -n ns1 link set wg0 up
	ip -n ns2 link set wg1 up
	ip -n ns1 link set wg9 up

	rm -f "$W/capture.ready" "$CAP"
	# Not through n1: $! must be the sniffer itself (ip netns exec and env exec it).
	ip netns exec ns1 "${ATK[@]}" capture --ifname veth1 --port 51820 --out "$CAP" \
		--ready "$W/capture.ready" &
	echo $! >"$W/capture.pid"
	local i
	for i in $(seq 1 100); do [ -e "$W/capture.ready" ] && break; sleep 0.1; done
	[ -e "$W/capture.ready" ]

	ping_ok ns1 192.168.241.2 3  # wg0 initiates the first handshake
	# When: the oldest session whose data the capture holds.
	n1 wg show wg0 latest-handshakes | cut -f2 >"$W/v$F-first-handshake"
	ping_ok ns1 fd00::2 3
	# A second handshake, initiated by wg1 (it forgets its session when its
	# peer is removed and added again): the capture then holds an initiation
	# to wg0 as well as a response to it, and data under two sessions.
	n2 wg set wg1 peer "$P0" remove
	n2 wg set wg1 peer "$P0" allowed-ips 192.168.241.1/32,fd00::1/128 endpoint "$E0"
	ping_ok ns2 192.168.241.1 3
	ping_ok ns2 fd00::1 3
	ping_ok ns1 192.168.241.2 2
	ping_ok ns2 192.168.241.1 2  # the last exchange (see the header)
	quiesce
	stop_capture
	n1 wg show wg0
	n2 wg show wg1
	"${ATK[@]}" capinfo "$CAP" | tee "$W/capinfo"
	grep -q '^type 1: ' "$W/capinfo"
	grep -q '^type 2: ' "$W/capinfo"
	grep -q '^type 4: ' "$W/capinfo"
	n1 wg show wg0 endpoints | grep -qF "$P1	$E1"
	[ "$(n1 wg show wg0 persistent-keepalive | awk '{ print $2 }')" = off ]
	[ "$(n2 wg show wg1 persistent-keepalive | awk '{ print $2 }')" = off ]
	# The state each class starts from (the idle pair changes nothing in it).
	snap "$W/v$F-setup.state"
	echo "$W/v$F-setup.state" >"$W/state.path"
	echo "$(<"$W/v$F-setup.state")"
	touch "$W/setup-ok"
}

# The positive control: wg9 answers a valid initiation from its peer, and the
# tool sees that answer both on its socket and on the wire. Without it, the
# silence asserted below could be the tool's deafness.
t_control() {
	need_setup
	n2 "${ATK[@]}" control "${common[@]}" --port 51829 --pub "$P9" --static-priv "$W/kx" --listen 5
	# Gone before the hostile classes: only wg0 may answer from ns1 now.
	ip -n ns1 link del wg9
}

# One class: the state before is the previous class's after (or setup's).
t_class() { # CLASS
	need_setup
	local after=$W/v$F-$1.after before in0 in1 sent status=0 t0=$EPOCHREALTIME t1
	read -r before <"$W/state.path"  # the previous class's after, or setup's
	echo 0 >"$W/sent"
	n2 "${ATK[@]}" attack --class "$1" "${common[@]}" --port 51820 --pub "$P0" \
		--capture "$CAP" --summary "$W/sent" || status=$?
	t1=$EPOCHREALTIME
	snap "$after"
	echo "time: attack $(elapsed "$t0" "$t1") s, snapshot $(elapsed "$t1" "$EPOCHREALTIME") s"
	read -r in0 <"$before.udp"
	read -r in1 <"$after.udp"
	read -r sent <"$W/sent"
	echo "datagrams delivered to UDP sockets in ns1: $((in1 - in0)) (sent: $sent)"
	echo "$(<"$after")"
	if [ "$(<"$before")" != "$(<"$after")" ]; then
		diff -u "$before" "$after" || true
		echo "FAIL: the devices' state moved"
		status=1
	fi
	echo "$after" >"$W/state.path"
	if [ "$sent" -eq 0 ] || [ $((in1 - in0)) -lt "$sent" ]; then
		echo "FAIL: not every datagram reached ns1's UDP sockets: the class tested less than it says"
		status=1
	fi
	case $1 in
	bad-ciphertext | replay-data)
		# Data messages of wg0's two sessions (t_setup): only while they
		# live (REJECT_AFTER_TIME, 180 s from their handshakes); after that
		# wg0 drops them before decrypting or checking replay.
		local hs age
		read -r hs <"$W/v$F-first-handshake"
		age=$(($(date +%s) - hs))
		echo "wg0's older session was $age s old at the end of the class"
		if [ "$age" -ge 180 ]; then
			echo "FAIL: wg0's older session had expired: the class tested less than it says"
			status=1
		fi
		;;
	esac
	[ "$status" = 0 ]
}

t_after() {
	need_setup
	local rx0 rx1
	n1 wg show wg0 endpoints | grep -F "$P1	$E1" ||
		{ echo "wg0's endpoint moved:"; n1 wg show wg0 endpoints; return 1; }
	rx0=$(peer_rx ns1 wg0)
	ping_ok ns1 192.168.241.2 3
	ping_ok ns1 fd00::2 3
	ping_ok ns2 192.168.241.1 3
	ping_ok ns2 fd00::1 3
	rx1=$(peer_rx ns1 wg0)
	[ "$rx1" -gt "$rx0" ]
	n1 wg show wg0 endpoints | grep -qF "$P1	$E1"
	n1 wg show wg0
}

t_unload() {
	teardown
	sleep 1
	impl_unload
}

check crypto_selftest "${ATK[@]}" selftest
check load impl_load
for fam in 4 6; do
	family "$fam"
	check "v${fam}_setup" t_setup
	check "v${fam}_control" t_control
	for class in unknown-key replay-handshake bad-ciphertext replay-data garbage malformed bad-mac1 unknown-index; do
		check "v${fam}_$class" t_class "$class"
	done
	check "v${fam}_after" t_after
done
teardown
check unload t_unload
finish
