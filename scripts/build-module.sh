#!/usr/bin/env bash
# Builds wireguard.ko against the kernel of a flavour (building that kernel
# first if the cache lacks it) and keeps a copy in build/FLAVOUR/wireguard.ko.
# Usage: scripts/build-module.sh release|debug
. "$(dirname "$0")/lib.sh"
flavour=${1:?usage: build-module.sh release|debug}
kdir=$("$TOP/scripts/build-kernel.sh" "$flavour")
make -C "$TOP" -s KDIR="$kdir" BINDGEN="$BINDGEN" RUSTC="$RUSTC" RUST_LIB_SRC="$RUST_LIB_SRC" modules >&2
mkdir -p "$TOP/build/$flavour"
cp "$TOP/wireguard.ko" "$TOP/build/$flavour/wireguard.ko"
echo "$TOP/build/$flavour/wireguard.ko"
