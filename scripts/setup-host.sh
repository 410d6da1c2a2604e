#!/usr/bin/env bash
# Installs everything the build and the tests need on a fresh Debian 12 machine
# (root, or a user with sudo): Debian packages (cargo included), bindgen-cli
# and boringtun-cli from crates.io, virtme-ng from PyPI.
# Idempotent: a second run only checks.
#
#   scripts/setup-host.sh          everything (make check)
#   scripts/setup-host.sh demo     without what only the tests use (make demo)
. "$(dirname "$0")/lib.sh"
purpose=${1:-check}
step=
trap 'status=$?; [ $status -eq 0 ] || log "error: host set-up failed while ${step:-starting} (exit $status); see the lines above"' EXIT

need_root() { if [ "$(id -u)" -ne 0 ]; then echo sudo; fi; }

install_packages() {
	local pkgs missing=()
	pkgs=$(grep -v '^\s*#' "$TOP/scripts/packages.txt" | grep -v '^\s*$')
	for p in $pkgs; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing Debian packages: ${missing[*]}"
		# sudo drops the environment: DEBIAN_FRONTEND goes through env.
		$(need_root) env DEBIAN_FRONTEND=noninteractive apt-get update -q
		$(need_root) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
	fi
	# netns.sh needs the legacy iptables back-end: tests/vm/suite/netns_upstream.sh
	# puts it first in the guest's PATH; the host's alternatives stay as they are.
}

install_bindgen() {
	[ -x "$BINDGEN" ] && return 0
	log "installing bindgen-cli $BINDGEN_VERSION from crates.io"
	cargo install --locked --quiet --root "$CACHE/bindgen-$BINDGEN_VERSION" --version "$BINDGEN_VERSION" bindgen-cli
}

# The userspace WireGuard peer of tests/vm/suite/interop.sh that Debian lacks
# (wireguard-go comes from packages.txt); version and place in tests/interop/peers.sh.
install_boringtun() {
	. "$TOP/tests/interop/peers.sh"
	[ -x "$(boringtun_bin "$CACHE")" ] && return 0
	log "installing boringtun-cli $BORINGTUN_VERSION from crates.io"
	cargo install --locked --quiet --root "$(boringtun_root "$CACHE")" --version "$BORINGTUN_VERSION" boringtun-cli
}

install_virtme_ng() {
	[ -x "$VNG" ] && return 0
	log "installing virtme-ng $VIRTME_NG_VERSION from PyPI into $VENV"
	rm -rf "$VENV"
	python3 -m venv "$VENV"
	"$VENV/bin/pip" install -q "virtme-ng==$VIRTME_NG_VERSION"
}

mkdir -p "$CACHE"
step="installing Debian packages"
install_packages
step="looking for the Rust library source"
# lib.sh looked for the Rust library source before the packages were installed.
[ -n "$RUST_LIB_SRC" ] || RUST_LIB_SRC=$( (ls -d /usr/src/rustc-*/library 2>/dev/null || true) | sort -V | tail -n 1)
[ -d "$RUST_LIB_SRC" ] || die "Rust library source not found (rust-web-src)"
command -v cargo >/dev/null || die "cargo not found after installing cargo-web"
step="installing bindgen-cli"
install_bindgen
step="installing virtme-ng"
install_virtme_ng
if [ "$purpose" != demo ]; then
	step="installing boringtun-cli"
	install_boringtun
fi
step=
log "host set-up complete"
