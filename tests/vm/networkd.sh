# Sourced by tests/vm/install.sh (the release kernel).
#
# t_networkd MODULE: systemd-networkd (Debian 12's, 252) creates and
# configures a WireGuard device from a .netdev (Kind=wireguard: private key,
# listen port, a peer with preshared key, allowed IPs, endpoint, persistent
# keepalive) and a .network (its address), with the module at MODULE (ours
# or the in-tree C driver) loaded by path; `wg show` reads the configuration
# back and a ping crosses the tunnel to a peer configured by wg(8) in a
# namespace.
#
# The guest's init is virtme-ng's, not systemd (the test kernels lack
# cgroups, which systemd as PID 1 needs), and there is no udev: networkd
# runs alone, in container mode (a read-only /sys in its own mount
# namespace tells it that no udev will announce links, as in
# systemd-nspawn), which is how it runs in containers.
t_networkd() {
	local module=$1 k1 k2 psk dir pid i s
	load_by_path "$module"

	ip netns del nd 2>/dev/null || true
	ip netns add nd
	ip -n nd link set lo up
	ip link add vnd type veth peer name vnd netns nd
	ip addr add 192.0.2.1/24 dev vnd
	ip -n nd addr add 192.0.2.7/24 dev vnd
	ip link set vnd up
	ip -n nd link set vnd up

	k1=$(wg genkey) k2=$(wg genkey) psk=$(wg genpsk)
	ip -n nd link add wgp type wireguard
	ip netns exec nd wg set wgp listen-port 51872 private-key <(echo "$k2") \
		peer "$(wg pubkey <<<"$k1")" preshared-key <(echo "$psk") allowed-ips 10.71.0.1/32 endpoint 192.0.2.1:51871
	ip -n nd addr add 10.71.0.2/24 dev wgp
	ip -n nd link set wgp up

	dir=/run/systemd/network
	mkdir -p "$dir"
	cat >"$dir/30-wgn.netdev" <<-CONF
	[NetDev]
	Name=wgn
	Kind=wireguard

	[WireGuard]
	PrivateKey=$k1
	ListenPort=51871

	[WireGuardPeer]
	PublicKey=$(wg pubkey <<<"$k2")
	PresharedKey=$psk
	AllowedIPs=10.71.0.2/32, fd71::2/128
	Endpoint=192.0.2.7:51872
	PersistentKeepalive=25
	CONF
	cat >"$dir/30-wgn.network" <<-CONF
	[Match]
	Name=wgn

	[Network]
	Address=10.71.0.1/24
	CONF
	chgrp systemd-network "$dir/30-wgn.netdev"
	chmod 640 "$dir/30-wgn.netdev"

	unshare -m --propagation private sh -c \
		'mount -o remount,bind,ro /sys && exec /lib/systemd/systemd-networkd' >/tmp/networkd.log 2>&1 &
	pid=$!
	for ((i = 0; i < 60; i++)); do
		ip -4 addr show dev wgn 2>/dev/null | grep -q 'inet 10.71.0.1/24' &&
			ip link show dev wgn | grep -q ',UP' && break
		sleep 0.5
	done
	ip -d link show dev wgn || { echo "FAIL: networkd made no wgn"; cat /tmp/networkd.log; return 1; }
	ip addr show dev wgn
	ip -4 addr show dev wgn | grep -q 'inet 10.71.0.1/24' || { echo "FAIL: networkd did not configure wgn"; cat /tmp/networkd.log; return 1; }
	[ "$(cat /sys/module/wireguard/version)" = "$(modinfo -F version "$module")" ] ||
		{ echo "FAIL: the device is not served by $module"; return 1; }

	s=$(wg show wgn); echo "$s"
	grep -q "public key: $(wg pubkey <<<"$k1")" <<<"$s" || { echo "FAIL: public key"; return 1; }
	grep -q "listening port: 51871" <<<"$s" || { echo "FAIL: listen port"; return 1; }
	grep -q "peer: $(wg pubkey <<<"$k2")" <<<"$s" || { echo "FAIL: peer"; return 1; }
	grep -q "preshared key: (hidden)" <<<"$s" || { echo "FAIL: preshared key"; return 1; }
	grep -q "endpoint: 192.0.2.7:51872" <<<"$s" || { echo "FAIL: endpoint"; return 1; }
	# (networkd sends them in its own order; wg shows the device's)
	[ "$(wg show wgn allowed-ips | cut -f2 | tr ' ' '\n' | sort | xargs)" = "10.71.0.2/32 fd71::2/128" ] ||
		{ echo "FAIL: allowed ips"; return 1; }
	grep -q "persistent keepalive: every 25 seconds" <<<"$s" || { echo "FAIL: keepalive"; return 1; }
	[ "$(wg show wgn preshared-keys | cut -f2)" = "$psk" ] || { echo "FAIL: preshared key differs"; return 1; }

	ping -c 3 -i 0.3 -W 5 10.71.0.2
	wg show wgn latest-handshakes | awk '{exit !($2 > 0)}' || { echo "FAIL: no handshake"; return 1; }

	kill "$pid"
	wait "$pid" 2>/dev/null || true
	rm -f "$dir/30-wgn.netdev" "$dir/30-wgn.network"
	ip link del wgn
	ip link del vnd
	ip netns del nd
	unload
}
