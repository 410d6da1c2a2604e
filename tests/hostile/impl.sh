# Sourced by the hostile, soak and demo scripts (inside the guest, after
# tests/vm/lib.sh): which WireGuard implementation they exercise.
#
#   WG_IMPL=rs (default): our module, through modprobe (as `ip link add ...
#                         type wireguard` would autoload it)
#   WG_IMPL=c:            the in-tree C driver of the same kernel, by path
#
# scripts/vm-run.sh passes WG_IMPL from the host's environment into the guest.
WG_IMPL=${WG_IMPL:-rs}
case $WG_IMPL in
rs | c) ;;
*) echo "WG_IMPL must be rs or c, not $WG_IMPL" >&2; exit 2 ;;
esac

# Loads the implementation under test (unloading whatever wireguard module is
# loaded first), and checks that the loaded one is the one asked for.
impl_load() {
	if [ -d /sys/module/wireguard ]; then
		rmmod wireguard || return 1
	fi
	if [ "$WG_IMPL" = c ]; then
		modprobe udp_tunnel && modprobe ip6_udp_tunnel && insmod "$WG_C_MODULE" || return 1
		if loaded_is_ours >/dev/null 2>&1; then
			echo "WG_IMPL=c but our module is loaded"
			return 1
		fi
	else
		modprobe wireguard && loaded_is_ours || return 1
	fi
	echo "implementation under test: WG_IMPL=$WG_IMPL, wireguard version $(cat /sys/module/wireguard/version)"
}

# Unloads it; fails if rmmod does or the module stays.
impl_unload() {
	rmmod wireguard || return 1
	[ ! -d /sys/module/wireguard ] || { echo "wireguard still loaded after rmmod"; return 1; }
}

# QEMU's TCG, which these VMs run under, can execute a stale int3 left by a
# live patch of kernel text (a static key switching): the keys the tests
# would switch under traffic are switched once and held by
# tests/vm/hold_keys.py (which says which and why), until the guest powers
# off. tests/vm/guest.sh starts it at boot; this starts it where that did not.
hold_netstamp_key() {
	local ready=/tmp/netstamp-key-held
	[ -e $ready ] && return 0
	python3 -S "$(dirname "${BASH_SOURCE[0]}")/../vm/hold_keys.py" $ready </dev/null >/dev/null 2>&1 &
	local i
	for i in $(seq 1 300); do [ -e $ready ] && break; sleep 0.1; done
	[ -e $ready ] || { echo "hold_netstamp_key: the holder did not start" >&2; return 1; }
	sleep 1  # the key switches in a work item, after the setsockopt
}
