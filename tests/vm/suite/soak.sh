#!/usr/bin/env bash
# vm-timeout: 1200
# The soak (tests/vm/soak.sh) for 60 s, as part of `make check`; `make soak`
# runs the same for 600 s. WG_IMPL=c tests the in-tree C driver instead.
exec bash "$(dirname "$0")/../soak.sh" "${1:-60}"
