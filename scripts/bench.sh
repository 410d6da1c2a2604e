#!/usr/bin/env bash
# `make bench`: our module against the in-tree C driver of the same release
# kernel, in one VM boot (tests/bench/guest.sh): for BENCH_ROUNDS rounds
# (default 4, so that each goes first equally often: the order alternates
# by round), ours and C, each scenario BENCH_SECONDS long (default 10);
# then the table (tests/bench/report.py): medians, spread, ratio.
#
#   BENCH_ROUNDS=1 BENCH_SECONDS=3 make bench    a short smoke run
#   BENCH_CPUS=N                                 vCPUs (default 2)
#   BENCH_PROFILE=1                              then one profiled run of each
#                                                (perf, build/vm/bench/profile/;
#                                                the handshakes' CPU per X25519
#                                                sample: tests/bench/hs_breakdown.py)
#   BENCH_BASE=PATH.ko                           in place of the C driver, another
#                                                build of ours (for the release
#                                                kernel, under /work): the tables
#                                                compare the module as it is with
#                                                it, side by side (the two-VM one
#                                                too, unless BENCH_PAIR=0)
#   BENCH_SCENARIOS="udp64 tcp1"                 only these scenarios of the first
#                                                table (names: tests/bench/guest.sh;
#                                                needs BENCH_PAIR=0), for a closer
#                                                look at a few rows: more rounds in
#                                                less time
#   BENCH_PAIR=0                                 without the second table: the
#                                                same implementations across a
#                                                virtio-net link between two VMs
#                                                (scripts/bench-pair.sh, which
#                                                `make bench-pair` runs alone;
#                                                it takes BENCH_ROUNDS and
#                                                BENCH_SECONDS too)
#
# Results stay in build/vm/bench/ (raw/ the per-run files, figures.tsv,
# table.md); the handshake data (keys, precomputed initiations) in
# build/bench-data/. Not part of `make check`.
. "$(dirname "$0")/lib.sh"
rounds=${BENCH_ROUNDS:-4}
secs=${BENCH_SECONDS:-10}
cpus=${BENCH_CPUS:-2}
profile=${BENCH_PROFILE:-0}
pair=${BENCH_PAIR:-1}
base=${BENCH_BASE:-}
[ -z "${BENCH_SCENARIOS:-}" ] || [ "$pair" = 0 ] ||
	die "BENCH_SCENARIOS needs BENCH_PAIR=0 (the two-VM bench runs all of its scenarios)"
case $rounds$secs$cpus$profile in *[!0-9]*) die "BENCH_ROUNDS, BENCH_SECONDS and BENCH_CPUS are numbers" ;; esac
case $pair in 0 | 1) ;; *) die "BENCH_PAIR is 0 or 1" ;; esac
[ "$secs" -ge 3 ] || die "BENCH_SECONDS must be at least 3"
if [ -n "$base" ]; then
	base=$(realpath -e "$base") || die "BENCH_BASE: no such file"
	[ "$(modinfo -F vermagic "$base" | cut -d' ' -f1)" = "$(modinfo -F vermagic "$TOP/build/release/wireguard.ko" 2>/dev/null | cut -d' ' -f1)" ] ||
		[ ! -f "$TOP/build/release/wireguard.ko" ] || die "BENCH_BASE: $base is not built for the release kernel"
fi
[ "$pair" = 0 ] || [ "$secs" -le 200 ] || die "BENCH_SECONDS over 200 needs BENCH_PAIR=0 (the two-VM bench takes at most 200)"

"$TOP/scripts/setup-host.sh"
# BENCH_SCENARIOS, checked against the report's list (python3 is there now).
scenarios=all
if [ -n "${BENCH_SCENARIOS:-}" ]; then
	known=$(python3 "$TOP/tests/bench/report.py" --scenarios)
	scenarios=
	set -f
	for s in $BENCH_SCENARIOS; do
		case " $known " in *" $s "*) ;; *) die "BENCH_SCENARIOS: unknown scenario $s (known: $known)" ;; esac
		case ",$scenarios," in *",$s,"*) ;; *) scenarios=${scenarios:+$scenarios,}$s ;; esac
	done
	set +f
	# Never empty: vm-run.sh drops empty arguments, which would move BENCH_BASE.
	[ -n "$scenarios" ] || die "BENCH_SCENARIOS names no scenario"
fi
# The module as it is: built only if missing.
[ -f "$TOP/build/release/wireguard.ko" ] || "$TOP/scripts/build-module.sh" release >/dev/null

# Keys and 3,000 initiations from 100 peers, made on the host (pure-Python
# X25519 is slow under emulation); every run replays them to a fresh device.
# (1,000 until session 26: done in about 1.6 s, that row's spread was 30%.)
data=$TOP/build/bench-data
rm -rf "$data"
log "bench: generating the handshake data in $data"
python3 "$TOP/tests/bench/wgbench.py" gen "$data" 100 3000

# Per round and implementation: set-up, 9 timed runs of $secs, handshakes,
# pings and the 50 peers' set-up; generous, so a busy machine does not cut
# the run short.
timeout=$(((rounds + profile) * 2 * (15 * secs + 360) + 600))   # +300 s for the warm-ups
log "bench: $rounds rounds of ours and ${base:-C}, ${secs} s per scenario, $cpus vCPUs, scenarios: $scenarios (time limit ${timeout} s)"
set +e
"$TOP/scripts/vm-run.sh" --flavour release --cpus "$cpus" --name bench --timeout "$timeout" \
	"$TOP/tests/bench/guest.sh" "$data" "$rounds" "$secs" "$profile" "$scenarios" "$base"
status=$?
set -e
results=$TOP/build/vm/bench
grep '^\[' "$results/guest.log" | tail -n 3 >&2 || true
python3 "$TOP/tests/bench/report.py" "$results" "$data" || status=1
# The profiled handshake runs: CPU per X25519 sample, by kind of work.
if [ "$profile" = 1 ] && [ -d "$results/profile" ]; then
	echo
	python3 "$TOP/tests/bench/hs_breakdown.py" "$results/profile" | tee "$results/profile/hs-breakdown.md" || status=1
fi
[ $status -eq 0 ] || log "bench: the run had failures: see $results/guest.log"
if [ "$pair" = 1 ]; then
	echo
	"$TOP/scripts/bench-pair.sh" || status=1
fi
exit $status
