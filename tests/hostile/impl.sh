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
