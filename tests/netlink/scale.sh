#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check-netlink-scale`: the differential sequence at full size (one
# peer with 130,560 allowed IPs, 10,000 peers x 4 allowed IPs), in two boots
# (the C driver, then ours), with timings and memory figures of both.
#   FLAVOUR=release|debug (default release: the full size is slow under
#   emulation on the debug kernel).
. "$(dirname "$0")/../../scripts/lib.sh"
flavour=${FLAVOUR:-release}
"$TOP/scripts/build-module.sh" "$flavour" >/dev/null
status=0
"$TOP/scripts/vm-run.sh" --flavour "$flavour" --timeout 3000 --name netlink1_cdriver-full \
	"$TOP/tests/vm/suite/netlink1_cdriver.sh" full || status=1
"$TOP/scripts/vm-run.sh" --flavour "$flavour" --timeout 3000 --name netlink2_ours-full \
	"$TOP/tests/vm/suite/netlink2_ours.sh" full -full || status=1
for n in netlink1_cdriver-full netlink2_ours-full; do
	echo "== $n"
	cat "$TOP/build/vm/$n/results.txt" "$TOP/build/vm/$n/times.txt" 2>/dev/null
done
exit $status
