#!/usr/bin/env bash
# The handshake path under attack (tests/hostile/flood.sh), longer than the
# form make check runs (tests/vm/suite/flood.sh): `make hostile-flood`, or
# scripts/vm-run.sh tests/vm/hostile-flood.sh [HOLDERS [BOUND [ROUNDS]]].
# Defaults: 20,000 cookie holders (ten times the table the module had
# before, a third of the C driver's), a 90 s bound (the C driver's
# REKEY_ATTEMPT_TIME: a client gives up after it), 2 rounds, each on fresh
# namespaces and devices. WG_IMPL=c runs it on the in-tree C driver.
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/hostile/impl.sh"
. "$top/tests/hostile/flood.sh"
holders=${1:-20000} bound=${2:-90} rounds=${3:-2}
check load impl_load
for r in $(seq 1 "$rounds"); do
	check "flood_$r" flood_run "$holders" "$bound"
done
check unload impl_unload
finish
