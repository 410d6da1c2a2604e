#!/usr/bin/env bash
# scripts/preflight.sh against kernel trees that do and do not fit, made up
# here (a .config, the release file, the Rust build artifacts as empty files;
# a stand-in rustc and bindgen): a fitting tree passes silently; each misfit
# alone gives exit 1 and exactly one line that names it (and the summary
# line); several misfits give one line each. Needs no kernel and no compiler.
set -u
cd "$(dirname "$0")/../.."
top=$PWD
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
failures=0
bad() { echo "FAIL: $*"; failures=$((failures + 1)); }

rustc_text='rustc 1.96.0 (test 2026-01-01)'
mkdir -p "$w/bin" "$w/libsrc/core/src"
touch "$w/libsrc/core/src/lib.rs"
printf '#!/bin/sh\necho "%s"\n' "$rustc_text" >"$w/bin/rustc"
printf '#!/bin/sh\necho "%s"\n' "rustc 1.95.0 (other 2025-01-01)" >"$w/bin/rustc-other"
printf '#!/bin/sh\necho "bindgen 0.72.1"\n' >"$w/bin/bindgen"
chmod +x "$w/bin/"*

# A tree that fits; then mk_tree NAME SED-EXPR [FILE-TO-REMOVE] for misfits.
config="CONFIG_RUST=y
CONFIG_MODULES=y
CONFIG_CC_IS_CLANG=y
CONFIG_WIREGUARD=m
CONFIG_NET=y
CONFIG_INET=y
CONFIG_NET_UDP_TUNNEL=m
CONFIG_DST_CACHE=y
CONFIG_CRYPTO_LIB_CHACHA20POLY1305=y
CONFIG_CRYPTO_LIB_CURVE25519=y
CONFIG_RUSTC_VERSION_TEXT=\"$rustc_text\""
mk_tree() { # NAME [SED-EXPR-ON-.config [RELEASE [FILE-TO-REMOVE...]]]
	local t=$w/$1 f
	mkdir -p "$t/include/config" "$t/rust" "$t/scripts/mod"
	sed -e "${2:-}" <<<"$config" >"$t/.config"
	echo "${3:-6.12.118}" >"$t/include/config/kernel.release"
	for f in rust/libkernel.rmeta rust/libcore.rmeta rust/libmacros.so Module.symvers scripts/mod/modpost; do
		touch "$t/$f"
	done
	shift 3 2>/dev/null || shift $#
	for f in "$@"; do rm -f "$t/$f"; done
	echo "$t"
}
run() { # KDIR [RUSTC]: the output in $out, the status in $status
	out=$(RUSTC=${2:-$w/bin/rustc} BINDGEN=$w/bin/bindgen RUST_LIB_SRC=$w/libsrc "$top/scripts/preflight.sh" "$1" 2>&1)
	status=$?
}
misfits() { grep -v '^preflight: [0-9]* problem(s)' | grep -c '^preflight: '; }
expect_one() { # CASE PATTERN KDIR [RUSTC]
	local name=$1 pattern=$2 lines
	run "$3" "${4:-}"
	lines=$(misfits <<<"$out")
	if [ "$status" -ne 1 ]; then
		bad "$name: exit $status, expected 1; output: $out"
	elif [ "$lines" -ne 1 ] || ! grep -q -- "$pattern" <<<"$out"; then
		bad "$name: expected exactly one line matching '$pattern', got: $out"
	elif ! grep -q '^preflight: 1 problem(s)' <<<"$out"; then
		bad "$name: no summary line: $out"
	else
		echo "ok: $name: $(head -n 1 <<<"$out")"
	fi
}

run "$(mk_tree fits)"
if [ "$status" -ne 0 ] || [ -n "$out" ]; then bad "a fitting tree: exit $status, output: $out"; else echo "ok: a fitting tree passes silently"; fi

expect_one "no CONFIG_RUST" 'CONFIG_RUST is not set' "$(mk_tree norust 's/^CONFIG_RUST=y/# CONFIG_RUST is not set/')"
expect_one "another rustc" "rustc is 'rustc 1.95.0" "$(mk_tree rustc)" "$w/bin/rustc-other"
expect_one "no rustc" 'rustc not found' "$(mk_tree norustc)" "$w/bin/nonexistent"
expect_one "not clang" 'not built with clang' "$(mk_tree gcc 's/^CONFIG_CC_IS_CLANG=y/CONFIG_CC_IS_GCC=y/')"
expect_one "not 6.12" 'kernel 6.13.1: this module is for Linux 6.12 only' "$(mk_tree v613 '' 6.13.1)"
expect_one "6.120 is not 6.12" 'kernel 6.120.0' "$(mk_tree v6120 '' 6.120.0)"
expect_one "C driver built in" 'CONFIG_WIREGUARD=y' "$(mk_tree builtin 's/^CONFIG_WIREGUARD=m/CONFIG_WIREGUARD=y/')"
expect_one "no UDP tunnel" 'CONFIG_NET_UDP_TUNNEL is not set' "$(mk_tree udp '/^CONFIG_NET_UDP_TUNNEL=/d')"
expect_one "no dst cache" 'CONFIG_DST_CACHE is not set' "$(mk_tree dst '/^CONFIG_DST_CACHE=/d')"
expect_one "no Rust artifacts" 'rust/libkernel.rmeta missing' "$(mk_tree noartifacts '' 6.12.118 rust/libkernel.rmeta)"
expect_one "never built" 'kernel.release missing' "$(mk_tree unbuilt '' 6.12.118 include/config/kernel.release)"

# Several misfits: one line each.
t=$(mk_tree several 's/^CONFIG_RUST=y/# CONFIG_RUST is not set/; s/^CONFIG_WIREGUARD=m/CONFIG_WIREGUARD=y/' 6.6.50 Module.symvers)
run "$t" "$w/bin/rustc-other"
n=$(misfits <<<"$out")
if [ "$status" -ne 1 ] || [ "$n" -ne 5 ] || ! grep -q '^preflight: 5 problem(s)' <<<"$out"; then
	bad "five misfits: exit $status, $n lines: $out"
else
	echo "ok: five misfits, five lines"
fi

# Not a kernel tree at all.
mkdir -p "$w/empty"
run "$w/empty"
if [ "$status" -ne 1 ] || ! grep -q 'no .config' <<<"$out"; then bad "an empty folder: exit $status: $out"; else echo "ok: an empty folder: $out"; fi

[ "$failures" -eq 0 ] || { echo "preflight test: $failures failure(s)"; exit 1; }
echo "preflight test: all passed"
