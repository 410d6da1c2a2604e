#!/usr/bin/env bash
# vm-timeout: 1200
# vm-alone
# The handshake path under attack (tests/hostile/flood.sh), short form:
# 2,500 cookie holders (more than the 2,048 entries of the module's rate
# limiter before finding 1's fix, which never collected them), a 90 s bound
# for the new client (REKEY_ATTEMPT_TIME), one round. The long form is
# `make hostile-flood` (20,000 holders, two rounds).
#
# Alone on the machine ("vm-alone": make check starts nothing beside it,
# not even the release build). Beside another VM, with one core of two each, neither driver passes:
# measured side by side (2026-12-03, one VM each at once), ours and the C
# driver both took 135-150 s to get the holders their cookies, the cookie
# secret rotated (120 s), the established session aged into a re-handshake,
# and under the flood neither the new client nor that re-handshake got in
# within 90 s. Alone, on the same machine, one after the other (debug
# kernel, 2026-12-03): holders ready after 39-46 s in every run; the new
# client in after 10 s (ours) and 27 s (the C driver); the module before
# finding 1's fix (f3c3ba8) never let it in within the 90 s, while its
# established tunnel still answered 10 of 10 pings.
#
# WG_IMPL=c tests the in-tree C driver instead (tests/hostile/impl.sh).
. "$(dirname "$0")/../lib.sh"
top=$(cd "$(dirname "$0")/../../.." && pwd)
. "$top/tests/hostile/impl.sh"
. "$top/tests/hostile/flood.sh"
check load impl_load
check handshake_flood flood_run 2500 90
check unload impl_unload
finish
