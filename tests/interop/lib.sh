# Helpers for the VM suites that exercise a whole driver (netns_upstream.sh,
# interop.sh). Sourced in the guest after tests/vm/lib.sh.
#
# WG_IMPL selects the kernel driver under test: unset, empty or "rs"
# = our module (the default); "c" = the in-tree C driver, loaded by path
# ($WG_C_MODULE). scripts/vm-run.sh hands WG_IMPL over to the guest:
#   WG_IMPL=c scripts/vm-run.sh --flavour debug --name NAME tests/vm/suite/SUITE.sh

wg_impl() {
	case ${WG_IMPL:-} in
	'' | rs) echo rs ;;
	c) echo c ;;
	*) echo "unknown WG_IMPL=$WG_IMPL (want rs or c)" >&2; return 1 ;;
	esac
}

# Loads the driver under test, with its debug messages on (the object-lifetime
# lines "wgN: Peer N created/destroyed", "wgN: Keypair N created/destroyed").
# The C driver of the debug kernel is built with CONFIG_WIREGUARD_DEBUG
# (-DDEBUG: its pr_debug sites start enabled); dynamic debug is switched on
# for module wireguard anyway, at load (dyndbg= parameter, for messages of
# the module's init) and after it (the control file), for either driver. Rust
# pr_debug! prints at KERN_DEBUG whenever Rust debug assertions are on (they
# are on the debug kernel), whatever dynamic debug says.
wg_impl_load() {
	local impl
	impl=$(wg_impl)
	unload 2>/dev/null || true
	if [ "$impl" = c ]; then
		[ -f "$WG_C_MODULE" ] || { echo "no C driver at '$WG_C_MODULE'"; return 1; }
		modprobe udp_tunnel
		modprobe ip6_udp_tunnel
		insmod "$WG_C_MODULE" dyndbg=+p
		# Ours is not the one that answered.
		[ "$(cat /sys/module/wireguard/version)" = "$(modinfo -F version "$WG_C_MODULE")" ]
		[ "$(modinfo -F version "$WG_C_MODULE")" != "$(modinfo -F version "$WG_RS_MODULE")" ]
	else
		modprobe wireguard dyndbg=+p
		loaded_is_ours
	fi
	if [ -w /proc/dynamic_debug/control ]; then
		echo 'module wireguard +p' >/proc/dynamic_debug/control
	fi
	echo "driver under test: $impl (wireguard $(cat /sys/module/wireguard/version))"
}
