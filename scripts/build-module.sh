#!/usr/bin/env bash
# Builds wireguard.ko against the kernel of a flavour (building that kernel
# first if the cache lacks it) and keeps a copy in build/FLAVOUR/wireguard.ko.
# Usage: scripts/build-module.sh release|debug
# Then the tests' kernel helpers (tests/kmod: scripts/build-test-kmods.sh).
. "$(dirname "$0")/lib.sh"
flavour=${1:?usage: build-module.sh release|debug}
kdir=$("$TOP/scripts/build-kernel.sh" "$flavour")
# Build and copy under one lock, so that the copy is the module just built.
mkdir -p "$TOP/build/$flavour"
flock "$TOP/.build.lock" bash -c '
	make -C "$1" -s KDIR="$2" BINDGEN="$3" RUSTC="$4" RUST_LIB_SRC="$5" LOCK= modules >&2 &&
	cp "$1/wireguard.ko" "$1/build/$6/wireguard.ko"' _ "$TOP" "$kdir" "$BINDGEN" "$RUSTC" "$RUST_LIB_SRC" "$flavour"
"$TOP/scripts/build-test-kmods.sh" "$flavour"
echo "$TOP/build/$flavour/wireguard.ko"
