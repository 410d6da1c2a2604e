#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The differential sequence: valid wg(8) commands whose output must be the
# same on our module and on the in-tree C driver. Prints every command, its
# output and its exit status on stdout. Run as root in the guest, with the
# module to test already loaded:  sequence.sh [SCALE]
#   SCALE: "small" (default, for make check) or "full" (130,560 allowed IPs
#   on one peer, 10,000 peers x 4 allowed IPs).
# Steps whose description contains "(random)" print a random port: the
# comparison replaces numbers in their output (tests/netlink/normalise.sh).
# Timings and memory figures go to $WG_SEQ_TIMES (not compared).
set -u
scale=${1:-small}
times=${WG_SEQ_TIMES:-/dev/null}
ns=wgseq
W() { ip netns exec $ns wg "$@"; }
step=0
run() { # DESCRIPTION CMD...
	step=$((step + 1))
	local d=$1; shift
	echo "### $step: $d"
	echo "\$ $*"
	"$@" 2>&1
	echo "[exit $?]"
}
# A deterministic base64 key from a seed (wg's private keys are any 32 bytes).
key() { printf '%s' "$1" | sha256sum | cut -c1-64 | xxd -r -p | base64; }
pub() { key "$1" | wg pubkey; }
tmp=/tmp/wgseq; rm -rf $tmp; mkdir -p $tmp
f() { printf '%s\n' "$2" >"$tmp/$1"; echo "$tmp/$1"; }

ip netns del $ns 2>/dev/null
ip netns add $ns
ip -n $ns link set lo up
ip -n $ns link add wg0 type wireguard

# Keys. kU has every bit set: clamping must show in the stored key.
kA=$(key A); kB=$(key B); kC=$(key C)
kU=$(printf '\377%.0s' $(seq 32) | base64)
pA=$(pub A); pB=$(pub B); pC=$(pub C); pD=$(pub D); pE=$(pub E)
psk=$(key psk)
# Low-order points of Curve25519 as peer keys: accepted, as in C.
zero=$(head -c 32 /dev/zero | base64)
lo1=$(printf '\001' | cat - <(head -c 31 /dev/zero) | base64)
lo2=$(printf '\340\353\172\174\073\101\270\256\026\126\343\372\361\237\304\152\332\011\215\353\234\062\261\375\206\142\005\026\137\111\270\000' | base64)

run "empty device" W show wg0
run "empty dump" W show all dump
run "private key, port, fwmark" W set wg0 private-key "$(f kA "$kA")" listen-port 51820 fwmark 0x1234
run "show" W show wg0
run "dump" W show all dump
run "clamped private key" W set wg0 private-key "$(f kU "$kU")"
run "private key shown clamped" W show wg0 private-key
run "public key of the clamped key" W show wg0 public-key
run "back to A" W set wg0 private-key "$(f kA "$kA")"
run "peer B: psk, v4 endpoint, keepalive, /24 and /64" W set wg0 peer "$pB" preshared-key "$(f psk "$psk")" endpoint 192.0.2.1:51821 persistent-keepalive 25 allowed-ips 10.0.0.0/24,fd00::/64
run "peer C: v6 endpoint, overlapping prefixes" W set wg0 peer "$pC" endpoint '[2001:db8::1]:51822' allowed-ips 10.0.0.0/24,10.0.0.128/25,0.0.0.0/0,::/0
run "peer with our own public key is ignored" W set wg0 peer "$pA" allowed-ips 10.9.9.0/24
run "dump" W show all dump
run "allowed ips" W show wg0 allowed-ips
run "host bits masked" W set wg0 peer "$pB" allowed-ips 10.1.2.3/8,fd00:1:2:3:4::1/48
run "prefix moves back to B" W set wg0 peer "$pB" allowed-ips 10.1.0.0/8,fd00:1:2::/48,10.0.0.0/24
run "allowed ips" W show wg0 allowed-ips
run "endpoints" W show wg0 endpoints
run "keepalive off" W set wg0 peer "$pB" persistent-keepalive off
run "psk removed" W set wg0 peer "$pB" preshared-key /dev/null
run "preshared keys" W show wg0 preshared-keys
run "replace allowed ips with nothing" W set wg0 peer "$pC" allowed-ips ""
run "low-order peer keys" W set wg0 peer "$zero" allowed-ips 10.5.0.0/16 peer "$lo1" peer "$lo2" endpoint 192.0.2.9:9
run "dump" W show all dump
run "new private key equal to a peer's: that peer goes" W set wg0 private-key "$(f kB "$kB")"
run "dump" W show all dump
run "peer remove" W set wg0 peer "$lo1" remove
run "remove an unknown peer" W set wg0 peer "$pE" remove
run "fwmark off, port 0 while down" W set wg0 fwmark 0 listen-port 0
run "dump" W show all dump
run "up with port 0: random port" ip -n $ns link set wg0 up
run "listen port (random)" W show wg0 listen-port
run "explicit port while up" W set wg0 listen-port 51999
run "listen port" W show wg0 listen-port
run "down" ip -n $ns link set wg0 down
run "listen port after down" W show wg0 listen-port
run "zero private key: no identity" W set wg0 private-key "$(f z "$zero")"
run "dump" W show all dump
run "showconf" W showconf wg0

conf1=$(f c1.conf "[Interface]
PrivateKey = $kC
ListenPort = 41414
FwMark = 0x99

[Peer]
PublicKey = $pA
PresharedKey = $psk
AllowedIPs = 10.10.0.0/24, fd10::/64
Endpoint = 192.0.2.10:1000
PersistentKeepalive = 15

[Peer]
PublicKey = $pB
AllowedIPs = 10.10.1.0/24
Endpoint = [2001:db8::10]:1001")
run "setconf" W setconf wg0 "$conf1"
run "showconf" W showconf wg0
conf2=$(f c2.conf "[Peer]
PublicKey = $pD
AllowedIPs = 10.10.2.0/24, 10.10.0.0/24

[Peer]
PublicKey = $pB
AllowedIPs = 10.10.3.0/24
PersistentKeepalive = 5")
run "addconf (prefix moves, peer updated)" W addconf wg0 "$conf2"
run "showconf" W showconf wg0
conf3=$(f c3.conf "[Interface]
PrivateKey = $kC
ListenPort = 41415

[Peer]
PublicKey = $pB
AllowedIPs = 10.10.3.0/24, fd10:3::/64

[Peer]
PublicKey = $pE
AllowedIPs = 10.10.4.0/24")
run "syncconf" W syncconf wg0 "$conf3"
run "showconf" W showconf wg0
run "dump" W show all dump
run "setconf to the same file again" W setconf wg0 "$conf1"
run "dump" W show all dump

# ---- large configurations (through files: an argument that long exceeds
# MAX_ARG_STRLEN) ----
if [ "$scale" = full ]; then n_ips=130560 n_peers=10000; else n_ips=${WG_SEQ_SMALL_IPS:-8160} n_peers=${WG_SEQ_SMALL_PEERS:-500}; fi
python3 - "$tmp/big1.conf" "$tmp/big2.conf" "$kA" "$pB" "$n_ips" "$n_peers" <<'PY'
import sys, hashlib, base64
big1, big2, priv, peer, n_ips, n_peers = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
ips = []
for i in range(n_ips):
    # Half IPv4 /32 and /24 host routes, half IPv6 /128s and /64s, interleaved.
    if i % 2 == 0:
        j = i // 2
        ips.append("10.%d.%d.%d/32" % ((j >> 16) & 255, (j >> 8) & 255, j & 255) if j % 3 else "11.%d.%d.0/24" % ((j >> 8) & 255, j & 255))
    else:
        j = i // 2
        ips.append("fd00:%x:%x::%x/128" % (j >> 16, j & 0xffff, j) if j % 3 else "fd01:%x:%x::/64" % (j >> 16, j & 0xffff))
with open(big1, "w") as f:
    f.write("[Interface]\nPrivateKey = %s\n\n[Peer]\nPublicKey = %s\nAllowedIPs = %s\n" % (priv, peer, ", ".join(ips)))
with open(big2, "w") as f:
    f.write("[Interface]\nPrivateKey = %s\n" % priv)
    for i in range(n_peers):
        k = base64.b64encode(hashlib.sha256(b"peer%d" % i).digest()).decode()
        # Four distinct prefixes per peer, none shared with another peer.
        f.write("\n[Peer]\nPublicKey = %s\nAllowedIPs = 172.%d.%d.0/24, 172.%d.%d.1/32, fd20:%x::/64, fd21:%x::1/128\nEndpoint = 192.0.2.%d:%d\n"
                % (k, 16 + (i >> 8), i & 255, 16 + (i >> 8), i & 255, i, i, i % 250 + 1, 1000 + i))
PY
big() { # NAME CONF: setconf, then digests of what wg reads back
	local t0 t1
	t0=$(date +%s.%N)
	W setconf wg0 "$2"; echo "[setconf exit $?]"
	t1=$(date +%s.%N)
	echo "$1 setconf seconds: $(echo "$t1 - $t0" | bc)" >>"$times"
	echo "allowed ips: $(W show wg0 allowed-ips | wc -w) words, peers: $(W show wg0 peers | wc -l)"
	echo "showconf sha256: $(W showconf wg0 | sha256sum | cut -c1-64)"
	echo "dump sha256: $(W show all dump | sha256sum | cut -c1-64)"
	echo "$1 readback seconds: $(echo "$(date +%s.%N) - $t1" | bc)" >>"$times"
}
run "large: one peer with $n_ips allowed IPs" big big1 "$tmp/big1.conf"
run "large: $n_peers peers x 4 allowed IPs" big big2 "$tmp/big2.conf"
big2add=$(f big2add.conf "[Peer]
PublicKey = $pB
AllowedIPs = 172.16.0.0/24, 10.77.0.0/16")
run "addconf onto the large set: a prefix moves" W addconf wg0 "$big2add"
run "large: digests" bash -c "ip netns exec $ns wg showconf wg0 | sha256sum; ip netns exec $ns wg show all dump | sha256sum"
run "replace everything with a small set" W setconf wg0 "$conf3"
run "showconf" W showconf wg0


# ---- memory: a fresh device, MemFree before and after (not compared; only
# at full size, where the figures are above the noise) ----
if [ "$scale" != full ]; then ip netns del $ns; rm -rf "$tmp"; exit 0; fi
memfree() { sync; echo 3 >/proc/sys/vm/drop_caches; sleep 1; awk '/^MemFree:/ {print $2}' /proc/meminfo; }
python3 - "$tmp/mem-peers.conf" "$tmp/mem-ips.conf" "$n_peers" "$n_ips" <<'PY'
import sys, hashlib, base64
a, b, n_peers, n_ips = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with open(a, "w") as f:
    for i in range(n_peers):
        f.write("[Peer]\nPublicKey = %s\n\n" % base64.b64encode(hashlib.sha256(b"mem%d" % i).digest()).decode())
with open(b, "w") as f:
    f.write("[Peer]\nPublicKey = %s\nAllowedIPs = %s\n" % (base64.b64encode(hashlib.sha256(b"memip").digest()).decode(),
            ", ".join("10.%d.%d.%d/32" % ((i >> 16) & 255, (i >> 8) & 255, i & 255) for i in range(n_ips // 2))
            + ", " + ", ".join("fd00::%x:%x/128" % (i >> 16, i & 0xffff) for i in range(n_ips // 2))))
PY
ip -n $ns link add wgm type wireguard
m0=$(memfree)
W setconf wgm "$tmp/mem-peers.conf"
m1=$(memfree)
echo "memory: $n_peers peers without allowed IPs: $((m0 - m1)) KiB, $(( (m0 - m1) * 1024 / n_peers )) bytes per peer" >>"$times"
W setconf wgm "$tmp/mem-ips.conf"
m2=$(memfree)
echo "memory: one peer with $n_ips allowed IPs (half /32, half /128; from the fresh device): $((m0 - m2)) KiB, $(( (m0 - m2) * 1024 / n_ips )) bytes per allowed IP" >>"$times"
ip -n $ns link del wgm

ip netns del $ns
rm -rf "$tmp"
