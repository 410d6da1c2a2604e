# Sourced by tests/vm/install.sh (the release kernel: it has what wg-quick's
# nftables rules need, CONFIG_NFT_FIB_* and CONFIG_NF_CONNTRACK_MARK).
#
# t_fulltunnel MODULE: what users do most, `wg-quick up` with
# AllowedIPs = 0.0.0.0/0, ::/0, end to end, with the module at MODULE
# (ours or the in-tree C driver) loaded by path:
# - namespace "cl" (the client, where wg-quick runs) and "sv" (its server)
#   joined by a veth (192.168.77.0/24, fd77::/64); sv has the peer's wg
#   device and, beyond it, addresses of "the internet" on a dummy device
#   (203.0.113.1, 2001:db8:beef::1);
# - after `wg-quick up` the client reaches both beyond addresses (v4 and v6)
#   through the tunnel: the server's wg device counts them, the client's
#   route to them is wg0 while the handshake's own packets (fwmark 51820)
#   still leave by the veth, and wg-quick's policy rules
#   (suppress_prefixlength) and nftables table are in place;
# - `wg-quick down` restores the rules, routes and nftables ruleset exactly.
t_fulltunnel() {
	local module=$1 kc ks before after cs v4 v6
	load_by_path "$module"
	ip netns del cl 2>/dev/null || true
	ip netns del sv 2>/dev/null || true
	ip netns add cl
	ip netns add sv
	ip -n cl link set lo up
	ip -n sv link set lo up
	ip -n cl link add veth0 type veth peer name veth0 netns sv
	ip -n cl addr add 192.168.77.1/24 dev veth0
	ip -n cl addr add fd77::1/64 dev veth0 nodad
	ip -n sv addr add 192.168.77.2/24 dev veth0
	ip -n sv addr add fd77::2/64 dev veth0 nodad
	# No link-local addresses: their routes appear when DAD ends, at a time
	# of their own, and would make the before/after comparison race.
	ip -n cl link set veth0 addrgenmode none
	ip -n sv link set veth0 addrgenmode none
	ip -n cl link set veth0 up
	ip -n sv link set veth0 up
	ip -n sv link add beyond type dummy
	ip -n sv addr add 203.0.113.1/32 dev beyond
	ip -n sv addr add 2001:db8:beef::1/128 dev beyond nodad
	ip -n sv link set beyond up

	kc=$(wg genkey) ks=$(wg genkey)
	ip -n sv link add wgs type wireguard
	ip netns exec sv wg set wgs listen-port 51820 private-key <(echo "$ks") \
		peer "$(wg pubkey <<<"$kc")" allowed-ips 10.99.0.2/32,fd99::2/128
	ip -n sv addr add 10.99.0.1/24 dev wgs
	ip -n sv addr add fd99::1/64 dev wgs nodad
	ip -n sv link set wgs up

	mkdir -p /tmp/wgfull
	cat >/tmp/wgfull/wg0.conf <<-CONF
	[Interface]
	Address = 10.99.0.2/24, fd99::2/64
	PrivateKey = $kc

	[Peer]
	PublicKey = $(wg pubkey <<<"$ks")
	Endpoint = 192.168.77.2:51820
	AllowedIPs = 0.0.0.0/0, ::/0
	CONF
	chmod 600 /tmp/wgfull/wg0.conf

	state() { # what wg-quick up changes and down must restore
		ip -n cl -4 rule show
		ip -n cl -6 rule show
		ip -n cl -4 route show table all
		ip -n cl -6 route show table all
		ip netns exec cl nft list ruleset
	}
	before=$(state)

	ip netns exec cl wg-quick up /tmp/wgfull/wg0.conf
	[ "$(cat /sys/module/wireguard/version)" = "$(modinfo -F version "$module")" ] ||
		{ echo "FAIL: the device is not served by $module"; return 1; }
	ip -n cl -4 rule show
	ip -n cl -4 rule show | grep -q 'not from all fwmark 0xca6c lookup 51820' ||
		{ echo "FAIL: no fwmark rule"; return 1; }
	ip -n cl -4 rule show | grep -q 'lookup main suppress_prefixlength 0' ||
		{ echo "FAIL: no suppress_prefixlength rule"; return 1; }
	ip -n cl -6 rule show | grep -q 'not from all fwmark 0xca6c lookup 51820' ||
		{ echo "FAIL: no IPv6 fwmark rule"; return 1; }
	ip netns exec cl nft list ruleset | grep -q 'table ip wg-quick-wg0' ||
		{ echo "FAIL: wg-quick set no nftables table (did it fall back?)"; ip netns exec cl nft list ruleset; return 1; }

	# Routes: beyond addresses through the tunnel, the handshake's packets
	# (marked 51820 = 0xca6c by the device) by the veth.
	ip -n cl route get 203.0.113.1
	ip -n cl route get 203.0.113.1 | grep -q 'dev wg0' || { echo "FAIL: 203.0.113.1 not routed through wg0"; return 1; }
	ip -n cl -6 route get 2001:db8:beef::1 | grep -q 'dev wg0' || { echo "FAIL: 2001:db8:beef::1 not routed through wg0"; return 1; }
	ip -n cl route get 192.168.77.2 mark 51820 | grep -q 'dev veth0' || { echo "FAIL: marked packets not routed by the veth"; return 1; }
	[ "$(ip netns exec cl wg show wg0 fwmark)" = 0xca6c ] || { echo "FAIL: the device's fwmark is $(ip netns exec cl wg show wg0 fwmark)"; return 1; }

	v4=$(ip netns exec sv cat /sys/class/net/wgs/statistics/rx_packets)
	ip netns exec cl ping -c 3 -i 0.3 -W 5 203.0.113.1
	ip netns exec cl ping -6 -c 3 -i 0.3 -W 5 2001:db8:beef::1
	v6=$(ip netns exec sv cat /sys/class/net/wgs/statistics/rx_packets)
	echo "server's wg device received $((v6 - v4)) packets"
	[ $((v6 - v4)) -ge 6 ] || { echo "FAIL: the pings did not come through the tunnel"; return 1; }
	# The handshake came by the veth: the server learnt the client's veth
	# address as its endpoint.
	ip netns exec sv wg show wgs endpoints | grep -q '192.168.77.1:' ||
		{ echo "FAIL: the server's peer endpoint is $(ip netns exec sv wg show wgs endpoints)"; return 1; }
	cs=$(ip netns exec cl wg show wg0 transfer)
	echo "client transfer: $cs"

	ip netns exec cl wg-quick down /tmp/wgfull/wg0.conf
	after=$(state)
	if [ "$before" != "$after" ]; then
		echo "FAIL: wg-quick down did not restore the rules, routes and ruleset:"
		diff <(echo "$before") <(echo "$after") || true
		return 1
	fi
	! ip -n cl link show wg0 2>/dev/null || { echo "FAIL: wg0 still exists"; return 1; }

	ip netns del cl
	ip netns del sv
	rm -rf /tmp/wgfull
	unload
}
