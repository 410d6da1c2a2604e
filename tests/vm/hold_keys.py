# Run in the guest (python3 -S, in the background) by tests/vm/guest.sh at
# boot, and by hold_netstamp_key in tests/hostile/impl.sh where that did not
# run: switches, once and while the guest is otherwise idle, the kernel's
# static keys that the tests would otherwise switch under traffic, and holds
# those that can switch back on for the whole run; then writes READY_FILE and
# sleeps until the guest powers off.
#
# Why: QEMU's TCG, which these VMs run under, can execute a stale int3 left by
# a live patch of kernel text (text_poke_bp, a static key switching) on the
# other vCPU, and the kernel dies with "Oops: int3" at the patched site. Seen
# here at these keys (the same for the C driver, whose paths are the same):
# - netstamp (netif_rx_internal), switched when a ping starts or exits while
#   a tunnel carries traffic: held by a socket with SO_TIMESTAMP;
# - the UDP encapsulation keys (udp4_gro_receive), switched when a module
#   reload closes the last tunnel socket and opens a new one under traffic:
#   held by an IPv6 socket with UDP_GRO, which turns on udp_encap_needed_key
#   and its IPv6 twin (reported for the MPTCP selftests under TCG too:
#   github.com/multipath-tcp/mptcp_net-next/issues/471, closed as an emulator
#   problem);
# - the flow hash's random secret (__skb_get_hash_net, 2026-12-05): a
#   once-only key (net_get_random_once in __flow_hash_secret_init), switched
#   off after the first flow hash of the boot. Both drivers hash each packet
#   they encrypt (skb_get_hash, in the encryption workers of both vCPUs at
#   once), so the first tunnel traffic patched it under them. A packet
#   socket in a hash fanout group on lo computes one flow hash here, with
#   nothing else running; a once key never switches back. So are TCP's
#   once keys (below), by one connection over each loopback, and (by
#   tests/vm/guest.sh, with iptables) those of the conntrack and NAT hashes.
#
# One key no userspace socket can hold, memalloc_socks_key (switched by the
# open and close of every WireGuard socket), is held by a module that
# tests/vm/guest.sh loads first (tests/kmod/wg_hold_keys.c).
import _socket as s
import sys
import time

ready = sys.argv[1]

# netstamp: SO_TIMESTAMP (29).
k = s.socket(s.AF_INET, s.SOCK_DGRAM)
k.setsockopt(s.SOL_SOCKET, 29, 1)
# The UDP encapsulation keys: UDP_GRO (104) on an IPv6 socket (both keys),
# IPv4 where the kernel has no IPv6.
try:
    e = s.socket(s.AF_INET6, s.SOCK_DGRAM)
except OSError:
    e = s.socket(s.AF_INET, s.SOCK_DGRAM)
e.setsockopt(17, 104, 1)

# The flow hash's once key: a packet socket on lo (ETH_P_ALL) in a fanout
# group of type PACKET_FANOUT_HASH (0; PACKET_FANOUT is 18 at SOL_PACKET,
# 263), which hashes every packet it takes (fanout_demux_hash); one datagram
# to 127.0.0.1 is its first, and the key switches in a work item after it.
note = ""
try:
    p = s.socket(s.AF_PACKET, s.SOCK_RAW, s.htons(3))
    p.bind(("lo", 0))
    p.setsockopt(263, 18, 0x5747)
    u = s.socket(s.AF_INET, s.SOCK_DGRAM)
    u.sendto(b"hash", ("127.0.0.1", 9))
    p.settimeout(5)
    p.recv(64)
    p.close()
    u.close()
except OSError as err:
    note = "flow hash not taken: %s\n" % err

# The same for the once keys of TCP's hashes and sequence numbers
# (inet_ehashfn, inet6_ehashfn, secure_tcp_seq and its IPv6 twin, the
# timestamp offsets): the first connection of the boot switches them, and
# the tests' first (iperf3, both vCPUs busy) would otherwise. One
# connection over each family's loopback now.
for fam, addr in ((s.AF_INET, "127.0.0.1"), (s.AF_INET6, "::1")):
    try:
        lsn = s.socket(fam, s.SOCK_STREAM)
        lsn.bind((addr, 0))
        lsn.listen(1)
        con = s.socket(fam, s.SOCK_STREAM)
        con.settimeout(5)
        con.connect(lsn.getsockname()[:2])
        fd, _ = lsn._accept()
        s.close(fd)
        con.close()
        lsn.close()
    except OSError as err:
        note += "TCP over %s not taken: %s\n" % (addr, err)

with open(ready, "w") as f:
    f.write(note)
time.sleep(10**7)
