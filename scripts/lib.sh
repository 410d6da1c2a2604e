# Common settings for the project's scripts. Source it: . "$(dirname "$0")/lib.sh"
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Everything slow to build lives outside the checkout, keyed by what it is built from.
CACHE=${WG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wireguard-rs}
KERNEL_SRC_TARBALL=${KERNEL_SRC_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
RUSTC=${RUSTC:-/usr/bin/rustc}
RUST_LIB_SRC=${RUST_LIB_SRC:-$( (ls -d /usr/src/rustc-*/library 2>/dev/null || true) | sort -V | tail -n 1)}
BINDGEN_VERSION=${BINDGEN_VERSION:-0.72.1}
VIRTME_NG_VERSION=${VIRTME_NG_VERSION:-1.42}
BINDGEN=$CACHE/bindgen-$BINDGEN_VERSION/bin/bindgen
VENV=$CACHE/venv-virtme-ng-$VIRTME_NG_VERSION
VNG=$VENV/bin/vng
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Bump when scripts/build-kernel.sh changes how a kernel is built.
KERNEL_RECIPE=1

# Kernel build directory for a flavour (release|debug). The key covers the kernel
# source package, the config fragments, the toolchain and the build recipe's version.
kernel_key() {
	local flavour=$1
	{
		dpkg-query -W -f='${Version}\n' linux-source-6.12 2>/dev/null || sha256sum "$KERNEL_SRC_TARBALL"
		"$RUSTC" --version
		clang --version | head -n 1
		cat "$TOP/kernel/base.config"
		[ "$flavour" = debug ] && cat "$TOP/kernel/debug.config"
		[ "$flavour" = release ] && cat "$TOP/kernel/release.config"
		echo "recipe $KERNEL_RECIPE"
	} | sha256sum | cut -c1-16
}
kernel_dir() { echo "$CACHE/kernel-$1-$(kernel_key "$1")"; }

# The tests' kernel helpers every VM run copies into its results folder
# (tests/kmod, scripts/vm-run.sh), built for FLAVOUR if any is missing:
# wg_hold_keys.ko, which tests/vm/guest.sh loads at boot, wg_panic.ko,
# which only tests/runner loads, and wg_stack_scan.ko, which
# tests/vm/suite/secrets.sh loads.
test_kmods_ready() { # FLAVOUR
	local m
	for m in wg_hold_keys wg_panic wg_stack_scan; do
		[ -f "$TOP/build/$1/$m.ko" ] || { "$TOP/scripts/build-test-kmods.sh" "$1"; return; }
	done
}
