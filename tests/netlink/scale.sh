#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check-netlink-scale`: the differential sequence at full size (one
# peer with 130,560 allowed IPs, 10,000 peers x 4 allowed IPs), the C driver
# then ours in one boot, with timings and memory figures of both.
#   FLAVOUR=release|debug (default release: the full size is slow under
#   emulation on the debug kernel).
. "$(dirname "$0")/../../scripts/lib.sh"
flavour=${FLAVOUR:-release}
"$TOP/scripts/build-module.sh" "$flavour" >/dev/null
status=0
"$TOP/scripts/vm-run.sh" --flavour "$flavour" --timeout 3000 --name netlink_differential-full \
	"$TOP/tests/vm/suite/netlink_differential.sh" full || status=1
d=$TOP/build/vm/netlink_differential-full
cat "$d/results.txt" 2>/dev/null
for impl in c ours; do
	echo "== $impl"
	cat "$d/times-$impl.txt" 2>/dev/null
done
exit $status
