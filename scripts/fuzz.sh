#!/usr/bin/env bash
# Runs the cargo-fuzz targets of the protocol core (host/fuzz), one after the
# other, each for the given number of seconds.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Default: 10 s per target, every target (`make check` runs this smoke run).
# cargo-fuzz is installed on first use into $CACHE/cargo-fuzz-<version>
# (outside the checkout); libFuzzer needs nightly flags, which the stable
# toolchain accepts with RUSTC_BOOTSTRAP=1. Corpora and crash artifacts stay
# in host/fuzz/corpus and host/fuzz/artifacts (ignored by git). Exits non-zero
# if a target finds a crash.
. "$(dirname "$0")/lib.sh"

CARGO_FUZZ_VERSION=${CARGO_FUZZ_VERSION:-0.13.2}
seconds=${1:-10}
[ $# -gt 0 ] && shift
case $seconds in *[!0-9]*|'') die "usage: $0 [SECONDS_PER_TARGET] [TARGET...]";; esac

fuzz_root=$CACHE/cargo-fuzz-$CARGO_FUZZ_VERSION
if [ ! -x "$fuzz_root/bin/cargo-fuzz" ]; then
	log "installing cargo-fuzz $CARGO_FUZZ_VERSION into $fuzz_root"
	cargo install --locked --quiet --root "$fuzz_root" --version "$CARGO_FUZZ_VERSION" cargo-fuzz
fi
export PATH="$fuzz_root/bin:$PATH"
export RUSTC_BOOTSTRAP=1

# AddressSanitizer (cargo fuzz's default) needs the toolchain's ASan runtime:
# rustup's toolchains ship it, Debian's rustc-web does not (the link fails:
# "cannot find .../librustc-stable_rt.asan.a"). Without it the targets run
# with libFuzzer's coverage and Rust's own checks (debug assertions, overflow
# checks, bounds checks): the code under test is safe Rust, where ASan would
# find nothing those do not.
sanitizer=()
rt_dir=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/lib
if ! compgen -G "$rt_dir/librustc-*_rt.asan.a" >/dev/null; then
	log "fuzz: this toolchain has no ASan runtime ($rt_dir): running without ASan"
	sanitizer=(--sanitizer none)
fi

cd "$TOP/host/fuzz"
mkdir -p target
if [ $# -gt 0 ]; then
	targets=("$@")
else
	mapfile -t targets < <(cargo fuzz list)
fi
[ ${#targets[@]} -gt 0 ] || die "no fuzz targets"

status=0
for t in "${targets[@]}"; do
	mkdir -p "corpus/$t"
	log "fuzz $t for ${seconds}s"
	start=$(date +%s)
	# One job, so that a concurrent kernel build keeps a core.
	if cargo fuzz run ${sanitizer[@]+"${sanitizer[@]}"} "$t" "corpus/$t" -- -max_total_time="$seconds" -rss_limit_mb=2048 \
		-print_final_stats=1 2>"$TOP/host/fuzz/target/$t.log"; then
		runs=$(grep -m1 '^stat::number_of_executed_units' "$TOP/host/fuzz/target/$t.log" | awk '{print $2}')
		log "fuzz $t: ok, $(( $(date +%s) - start ))s, ${runs:-?} runs"
	else
		status=1
		log "fuzz $t: FAILED after $(( $(date +%s) - start ))s (see host/fuzz/target/$t.log and host/fuzz/artifacts/$t)"
		tail -n 30 "$TOP/host/fuzz/target/$t.log" >&2 || true
	fi
done
exit $status
