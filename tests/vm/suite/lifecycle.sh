#!/usr/bin/env bash
# vm-timeout: 2700
# vm-usual: 615 (seconds in make check on this machine kind, 2026-12-04: for the progress lines)
# Module and device lifecycle (issue: foundation).
# (The threaded-NAPI load at the end, tests/vm/napi.sh, takes a few minutes
# under emulation; the suite took some 15 minutes with other VMs running.)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../race_lib.sh"

t_modprobe_prefers_ours() {
	modprobe --show-depends wireguard | tail -n 1 | grep -q '/updates/wireguard.ko' ||
		{ modprobe --show-depends wireguard; return 1; }
	modinfo -F alias "$WG_RS_MODULE" | grep -qx rtnl-link-wireguard
	modinfo -F alias "$WG_RS_MODULE" | grep -qx net-pf-16-proto-16-family-wireguard
	[ "$(modinfo -F license "$WG_RS_MODULE")" = GPL ]
	[ -n "$(modinfo -F author "$WG_RS_MODULE")" ]
	[ -n "$(modinfo -F version "$WG_RS_MODULE")" ]
}

t_autoload_by_ip_link() {
	unload 2>/dev/null
	assert refute test -d /sys/module/wireguard
	ip link add wg0 type wireguard
	loaded_is_ours
	# Its dependencies came in through modprobe, not by hand.
	local dep
	for dep in $(modinfo -F depends "$WG_RS_MODULE" | tr , ' '); do
		[ -d "/sys/module/$dep" ] || { echo "dependency $dep not loaded"; return 1; }
	done
	# The load-time known-answer tests of lib/crypto through our platform layer.
	dmesg | grep -q 'wireguard: crypto and noise self-tests: pass'
	ip link del wg0
}

t_device_shape() {
	ip link add wg0 type wireguard
	local d; d=$(ip -d link show wg0)
	echo "$d"
	grep -q 'POINTOPOINT,NOARP' <<<"$d"
	grep -q 'mtu 1420 ' <<<"$d"
	grep -q 'link/none' <<<"$d"
	grep -q 'wireguard' <<<"$d"
	grep -q 'maxmtu 2147483552' <<<"$d"  # round_down(INT_MAX, 16) - 80
	# Type ARPHRD_NONE (65534), as the C driver.
	[ "$(cat /sys/class/net/wg0/type)" = 65534 ]
	grep -q DEVTYPE=wireguard /sys/class/net/wg0/uevent
	ip link set wg0 up
	grep -q 'qdisc noqueue' <<<"$(ip link show wg0)"
	ip link set wg0 mtu 1280
	grep -q 'mtu 1280 ' <<<"$(ip link show wg0)"
	# Packets for which no peer is configured are dropped and counted (as
	# the C driver: tx_errors, and an ICMP host unreachable to the sender),
	# not sent and not leaked (kmemleak runs at the end of the boot).
	ip addr add 10.9.0.1/24 dev wg0
	local st=/sys/class/net/wg0/statistics err0 pkt0 err1 pkt1 out
	err0=$(cat $st/tx_errors) pkt0=$(cat $st/tx_packets)
	out=$(ping -c 2 -W 1 -i 0.2 10.9.0.2 2>&1) && { echo "$out"; echo "ping got an answer"; return 1; }
	echo "$out"
	err1=$(cat $st/tx_errors) pkt1=$(cat $st/tx_packets)
	echo "tx_errors $err0 -> $err1, tx_packets $pkt0 -> $pkt1"
	[ $((err1 - err0)) -ge 2 ] || { echo "the 2 pings were not counted in tx_errors"; return 1; }
	[ "$pkt1" = "$pkt0" ] || { echo "tx_packets changed"; return 1; }
	grep -qi 'unreachable' <<<"$out" || { echo "no ICMP unreachable reported to ping"; return 1; }
	ip link set wg0 down
	ip link del wg0
}

t_autoload_by_genl() {
	unload 2>/dev/null
	# Resolving the family autoloads the module through its genl alias.
	genl ctrl get name wireguard >/dev/null 2>&1 || true
	loaded_is_ours
	local g; g=$(genl ctrl get name wireguard)
	echo "$g"
	grep -q 'Name: wireguard' <<<"$g"
	grep -q 'Version: 0x1' <<<"$g"
	grep -q 'max attribs: 8' <<<"$g"      # WGDEVICE_A_MAX
	grep -q 'ID-0x0' <<<"$g"              # WG_CMD_GET_DEVICE
	grep -q 'ID-0x1' <<<"$g"              # WG_CMD_SET_DEVICE
}

t_many_devices_many_namespaces() {
	local ns i
	for ns in a b c; do ip netns add "lc-$ns"; done
	# One ip(8) per namespace (-batch): an exec costs about 0.4 s in the debug
	# guest, and 90 of them were most of this check's 3.5 minutes.
	for ns in a b c; do
		for i in $(seq 0 29); do echo "link add wg$i type wireguard"; done | ip -n "lc-$ns" -batch -
	done
	for ns in a b c; do [ "$(count_devs "lc-$ns")" = 30 ] || { echo "lc-$ns: $(count_devs "lc-$ns")"; return 1; }; done
	for i in $(seq 0 2 29); do echo "link del wg$i"; done | ip -n lc-a -batch -
	[ "$(count_devs lc-a)" = 15 ]
	for ns in a b c; do ip netns del "lc-$ns"; done
	sleep 1
	[ "$(count_devs)" = 0 ]
}

# Device $2 of namespace $1 has no carrier.
no_carrier() { ip -n "$1" link show "$2" | grep -q NO-CARRIER; }

t_move_between_namespaces() {
	ip netns add mv-1; ip netns add mv-2
	ip -n mv-1 link add wgm type wireguard
	ip -n mv-1 link set wgm netns mv-2
	[ "$(count_devs mv-1)" = 0 ]
	[ "$(wg_devs mv-2)" = wgm ]
	ip -n mv-2 link set wgm up
	# Delete the namespace the device was created in: the device lives on.
	# Its sockets go with that namespace (in the background: polled):
	# carrier off, and bringing it up again fails with ENONET, as with the
	# C driver (no namespace to bind in).
	ip netns del mv-1
	wait_until 60 no_carrier mv-2 wgm || { echo "wgm kept its carrier for 60 s"; return 1; }
	[ "$(wg_devs mv-2)" = wgm ]
	ip -n mv-2 link show wgm
	ip -n mv-2 link set wgm down
	local err
	err=$(ip -n mv-2 link set wgm up 2>&1) && { echo "up succeeded without a creating namespace"; return 1; }
	grep -q 'Machine is not on the network' <<<"$err"
	ip -n mv-2 link del wgm
	# A device moved to the initial namespace, then its creator deleted.
	ip netns add mv-3
	ip -n mv-3 link add wgx type wireguard
	ip -n mv-3 link set wgx netns 1
	ip netns del mv-3
	sleep 1
	ip link show wgx
	ip link del wgx
	ip netns del mv-2
}

t_delete_namespace_with_devices() {
	ip netns add dn-1
	local i
	for i in $(seq 0 9); do ip -n dn-1 link add "wg$i" type wireguard; done
	ip -n dn-1 link set wg3 up
	ip netns del dn-1
	sleep 1
	! ip netns list | grep -q dn-1 || { echo "namespace dn-1 still listed"; return 1; }
}

t_crossed_namespaces() {
	# As netns.sh: devices whose creating and living namespaces reference
	# each other, then both namespaces deleted.
	ip netns add x-1; ip netns add x-2
	ip -n x-1 link add wg1 type wireguard
	ip -n x-2 link add wg2 type wireguard
	ip -n x-1 link set wg1 netns x-2
	ip -n x-2 link set wg2 netns x-1
	ip netns del x-1
	ip netns del x-2
	sleep 1
}

t_rmmod_with_devices() {
	ip netns add rm-1
	ip link add wg0 type wireguard
	ip link add wg1 type wireguard
	ip -n rm-1 link add wg0 type wireguard
	ip link set wg0 up
	rmmod wireguard
	assert refute test -d /sys/module/wireguard
	[ "$(count_devs)" = 0 ]
	[ "$(count_devs rm-1)" = 0 ]
	ip netns del rm-1
}

t_load_unload() { # CYCLES
	local i
	for i in $(seq 1 "$1"); do
		modprobe wireguard
		ip link add wg0 type wireguard
		ip link set wg0 up
		modprobe -r wireguard
		[ ! -d /sys/module/wireguard ] || return 1
	done
}

t_c_driver_loads_by_path() {
	# The C reference loads only when asked, by path, and not while ours is.
	unload 2>/dev/null || true
	[ -f "$WG_C_MODULE" ]
	modprobe udp_tunnel; modprobe ip6_udp_tunnel
	insmod "$WG_C_MODULE"
	ip link add wgc type wireguard
	[ "$(cat /sys/module/wireguard/version)" != "$(modinfo -F version "$WG_RS_MODULE")" ]
	ip link del wgc
	rmmod wireguard
}

# tests/hostile/wgpeer.py: a WireGuard initiator that sends what no kernel
# sender would (compiled form cached under /tmp: the checkout is read-only).
PEER=(env PYTHONPYCACHEPREFIX=/tmp/pycache python3 -S -c
	'import sys; sys.path.insert(0, sys.argv.pop(1)); import wgpeer; wgpeer.main(sys.argv[1:])'
	"$(cd "$(dirname "$0")/../../hostile" && pwd)")

# Authenticated packets that are not IP, or IP with a length that does not
# fit, are dropped and counted as the C driver counts them
# (wg_packet_consume_data_done): not IPv4/IPv6 (too short for the header of
# its version, or another version) in rx_frame_errors, a bad IP length in
# rx_length_errors, both in rx_errors.
t_rx_errors_as_c() {
	ip netns add rx-1
	ip -n rx-1 link set lo up
	ip -n rx-1 link add wg0 type wireguard
	local k p k0 p0 st=/sys/class/net/wg0/statistics
	k=$(wg genkey) p=$(wg pubkey <<<"$k")
	k0=$(wg genkey) p0=$(wg pubkey <<<"$k0")
	ip netns exec rx-1 wg set wg0 private-key <(echo "$k0") listen-port 51900 peer "$p" allowed-ips 10.55.0.2/32
	ip -n rx-1 addr add 10.55.0.1/24 dev wg0
	ip -n rx-1 link set wg0 up
	local v4ok=4500001c0000000040010000 # 20-byte IPv4 header from 10.55.0.2
	v4ok+=0a3700020a370001              # to 10.55.0.1, tot_len 28, + 8 bytes
	v4ok+=0800f7ff00000000
	# not IP: version 5; 10 bytes; an IPv6 version nibble in 30 bytes.
	# bad length: IPv4 with tot_len 200 in 28 bytes; IPv4 with tot_len 10.
	ip netns exec rx-1 "${PEER[@]}" data 127.0.0.1 51900 "$k" "$p0" \
		"$(printf '5%.0s' {1..56})" 45000000000000000000 \
		"6$(printf '0%.0s' {1..59})" \
		"450000c8${v4ok:8}" "4500000a${v4ok:8}"
	sleep 2
	local frame length errors
	frame=$(ip netns exec rx-1 cat $st/rx_frame_errors)
	length=$(ip netns exec rx-1 cat $st/rx_length_errors)
	errors=$(ip netns exec rx-1 cat $st/rx_errors)
	echo "rx_errors $errors, rx_frame_errors $frame, rx_length_errors $length"
	ip netns exec rx-1 wg show wg0
	[ "$frame" = 3 ] && [ "$length" = 2 ] && [ "$errors" = 5 ]
	# The device's workqueues are named after it, as the C driver's
	# (wg-crypt-wg0, wg-kex-wg0): lockdep names each after its queue, once
	# used (the handshake and the decryption above used both).
	grep -E '\(wq_completion\)wg-(crypt|kex)-' /proc/lockdep | sort -u
	grep -q '(wq_completion)wg-crypt-wg0$' /proc/lockdep
	grep -q '(wq_completion)wg-kex-wg0$' /proc/lockdep
	ip netns del rx-1
}

# Debug lines a packet triggers are rate-limited (net_ratelimit, as the C
# driver's net_dbg_ratelimited): 300 initiations with a bad mac1 print a
# handful of "Invalid MAC of handshake" lines, not 300. (The VM runs with
# the module's debug lines on; the default net.core.message_cost of 5 s and
# message_burst of 10 allow 10 lines per 5 s.)
t_debug_lines_ratelimited() {
	[ "$(cat /proc/sys/net/core/message_burst)" = 10 ] && [ "$(cat /proc/sys/net/core/message_cost)" = 5 ]
	ip netns add dl-1
	ip -n dl-1 link set lo up
	ip -n dl-1 link add wg0 type wireguard
	ip netns exec dl-1 wg set wg0 private-key <(wg genkey) listen-port 51901
	ip -n dl-1 link set wg0 up
	# The boot's dyndbg= applied to the first load only: the module was
	# loaded again since.
	local ctl=/proc/dynamic_debug/control
	[ -w $ctl ] || ctl=/sys/kernel/debug/dynamic_debug/control
	echo 'module wireguard +p' >$ctl
	local mark before after lines
	# A fresh window of the shared limit (earlier tests printed lines).
	sleep 6
	mark="ratelimit-test-mark-$RANDOM"
	echo "$mark" >/dev/kmsg
	before=$(date +%s)
	ip netns exec dl-1 "${PEER[@]}" badmac 127.0.0.1 51901 300
	sleep 2
	after=$(date +%s)
	lines=$(dmesg | sed -n "/$mark/,\$p" | grep -c 'wg0: Invalid MAC of handshake' || true)
	echo "$lines 'Invalid MAC' lines for 300 messages in $((after - before)) s"
	# Vacuous unless the lines are on at all.
	[ "$lines" -gt 0 ]
	[ "$lines" -le $((10 * (1 + (after - before) / 5 + 1))) ]
	ip netns del dl-1
}

check modprobe_prefers_ours t_modprobe_prefers_ours
check autoload_by_ip_link t_autoload_by_ip_link
check device_shape t_device_shape
check autoload_by_genl t_autoload_by_genl
check many_devices_many_namespaces t_many_devices_many_namespaces
check move_between_namespaces t_move_between_namespaces
check delete_namespace_with_devices t_delete_namespace_with_devices
check crossed_namespaces t_crossed_namespaces
check rmmod_with_devices t_rmmod_with_devices
# 8 cycles (20 until 2026-12-04: 6 s each in the debug guest, and a leak or
# a reference left behind shows in the first).
check load_unload t_load_unload 8
check rx_errors_as_c t_rx_errors_as_c
check debug_lines_ratelimited t_debug_lines_ratelimited
check c_driver_loads_by_path t_c_driver_loads_by_path
# Short forms of tests/vm/race.sh (`make race`: 300 s of each race, 12
# rounds of each forced window). Halved on 2026-12-04 for make check's
# length (issue 12): 15 s of each race, 2 rounds of each forced window
# (a round that forces its window tests it; the first round of each
# failed against the unfixed modules).
check race_config_delete_move t_race_config_delete_move 15
check peer_churn_traffic t_peer_churn_traffic 15 1000
check new_peer_window t_new_peer_window 2
check key_change_window t_key_change_window 2
check identity_readers t_identity_readers
# t_delete_many_peers (10,000 peers, hung_task_timeout_secs 10) is only in
# `make race`: under a loaded emulator RTNL is still held for more than 10 s.
# Threaded NAPI under load, short form: threaded on with some decryptions
# held (the head-still-being-decrypted case forced), 15 s (its own PASS/FAIL
# lines; `make napi` runs off, on, switched and held, longer).
bash "$(dirname "$0")/../napi.sh" 15 held
failures=$((failures + $?))
finish
