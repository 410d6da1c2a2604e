#!/usr/bin/env bash
# vm-timeout: 1200
# vm-usual: 80 (seconds in make check on this machine kind, 2026-12-04: for the progress lines)
# vm-flavour: release
# vm-release-always
# The handshake path under attack (tests/hostile/flood.sh), short form:
# 2,500 cookie holders (more than the 2,048 entries of the module's rate
# limiter before finding 1's fix, which never collected them), a 90 s bound
# for the new client (REKEY_ATTEMPT_TIME), one round. The long form is
# `make hostile-flood` (20,000 holders, two rounds).
#
# On the release kernel, in make check and in check-debug alike: the check
# holds only if the device is under load (its handshake queue at an eighth
# of its size), that is if tcpreplay in the guest queues initiations faster
# than the handshake workers take them, and the debug kernel cannot be
# trusted to do that. Its packet path (KASAN, kmemleak, debug objects on
# every skb) is about 60 times slower than the release kernel's, while the
# workers' Curve25519 is slowed far less: tcpreplay reached 395 to 483
# packets/s in the debug guest on 2026-12-03 (1,411 in session 9), and the
# check failed on slow days, in CI too ("holders did not get their cookie
# within 370s"), on the old tree and the new alike. On the release kernel
# the same day: 23,975 packets/s, holders ready after 38 s, the new client
# in after 8 s, alone on the machine; beside a debug VM (the hostile suite)
# and two builds: 12,138 packets/s, ready after 80 s, the new client in
# after 10 s. So it no longer needs the machine to itself. What this costs:
# no suite runs the rate limiter's insertions (sources with a valid mac2,
# only under load) under the debug kernel's sanitizers any more; its code is
# safe Rust (one spinlock around it in the driver), tested on the host
# (host/tests/ratelimiter.rs).
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
