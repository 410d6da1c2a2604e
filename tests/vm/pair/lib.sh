# Sourced in both guests of scripts/vm-pair.sh (after tests/vm/lib.sh): the
# pair's addresses, the link and WireGuard set-up of either side, and rb(),
# which runs a command in the peer VM through its command server
# (tests/vm/pair/ctl-server.py).
#
#   VM A (the suite, e.g. interop_cdriver.sh)   VM B (peer.sh, the C driver)
#   NIC with MAC 52:54:00:77:00:01 -> pair0      NIC with MAC 52:54:00:77:00:02 -> pair0
#   10.99.0.1/24, fd99::1/64                     10.99.0.2/24, fd99::2/64, command server on :7700
#   wg0: 192.168.99.1/24, fd98::1/64             wg0: 192.168.99.2/24, fd98::2/64
PAIR_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MAC_A=52:54:00:77:00:01 MAC_B=52:54:00:77:00:02
LINK=pair0
OUT_A4=10.99.0.1 OUT_B4=10.99.0.2 OUT_A6=fd99::1 OUT_B6=fd99::2
TUN_A4=192.168.99.1 TUN_B4=192.168.99.2 TUN_A6=fd98::1 TUN_B6=fd98::2
WGIF=wg0 WG_PORT=51820 CTL_PORT=7700

say() { printf '[%(%T)T] %s\n' -1 "$*"; }

# Polls CMD every half second until it succeeds or SECONDS_MAX pass.
wait_for() { # SECONDS_MAX CMD...
	local max=$1 end
	shift
	end=$((SECONDS + max))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < end)) || { echo "timed out after ${max}s waiting for: $*"; return 1; }
		sleep 0.5
	done
}

# The extra NIC of this side (found by its MAC), renamed pair0, addressed, up.
pair_link_up() { # a|b
	local mac my4 my6 d dev=
	if [ "$1" = a ]; then mac=$MAC_A my4=$OUT_A4 my6=$OUT_A6; else mac=$MAC_B my4=$OUT_B4 my6=$OUT_B6; fi
	for d in /sys/class/net/*; do
		[ "$(cat "$d/address" 2>/dev/null)" = "$mac" ] && dev=${d##*/}
	done
	[ -n "$dev" ] || { echo "no NIC with MAC $mac"; ip -br link; return 1; }
	ip link set lo up
	ip link set "$dev" down
	[ "$dev" = "$LINK" ] || ip link set "$dev" name "$LINK"
	ip addr add "$my4/24" dev "$LINK"
	ip addr add "$my6/64" dev "$LINK" nodad
	ip link set "$LINK" up
	ip -br addr show "$LINK"
}

# This side's WireGuard device, made afresh: PRIV (base64) and the peer's
# PUB, a preshared key, allowed IPs the peer's tunnel addresses, and the
# peer's ENDPOINT if given ("" or absent: unknown, so this side cannot
# initiate).
pair_wg_up() { # a|b PRIV PUB PSK [ENDPOINT]
	local role=$1 priv=$2 pub=$3 psk=$4 ep=${5:-} my4 my6 peer4 peer6
	if [ "$role" = a ]; then my4=$TUN_A4 my6=$TUN_A6 peer4=$TUN_B4 peer6=$TUN_B6
	else my4=$TUN_B4 my6=$TUN_B6 peer4=$TUN_A4 peer6=$TUN_A6; fi
	[ -d /sys/module/wireguard ] || { echo "pair_wg_up: no wireguard module loaded"; return 1; }
	ip link del "$WGIF" 2>/dev/null || true
	ip link add "$WGIF" type wireguard
	wg set "$WGIF" private-key <(echo "$priv") listen-port "$WG_PORT"
	pair_peer_add "$role" "$pub" "$psk" "$ep"
	ip addr add "$my4/24" dev "$WGIF"
	ip addr add "$my6/64" dev "$WGIF" nodad
	ip link set "$WGIF" up
}

# Loads IMPL by path, in either VM, after unloading whatever wireguard module
# is loaded, and checks that the loaded one is the file asked for (its
# srcversion): rs, our module ($WG_RS_MODULE: in B, /tmp/ours.ko, where
# peer.sh put it out of modprobe's reach), or c, the in-tree C driver
# ($WG_C_MODULE). No debug lines are switched on (wg_impl_load of
# tests/interop/lib.sh is the loader that does, through modprobe for ours).
pair_load() { # rs|c
	local file
	case $1 in
	rs) file=$WG_RS_MODULE ;;
	c) file=$WG_C_MODULE ;;
	*) echo "pair_load: rs or c, not '$1'"; return 1 ;;
	esac
	[ -f "$file" ] || { echo "pair_load: no module at '$file'"; return 1; }
	if [ -d /sys/module/wireguard ]; then unload || { echo "pair_load: could not unload wireguard"; return 1; }; fi
	modprobe udp_tunnel && modprobe ip6_udp_tunnel && insmod "$file" || return 1
	[ "$(cat /sys/module/wireguard/srcversion)" = "$(modinfo -F srcversion "$file")" ] ||
		{ echo "pair_load: the loaded wireguard is not $file"; return 1; }
	echo "$(hostname -s 2>/dev/null): loaded $1, wireguard $(cat /sys/module/wireguard/version) srcversion $(cat /sys/module/wireguard/srcversion)"
}

# The single peer, added (again) to an existing device.
pair_peer_add() { # a|b PUB PSK [ENDPOINT]
	local role=$1 pub=$2 psk=$3 ep=${4:-} allowed
	if [ "$role" = a ]; then allowed=$TUN_B4/32,$TUN_B6/128; else allowed=$TUN_A4/32,$TUN_A6/128; fi
	wg set "$WGIF" peer "$pub" preshared-key <(echo "$psk") allowed-ips "$allowed" ${ep:+endpoint "$ep"}
}
pair_peer_remove() { wg set "$WGIF" peer "$1" remove; }

# The single peer's endpoint, latest handshake, "rx tx" bytes.
pair_endpoint() { wg show "$WGIF" endpoints | cut -f2; }
pair_handshake() { wg show "$WGIF" latest-handshakes | cut -f2; }
pair_transfer() { wg show "$WGIF" transfer | cut -f2,3 | tr '\t' ' '; }

# A marker in the kernel log; pair_log_since prints the lines after it that
# match a pattern (the drivers' debug lines: "wg0: Sending handshake
# initiation to peer N (ADDR)").
pair_mark() { echo "pair-mark $1" >/dev/kmsg; }
pair_log_since() { # MARK PATTERN
	dmesg | sed -n "/pair-mark $1\$/,\$p" | grep -E "$2" || { echo "no kernel log line /$2/ since mark $1"; return 1; }
}

# Runs CMD (one line, bash, with the libraries sourced) in the peer VM,
# prints its output and returns its status; 125 when the peer VM does not
# answer. A command is killed there after TIMEOUT seconds (default 60).
rb() { # [-t TIMEOUT] CMD...
	local t=60 out rc
	if [ "$1" = -t ]; then t=$2; shift 2; fi
	out=$(timeout $((t + 20)) bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1; printf "%s %s\n" "$2" "$3" >&3; cat <&3' \
		"$OUT_B4" "$CTL_PORT" "$t" "$*" 2>&1) || true
	case $out in
	*@@rc=*) ;;
	*) echo "rb: no answer from the peer VM to: $*${out:+ ($out)}"; return 125 ;;
	esac
	rc=${out##*@@rc=}
	out=${out%@@rc=*}
	while [[ $out == *$'\n' ]]; do out=${out%$'\n'}; done
	[ -z "$out" ] || printf '%s\n' "$out"
	return "${rc//[^0-9]/}"
}

# An iperf3 server in B on ADDR (one test, then it exits; ended after
# LIFETIME seconds, default 200, whatever happens).
rb_iperf_server() { # ADDR [LIFETIME]
	rb -t 40 "timeout ${2:-200} iperf3 -s -1 -B $1 -p 5201 >/tmp/iperf3-server.log 2>&1 </dev/null & echo \$! >/tmp/pair-job-server.pid; wait_for 20 eval \"ss -tlnH 'sport = 5201' | grep -q LISTEN\""
}

# Asserts this side's view of its peer: the endpoint ("" = none known) and
# whether a handshake completed (0: none, 1: one did).
pair_expect_state() { # ENDPOINT 0|1
	local ep hs
	ep=$(pair_endpoint) hs=$(pair_handshake)
	echo "$(hostname -s 2>/dev/null) $WGIF: endpoint $ep, latest handshake $hs"
	[ "$ep" = "${1:-(none)}" ] || { echo "endpoint $ep, want ${1:-(none)}"; return 1; }
	if [ "$2" = 1 ]; then [ "$hs" -gt 0 ] || { echo "no handshake"; return 1; }
	else [ "$hs" = 0 ] || { echo "a handshake is remembered ($hs)"; return 1; }; fi
}

# Since MARK, this side initiated the handshake / only responded to one.
pair_initiated() { pair_log_since "$1" "$WGIF: Sending handshake initiation to peer"; }
pair_responded() { # MARK
	pair_log_since "$1" "$WGIF: Receiving handshake initiation from peer" || return 1
	! pair_log_since "$1" "Sending handshake initiation" >/dev/null || { echo "this side sent an initiation too"; return 1; }
}

# Ends the background jobs a test left (pid files /tmp/pair-job-*.pid).
pair_stop_jobs() {
	local f
	for f in /tmp/pair-job-*.pid; do
		[ -e "$f" ] || continue
		kill "$(cat "$f")" 2>/dev/null || true
		rm -f "$f"
	done
}
