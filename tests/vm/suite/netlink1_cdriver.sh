#!/usr/bin/env bash
# Configuration over netlink, reference half (issue 4): the differential
# sequence run against the in-tree C driver, in its own boot. Its normalised
# output is the reference netlink2_ours.sh compares ours with (through the
# build/vm/ folder shared with the host). Argument: small (default) | full.
# On the release kernel in make check (vm-flavour below): it runs only the C
# driver, whose reference output is the same on both kernels.
# vm-flavour: release
. "$(dirname "$0")/../lib.sh"
here=$(cd "$(dirname "$0")/../../netlink" && pwd)
scale=${1:-small}
# Records how long each test took (the check runs in a subshell: on its exit).
timed() {
	trap "echo \"$1 \$((SECONDS - $SECONDS)) s\" >>\"\$RESULTS/durations.txt\"" EXIT
	"$@"
}

t_c_reference_sequence() {
	unload 2>/dev/null || true
	modprobe udp_tunnel; modprobe ip6_udp_tunnel
	insmod "$WG_C_MODULE"
	refute loaded_is_ours
	WG_SEQ_TIMES=$RESULTS/times.txt bash "$here/sequence.sh" "$scale" >"$RESULTS/sequence.out" 2>&1
	"$here/normalise.sh" "$RESULTS/sequence.out" >"$RESULTS/sequence.norm"
	# What the reference was made from, so that a stale one is noticed.
	cat "$here/sequence.sh" "$here/normalise.sh" | sha256sum | cut -c1-64 >"$RESULTS/sequence.sha"
	echo "$scale" >"$RESULTS/scale"
	grep -c '^### ' "$RESULTS/sequence.norm"
	cat "$RESULTS/times.txt"
	rmmod wireguard
}

check c_reference_sequence timed t_c_reference_sequence
finish
