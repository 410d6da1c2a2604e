# The userspace WireGuard implementations tests/vm/suite/interop.sh runs
# against the kernel driver: pinned versions and where they are installed.
# Sourced by scripts/setup-host.sh (on the host, which installs them) and by
# the suite (in the guest). $1 of each function: the cache folder (CACHE of
# scripts/lib.sh; in the guest, WG_CACHE as handed over by scripts/vm-run.sh).
#
# wireguard-go comes from Debian (scripts/packages.txt): /usr/bin/wireguard-go.
# boringtun-cli comes from crates.io, `cargo install --locked` into its own
# folder of the cache, keyed by version.
BORINGTUN_VERSION=${BORINGTUN_VERSION:-0.7.1}
boringtun_root() { echo "$1/boringtun-cli-$BORINGTUN_VERSION"; }
boringtun_bin() { echo "$(boringtun_root "$1")/bin/boringtun-cli"; }
