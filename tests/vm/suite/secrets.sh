#!/usr/bin/env bash
# vm-timeout: 900
# vm-usual: 120 (an estimate: for the progress lines)
# vm-flavour: release
# No copy of a secret left on a kernel stack once the device is idle.
#
# The device's peer is a WireGuard peer in userspace (tests/hostile/
# secretpeer.py) that knows every secret of the handshake the device knows:
# the four DH results, and of each KDF its intermediate key and outputs (the
# chaining keys, the AEAD keys of the initiation and the response, tau, the
# two transport keys); with the device's private key and the preshared key,
# which the test chose, 25 values of 32 bytes. After a handshake and the
# first data message, with the device idle, tests/kmod/wg_stack_scan.c
# searches every thread's kernel stack and every CPU's interrupt stack for
# each half (16 bytes) of each: a copy found, whole or half overwritten, is
# one the driver (or the kernel's crypto under it) left behind after its
# use. The C driver wipes its locals (memzero_explicit at the end of each
# function of noise.c); a Rust move copies the bytes and leaves the source
# to no Drop.
#
#   control         the scanner finds a value a function left on a stack
#                   (every scan checks the same) and nothing for a value
#                   that is on none
#   responder       the peer initiates, the device answers (the handshake
#                   worker's consume_initiation, create_response, keys), the
#                   peer's keepalive confirms (decryption)
#   initiator       a ping through the device makes it initiate (the
#                   initiation, built where our module builds it), the peer
#                   answers (the worker's consume_response, keys), the ping
#                   goes out encrypted (encryption) and the peer decrypts it
#   set_private_key a process sets the device's private key anew and the
#                   peer's preshared key in one netlink request
#                   (tests/netlink/wgnl.py keys-and-stay), then stays: the
#                   kernel stack the request ran on keeps no copy of either,
#                   nor of the static-static DH result computed for the peer
#                   (a thread that exited is not searched: the kernel zeroes
#                   a freed stack it hands to a new one)
#
# WG_IMPL=c runs it against the in-tree C driver (tests/hostile/impl.sh),
# which fails initiator and set_private_key: x86-64's curve25519 leaves the
# DH result in encode_point's frame (not wiped), and the C driver's own
# wiping stops at its functions' locals (seen 2026-12-07: dh_se, half of
# it, on a kworker's stack; dh_ss on the stack of the process that set the
# key). Our module zeroes the stack under its handshakes and configuration
# (kapi::platform::scrubbed), the kernel's crypto under them included; the
# module of 410c78e, before that, failed responder, initiator and
# set_private_key (transport keys, their KDF's intermediate key, ck_es,
# prk_ss on kworkers' stacks; the private key and dh_ss on the setting
# process's).
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
	# A needle that is on no stack is found nowhere; the control is.
	printf '%064x\n' 0 | tr 0 e >$SCAN/needles
	cat $SCAN/hits | tee "$W/hits"
	[ "$(grep -c '^[0-9]' "$W/hits")" = 0 ]
	grep -Eq '^scanned [1-9][0-9]* threads, [1-9][0-9]* interrupt stacks, [0-9]+ bytes; control found [1-9]' "$W/hits"
	# A needle of another length than 16 to 32 bytes is refused.
	if printf '%030x\n' 0 >$SCAN/needles 2>/dev/null; then
		echo "a needle of 15 bytes was taken"
		return 1
	fi
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

# Searches every stack for the secrets in FILE ("NAME HEX" lines, 32 bytes
# each) and the device's private and preshared keys, each as its two halves;
# fails on any copy found, named, or if the scan's control was not found.
# (Each step checked explicitly: errexit does not hold in a function called
# where its status is tested.)
scan() { # FILE
	{ echo "private_key $(hex <"$W/dev")"; echo "preshared_key $(hex <"$W/psk")"; } >>"$1"
	[ "$(wc -l <"$1")" -ge 3 ] || return 1
	awk '{ print $1 "[0:16] " substr($2, 1, 32); print $1 "[16:32] " substr($2, 33, 32) }' "$1" >"$1.halves"
	# Idle first: no work item of the device may still hold a live copy.
	sleep 2
	awk '{ print $2 }' "$1.halves" | paste -sd, >$SCAN/needles || return 1
	cat $SCAN/hits >"$W/hits" || return 1
	tail -n 1 "$W/hits"
	grep -Eq '^scanned .*; control found [1-9]' "$W/hits" || { echo "the scan's control was not found"; return 1; }
	awk 'NR == FNR { name[NR - 1] = $1; next }
		/^[0-9]/ { print "FOUND " name[$1] " on the stack of " $2 " (pid " $3 "), " $4 " bytes below its top"; n++ }
		END { exit n > 0 }' "$1.halves" "$W/hits"
}

t_responder() {
	setup
	n1 "${PEER[@]}" initiate 127.0.0.1 51820 "$(cat "$W/peer")" "$PDEV" "$(cat "$W/psk")" >"$W/responder"
	cat "$W/responder"
	[ "$(wc -l <"$W/responder")" = 23 ]
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
	[ "$(wc -l <"$W/initiator")" = 23 ]
	scan "$W/initiator"
}

t_set_private_key() {
	setup
	local f=$W/setkeys
	wg genkey >"$W/dev"
	wg genkey >"$W/psk"
	ip netns exec sec python3 "$top/tests/netlink/wgnl.py" keys-and-stay wg0 "$W/dev" "$PPEER" "$W/psk" \
		>"$W/stay" 2>&1 &
	STAY_PID=$!
	# (Ended whatever fails: this runs in the check's own subshell.)
	trap 'kill "$STAY_PID" 2>/dev/null || true' EXIT
	for _ in $(seq 1 100); do
		grep -q . "$W/stay" && break
		sleep 0.2
	done
	cat "$W/stay"
	grep -qx set "$W/stay"
	[ "$(n1 wg show wg0 public-key)" = "$(wg pubkey <"$W/dev")" ]
	[ "$(n1 wg show wg0 preshared-keys | cut -f 2)" = "$(cat "$W/psk")" ]
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
