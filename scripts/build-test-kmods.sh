#!/usr/bin/env bash
# Builds the tests' kernel helpers (tests/kmod, never installed) against the
# kernel of a flavour, in build/FLAVOUR/kmod/ (a copy of the sources: one
# build tree per kernel), and keeps them in build/FLAVOUR/:
# - wg_hold_keys.ko, which every test VM loads at boot (tests/vm/guest.sh:
#   it holds a static key the tests would otherwise switch under traffic);
# - wg_panic.ko, which panics the kernel when loaded (tests/runner: how
#   scripts/vm-run.sh judges a guest that dies);
# - wg_stack_scan.ko, which searches every thread's kernel stack for given
#   secrets (tests/vm/suite/secrets.sh);
# - on the debug flavour (the kernel with kprobes), wg_delay.ko, the delay
#   injector the race tests load.
# Usage: scripts/build-test-kmods.sh release|debug (scripts/build-module.sh
# calls it; scripts/vm-run.sh too, when the holder is missing).
. "$(dirname "$0")/lib.sh"
flavour=${1:?usage: build-test-kmods.sh release|debug}
kdir=$("$TOP/scripts/build-kernel.sh" "$flavour")
out=$TOP/build/$flavour/kmod
mkdir -p "$out"
flock "$TOP/.build.lock" bash -c '
	cp -p "$2"/tests/kmod/Kbuild "$2"/tests/kmod/*.c "$3"/ &&
	make -C "$1" -s M="$3" LLVM=1 modules >&2 &&
	for ko in "$3"/*.ko; do
		# What Kbuild built for this kernel, each replaced whole (a VM
		# runner may be copying the old one).
		m=$(basename "$ko")
		cp "$ko" "$2/build/$4/.$m.tmp" && mv -f "$2/build/$4/.$m.tmp" "$2/build/$4/$m" || exit 1
	done' _ "$kdir" "$TOP" "$out" "$flavour"
