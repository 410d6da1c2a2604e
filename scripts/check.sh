#!/usr/bin/env bash
# `make check`: every test. Installs what is missing, builds what is not cached,
# runs the host crate's tests, a short fuzz smoke run, and the VM suite on the
# debug kernel; ends with the line "N passed, N failed".
. "$(dirname "$0")/lib.sh"

start=$(date +%s)
passed=0 failed=0
summary=()
failed_checks=()
details=()
record() { # NAME STATUS(0 pass) [N_PASSED N_FAILED]
	local name=$1 status=$2 np=${3:-} nf=${4:-}
	if [ -z "$np" ]; then
		if [ "$status" -eq 0 ]; then np=1 nf=0; else np=0 nf=1; fi
	fi
	[ "$status" -eq 0 ] || [ "$nf" -gt 0 ] || nf=1
	passed=$((passed + np)) failed=$((failed + nf))
	summary+=("$(printf '%-34s %s passed, %s failed' "$name" "$np" "$nf")")
}

"$TOP/scripts/setup-host.sh"

# ---- static: the layering rule (unsafe only in kapi, each with SAFETY) ----
log "static: unsafe audit"
set +e; "$TOP/tests/static/unsafe-audit.sh"; status=$?; set -e
record "static: unsafe audit" "$status"

# ---- static: Rust formatted by the kernel's rustfmt configuration ----
log "static: rustfmt"
set +e; "$TOP/tests/static/rustfmt.sh"; status=$?; set -e
record "static: rustfmt" "$status"

# ---- static: no bare `! cmd` in shell scripts (never fails under set -e) ----
log "static: bare negation"
set +e; "$TOP/tests/static/bare-negation.sh"; status=$?; set -e
record "static: bare negation" "$status"

# ---- static: the user-kernel preflight against made-up trees ----
log "static: preflight"
mkdir -p "$TOP/build"
set +e; "$TOP/tests/static/preflight.sh" >"$TOP/build/preflight-test.log" 2>&1; status=$?; set -e
[ "$status" -eq 0 ] || tail -n 20 "$TOP/build/preflight-test.log"
record "static: preflight" "$status"

# ---- static: make bench's statistics on made-up results ----
log "static: bench report"
set +e; python3 "$TOP/tests/static/bench-report.py" >"$TOP/build/bench-report-test.log" 2>&1; status=$?; set -e
[ "$status" -eq 0 ] || tail -n 20 "$TOP/build/bench-report-test.log"
record "static: bench report" "$status"

# ---- static: the panic-site checker on made-up disassemblies (the release
# module itself is checked once its background build has ended) ----
log "static: panic sites (self-test)"
set +e; python3 "$TOP/tests/static/panic-sites.py" --self-test >"$TOP/build/panic-sites-test.log" 2>&1; status=$?; set -e
[ "$status" -eq 0 ] || tail -n 20 "$TOP/build/panic-sites-test.log"
record "static: panic sites (self-test)" "$status"

# ---- static: the stack-depth checker on made-up disassemblies (the modules
# themselves once built) ----
log "static: stack depth (self-test)"
set +e; python3 "$TOP/tests/static/stack-depth.py" --self-test >"$TOP/build/stack-depth-test.log" 2>&1; status=$?; set -e
[ "$status" -eq 0 ] || tail -n 20 "$TOP/build/stack-depth-test.log"
record "static: stack depth (self-test)" "$status"

# ---- the module, on the debug kernel ----
log "building the debug kernel (cached) and the module"
"$TOP/scripts/build-module.sh" debug >/dev/null
log "static: stack depth (debug module): build/stack-depth-debug.log"
set +e; python3 "$TOP/tests/static/stack-depth.py" "$TOP/build/debug/wireguard.ko" >"$TOP/build/stack-depth-debug.log" 2>&1; status=$?; set -e
[ "$status" -eq 0 ] || tail -n 30 "$TOP/build/stack-depth-debug.log"
record "static: stack depth (debug module)" "$status"

# The VM suites, CHECK_JOBS at a time (default 2: this machine kind has 2
# cores, and under emulation a suite mostly runs one process at a time).
# A suite of two VMs (tests/vm/pair/) takes two places (or as many as its
# header's "# vm-places: N" says: a peer VM that mostly waits). Those wide
# suites come first, while the pool is empty (a wide suite waits for places
# to free: nothing after it in the order starts meanwhile, unless it waits for
# a release kernel being built from scratch), then the others longest first.
# Each suite's output goes to build/vm/NAME.out; its progress lines (one per
# check as it finishes, and one a minute while none does) to the terminal.
jobs_max=${CHECK_JOBS:-2}
order=(interop_cdriver lifecycle hostile sendpath netns_upstream netlink_ours interop netlink_differential flood secrets)
suites=()
for n in "${order[@]}"; do
	for t in "$TOP/tests/vm/suite/$n.sh" "$TOP/tests/vm/pair/$n.sh"; do [ -f "$t" ] && suites+=("$t"); done
done
for t in "$TOP"/tests/vm/suite/*.sh; do # any suite the order above forgot
	case " ${suites[*]} " in *" $t "*) ;; *) suites+=("$t") ;; esac
done
suites=("${suites[@]}" host install runner)
# For development only: CHECK_SUITES="NAME ..." runs just those VM suites.
if [ -n "${CHECK_SUITES:-}" ]; then
	only=()
	for t in "${suites[@]}"; do
		case " $CHECK_SUITES " in *" $(basename "$t" .sh) "*) only+=("$t") ;; esac
	done
	suites=(${only[@]+"${only[@]}"})
fi

# The host's tests (the protocol core, built from the same files as the
# module: cargo test; and a short fuzz run) take one place in the pool.
host_tests() {
	local status
	set +e
	(cd "$TOP/host" && cargo test --release --locked 2>&1) >"$TOP/build/host-test.log"
	echo $? >"$TOP/build/host-test.status"
	log "host: cargo test ended: $(grep -c '^test .* ok$' "$TOP/build/host-test.log") ok, $(grep -c '^test .* FAILED$' "$TOP/build/host-test.log") failed"
	status=0
	if [ -x "$TOP/scripts/fuzz.sh" ]; then
		"$TOP/scripts/fuzz.sh" "${FUZZ_SMOKE_SECONDS:-10}" || status=$?
		echo "$status" >"$TOP/build/host-fuzz.status"
		log "host: fuzz smoke ended (exit $status)"
	fi
}
host_record() {
	local status np nf
	status=$(cat "$TOP/build/host-test.status" 2>/dev/null || echo 1)
	np=$(awk '/^test result:/ {s+=$4} END {print s+0}' "$TOP/build/host-test.log")
	nf=$(awk '/^test result:/ {s+=$6} END {print s+0}' "$TOP/build/host-test.log")
	record "host: cargo test" "$status" "$np" "$nf"
	[ "$status" -eq 0 ] || failed_checks+=("host: cargo test: exit $status ($(grep -m3 '^test .* FAILED$' "$TOP/build/host-test.log" | tr '\n' ' ' || true)build/host-test.log)")
	if [ -x "$TOP/scripts/fuzz.sh" ]; then
		status=$(cat "$TOP/build/host-fuzz.status" 2>/dev/null || echo 1)
		record "host: fuzz smoke" "$status"
		[ "$status" -eq 0 ] || failed_checks+=("host: fuzz smoke: exit $status (build/host.out)")
	fi
}

# The kernel a suite runs on: debug, unless its header says
# "# vm-flavour: release" (the debug kernel's sanitizers find nothing there
# that the debug suites would not: a reference run of the C driver,
# interoperation on the wire, the upstream selftest), and the install
# suite's (release: module signing) and the runner's test (tests/runner:
# short boots). CHECK_FLAVOUR=debug (`make check-debug`)
# runs every VM suite but install on the debug kernel, and those whose
# header has the line "# vm-release-always" (the flood: its load needs the
# release kernel's packet path). The host's tests run on none.
# The kernel a suite's header line "# KEY: debug|release" names (none:
# empty), debug for every one under CHECK_FLAVOUR=debug.
header_kernel() { # KEY SUITE
	if [ "${CHECK_FLAVOUR:-}" = debug ] && ! grep -qx '# vm-release-always' "$2"; then
		echo debug
		return
	fi
	sed -n "s/^# $1: *\(debug\|release\)\$/\1/p" "$2" | head -n 1
}
flavour() { # SUITE
	case $1 in
	host) echo none ;;
	install | runner) echo release ;;
	*) local f
	   f=$(header_kernel vm-flavour "$1")
	   echo "${f:-debug}" ;;
	esac
}
# The kernel of a two-VM suite's peer VM (the C driver's, B): its header's
# "# vm-peer-flavour: release", else A's. And whether a suite needs the
# release build (kernel and module: B boots with our module installed too).
peer_flavour() { # SUITE
	local f
	f=$(header_kernel vm-peer-flavour "$1")
	echo "${f:-$(flavour "$1")}"
}
needs_release() { # SUITE
	case $1 in host) return 1 ;; install | runner) return 0 ;; esac
	[ "$(flavour "$1")" = release ] || { case $1 in */tests/vm/pair/*) [ "$(peer_flavour "$1")" = release ] ;; *) false ;; esac; }
}
# The background release build (below): release_collect takes its exit
# status once it has ended (a failure is a failed check, and the release
# suites are then not run); release_ready says whether it has ended.
release_collect() {
	[ -n "$release_build" ] || return 0
	! kill -0 "$release_build" 2>/dev/null || return 0
	local status
	set +e; wait "$release_build"; status=$?; set -e
	release_build=
	log "release kernel and module built (exit $status), $(( $(date +%s) - start )) s into make check"
	if [ "$status" -ne 0 ]; then
		release_failed=1
		record "build: release kernel and module" "$status"
		failed_checks+=("build: release kernel and module: exit $status (build/release-build.log); the release suites did not run")
		return 0
	fi
	# The module users run: no panic reachable from a packet path.
	log "static: panic sites (release module): build/panic-sites.log"
	set +e; python3 "$TOP/tests/static/panic-sites.py" "$TOP/build/release/wireguard.ko" >"$TOP/build/panic-sites.log" 2>&1; status=$?; set -e
	[ "$status" -eq 0 ] || tail -n 30 "$TOP/build/panic-sites.log"
	record "static: panic sites (release module)" "$status"
	# The stack scrub covers the module's deepest path under each scrubbed
	# call (kapi::platform::scrubbed).
	log "static: stack depth (release module): build/stack-depth.log"
	set +e; python3 "$TOP/tests/static/stack-depth.py" "$TOP/build/release/wireguard.ko" >"$TOP/build/stack-depth.log" 2>&1; status=$?; set -e
	[ "$status" -eq 0 ] || tail -n 30 "$TOP/build/stack-depth.log"
	record "static: stack depth (release module)" "$status"
}
release_ready() { [ -z "$release_build" ]; }

vm_start() { # SUITE: starts it in the background ($! its process)
	local t=$1 name runner to
	if [ "$t" = host ]; then
		rm -f "$TOP/build/host-test.status" "$TOP/build/host-fuzz.status"
		log "host: cargo test and fuzz smoke, output in build/host-test.log, build/host.out"
		host_tests > >(tee "$TOP/build/host.out" | grep --line-buffered -E '\] host: ') 2>&1 &
		return
	fi
	local cmd=()
	case $t in
	install)
		# Installing on the running kernel (release kernel: module signing),
		# without DKMS (`make check-install` adds it).
		name=install cmd=(env NAME=install "$TOP/scripts/check-install.sh") ;;
	runner)
		# How scripts/vm-run.sh judges a guest that dies or warns (short
		# release-kernel boots).
		name=runner cmd=("$TOP/tests/runner/judging.sh") ;;
	*)
		name=$(basename "$t" .sh)
		runner=vm-run.sh
		local peer=()
		case $t in */tests/vm/pair/*) runner=vm-pair.sh peer=(--peer-flavour "$(peer_flavour "$t")") ;; esac
		# A suite may ask for a longer guest time limit: "# vm-timeout: SECONDS".
		to=$(sed -n 's/^# vm-timeout: *\([0-9][0-9]*\).*/\1/p' "$t" | head -n 1)
		cmd=("$TOP/scripts/$runner" --flavour "$(flavour "$t")" ${peer[@]+"${peer[@]}"} --name "$name" ${to:+--timeout "$to"} "$t") ;;
	esac
	"${cmd[@]}" > >(tee "$TOP/build/vm/$name.out" | grep --line-buffered -E '\] vm: ') 2>&1 &
}
vm_record() { # NAME STATUS SECONDS
	local name=$1 status=$2 secs=$3 res np nf why l
	res=$TOP/build/vm/$name/results.txt
	np=$(grep -c '^PASS' "$res" 2>/dev/null || true); nf=$(grep -c '^FAIL' "$res" 2>/dev/null || true)
	record "vm: $name ($secs s)" "$status" "${np:-0}" "${nf:-0}"
	# Which checks failed, and the last FAIL line of each log, for the
	# summary (CI shows only the end of the output).
	if [ -f "$res" ]; then
		for f in $(sed -n 's/^FAIL //p' "$res"); do
			# (no match is no reason: under pipefail, `|| true`)
			why=$(grep -h 'FAIL\|assertion failed\|unexpectedly\|no reference' "$TOP/build/vm/$name/$f.log" 2>/dev/null | tail -n 1 | cut -c1-200 || true)
			failed_checks+=("vm: $name/$f${why:+: $why}")
			# A check may leave its own account of a failure in
			# NAME.why (a few lines): printed after the list.
			if [ -s "$TOP/build/vm/$name/$f.why" ]; then
				details+=("vm: $name/$f:")
				while IFS= read -r l; do details+=("  ${l:0:200}"); done < <(head -n 14 "$TOP/build/vm/$name/$f.why")
			fi
		done
	fi
	[ "$status" -eq 0 ] || [ -f "$res" ] || failed_checks+=("vm: $name: no results (exit $status, build/vm/$name.out)")
}

# The release kernel and module (the install suite, and the suites whose
# header asks for it): built once, in the background while the debug suites
# run (from an empty cache it is a kernel build), not by two suites at once;
# a release suite starts once it has ended (release_ready).
release_build= release_failed= release_cached=
for t in ${suites[@]+"${suites[@]}"}; do
	needs_release "$t" || continue
	[ ! -f "$(kernel_dir release)/.wg-build-complete" ] || release_cached=1
	log "building the release kernel (cached) and the module, in the background: build/release-build.log"
	# No suite may run a module left from an earlier build.
	rm -f "$TOP/build/release/wireguard.ko"
	"$TOP/scripts/build-module.sh" release >"$TOP/build/release-build.log" 2>&1 &
	release_build=$!
	break
done
# Not cached, it is a kernel build: then it runs alone, before the VM suites
# (9 min alone on 2 cores, 548 s in session 16; from an empty cache in session 16 it ran beside
# two debug VMs for over 30 min, and every release suite waited for it).
if [ -n "$release_build" ] && [ -z "$release_cached" ]; then
	log "the release kernel is not cached: building it before the VM suites (usually 8-10 min)"
	waited=0
	while ! release_ready; do
		sleep 5
		waited=$((waited + 5))
		release_collect
		if [ $((waited % 60)) = 0 ] && ! release_ready; then
			log "$(grep -h 'building the release kernel\|configuring the release' "$TOP/build/release-build.log" | tail -n 1 |
				sed 's/^\[[0-9:]*\] //' || true) (release build: $((waited / 60)) min)"
		fi
	done
fi

mkdir -p "$TOP/build/vm"
declare -A pid_name=() pid_weight=() pid_start=()
used=0
pending=(${suites[@]+"${suites[@]}"})
while [ "${#pending[@]}" -gt 0 ] || [ "${#pid_name[@]}" -gt 0 ]; do
	release_collect
	# Start, in order, each pending suite that fits in the places left; the
	# others wait.
	rest=() blocked=
	for t in ${pending[@]+"${pending[@]}"}; do
		n=$(basename "$t" .sh) w=1
		case $t in
		*/tests/vm/pair/*) w=$(sed -n 's/^# vm-places: *\([0-9]\)$/\1/p' "$t" | head -n 1); w=${w:-2} ;;
		esac
		[ "$w" -le "$jobs_max" ] || w=$jobs_max
		if [ -n "$release_failed" ] && needs_release "$t"; then
			record "vm: $n" 1
			log "vm: $n not run: the release build failed"
			continue
		fi
		if [ -z "$blocked" ] && [ $((used + w)) -le "$jobs_max" ] &&
			{ ! needs_release "$t" || release_ready; }; then
			vm_start "$t"
			pid_name[$!]=$n pid_weight[$!]=$w pid_start[$!]=$(date +%s)
			used=$((used + w))
		else
			rest+=("$t")
			# A wide suite keeps its turn: the places it waits for are not
			# given to the suites after it (each would hold one until it
			# ended), unless what it waits for is a release kernel built
			# from scratch (minutes: the debug suites run meanwhile).
			if [ "$w" -gt 1 ] && { release_ready || [ -n "$release_cached" ] ||
				! needs_release "$t"; }; then
				blocked=1
			fi
		fi
	done
	pending=(${rest[@]+"${rest[@]}"})
	# Record each that ended.
	sleep 5
	for p in "${!pid_name[@]}"; do
		kill -0 "$p" 2>/dev/null && continue
		set +e; wait "$p"; status=$?; set -e
		if [ "${pid_name[$p]}" = host ]; then host_record; else
			vm_record "${pid_name[$p]}" "$status" $(( $(date +%s) - pid_start[$p] )); fi
		log "vm: ${pid_name[$p]} ended (exit $status), $(( $(date +%s) - start )) s into make check"
		used=$((used - pid_weight[$p]))
		unset "pid_name[$p]" "pid_weight[$p]" "pid_start[$p]"
	done
done

echo
echo "==== summary ($(( $(date +%s) - start )) s) ===="
printf '%s\n' "${summary[@]}"
if [ "${#failed_checks[@]}" -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${failed_checks[@]}"
fi
if [ "${#details[@]}" -gt 0 ]; then
	echo "why:"
	printf '  %s\n' "${details[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
