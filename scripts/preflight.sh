#!/usr/bin/env bash
# Checks that a kernel build tree can take this module, before any compiler
# runs: one line for each thing that does not fit, then exit 1. Silent and
# exit 0 when everything fits.
#
#   scripts/preflight.sh KDIR
#
# KDIR is a built Linux 6.12 tree (the directory of its .config: the O=
# directory of an out-of-tree build), or /lib/modules/RELEASE/build. Called by
# `make` (modules, install, dkms) when KDIR is not the project's own cached
# kernel; RUSTC, BINDGEN and RUST_LIB_SRC are taken from the environment as
# the Makefile passes them.
set -uo pipefail

kdir=${1:?usage: preflight.sh KDIR}
rustc=${RUSTC:-rustc}
bindgen=${BINDGEN:-bindgen}
problems=0
no() { echo "preflight: $kdir: $*" >&2; problems=$((problems + 1)); }

if [ ! -f "$kdir/.config" ]; then
	no "no .config: not a configured kernel build tree (give the directory the kernel was built in, or /lib/modules/\$(uname -r)/build)"
	exit 1
fi
cfg() { sed -n "s/^$1=//p" "$kdir/.config" | tr -d '"'; }

release=$(cat "$kdir/include/config/kernel.release" 2>/dev/null || true)
case $release in
	6.12|6.12.*|6.12-*) ;;
	'') no "include/config/kernel.release missing: the kernel was configured but never built (run make in it first)" ;;
	*) no "kernel $release: this module is for Linux 6.12 only" ;;
esac

[ "$(cfg CONFIG_RUST)" = y ] || no "CONFIG_RUST is not set: the kernel must be built with Rust support (CONFIG_RUST=y)"
[ "$(cfg CONFIG_MODULES)" = y ] || no "CONFIG_MODULES is not set: the kernel cannot load modules"
[ "$(cfg CONFIG_CC_IS_CLANG)" = y ] || no "not built with clang: build the kernel with LLVM=1 (Rust modules need the kernel's C compiled by clang)"
[ "$(cfg CONFIG_WIREGUARD)" = y ] && no "CONFIG_WIREGUARD=y: the C driver is built in and owns the 'wireguard' link kind and netlink family; build it as a module (=m) or leave it out"
for opt in CONFIG_NET CONFIG_INET CONFIG_NET_UDP_TUNNEL CONFIG_DST_CACHE CONFIG_CRYPTO_LIB_CHACHA20POLY1305 CONFIG_CRYPTO_LIB_CURVE25519; do
	case $(cfg $opt) in y|m) ;; *) no "$opt is not set (the module needs it; CONFIG_WIREGUARD=m selects all of them)" ;; esac
done

# The module's Rust must be compiled by the same rustc as the kernel's.
want=$(cfg CONFIG_RUSTC_VERSION_TEXT)
if ! have=$("$rustc" --version 2>/dev/null); then
	no "rustc not found ($rustc): set RUSTC to the rustc the kernel was built with${want:+ ($want)}"
elif [ -n "$want" ] && [ "$have" != "$want" ]; then
	no "rustc is '$have', the kernel was built with '$want': set RUSTC to that one"
fi
"$bindgen" --version >/dev/null 2>&1 || no "bindgen not found ($bindgen): install bindgen-cli (scripts/setup-host.sh does) or set BINDGEN"
if [ -z "${RUST_LIB_SRC:-}" ] || [ ! -f "$RUST_LIB_SRC/core/src/lib.rs" ]; then
	no "Rust library source not found (RUST_LIB_SRC='${RUST_LIB_SRC:-}'): install Debian's rust-web-src, or set RUST_LIB_SRC to the source of the kernel's rustc"
fi

# What an out-of-tree Rust module links against: the kernel's Rust crates
# and the exported symbols.
for f in rust/libkernel.rmeta rust/libcore.rmeta rust/libmacros.so Module.symvers scripts/mod/modpost; do
	[ -e "$kdir/$f" ] || no "$f missing: the tree lacks the Rust build artifacts (build the kernel itself in this tree, with CONFIG_RUST=y and LLVM=1, or install the matching headers package that ships rust/)"
done

if [ "$problems" -gt 0 ]; then
	echo "preflight: $problems problem(s): the module cannot be built against $kdir" >&2
	exit 1
fi
exit 0
