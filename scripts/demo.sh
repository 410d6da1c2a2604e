#!/usr/bin/env bash
# `make demo`: sets up what is missing, builds the release kernel (cached) and
# the module, boots a VM and runs tests/vm/demo.sh in it, then prints what the
# guest printed.
. "$(dirname "$0")/lib.sh"
"$TOP/scripts/setup-host.sh"
"$TOP/scripts/build-module.sh" release >/dev/null
set +e
"$TOP/scripts/vm-run.sh" --flavour release --name demo --timeout 600 "$TOP/tests/vm/demo.sh"
status=$?
set -e
sed -n '/^=== running/,$p' "$TOP/build/vm/demo/guest.log"
exit $status
