#!/usr/bin/env bash
# `make check`: every test. Installs what is missing, builds what is not cached,
# runs the host crate's tests, a short fuzz smoke run, and the VM suite on the
# debug kernel; ends with the line "N passed, N failed".
. "$(dirname "$0")/lib.sh"

start=$(date +%s)
passed=0 failed=0
summary=()
failed_checks=()
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

# ---- static: no bare `! cmd` in shell scripts (never fails under set -e) ----
log "static: bare negation"
set +e; "$TOP/tests/static/bare-negation.sh"; status=$?; set -e
record "static: bare negation" "$status"

# ---- host: the protocol core, built from the same files as the module ----
mkdir -p "$TOP/build"
log "host: cargo test"
set +e
(cd "$TOP/host" && cargo test --release --locked 2>&1) | tee "$TOP/build/host-test.log"
status=${PIPESTATUS[0]}
set -e
np=$(awk '/^test result:/ {s+=$4} END {print s+0}' "$TOP/build/host-test.log")
nf=$(awk '/^test result:/ {s+=$6} END {print s+0}' "$TOP/build/host-test.log")
rm -f "$TOP/build/host-test.log"
record "host: cargo test" "$status" "$np" "$nf"

if [ -x "$TOP/scripts/fuzz.sh" ]; then
	log "host: fuzz smoke run"
	set +e; "$TOP/scripts/fuzz.sh" "${FUZZ_SMOKE_SECONDS:-10}"; status=$?; set -e
	record "host: fuzz smoke" "$status"
fi

# ---- the module, on the debug kernel ----
log "building the debug kernel (cached) and the module"
"$TOP/scripts/build-module.sh" debug >/dev/null

# tests/vm/pair/: suites of two VMs joined by a link (scripts/vm-pair.sh).
for t in "$TOP"/tests/vm/suite/*.sh "$TOP"/tests/vm/pair/interop_cdriver.sh; do
	name=$(basename "$t" .sh)
	runner=vm-run.sh
	case $t in */tests/vm/pair/*) runner=vm-pair.sh ;; esac
	# A suite may ask for a longer guest time limit: "# vm-timeout: SECONDS".
	to=$(sed -n 's/^# vm-timeout: *\([0-9][0-9]*\).*/\1/p' "$t" | head -n 1)
	set +e; "$TOP/scripts/$runner" --flavour debug --name "$name" ${to:+--timeout "$to"} "$t"; status=$?; set -e
	res=$TOP/build/vm/$name/results.txt
	np=$(grep -c '^PASS' "$res" 2>/dev/null || true); nf=$(grep -c '^FAIL' "$res" 2>/dev/null || true)
	record "vm: $name" "$status" "${np:-0}" "${nf:-0}"
	# Which checks failed, and the last FAIL line of each log, for the
	# summary (CI shows only the end of the output).
	if [ -f "$res" ]; then
		for f in $(sed -n 's/^FAIL //p' "$res"); do
			why=$(grep -h 'FAIL\|assertion failed\|unexpectedly' "$TOP/build/vm/$name/$f.log" 2>/dev/null | tail -n 1 | cut -c1-120)
			failed_checks+=("vm: $name/$f${why:+: $why}")
		done
	fi
	[ "$status" -eq 0 ] || [ -f "$res" ] || failed_checks+=("vm: $name: no results (exit $status)")
done

# Installing on the running kernel (release kernel: module signing), without
# DKMS (`make check-install` adds it).
log "vm: install (release kernel)"
set +e; NAME=install "$TOP/scripts/check-install.sh"; status=$?; set -e
res=$TOP/build/vm/install/results.txt
np=$(grep -c '^PASS' "$res" 2>/dev/null || true); nf=$(grep -c '^FAIL' "$res" 2>/dev/null || true)
record "vm: install" "$status" "${np:-0}" "${nf:-0}"
[ "$status" -eq 0 ] || failed_checks+=("vm: install: exit $status (build/vm/install/)")

echo
echo "==== summary ($(( $(date +%s) - start )) s) ===="
printf '%s\n' "${summary[@]}"
if [ "${#failed_checks[@]}" -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${failed_checks[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
