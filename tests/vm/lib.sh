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
