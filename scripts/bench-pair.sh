#!/usr/bin/env bash
# `make bench-pair` (also the second half of `make bench`, unless
# BENCH_PAIR=0): our module against the in-tree C driver across a virtio-net
# link between two VMs (scripts/vm-pair.sh, release kernel), the same
# implementation on both ends: for BENCH_ROUNDS rounds (default 3), ours <->
# ours and C <-> C, each scenario BENCH_SECONDS long (default 10); the bare
# link without WireGuard once before, as a baseline; ours first in odd
# rounds, C first in even ones, after one unrecorded warm-up run of each.
# Then the table (tests/bench/report.py --pair): medians, spread, ratio. One run and one
# table per link kind (scripts/vm-pair.sh --link): dgram, QEMU's UDP socket
# link without offloads, then tap, taps with virtio-net headers on a bridge,
# whose NICs offer checksum offload and TSO.
#
#   BENCH_ROUNDS=1 BENCH_SECONDS=3 make bench-pair   a short smoke run
#   BENCH_PAIR_CPUS=N                                vCPUs of each VM (default 1:
#                                                    two VMs on a 2-core machine)
#   BENCH_BASE=PATH.ko                               another build of ours (for the
#                                                    release kernel, under /work: both
#                                                    VMs load it by path) in the C
#                                                    driver's place, on both ends: an
#                                                    A/B of two builds of ours
#   BENCH_PAIR_LINKS="dgram tap"                     the link kinds, in order (tap
#                                                    needs root: a network namespace
#                                                    and tap devices on the host; for
#                                                    others the default is dgram only)
#
# Results stay in build/vm/bench-pair/ for dgram and build/vm/bench-pair-tap/
# for tap (raw/ the per-run files, figures.tsv, table.md; the peer VM's in
# the same name with -peer). Not part of `make check`.
. "$(dirname "$0")/lib.sh"
rounds=${BENCH_ROUNDS:-3}
secs=${BENCH_SECONDS:-10}
cpus=${BENCH_PAIR_CPUS:-1}
if [ -n "${BENCH_PAIR_LINKS+set}" ]; then
	links=$BENCH_PAIR_LINKS
elif [ "$(id -u)" = 0 ]; then
	links="dgram tap"
else
	links=dgram
	log "bench-pair: not root, so the dgram link only (the tap link needs a network namespace and tap devices on the host)"
fi
seen=
for l in $links; do
	case $l in dgram | tap) ;; *) die "BENCH_PAIR_LINKS: dgram or tap, not '$l'" ;; esac
	case " $seen " in *" $l "*) die "BENCH_PAIR_LINKS names $l twice" ;; esac
	[ "$l" = dgram ] || [ "$(id -u)" = 0 ] || die "BENCH_PAIR_LINKS: the $l link needs root (a network namespace and tap devices on the host)"
	seen="$seen $l"
done
[ -n "$links" ] || die "BENCH_PAIR_LINKS is empty"
case $rounds$secs$cpus in *[!0-9]*) die "BENCH_ROUNDS, BENCH_SECONDS and BENCH_PAIR_CPUS are numbers" ;; esac
[ "$secs" -ge 3 ] || die "BENCH_SECONDS must be at least 3"
# The peer VM's command server gives up after 300 s without a command
# (tests/vm/pair/peer.sh); a scenario is one silence of about BENCH_SECONDS.
[ "$secs" -le 200 ] || die "BENCH_SECONDS must be at most 200 for the two-VM bench"
[ "$cpus" -ge 1 ] || die "BENCH_PAIR_CPUS must be at least 1"
base=${BENCH_BASE:-}
if [ -n "$base" ]; then
	base=$(realpath -e "$base") || die "BENCH_BASE: no such file"
	# The guests see the host's /work (scripts/vm-run.sh), nothing else of it.
	case $base in /work/*) ;; *) die "BENCH_BASE: $base is not under /work, where the VMs can load it" ;; esac
	[ "$(modinfo -F vermagic "$base" | cut -d' ' -f1)" = "$(modinfo -F vermagic "$TOP/build/release/wireguard.ko" 2>/dev/null | cut -d' ' -f1)" ] ||
		[ ! -f "$TOP/build/release/wireguard.ko" ] || die "BENCH_BASE: $base is not built for the release kernel"
fi

"$TOP/scripts/setup-host.sh"
# The module as it is: built only if missing.
[ -f "$TOP/build/release/wireguard.ko" ] || "$TOP/scripts/build-module.sh" release >/dev/null

# Per run (the bare link, the two warm-ups, then each round and
# implementation): set-up, 4 timed runs of $secs and the pings, each with a
# few commands to B; generous, so a busy machine does not cut the run short.
timeout=$(((2 * rounds + 3) * (8 * secs + 300) + 900))
status=0
for link in $links; do
	name=bench-pair
	[ "$link" = dgram ] || name=bench-pair-$link
	other="C<->C"
	[ -z "$base" ] || other="base<->base ($base)"
	log "bench-pair: $rounds rounds of ours<->ours and $other across virtio-net ($link link), ${secs} s per scenario, $cpus vCPU(s) per VM (time limit ${timeout} s)"
	log "bench-pair: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	results=$TOP/build/vm/$name
	# No table from an earlier run's files if this one fails before its guest starts.
	rm -rf "$results"
	set +e
	"$TOP/scripts/vm-pair.sh" --flavour release --cpus "$cpus" --name "$name" --timeout "$timeout" --link "$link" \
		"$TOP/tests/bench/pair.sh" "$rounds" "$secs" "$link" ${base:+"$base"}
	run=$?
	set -e
	log "bench-pair: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
	grep -E '^FAIL' "$results/results.txt" >&2 || true
	if [ -f "$results/meta.txt" ]; then
		python3 "$TOP/tests/bench/report.py" --pair "$results" || run=1
	else
		log "bench-pair: the $link run measured nothing (no $results/meta.txt)"
		run=1
	fi
	[ $run -eq 0 ] || { log "bench-pair: the $link run had failures: see $results/results.txt and $results/guest.log"; status=1; }
	echo
done
exit $status
