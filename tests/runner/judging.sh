#!/usr/bin/env bash
# How scripts/vm-run.sh judges a guest (`make check` runs this as its
# "runner" entry). A kernel that dies before the test starts (the
# emulator's stale int3 in tests/vm/guest.sh's warm-up, a panic while
# booting) is booted again, up to three boots in all, and the run judged on
# the last boot; a third such crash fails the run, and so does a crash
# during the test, with no other boot (it may be ours); a warning in the
# kernel log fails a run whose test passed, on the release kernel too
# (which writes no kmemleak report). Each case boots the release kernel with
# tests/runner/ran.sh as the test and tests/kmod/wg_panic.ko as the crash:
#   twice        wg_test.crash=twice: guest.sh loads wg_panic before the test,
#                on the first two boots only -> passes, booted three times,
#                the test ran on the third boot
#   always       wg_test.crash=always: on every boot -> fails, booted three
#                times
#   during_test  the test loads wg_panic -> fails, booted once
#   warning      the test writes a WARNING: line into the kernel log and
#                passes -> fails, booted once
# Results: build/vm/runner/ (results.txt: a PASS or FAIL line per case;
# CASE.log: the runner's output and what was checked) and each case's VM
# in build/vm/runner-CASE/.
. "$(dirname "$0")/../../scripts/lib.sh"

out=$TOP/build/vm/runner
rm -rf "$out"
mkdir -p "$out"
# The runner wants a release module; these tests load none (nor rebuild one
# a suite beside them may be copying).
[ -f "$TOP/build/release/wireguard.ko" ] || "$TOP/scripts/build-module.sh" release >/dev/null
# What a console shows of wg_panic's crash.
panic_line='Kernel panic - not syncing: wg_panic: loaded'

# One try of a case: CASE EXPECTED_EXIT(0|1) BOOTS [vm-run.sh options...]
# -- [ran.sh args]; prints the runner's output and what it checked, and
# fails on a mismatch.
try_case() {
	local c=$1 want=$2 boots=$3 opts=() args=() status res got n bad=0
	shift 3
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	[ $# -eq 0 ] || shift
	args=("$@")
	res=$TOP/build/vm/runner-$c
	set +e
	"$TOP/scripts/vm-run.sh" --flavour release --name "runner-$c" --timeout 300 ${opts[@]+"${opts[@]}"} \
		"$TOP/tests/runner/ran.sh" ${args[@]+"${args[@]}"} >"$out/$c.try" 2>&1
	status=$?
	set -e
	cat "$out/$c.try"
	echo "--- checks"
	got=0; [ "$status" -eq 0 ] || got=1
	echo "vm-run.sh exit $status (want $( [ "$want" = 0 ] && echo 0 || echo 'non-zero'))"
	[ "$got" = "$want" ] || bad=1
	# Each boot after the first leaves the one before's console beside it.
	n=1; while [ -e "$res/console-crash-$n.log" ]; do n=$((n + 1)); done
	echo "boots: $n (want $boots)"
	[ "$n" = "$boots" ] || bad=1
	for ((i = 1; i < n; i++)); do
		grep -q "$panic_line" "$res/console-crash-$i.log" ||
			{ echo "boot $i's console does not show wg_panic's panic"; bad=1; }
	done
	[ "$(grep -c 'booting again' "$out/$c.try")" = $((n - 1)) ] ||
		{ echo "the runner did not say $((n - 1)) times that it boots again"; bad=1; }
	# The test ran on the last boot, or not at all.
	if [ "$c" = always ]; then
		[ ! -e "$res/results.txt" ] || { echo "the test ran: $(cat "$res/results.txt")"; bad=1; }
	else
		grep -qx 'PASS ran' "$res/results.txt" 2>/dev/null || { echo "the test did not run"; bad=1; }
	fi
	# The last boot died of wg_panic too.
	case $c in always | during_test)
		grep -q "$panic_line" "$res/console.log" ||
			{ echo "the last boot's console does not show wg_panic's panic"; bad=1; } ;;
	esac
	if [ "$c" = during_test ]; then
		grep -q 'wg-guest: running' "$res/console.log" || { echo "the console does not show the test's start"; bad=1; }
		grep -q 'kernel log shows a problem' "$out/$c.try" || { echo "the runner did not judge the panic"; bad=1; }
	fi
	if [ "$c" = warning ]; then
		grep -qx 0 "$res/verdict" 2>/dev/null || { echo "the test's verdict is not 0"; bad=1; }
		grep -q 'WARNING: CPU: 0 PID: [0-9]* at tests/runner/ran.sh' "$res/splats.txt" 2>/dev/null ||
			{ echo "splats.txt does not name the warning"; bad=1; }
		grep -q 'kernel log shows a problem' "$out/$c.try" || { echo "the runner did not judge the warning"; bad=1; }
	fi
	return $bad
}

# A case, tried again once if a try failed beside a crash that was not
# wg_panic's (the emulator's, which the runner's extra boots are for: seen
# on the release kernel's first boot in this very test, an int3 in
# sched_clock_cpu): the case's boots were then not the ones it counts.
run_case() { # CASE ...
	clog=$out/$1.log
	log "vm: runner: $1"
	run_case_tries "$@"
	log "vm: runner: $(tail -n 1 "$out/results.txt")"
}
run_case_tries() { # CASE ...
	local c=$1 res=$TOP/build/vm/runner-$1 f foreign=
	if ! try_case "$@" >>"$clog" 2>&1; then
		for f in "$res"/console.log "$res"/console-crash-*.log; do
			grep -q 'Kernel panic' "$f" 2>/dev/null && ! grep -q "$panic_line" "$f" && foreign=$f
		done
		if [ -n "$foreign" ]; then
			echo "--- a crash not of the test's making ($(grep -m1 -o 'Oops: .*\|Kernel panic.*' "$foreign")): the case again" >>"$clog"
			cp "$foreign" "$out/$c-foreign-crash.log"
			log "vm: runner: $c: a crash not of the test's making ($out/$c-foreign-crash.log); the case again"
			try_case "$@" >>"$clog" 2>&1 || { echo "FAIL $c" >>"$out/results.txt"; return; }
		else
			echo "FAIL $c" >>"$out/results.txt"
			return
		fi
	fi
	echo "PASS $c" >>"$out/results.txt"
}

run_case twice 0 3 --append wg_test.crash=twice --
run_case always 1 3 --append wg_test.crash=always --
run_case during_test 1 1 -- crash
run_case warning 1 1 -- warn
sed 's/^/[runner] /' "$out/results.txt"
! grep -q '^FAIL' "$out/results.txt" || exit 1
