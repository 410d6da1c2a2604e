# Sourced by VM test scripts (they run inside the guest, as root).
# Each `check NAME CMD...` records PASS/FAIL NAME in $RESULTS/results.txt; the
# script's exit status is the number of failures.
set -u
failures=0
check() {
	local name=$1 status
	shift
	# A subshell with errexit, outside any conditional (where bash would
	# ignore errexit): the first failing command fails the test.
	# Each command it ran, with the time it started, goes to NAME.trace:
	# where a check spends its time (make check's length) shows there.
	(
		exec {trace}>"$RESULTS/$name.trace"
		BASH_XTRACEFD=$trace PS4='+ ${EPOCHREALTIME} '
		set -ex
		"$@"
	) >"$RESULTS/$name.log" 2>&1
	status=$?
	if [ $status -eq 0 ]; then
		echo "PASS $name" | tee -a "$RESULTS/results.txt"
	else
		echo "FAIL $name" | tee -a "$RESULTS/results.txt"
		sed 's/^/    /' "$RESULTS/$name.log" | tail -n 30
		failures=$((failures + 1))
	fi
}
finish() { exit "$failures"; }

# Asserts that a command succeeds / fails, with a message.
assert() { "$@" || { echo "assertion failed: $*"; return 1; }; }
refute() { ! "$@" || { echo "unexpectedly succeeded: $*"; return 1; }; }

# Devices of kind wireguard in namespace $1 ("" = the initial one), one per line.
wg_devs() {
	local ns=${1:-}
	if [ -n "$ns" ]; then ip -n "$ns" -d -o link show type wireguard; else ip -d -o link show type wireguard; fi |
		awk -F': ' '{print $2}' | sed 's/@.*//'
}
count_devs() { wg_devs "${1:-}" | grep -c . || true; }

# The module loaded now is ours, not the in-tree C driver.
loaded_is_ours() {
	[ -d /sys/module/wireguard ] || { echo "wireguard not loaded"; return 1; }
	local want got
	want=$(modinfo -F version "$WG_RS_MODULE")
	got=$(cat /sys/module/wireguard/version)
	[ "$want" = "$got" ] || { echo "loaded version $got, ours is $want"; return 1; }
	[ "$(modinfo -F description "$WG_RS_MODULE")" = "WireGuard secure network tunnel" ] || return 1
}
unload() { modprobe -r wireguard 2>/dev/null || rmmod wireguard; ! [ -d /sys/module/wireguard ]; }
# Loads the WireGuard module at path $1 (ours or the in-tree C driver) in
# place of whatever is loaded, with its dependencies.
load_by_path() {
	unload 2>/dev/null || true
	modprobe udp_tunnel
	modprobe ip6_udp_tunnel
	insmod "$1"
	echo "module: $(cat /sys/module/wireguard/version) ($1)"
}

# Whether a suite runs check $1: its arguments, kept in $only as " ARGS ",
# name it, or there are none (all).
want() { [ "$only" = "  " ] || [[ $only == *" $1 "* ]]; }

# Runs command $2... every 0.2 s until it succeeds, for up to $1 seconds,
# and fails if it never did: for what the kernel finishes in the
# background (a deleted namespace is torn down by a workqueue, after RCU
# grace periods), which a guest slowed by another VM may take seconds for.
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}

# A statistic of device $2 in namespace $1.
dev_stat() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"; }
# As dev_stat, several counters at once, on one line: NS DEV NAME...
dev_stats() {
	local ns=$1 dev=$2
	shift 2
	echo $(ip netns exec "$ns" sh -c 'cd "/sys/class/net/$0/statistics" && cat "$@"' "$dev" "$@")
}

# Fails, saying so with label $1, unless the one peer of WireGuard device $3
# in namespace $2 is at endpoint $4. A phase that switches a pair's outer
# family sets both ends and checks both after: an authenticated packet from
# the other family (a keepalive owed from the phase before, a handshake)
# moves the endpoint back, and the phase then runs over the wrong family
# without failing.
endpoint_is() {
	local at
	at=$(ip netns exec "$2" wg show "$3" endpoints | cut -f2)
	[ "$at" = "$4" ] || { echo "FAIL: $1: $3's peer is at ${at:-no endpoint}, not $4"; return 1; }
}

# TCP_BYTES (default 4 MiB) of random bytes over TCP (tests/sendpath/wgpeer.py
# tcpsource, through the caller's $PEER, files in its $W) from namespace $2 to
# $4, on which namespace $3 listens, watching device $5 (more tcpsource
# options after); the sender's report in $out. Fails, with LABEL ($1)
# in the message, if the sender or the sink failed or what arrived is not
# what was sent (SHA-256).
tcp_transfer() {
	local label=$1 from=$2 to=$3 dst=$4 watch=$5 sink src status=0
	shift 5
	rm -f "$W/ready"
	ip netns exec "$to" "${PEER[@]}" tcpsink --bind "$dst" --port 5201 --ready "$W/ready" \
		--timeout 120 >"$W/sink" 2>&1 &
	sink=$!
	for _ in $(seq 1 100); do [ -e "$W/ready" ] && break; sleep 0.1; done
	out=$(ip netns exec "$from" "${PEER[@]}" tcpsource --dst "$dst" --port 5201 --bytes "${TCP_BYTES:-4194304}" \
		--watch "$watch" "$@") || { echo "FAIL: $label: the sender failed: $out"; status=1; }
	wait "$sink" || { echo "FAIL: $label: the sink failed: $(cat "$W/sink")"; status=1; }
	echo "$label: sent $out; received $(cat "$W/sink")"
	src=$(sed -n 's/.*\(bytes=[0-9]* sha256=[0-9a-f]*\).*/\1/p' <<<"$out")
	if [ -z "$src" ] || [ "$src" != "$(cat "$W/sink")" ]; then
		echo "FAIL: $label: what arrived is not what was sent"
		status=1
	fi
	return "$status"
}

# UDP checksum errors counted in namespace $1 (IPv4 and IPv6).
csum_errors() {
	ip netns exec "$1" awk '
		/^Udp: InDatagrams/ { for (i = 1; i <= NF; i++) col[$i] = i; next }
		/^Udp: / { n += $col["InCsumErrors"] }
		/^Udp6InCsumErrors/ { n += $2 }
		END { print n + 0 }' /proc/net/snmp /proc/net/snmp6
}

