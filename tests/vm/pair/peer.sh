#!/usr/bin/env bash
# The peer VM of scripts/vm-pair.sh (run through tests/vm/guest.sh): the
# in-tree C WireGuard driver of the same kernel, driven over the link by the
# suite in the other VM. It brings the link up and serves commands
# (tests/vm/pair/ctl-server.py) until the suite says quit (status 0), the
# suite goes silent (2) or the host's runner gives up (3).
#
# Our module stays out of this VM's module tree: guest.sh installed it under
# updates/, where modprobe (and so `ip link add ... type wireguard`, and
# wg(8)'s genl family autoload) would pick it; here it is moved to /tmp, so
# whatever loads `wireguard` loads the C driver. Commands load it by path
# (WG_IMPL=c wg_impl_load, tests/interop/lib.sh), or ours from there
# (pair_load rs, tests/vm/pair/lib.sh: the bench runs the same
# implementation on both sides), with WG_RS_MODULE pointing at the copy.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../../hostile/impl.sh"   # hold_netstamp_key

# A suite that never connects (its VM failed to boot) ends this VM after
# FIRST_S seconds; one that goes silent, IDLE_S after its last command.
FIRST_S=${PAIR_FIRST_S:-1200} IDLE_S=${PAIR_IDLE_S:-300}

set -x
cp "$WG_RS_MODULE" /tmp/ours.ko
rm -f "$WG_RS_MODULE"
depmod -a "$(uname -r)"
export WG_RS_MODULE=/tmp/ours.ko
[ "$(modinfo -F filename wireguard)" = "$WG_C_MODULE" ] || { echo "modprobe would not load the C driver"; exit 1; }

pair_link_up b || exit 1
hold_netstamp_key || exit 1
# The handshake checks read both drivers' debug lines, which are printed
# under the kernel's network rate limit (10 per 5 s, shared by all): a burst
# of other lines (A's "No valid endpoint" while B's traffic waits for A to
# come back) hid the line a check waited for. No limit, as netns.sh does.
printf 0 >/proc/sys/net/core/message_cost

TOP_GUEST=$(cd "$PAIR_DIR/../../.." && pwd)
prelude=/tmp/pair-prelude.sh
cat >"$prelude" <<EOP
. $TOP_GUEST/tests/vm/lib.sh
. $TOP_GUEST/tests/interop/lib.sh
. $TOP_GUEST/tests/vm/pair/lib.sh
EOP
set +x
exec python3 -S "$PAIR_DIR/ctl-server.py" "$OUT_B4" "$CTL_PORT" "$prelude" "$RESULTS/stop" "$RESULTS/ctl.log" "$FIRST_S" "$IDLE_S"
