#!/usr/bin/env bash
# Configuration over netlink (issue 4), the differential test: the sequence
# of valid wg(8) commands (tests/netlink/sequence.sh) run against the in-tree
# C driver, then against ours, in one boot; the normalised outputs must be
# identical. Argument: small (default) | full (`make check-netlink-scale`).
# vm-usual: 66 (seconds in make check on this machine kind, 2026-12-04: for the progress lines)
# On the release kernel in make check (vm-flavour below): what it checks is
# what wg(8) prints, the same on both kernels; netlink_ours.sh runs our
# netlink paths under the debug kernel's sanitizers (bad inputs, raw netlink,
# the fuzzer). `make check-debug` runs this one on the debug kernel too.
# vm-flavour: release
. "$(dirname "$0")/../lib.sh"
here=$(cd "$(dirname "$0")/../../netlink" && pwd)
scale=${1:-small}
# Records how long each test took (the check runs in a subshell: on its exit).
timed() {
	trap "echo \"$1 \$((SECONDS - $SECONDS)) s\" >>\"\$RESULTS/durations.txt\"" EXIT
	"$@"
}

sequence() { # NAME: runs the sequence against the loaded module
	WG_SEQ_TIMES=$RESULTS/times-$1.txt bash "$here/sequence.sh" "$scale" >"$RESULTS/sequence-$1.out" 2>&1
	"$here/normalise.sh" "$RESULTS/sequence-$1.out" >"$RESULTS/sequence-$1.norm"
	echo "steps: $(grep -c '^### ' "$RESULTS/sequence-$1.norm")"
	cat "$RESULTS/times-$1.txt"
}

t_c_reference_sequence() {
	load_by_path "$WG_C_MODULE"
	refute loaded_is_ours
	sequence c
	rmmod wireguard
}

t_differential() {
	[ -s "$RESULTS/sequence-c.norm" ] || { echo "no reference: the C driver's sequence failed"; return 1; }
	modprobe wireguard
	loaded_is_ours
	sequence ours
	diff -u "$RESULTS/sequence-c.norm" "$RESULTS/sequence-ours.norm" >"$RESULTS/sequence.diff" ||
		{ head -n 80 "$RESULTS/sequence.diff"; return 1; }
	echo "identical to the C driver's output"
	unload
}

check c_reference_sequence timed t_c_reference_sequence
check differential timed t_differential
finish
