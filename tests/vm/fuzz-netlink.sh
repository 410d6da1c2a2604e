#!/usr/bin/env bash
# `make fuzz-netlink` (in a guest): tests/netlink/fuzz.sh for SECONDS (default
# 600), seed SEED if given. Not in tests/vm/suite/: `make check` runs a short
# form inside netlink_ours.sh's boot.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")/../netlink" && pwd)
t_fuzz_netlink() { bash "$here/fuzz.sh" "${1:-600}" ${2:+"$2"}; }
check fuzz_netlink t_fuzz_netlink "$@"
finish
