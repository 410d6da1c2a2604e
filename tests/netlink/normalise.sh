#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Normalises the output of sequence.sh for comparison between drivers: in the
# output of steps marked "(random)", numbers become RANDOM; latest-handshake
# columns of dumps would be zeroed (no handshake happens in the sequence).
awk '
/^### / { random = index($0, "(random)") > 0; print; next }
/^\$ / || /^\[exit / { print; next }
random { gsub(/[0-9]+/, "RANDOM") }
{ print }
' "$@"
