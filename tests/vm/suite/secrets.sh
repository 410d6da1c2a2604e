#!/usr/bin/env bash
# vm-timeout: 900
# vm-usual: 120 (an estimate: for the progress lines)
# vm-flavour: release
# No copy of a secret left on a kernel stack once the device is idle.
#
# The device's peer is a WireGuard peer in userspace (tests/hostile/
# secretpeer.py) that knows every secret of the handshake the device knows:
# the four DH results, the chaining key after each and after the preshared
# key, the two AEAD keys of the initiation and the response's, tau, the two
# transport keys; with the device's private key and the preshared key, which
# the test chose, 17 values of 32 bytes. After a handshake and the first
# data message, with the device idle, tests/kmod/wg_stack_scan.c searches
# every thread's kernel stack for each of them. A copy found is one the
# driver (or the kernel's crypto under it) left behind after its use: the C
# driver wipes its locals (memzero_explicit at the end of each function of
# noise.c); a Rust move copies the bytes and leaves the source to no Drop.
#
#   control         the scanner finds a value a function left on its stack
#   responder       the peer initiates, the device answers (the handshake
#                   worker's consume_initiation, create_response, keys), the
#                   peer's keepalive confirms (decryption)
#   initiator       a ping through the device makes it initiate (the
#                   initiation, built where our module builds it), the peer
#                   answers (the worker's consume_response, keys), the ping
#                   goes out encrypted (encryption) and the peer decrypts it
#   set_private_key the device's private key set anew, and a preshared key:
#                   the netlink path (wg set) leaves no copy of either, nor
#                   of the static-static DH result it computes for the peer
#                   (the wg process has exited by the scan: its stack is
#                   found only if a new thread was given it, from the
#                   kernel's per-CPU cache of freed stacks)
#
# WG_IMPL=c runs it against the in-tree C driver (tests/hostile/impl.sh).
#
# Run alone:  scripts/vm-run.sh --flavour release --timeout 900 --name secrets tests/vm/suite/secrets.sh
. "$(dirname "$0")/../lib.sh"
top=$(cd "$(dirname "$0")/../../.." && pwd)
. "$top/tests/hostile/impl.sh"
PEER=(env PYTHONPYCACHEPREFIX=/tmp/pycache python3 -S -c
	'import sys; sys.path.insert(0, sys.argv.pop(1)); import secretpeer; secretpeer.main(sys.argv[1:])'
	"$top/tests/hostile")
SCAN=/sys/module/wg_stack_scan/parameters
W=/tmp/secrets
mkdir -p "$W"
umask 077

n1() { ip netns exec sec "$@"; }
hex() { base64 -d | od -An -v -tx1 | tr -d ' \n'; }

for k in dev peer psk; do wg genkey >"$W/$k"; done
PDEV=$(wg pubkey <"$W/dev") PPEER=$(wg pubkey <"$W/peer")

t_load() {
	impl_load
	insmod "$RESULTS/wg_stack_scan.ko"
}

t_control() {
	local n
	n=$(cat $SCAN/control)
	echo "copies of the control value found on the reader's stack: $n (of 8 left)"
	[ "$n" -ge 1 ]
	# And a needle that is on no stack is found nowhere.
	printf '%064x\n' 0 | tr 0 e >$SCAN/needles
	cat $SCAN/hits | tee "$W/hits"
	[ "$(grep -c '^[0-9]' "$W/hits")" = 0 ]
	grep -q '^scanned [1-9][0-9]* threads' "$W/hits"
}

setup() {
	ip netns del sec 2>/dev/null || true
	ip netns add sec
	ip -n sec link set lo up
	ip -n sec link add wg0 type wireguard
	n1 wg set wg0 private-key "$W/dev" listen-port 51820 \
		peer "$PPEER" preshared-key "$W/psk" allowed-ips 10.77.0.2/32 endpoint 127.0.0.1:51821
	ip -n sec addr add 10.77.0.1/24 dev wg0
	ip -n sec link set wg0 up
}

# Searches every stack for the secrets in FILE ("NAME HEX" lines) and the
# device's private and preshared keys; fails on any copy found, named.
scan() { # FILE
	local needles
	{ echo "private_key $(hex <"$W/dev")"; echo "preshared_key $(hex <"$W/psk")"; } >>"$1"
	[ "$(wc -l <"$1")" -ge 3 ]
	needles=$(awk '{ print $2 }' "$1" | paste -sd,)
	# Idle first: no work item of the device may still hold a live copy.
	sleep 2
	echo "$needles" >$SCAN/needles
	cat $SCAN/hits >"$W/hits"
	tail -n 1 "$W/hits"
	awk 'NR == FNR { name[NR - 1] = $1; next }
		/^[0-9]/ { print "FOUND " name[$1] " on the stack of " $2 " (pid " $3 "), " $4 " bytes below its top"; n++ }
		END { exit n > 0 }' "$1" "$W/hits"
}

t_responder() {
	setup
	n1 "${PEER[@]}" initiate 127.0.0.1 51820 "$(cat "$W/peer")" "$PDEV" "$(cat "$W/psk")" >"$W/responder"
	cat "$W/responder"
	[ "$(wc -l <"$W/responder")" = 15 ]
	# The keepalive confirmed the device's session: it counts it received.
	local rx
	for _ in $(seq 1 50); do
		read -r _ rx _ < <(n1 wg show wg0 transfer)
		[ "$rx" -gt 0 ] && break
		sleep 0.2
	done
	[ "$rx" -gt 0 ]
	scan "$W/responder"
}

t_initiator() {
	setup
	n1 "${PEER[@]}" respond 127.0.0.1 51821 "$(cat "$W/peer")" "$PDEV" "$(cat "$W/psk")" >"$W/initiator" &
	local pid=$!
	sleep 2 # the peer's socket bound
	n1 ping -c 1 -W 1 10.77.0.2 || true
	wait "$pid"
	cat "$W/initiator"
	[ "$(wc -l <"$W/initiator")" = 15 ]
	scan "$W/initiator"
}

t_set_private_key() {
	setup
	local f=$W/setkeys
	wg genkey >"$W/dev"
	wg genkey >"$W/psk"
	n1 wg set wg0 private-key "$W/dev" peer "$PPEER" preshared-key "$W/psk"
	[ "$(n1 wg show wg0 public-key)" = "$(wg pubkey <"$W/dev")" ]
	"${PEER[@]}" dh "$(cat "$W/dev")" "$PPEER" >"$f"
	cat "$f"
	scan "$f"
}

t_unload() {
	ip netns del sec
	rmmod wg_stack_scan
	impl_unload
}

check load t_load
check control t_control
check responder t_responder
check initiator t_initiator
check set_private_key t_set_private_key
check unload t_unload
finish
