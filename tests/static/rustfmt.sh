#!/usr/bin/env bash
# Static check: the module's Rust is formatted by the kernel's rustfmt
# configuration (.rustfmt.toml, a copy of the 6.12 tree's, as `make
# rustfmtcheck` in the kernel checks), and so is the host crate.
# `make fmt` formats (this script with --write). Uses Debian's rustfmt (rustfmt-web, the same release
# as rustc-web), not a rustup one whose formatting may differ.
#
# It first checks itself: a misformatted sample must be refused.
set -u
cd "$(dirname "$0")/../.."
RUSTFMT=${RUSTFMT:-/usr/bin/rustfmt}
if ! [ -x "$RUSTFMT" ]; then
	echo "rustfmt: $RUSTFMT not found (Debian package rustfmt-web; scripts/setup-host.sh installs it)"
	exit 1
fi
fmt() { "$RUSTFMT" --edition 2021 --config-path .rustfmt.toml --check "$@"; }

# The module (rustfmt follows its `mod` declarations) and the host crate.
# The audit harnesses are templates whose `mod proto` path is filled in by
# the tests (@PROTO@): rustfmt reads them on stdin, where it does not
# resolve modules.
mapfile -t host < <(find host/src host/tests host/benches host/fuzz -name '*.rs' \
	-not -path '*/target/*' -not -name harness.rs | sort)
harnesses=(host/tests/*/harness.rs)

if [ "${1:-}" = --write ]; then
	"$RUSTFMT" --edition 2021 --config-path .rustfmt.toml src/wireguard_rs.rs "${host[@]}" || exit 1
	for t in "${harnesses[@]}"; do
		"$RUSTFMT" --edition 2021 --config-path .rustfmt.toml --emit stdout <"$t" >"$t.fmt" &&
			mv "$t.fmt" "$t" || { rm -f "$t.fmt"; exit 1; }
	done
	exit 0
fi

sample=$(mktemp --suffix=.rs)
trap 'rm -f "$sample"' EXIT
printf 'fn f( ) -> u32 { 1+1 }\n' >"$sample"
if fmt "$sample" >/dev/null 2>&1; then
	echo "rustfmt: self-test failed (a misformatted sample passed the check)"
	exit 1
fi

status=0
fmt src/wireguard_rs.rs "${host[@]}" || status=1
for t in "${harnesses[@]}"; do
	fmt <"$t" >/dev/null || { echo "$t: not formatted"; status=1; }
done
if [ "$status" = 0 ]; then
	echo "rustfmt: src/ and host/ formatted ($("$RUSTFMT" --version))"
else
	echo "rustfmt: the files above are not formatted: run make fmt"
	exit 1
fi
