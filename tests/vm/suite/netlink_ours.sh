#!/usr/bin/env bash
# Configuration over netlink (issue 4), against our module on the debug
# kernel: the raw-netlink table of bad inputs, 6.16's WGALLOWEDIP_F_REMOVE_ME
# and UPDATE_ONLY, NLM_F_DUMP_INTR, permissions, wg-quick, dumps spanning
# many messages, and a short run of the netlink fuzzer (tests/netlink/fuzz.sh,
# last: it unloads the module), then the soak (tests/vm/soak.sh, 30 s). The
# differential test against the C driver is netlink_differential.sh.
# vm-timeout: 2400
# vm-usual: 376 (seconds in make check on this machine kind, 2026-12-04: for the progress lines)
. "$(dirname "$0")/../lib.sh"
here=$(cd "$(dirname "$0")/../../netlink" && pwd)
# Records how long each test took (the check runs in a subshell: on its exit).
timed() {
	trap "echo \"$1 \$((SECONDS - $SECONDS)) s\" >>\"\$RESULTS/durations.txt\"" EXIT
	"$@"
}
# A configured device in namespace nl, for the raw-netlink tests.
setup_nl() {
	ip netns del nl 2>/dev/null || true
	ip netns add nl
	ip -n nl link add wgt type wireguard
	local k; k=$(printf 'x%.0s' $(seq 32) | base64)
	printf '%s\n' "$k" >/tmp/nl.key
	ip netns exec nl wg set wgt private-key /tmp/nl.key listen-port 5555 fwmark 3 \
		peer "$(printf 'p%.0s' $(seq 32) | base64)" endpoint 192.0.2.3:33 allowed-ips 10.3.0.0/16,fd03::/48 persistent-keepalive 9 \
		peer "$(printf 'q%.0s' $(seq 32) | base64)" allowed-ips 10.4.0.0/16
}

t_bad_inputs() {
	setup_nl
	local status=0
	ip netns exec nl python3 "$here/wgnl.py" bad wgt >"$RESULTS/bad-inputs.txt" || status=$?
	cat "$RESULTS/bad-inputs.txt"
	ip netns del nl
	return $status
}

t_allowedip_remove_me_and_update_only() {
	# Also peers removed and (re-)created within one message, applied in
	# order as C does (a new key created, removed and created again).
	setup_nl
	ip netns exec nl python3 "$here/wgnl.py" remove-ip wgt
	ip netns del nl
}

t_dump_intr() {
	setup_nl
	ip netns exec nl python3 "$here/wgnl.py" dumpintr wgt
	ip netns del nl
}

# Setting device $2's (namespace $1) listen port to 2222, what it has, is
# refused.
refused_now() { ! ip netns exec "$1" wg set "$2" listen-port 2222 2>/dev/null || false; }

t_permissions() {
	# Both commands are GENL_UNS_ADMIN_PERM: without CAP_NET_ADMIN, EPERM.
	setup_nl
	local err
	err=$(ip netns exec nl capsh --drop=cap_net_admin -- -c 'wg show wgt' 2>&1) && return 1
	echo "$err"; grep -q "Operation not permitted" <<<"$err"
	err=$(ip netns exec nl capsh --drop=cap_net_admin -- -c 'wg set wgt peer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= remove' 2>&1) && return 1
	echo "$err"; grep -q "Operation not permitted" <<<"$err"
	ip netns del nl
	# Listen port and fwmark need CAP_NET_ADMIN in the namespace the device
	# was created in; once that namespace is gone nobody may change them (as
	# C), while everything else stays configurable. (The test kernels have no
	# user namespaces, so the unprivileged-owner case is not reachable here.)
	ip netns add pa; ip netns add pb
	ip -n pa link add wgp type wireguard
	ip netns exec pa wg set wgp listen-port 1111 fwmark 5
	ip -n pa link set wgp netns pb
	ip netns exec pb wg set wgp listen-port 2222
	ip netns del pa
	# Its teardown runs in the background: until the port it has (so
	# that an early success changes nothing) may no longer be set.
	wait_until 60 refused_now pb wgp ||
		{ echo "listen-port still settable 60 s after its creating namespace was deleted"; return 1; }
	err=$(ip netns exec pb wg set wgp listen-port 3333 2>&1) && return 1
	echo "$err"; grep -q "Operation not permitted" <<<"$err"
	err=$(ip netns exec pb wg set wgp fwmark 6 2>&1) && return 1
	grep -q "Operation not permitted" <<<"$err"
	ip netns exec pb wg set wgp peer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= allowed-ips 10.0.0.0/8
	[ "$(ip netns exec pb wg show wgp listen-port)" = 2222 ]
	[ "$(ip netns exec pb wg show wgp fwmark)" = 0x5 ]
	ip netns exec pb wg show wgp allowed-ips | grep -q 10.0.0.0/8
	ip netns del pb
}

t_dump_progress() {
	# A dump whose peers' allowed IPs span many messages (the first peer's
	# too, after the device's attributes) ends and returns each once.
	setup_nl
	ip netns exec nl python3 "$here/wgnl.py" dumpcheck wgt
	ip netns del nl
}

t_fuzz() {
	# The generic-netlink fuzzer, short (`make fuzz-netlink` runs 600 s):
	# the tunnel still works after it, nothing half-applied, rmmod clean.
	# About 30 s of fuzzing (60 until 2026-12-04, for make check's length);
	# with the set-up, the fuzzers' start and the teardown about 70 s here.
	WG_IMPL=rs bash "$here/fuzz.sh" 30
}

t_wg_quick() {
	ip netns add q
	ip -n q link set lo up
	mkdir -p /tmp/wgq
	local k1 k2 k3 p2 p3 psk
	k1=$(wg genkey); k2=$(wg genkey); k3=$(wg genkey); psk=$(wg genpsk)
	p2=$(wg pubkey <<<"$k2"); p3=$(wg pubkey <<<"$k3")
	cat >/tmp/wgq/wgq0.conf <<-CONF
	[Interface]
	Address = 10.20.0.1/24, fd20::1/64
	ListenPort = 51888
	PrivateKey = $k1
	MTU = 1380

	[Peer]
	PublicKey = $p2
	PresharedKey = $psk
	Endpoint = 192.0.2.20:51820
	PersistentKeepalive = 21
	AllowedIPs = 10.30.0.0/24, fd30::/64

	[Peer]
	PublicKey = $p3
	Endpoint = [2001:db8::30]:51821
	AllowedIPs = 10.31.0.0/24, fd31::/64
	CONF
	chmod 600 /tmp/wgq/wgq0.conf
	ip netns exec q wg-quick up /tmp/wgq/wgq0.conf
	loaded_is_ours
	local s; s=$(ip netns exec q wg show wgq0); echo "$s"
	grep -q "listening port: 51888" <<<"$s"
	grep -q "public key: $(wg pubkey <<<"$k1")" <<<"$s"
	grep -q "endpoint: 192.0.2.20:51820" <<<"$s"
	grep -q "endpoint: \[2001:db8::30\]:51821" <<<"$s"
	grep -q "persistent keepalive: every 21 seconds" <<<"$s"
	grep -q "preshared key: (hidden)" <<<"$s"
	grep -q "allowed ips: 10.30.0.0/24, fd30::/64" <<<"$s"
	grep -q "allowed ips: 10.31.0.0/24, fd31::/64" <<<"$s"
	[ "$(ip netns exec q wg show wgq0 preshared-keys | grep "$p2" | cut -f2)" = "$psk" ]
	local l; l=$(ip -n q -d link show wgq0); echo "$l"
	grep -q "mtu 1380 " <<<"$l"
	grep -q "UP" <<<"$l"
	ip -n q addr show wgq0 | grep -q "inet 10.20.0.1/24"
	ip -n q addr show wgq0 | grep -q "inet6 fd20::1/64"
	ip -n q route show dev wgq0 | tee /dev/stderr | grep -q "^10.30.0.0/24"
	ip -n q route show dev wgq0 | grep -q "^10.31.0.0/24"
	ip -n q -6 route show dev wgq0 | tee /dev/stderr | grep -q "^fd30::/64"
	ip -n q -6 route show dev wgq0 | grep -q "^fd31::/64"
	# The UDP sockets are bound on the listen port in the namespace.
	ip netns exec q ss -uln | tee /dev/stderr | grep -q ":51888 "
	# What wg-quick saves is what it was given.
	diff <(ip netns exec q wg showconf wgq0 | grep -v '^ListenPort\|^$' | sort) \
		<(ip netns exec q wg-quick strip /tmp/wgq/wgq0.conf | grep -v '^ListenPort\|^$' | sort)
	ip netns exec q wg-quick down /tmp/wgq/wgq0.conf
	refute ip -n q link show wgq0
	! ip netns exec q ss -uln | grep -q ":51888 " || { echo "port 51888 still bound"; return 1; }
	ip netns del q
}

check bad_inputs timed t_bad_inputs
check allowedip_remove_me_and_update_only timed t_allowedip_remove_me_and_update_only
check dump_intr timed t_dump_intr
check permissions timed t_permissions
check wg_quick timed t_wg_quick
check dump_progress timed t_dump_progress
check fuzz timed t_fuzz
# The soak (tests/vm/soak.sh: iperf3 both ways while everything is
# reconfigured around it, then unload and a kmemleak scan), 30 s, in this
# boot (a debug guest's boot and final scans cost about 100 s of a VM; it
# was its own suite, 60 s, until 2026-12-04). Its checks are soak_*;
# `make soak` runs it alone, 600 s.
bash "$(dirname "$0")/../soak.sh" 30
failures=$((failures + $?))
finish
