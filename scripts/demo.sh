#!/usr/bin/env bash
# `make demo`: sets up what is missing, builds the release kernel (cached) and
# the module, boots a VM and runs tests/vm/demo.sh in it (two namespaces, a
# tunnel between them, ping and iperf3 through it, `wg show`), then prints
# what the guest printed. Fails, and says so, if any of it did.
# WG_IMPL=c runs the same demo on the in-tree C driver (the reference).
. "$(dirname "$0")/lib.sh"
"$TOP/scripts/setup-host.sh" demo
"$TOP/scripts/build-module.sh" release >/dev/null
name=demo
[ "${WG_IMPL:-rs}" = rs ] || name=demo-$WG_IMPL
set +e
"$TOP/scripts/vm-run.sh" --flavour release --name "$name" --timeout 600 "$TOP/tests/vm/demo.sh"
status=$?
set -e
sed -n '/^=== running/,$p' "$TOP/build/vm/$name/guest.log"
if [ $status -ne 0 ]; then
	printf '\n\033[1;31mDEMO FAILED (status %s): see above and build/vm/%s/\033[0m\n' "$status" "$name" >&2
fi
exit $status
