#!/usr/bin/env bash
# Runs inside the guest (see scripts/vm-run.sh): RESULTS MODULE SCRIPT [ARGS...]
results=$1 module=$2 script=$3
shift 3
exec >"$results/guest.log" 2>&1
PS4='+ ${EPOCHREALTIME} '
set -x

# The module tree scripts/vm-run.sh made: the kernel's modules, ours in
# updates/ (where modprobe prefers it over the in-tree C driver), indexed.
kver=$(uname -r)
moddir=/lib/modules/$kver
mount --bind "$results/modroot/lib/modules/$kver" "$moddir"
# The in-tree C driver stays loadable by path for comparisons.
export WG_C_MODULE=$(find "$moddir/kernel" -name wireguard.ko | head -n 1)
export WG_RS_MODULE=$moddir/updates/wireguard.ko
export RESULTS=$results

[ -e /sys/kernel/debug/kmemleak ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
# Forget whatever the boot itself left for kmemleak: only the test's count.
if [ -e /sys/kernel/debug/kmemleak ]; then
	echo scan >/sys/kernel/debug/kmemleak
	echo clear >/sys/kernel/debug/kmemleak
fi

# QEMU's TCG can execute a stale int3 left by a live patch of kernel text:
# the static keys the tests would switch under traffic are switched now, with
# nothing else running, and held (tests/vm/hold_keys.py says which and why;
# hold_netstamp_key in tests/hostile/impl.sh finds its ready file and does
# nothing more).
# (The guest's /tmp shows the host's beneath its own: no ready file of the
# host's may stand for the holder's.)
# The one such key no userspace socket can hold, memalloc_socks_key (every
# WireGuard socket's open and close switch it), is held by a module
# (tests/kmod/wg_hold_keys.c says why).
holder=loaded
insmod "$results/wg_hold_keys.ko" || holder=   # judged at the end
rm -f /tmp/netstamp-key-held
python3 -S "$(dirname "$0")/hold_keys.py" /tmp/netstamp-key-held </dev/null >/dev/null 2>&1 &
for i in $(seq 1 300); do [ -e /tmp/netstamp-key-held ] && break; sleep 0.1; done
sleep 1  # the keys switch in a work item, after the setsockopt and the hash
cat /tmp/netstamp-key-held 2>/dev/null || echo "the key holder did not start"
# The once keys of the conntrack and NAT hashes (hash_conntrack_raw, nf_nat's
# hash_by_src) the same way: netns.sh NATs in the namespace that carries both
# peers' encrypted datagrams. One ping through a namespace with a nat table
# (the table alone makes a null binding for each new connection).
if command -v iptables-legacy >/dev/null; then
	{ ip netns add wg-keys && ip -n wg-keys link set lo up &&
		ip netns exec wg-keys iptables-legacy -t nat -L >/dev/null &&
		ip netns exec wg-keys ping -c 1 -W 1 127.0.0.1 >/dev/null; } ||
		echo "the conntrack and NAT keys were not switched"
	ip netns del wg-keys 2>/dev/null
fi

# A test of the runner (tests/runner/judging.sh) has the guest die here,
# before the test starts: wg_test.crash=twice on the kernel's command line
# on the first two boots only (files in the results folder count them),
# =always on every boot.
case " $(cat /proc/cmdline) " in
*" wg_test.crash=always "*) insmod "$results/wg_panic.ko" ;;
*" wg_test.crash=twice "*)
	for n in 1 2; do
		[ ! -e "$results/crashed-$n" ] || continue
		touch "$results/crashed-$n"; sync; insmod "$results/wg_panic.ko"
	done ;;
esac

# The test starts: said in the kernel log too, which the console keeps up to
# a crash (scripts/vm-run.sh boots the guest again, up to three boots in
# all, after a crash before this line, and judges one after it).
echo "wg-guest: running $script" >/dev/kmsg
set +x
echo "=== running $script $*"
bash "$script" "$@"
status=$?
echo "=== $script exited with $status"

# Leak check: unreferenced objects are reported after two scans.
if [ -e /sys/kernel/debug/kmemleak ]; then
	echo scan >/sys/kernel/debug/kmemleak; sleep 1
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak >"$results/kmemleak.txt"
	if [ -s "$results/kmemleak.txt" ]; then
		echo "kmemleak: unreferenced objects reported"
		status=${status/#0/99}
	fi
fi
# The memalloc key holder: loaded (or the run was not protected from the
# stale int3), and once no WireGuard module is loaded the key's count is its
# own socket's alone (tests/kmod/wg_hold_keys.c).
if [ -z "$holder" ]; then
	echo "the memalloc key holder did not load"
	status=${status/#0/98}
elif [ ! -d /sys/module/wireguard ]; then
	count=$(cat /sys/module/wg_hold_keys/parameters/count)
	echo "memalloc_socks_key's count with no WireGuard module loaded: $count"
	if [ "$count" != 1 ]; then
		echo "a WireGuard socket's memalloc flag was left set, or cleared twice (the holder's own count is 1)"
		status=${status/#0/97}
	fi
fi
dmesg >"$results/dmesg.txt"
echo "$status" >"$results/verdict"
sync
