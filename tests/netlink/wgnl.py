#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Raw generic-netlink client of the `wireguard` family (Python standard
library only), for tests that Debian's wg(8) cannot express.

  wgnl.py dump IFNAME            canonical dump (JSON), merged across messages
  wgnl.py bad IFNAME             the table of bad inputs: errno + extack of each,
                                 and a check that the dump did not change
  wgnl.py remove-ip IFNAME ...   WGALLOWEDIP_F_REMOVE_ME, UPDATE_ONLY and peers removed
                                 and re-created in one message (see cmd_remove_ip)
  wgnl.py dumpintr IFNAME        NLM_F_DUMP_INTR when the device changes mid-dump
  wgnl.py dumpidx IFNAME SECONDS dumps by ifindex, for SECONDS, while other
                                 processes move, delete and re-create IFNAME:
                                 every message must name the asked ifindex
  wgnl.py remove-many IFNAME FILE  removes the peers whose base64 public keys
                                 FILE lists (WGPEER_F_REMOVE_ME, 500 a message)
  wgnl.py dumpcheck IFNAME       a dump of peers whose allowed IPs span many
                                 messages ends and returns everything once
  wgnl.py endpoint-on-hold IFNAME PUBKEY ADDR PORT OUT
                                 once tests/kmod/wg_delay's hold begins, sets
                                 the peer's endpoint (see cmd_endpoint_on_hold)
  wgnl.py key-on-hold IFNAME KEYFILE OUT
                                 once the hold begins, sets the device's private
                                 key (base64 in KEYFILE), as endpoint-on-hold
  wgnl.py keys-and-stay IFNAME KEYFILE PEER PSKFILE
                                 sets the device's private key and PEER's
                                 preshared key (base64: in KEYFILE, on the
                                 command line, in PSKFILE), prints "set", then
                                 stays (in pause(2)) until a signal ends it: its
                                 kernel stack, where the request ran, lives on
                                 for tests/vm/suite/secrets.sh to search

Exit status 0 when every check passed.
"""
import errno
import json
import os
import socket
import struct
import sys

NETLINK_GENERIC = 16
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_DUMP = 1, 2, 4, 0x300
NLM_F_DUMP_INTR = 0x10
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_ACK_TLVS = 0x200
NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS = 1, 2
SOL_NETLINK, NETLINK_CAP_ACK, NETLINK_EXT_ACK = 270, 10, 11
GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 16, 3, 1, 2
NLA_F_NESTED = 0x8000

WG_CMD_GET_DEVICE, WG_CMD_SET_DEVICE = 0, 1
(D_IFINDEX, D_IFNAME, D_PRIVATE_KEY, D_PUBLIC_KEY, D_FLAGS, D_LISTEN_PORT, D_FWMARK, D_PEERS) = range(1, 9)
(P_PUBLIC_KEY, P_PRESHARED_KEY, P_FLAGS, P_ENDPOINT, P_KEEPALIVE, P_LAST_HANDSHAKE, P_RX, P_TX,
 P_ALLOWEDIPS, P_PROTOCOL_VERSION) = range(1, 11)
A_FAMILY, A_IPADDR, A_CIDR, A_FLAGS = 1, 2, 3, 4
F_REPLACE_PEERS = 1
PF_REMOVE_ME, PF_REPLACE_ALLOWEDIPS, PF_UPDATE_ONLY = 1, 2, 4
AF_REMOVE_ME = 1
AF_INET, AF_INET6 = 2, 10


def attr(t, payload):
    if isinstance(payload, list):
        payload = b"".join(payload)
        t |= NLA_F_NESTED
    hdr = struct.pack("=HH", 4 + len(payload), t)
    return hdr + payload + b"\0" * ((-len(payload)) % 4)


def raw_attr(t, payload, length=None):
    """An attribute with a chosen (possibly lying) length field."""
    ln = 4 + len(payload) if length is None else length
    return struct.pack("=HH", ln, t) + payload + b"\0" * ((-len(payload)) % 4)


u8 = lambda v: struct.pack("=B", v)
u16 = lambda v: struct.pack("=H", v)
u32 = lambda v: struct.pack("=I", v)
u64 = lambda v: struct.pack("=Q", v)


def sockaddr_in(ip, port):
    return struct.pack("=H", AF_INET) + struct.pack("!H", port) + socket.inet_aton(ip) + b"\0" * 8


def sockaddr_in6(ip, port, flowinfo=0, scope=0):
    return (struct.pack("=H", AF_INET6) + struct.pack("!H", port) + struct.pack("!I", flowinfo)
            + socket.inet_pton(socket.AF_INET6, ip) + struct.pack("=I", scope))


def parse_attrs(data):
    out = []
    while len(data) >= 4:
        ln, t = struct.unpack("=HH", data[:4])
        if ln < 4 or ln > len(data):
            break
        out.append((t & 0x3FFF, data[4:ln]))
        data = data[(ln + 3) & ~3:]
    return out


class Genl:
    def __init__(self, bufsize=1 << 20):
        """bufsize: the size of every recv(); the kernel sizes a dump's
        messages from the largest receive buffer seen (at least
        NLMSG_GOODSIZE, about 3.7 KiB, at most 32 KiB)."""
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.s.bind((0, 0))
        self.s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.s.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        self.bufsize = bufsize
        self.seq = 1
        self.family = self.resolve("wireguard")

    def send(self, ftype, cmd, payload, flags, version=1):
        self.seq += 1
        body = struct.pack("=BBH", cmd, version, 0) + payload
        msg = struct.pack("=IHHII", 16 + len(body), ftype, flags, self.seq, 0) + body
        self.s.send(msg)
        return self.seq

    def recv_msgs(self):
        data = self.s.recv(self.bufsize)
        msgs = []
        while len(data) >= 16:
            ln, t, fl, seq, pid = struct.unpack("=IHHII", data[:16])
            msgs.append((t, fl, data[16:ln]))
            data = data[(ln + 3) & ~3:]
        return msgs

    def resolve(self, name):
        self.send(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, attr(CTRL_ATTR_FAMILY_NAME, name.encode() + b"\0"),
                  NLM_F_REQUEST)
        for t, fl, body in self.recv_msgs():
            if t == NLMSG_ERROR:
                raise OSError(-struct.unpack("=i", body[:4])[0], "resolve")
            for at, val in parse_attrs(body[4:]):
                if at == CTRL_ATTR_FAMILY_ID:
                    return struct.unpack("=H", val[:2])[0]
        raise OSError(errno.ENOENT, "no family")

    @staticmethod
    def ack(body, fl):
        err = -struct.unpack("=i", body[:4])[0]
        msg = ""
        if fl & NLM_F_ACK_TLVS:
            # With NETLINK_CAP_ACK only the request's header is echoed.
            for at, val in parse_attrs(body[4 + 16:]):
                if at == NLMSGERR_ATTR_MSG:
                    msg = val.rstrip(b"\0").decode(errors="replace")
        return err, msg

    def set(self, attrs, cmd=WG_CMD_SET_DEVICE, version=1):
        """Sends a SET; returns (errno, extack message)."""
        self.send(self.family, cmd, b"".join(attrs), NLM_F_REQUEST | NLM_F_ACK, version)
        while True:
            for t, fl, body in self.recv_msgs():
                if t == NLMSG_ERROR:
                    return self.ack(body, fl)

    def dump_raw(self, attrs):
        """Runs a GET_DEVICE dump; returns (errno, extack, [messages' (flags, attrs)])."""
        self.send(self.family, WG_CMD_GET_DEVICE, b"".join(attrs), NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP)
        out = []
        while True:
            for t, fl, body in self.recv_msgs():
                if t == NLMSG_ERROR:
                    e, m = self.ack(body, fl)
                    return e, m, out
                if t == NLMSG_DONE:
                    return 0, "", out
                out.append((fl, parse_attrs(body[4:])))


def canonical(messages):
    """Merges a dump's messages as wg(8) does: peers by public key (a repeated
    key continues the previous peer), allowed IPs appended in order."""
    dev, peers = {}, []
    for _fl, attrs in messages:
        for t, v in attrs:
            if t == D_PEERS:
                for _pt, pv in parse_attrs(v):
                    p = {}
                    for k, x in parse_attrs(pv):
                        if k == P_ALLOWEDIPS:
                            ips = []
                            for _it, iv in parse_attrs(x):
                                a = dict(parse_attrs(iv))
                                fam = struct.unpack("=H", a[A_FAMILY])[0]
                                ips.append("%s/%d" % (socket.inet_ntop(socket.AF_INET if fam == AF_INET else socket.AF_INET6, a[A_IPADDR]), a[A_CIDR][0]))
                            p["allowedips"] = ips
                        else:
                            p[str(k)] = x.hex()
                    if peers and peers[-1]["1"] == p["1"] and len(p) <= 2:
                        peers[-1].setdefault("allowedips", []).extend(p.get("allowedips", []))
                    else:
                        peers.append(p)
            else:
                dev[str(t)] = v.hex()
    return {"device": dev, "peers": peers}


def ifname_attr(name):
    return attr(D_IFNAME, name.encode() + b"\0")


def dump(g, name):
    e, m, msgs = g.dump_raw([ifname_attr(name)])
    if e:
        raise OSError(e, "dump: %s" % m)
    return canonical(msgs)


K = lambda i: bytes([i]) * 32   # distinct test keys


def ip_v4(a, c, flags=None):
    l = [attr(A_FAMILY, u16(AF_INET)), attr(A_IPADDR, socket.inet_aton(a)), attr(A_CIDR, u8(c))]
    if flags is not None:
        l.append(attr(A_FLAGS, u32(flags)))
    return attr(0, l)


def ip_v6(a, c, flags=None):
    l = [attr(A_FAMILY, u16(AF_INET6)), attr(A_IPADDR, socket.inet_pton(socket.AF_INET6, a)), attr(A_CIDR, u8(c))]
    if flags is not None:
        l.append(attr(A_FLAGS, u32(flags)))
    return attr(0, l)


def peer(*parts):
    return attr(0, list(parts))


def peers(*ps):
    return attr(D_PEERS, list(ps))


def bad_table(name):
    """(name, attributes of the SET, expected errno)."""
    dev = ifname_attr(name)
    ok_peer = peer(attr(P_PUBLIC_KEY, K(0x51)), attr(P_ALLOWEDIPS, [ip_v4("10.1.0.0", 16)]))
    E = errno
    return [
        ("no ifindex nor ifname", [attr(D_FWMARK, u32(1))], E.EBADR),
        ("both ifindex and ifname", [attr(D_IFINDEX, u32(1)), dev], E.EBADR),
        ("no such ifname", [ifname_attr("nonexistent0")], E.ENODEV),
        ("no such ifindex", [attr(D_IFINDEX, u32(0x7fffff00))], E.ENODEV),
        ("ifindex of a non-wireguard device (lo)", [attr(D_IFINDEX, u32(1))], E.EOPNOTSUPP),
        ("ifname of a non-wireguard device (lo)", [ifname_attr("lo")], E.EOPNOTSUPP),
        ("ifname without NUL", [raw_attr(D_IFNAME, name.encode())], E.EINVAL),
        ("ifname too long", [attr(D_IFNAME, b"x" * 20 + b"\0")], E.EINVAL),
        ("ifindex 2 bytes", [attr(D_IFINDEX, u16(1))], E.EINVAL),
        ("unknown device attribute 9", [dev, attr(9, u32(0))], E.EINVAL),
        ("device attribute type 0", [dev, attr(0, u32(0))], E.EINVAL),
        ("private key 31 bytes", [dev, attr(D_PRIVATE_KEY, b"\1" * 31)], E.ERANGE),
        ("private key 33 bytes", [dev, attr(D_PRIVATE_KEY, b"\1" * 33)], E.ERANGE),
        ("public key set", [dev, attr(D_PUBLIC_KEY, K(7))], E.EINVAL),
        ("unknown device flag", [dev, attr(D_FLAGS, u32(2))], E.EINVAL),
        ("device flags 2 bytes", [dev, attr(D_FLAGS, u16(1))], E.EINVAL),
        ("listen port 4 bytes", [dev, attr(D_LISTEN_PORT, u32(1))], E.EINVAL),
        ("fwmark 2 bytes", [dev, attr(D_FWMARK, u16(1))], E.EINVAL),
        ("peers not nested (u32)", [dev, attr(D_PEERS, u32(0))], E.EINVAL),
        ("peers without NLA_F_NESTED", [dev, raw_attr(D_PEERS, attr(0, [attr(P_PUBLIC_KEY, K(9))]))], E.EINVAL),
        ("peer garbage after the last peer", [dev, attr(D_PEERS, [ok_peer, b"\x02\x00\x00\x00"])], E.EINVAL),
        ("peer without public key", [dev, peers(peer(attr(P_KEEPALIVE, u16(5))))], E.EINVAL),
        ("peer public key 31 bytes", [dev, peers(peer(attr(P_PUBLIC_KEY, b"\1" * 31)))], E.ERANGE),
        ("peer preshared key 16 bytes", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_PRESHARED_KEY, b"\1" * 16)))], E.ERANGE),
        ("unknown peer flag", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_FLAGS, u32(8))))], E.EINVAL),
        ("unknown peer attribute 11", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(11, u32(0))))], E.EINVAL),
        ("protocol version 2", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_PROTOCOL_VERSION, u32(2))))], E.EPFNOSUPPORT),
        ("rx bytes in a set", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_RX, u64(1))))], E.EINVAL),
        ("last handshake in a set", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_LAST_HANDSHAKE, b"\0" * 16)))], E.EINVAL),
        ("endpoint 8 bytes", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_ENDPOINT, b"\2\0" + b"\0" * 6)))], E.ERANGE),
        ("endpoint AF_INET, 28 bytes", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_ENDPOINT, sockaddr_in("192.0.2.1", 1) + b"\0" * 12)))], E.EINVAL),
        ("endpoint AF_INET6, 16 bytes", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_ENDPOINT, sockaddr_in6("2001:db8::1", 1)[:16])))], E.EINVAL),
        ("endpoint AF_UNIX", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_ENDPOINT, b"\1\0" + b"\0" * 14)))], E.EAFNOSUPPORT),
        ("keepalive 4 bytes", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_KEEPALIVE, u32(25))))], E.EINVAL),
        ("allowed IPs not nested", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_ALLOWEDIPS, u32(0))))], E.EINVAL),
        ("allowed IP without family", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_ALLOWEDIPS, [attr(0, [attr(A_IPADDR, b"\1\2\3\4"), attr(A_CIDR, u8(32))])])))], E.EINVAL),
        ("allowed IP without address", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_ALLOWEDIPS, [attr(0, [attr(A_FAMILY, u16(AF_INET)), attr(A_CIDR, u8(32))])])))], E.EINVAL),
        ("allowed IP without cidr", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_ALLOWEDIPS, [attr(0, [attr(A_FAMILY, u16(AF_INET)), attr(A_IPADDR, b"\1\2\3\4")])])))], E.EINVAL),
        ("allowed IPv4 /33", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_ALLOWEDIPS, [ip_v4("10.0.0.0", 33)])))], E.EINVAL),
        ("allowed IPv6 /129", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_ALLOWEDIPS, [ip_v6("fd00::", 129)])))], E.EINVAL),
        ("allowed IPv4 with 16-byte address", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_ALLOWEDIPS, [attr(0, [attr(A_FAMILY, u16(AF_INET)), attr(A_IPADDR, b"\1" * 16), attr(A_CIDR, u8(8))])])))], E.EINVAL),
        ("allowed IPv6 with 4-byte address", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_ALLOWEDIPS, [attr(0, [attr(A_FAMILY, u16(AF_INET6)), attr(A_IPADDR, b"\1" * 4), attr(A_CIDR, u8(8))])])))], E.EINVAL),
        ("allowed IP address 3 bytes", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_ALLOWEDIPS, [attr(0, [attr(A_FAMILY, u16(AF_INET)), attr(A_IPADDR, b"\1" * 3), attr(A_CIDR, u8(8))])])))], E.ERANGE),
        ("allowed IP family AF_PACKET", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_ALLOWEDIPS, [attr(0, [attr(A_FAMILY, u16(17)), attr(A_IPADDR, b"\1" * 4), attr(A_CIDR, u8(8))])])))], E.EAFNOSUPPORT),
        ("allowed IP unknown flag", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_ALLOWEDIPS, [ip_v4("10.0.0.0", 8, flags=2)])))], E.EINVAL),
        ("allowed IP unknown attribute 5", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_ALLOWEDIPS, [attr(0, [attr(A_FAMILY, u16(AF_INET)), attr(A_IPADDR, b"\1" * 4), attr(A_CIDR, u8(8)), attr(5, u8(0))])])))], E.EINVAL),
        ("allowed IP garbage after the last one", [dev, peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_ALLOWEDIPS, [ip_v4("10.9.0.0", 16), b"\x03\x00\x00\x00"])))], E.EINVAL),
        ("attribute length past the end", [dev, raw_attr(D_FWMARK, u32(1), length=200)], E.EINVAL),
        # Atomicity: a valid change first, then a bad one in the same message.
        ("valid peer, then a bad one", [dev, peers(ok_peer, peer(attr(P_PUBLIC_KEY, K(9)), attr(P_ALLOWEDIPS, [ip_v4("10.0.0.0", 40)])))], E.EINVAL),
        ("private key, replace-peers, then a bad peer", [dev, attr(D_PRIVATE_KEY, K(0x33)), attr(D_FLAGS, u32(F_REPLACE_PEERS)), peers(peer(attr(P_FLAGS, u32(PF_REMOVE_ME))))], E.EINVAL),
        ("fwmark and port, then a bad peer", [dev, attr(D_FWMARK, u32(77)), attr(D_LISTEN_PORT, u16(4000)), peers(peer(attr(P_PUBLIC_KEY, K(9)), attr(P_ENDPOINT, b"\7\0" + b"\0" * 14)))], E.EAFNOSUPPORT),
    ]


def cmd_bad(name):
    g = Genl()
    before = dump(g, name)
    failures = 0
    print("%-46s %-14s %-14s %s" % ("input", "errno", "expected", "extack message"))
    for what, attrs, want in bad_table(name):
        e, msg = g.set(attrs)
        after = dump(g, name)
        same = after == before
        verdict = "ok" if (e == want and same and msg) else "FAIL"
        if verdict != "ok":
            failures += 1
        print("%-46s %-14s %-14s %s%s%s" % (what, errno.errorcode.get(e, str(e)), errno.errorcode.get(want, str(want)),
                                             msg or "(no message)", "" if same else "  [DUMP CHANGED]",
                                             "" if verdict == "ok" else "  <-- FAIL"))
    # Dumps with bad device selectors.
    for what, attrs, want in [("dump without ifindex/ifname", [], errno.EBADR),
                              ("dump of lo", [ifname_attr("lo")], errno.EOPNOTSUPP),
                              ("dump of a missing device", [ifname_attr("nonexistent0")], errno.ENODEV)]:
        e, msg, _ = g.dump_raw(attrs)
        ok = e == want
        failures += 0 if ok else 1
        print("%-46s %-14s %-14s %s%s" % (what, errno.errorcode.get(e, str(e)), errno.errorcode.get(want, str(want)), msg or "(no message)", "" if ok else "  <-- FAIL"))
    print("%d failures" % failures)
    return 1 if failures else 0


def cmd_remove_ip(name):
    """WGALLOWEDIP_F_REMOVE_ME (6.16): removes one prefix of the peer, only if
    it is the peer's; UPDATE_ONLY does not create peers."""
    g = Genl()
    dev = ifname_attr(name)
    p1, p2 = K(0x61), K(0x62)
    chk = []
    e, m = g.set([dev, attr(D_FLAGS, u32(F_REPLACE_PEERS)), peers(
        peer(attr(P_PUBLIC_KEY, p1), attr(P_ALLOWEDIPS, [ip_v4("10.0.0.0", 24), ip_v6("fd00::", 64), ip_v4("10.0.1.0", 24)])),
        peer(attr(P_PUBLIC_KEY, p2), attr(P_ALLOWEDIPS, [ip_v4("10.0.2.0", 24)])))])
    chk.append(("setup", e == 0))
    e, m = g.set([dev, peers(peer(attr(P_PUBLIC_KEY, p1), attr(P_ALLOWEDIPS, [ip_v4("10.0.0.77", 24, flags=AF_REMOVE_ME), ip_v4("10.0.2.0", 24, flags=AF_REMOVE_ME)])))])
    d = dump(g, name)
    chk.append(("remove own v4 prefix (host bits ignored), not another peer's", e == 0 and d["peers"][0]["allowedips"] == ["fd00::/64", "10.0.1.0/24"] and d["peers"][1]["allowedips"] == ["10.0.2.0/24"]))
    e, m = g.set([dev, peers(peer(attr(P_PUBLIC_KEY, p1), attr(P_ALLOWEDIPS, [ip_v6("fd00::", 64, flags=AF_REMOVE_ME), ip_v4("10.0.3.0", 24, flags=0)])))])
    d = dump(g, name)
    chk.append(("remove v6, add with flags 0", e == 0 and d["peers"][0]["allowedips"] == ["10.0.1.0/24", "10.0.3.0/24"]))
    e, m = g.set([dev, peers(peer(attr(P_PUBLIC_KEY, K(0x63)), attr(P_FLAGS, u32(PF_UPDATE_ONLY)), attr(P_ALLOWEDIPS, [ip_v4("10.0.4.0", 24)])))])
    d = dump(g, name)
    chk.append(("UPDATE_ONLY does not create", e == 0 and len(d["peers"]) == 2))
    e, m = g.set([dev, peers(peer(attr(P_PUBLIC_KEY, p2), attr(P_FLAGS, u32(PF_UPDATE_ONLY)), attr(P_KEEPALIVE, u16(7))))])
    d = dump(g, name)
    chk.append(("UPDATE_ONLY updates", e == 0 and d["peers"][1][str(P_KEEPALIVE)] == u16(7).hex()))
    e, m = g.set([dev, peers(peer(attr(P_PUBLIC_KEY, K(0x64)), attr(P_FLAGS, u32(PF_REMOVE_ME))))])
    chk.append(("REMOVE_ME of an unknown peer is a no-op", e == 0 and len(dump(g, name)["peers"]) == 2))
    e, m = g.set([dev, peers(peer(attr(P_PUBLIC_KEY, p1), attr(P_FLAGS, u32(PF_REMOVE_ME))),
                             peer(attr(P_PUBLIC_KEY, p1), attr(P_ALLOWEDIPS, [ip_v4("10.0.9.0", 24)])))])
    d = dump(g, name)
    chk.append(("remove then re-create in one message: a new peer at the end", e == 0 and [p["1"] for p in d["peers"]] == [p2.hex(), p1.hex()] and d["peers"][1]["allowedips"] == ["10.0.9.0/24"]))
    e, m = g.set([dev, peers(peer(attr(P_PUBLIC_KEY, p2), attr(P_ENDPOINT, sockaddr_in6("fe80::1", 51820, 0, 1))))])
    d = dump(g, name)
    chk.append(("sockaddr_in6 reported as given (scope id)", e == 0 and d["peers"][0][str(P_ENDPOINT)] == sockaddr_in6("fe80::1", 51820, 0, 1).hex()))
    # A brand-new key created, removed and created again in one message (no
    # REPLACE_PEERS, no private key): applied in order, as C's set_peer does,
    # the peer exists once, with only the last creation's allowed IPs.
    p3, p4 = K(0x65), K(0x66)
    e, m = g.set([dev, peers(peer(attr(P_PUBLIC_KEY, p3), attr(P_ALLOWEDIPS, [ip_v4("10.0.5.0", 24)])),
                             peer(attr(P_PUBLIC_KEY, p3), attr(P_FLAGS, u32(PF_REMOVE_ME))),
                             peer(attr(P_PUBLIC_KEY, p3), attr(P_ALLOWEDIPS, [ip_v4("10.0.6.0", 24), ip_v6("fd00:6::", 64)])))])
    d = dump(g, name)
    got = [p for p in d["peers"] if p["1"] == p3.hex()]
    chk.append(("new key created, removed, created in one message: once, last IPs",
                e == 0 and len(d["peers"]) == 3 and len(got) == 1
                and sorted(got[0].get("allowedips", [])) == ["10.0.6.0/24", "fd00:6::/64"]))
    # Created twice: one peer with both; created, removed, created, removed: none.
    e, m = g.set([dev, peers(peer(attr(P_PUBLIC_KEY, p4), attr(P_ALLOWEDIPS, [ip_v4("10.0.7.0", 24)])),
                             peer(attr(P_PUBLIC_KEY, p4), attr(P_ALLOWEDIPS, [ip_v4("10.0.8.0", 24)])))])
    got = [p for p in dump(g, name)["peers"] if p["1"] == p4.hex()]
    chk.append(("new key created twice in one message: one peer, both IPs",
                e == 0 and len(got) == 1 and sorted(got[0].get("allowedips", [])) == ["10.0.7.0/24", "10.0.8.0/24"]))
    e, m = g.set([dev, peers(*[peer(attr(P_PUBLIC_KEY, p4), attr(P_FLAGS, u32(f))) for f in (PF_REMOVE_ME, 0, PF_REMOVE_ME)])])
    d = dump(g, name)
    chk.append(("removed, created, removed in one message: gone", e == 0 and [p["1"] for p in d["peers"]] == [p2.hex(), p1.hex(), p3.hex()]))
    fails = 0
    for what, ok in chk:
        print("%-70s %s" % (what, "ok" if ok else "FAIL"))
        fails += 0 if ok else 1
    return 1 if fails else 0


def cmd_dumpintr(name):
    """A dump spanning several messages gets NLM_F_DUMP_INTR on the messages
    written after a configuration change."""
    g = Genl()
    dev = ifname_attr(name)
    ps = [peer(attr(P_PUBLIC_KEY, struct.pack(">I", i) + b"\x77" * 28), attr(P_ALLOWEDIPS, [ip_v4("10.%d.%d.0" % (i // 256, i % 256), 24)])) for i in range(1, 1500)]
    for i in range(0, len(ps), 50):
        e, m = g.set([dev, peers(*ps[i:i + 50])])
        if e:
            print("setup failed", e, m)
            return 1
    g.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    g.send(g.family, WG_CMD_GET_DEVICE, dev, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP)
    first = g.s.recv(1 << 20)
    fl1 = struct.unpack("=IHHII", first[:16])[2]
    other = Genl()
    e, m = other.set([dev, attr(D_FWMARK, u32(5))])
    intr = False
    n = 1
    while True:
        msgs = g.recv_msgs()
        done = False
        for t, fl, body in msgs:
            if t in (NLMSG_DONE, NLMSG_ERROR):
                done = True
            else:
                n += 1
                intr |= bool(fl & NLM_F_DUMP_INTR)
        if done:
            break
    ok = (not fl1 & NLM_F_DUMP_INTR) and intr and n > 2
    print("messages %d, first flags %#x, later NLM_F_DUMP_INTR %s: %s" % (n, fl1, intr, "ok" if ok else "FAIL"))
    return 0 if ok else 1


def cmd_dumpidx(name, seconds):
    """Dumps by ifindex in a loop: a dump answers for the device the index
    named when it started, in this namespace, in every message (or fails,
    ENODEV: the device went away); it never names another index."""
    import time
    g = Genl()
    g.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    end = time.monotonic() + float(seconds)
    counts = {"ok": 0, "gone": 0, "mismatch": 0, "other": 0}
    while time.monotonic() < end:
        try:
            idx = socket.if_nametoindex(name)
        except OSError:
            time.sleep(0.01)
            continue
        try:
            e, m, msgs = g.dump_raw([attr(D_IFINDEX, u32(idx))])
        except OSError as ex:
            print("dump by ifindex %d: %s" % (idx, ex))
            counts["other"] += 1
            g = Genl()
            g.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            continue
        for _fl, attrs in msgs:
            for t, v in attrs:
                if t == D_IFINDEX and struct.unpack("=I", v[:4])[0] != idx:
                    print("MISMATCH: asked ifindex %d, a message names %d" % (idx, struct.unpack("=I", v[:4])[0]))
                    counts["mismatch"] += 1
        if e in (errno.ENODEV, errno.EOPNOTSUPP):
            counts["gone"] += 1
        elif e:
            print("dump by ifindex %d: errno %d %s" % (idx, e, m))
            counts["other"] += 1
        else:
            counts["ok"] += 1
    print("dumps by ifindex: %s" % counts)
    return 0 if counts["mismatch"] == 0 and counts["other"] == 0 and counts["ok"] > 0 else 1


def cmd_remove_many(name, path):
    import base64
    g = Genl()
    keys = [base64.b64decode(l.strip()) for l in open(path) if l.strip()]
    dev = ifname_attr(name)
    for i in range(0, len(keys), 500):
        ps = [peer(attr(P_PUBLIC_KEY, k), attr(P_FLAGS, u32(PF_REMOVE_ME))) for k in keys[i:i + 500]]
        e, m = g.set([dev, peers(*ps)])
        if e:
            print("remove-many: errno %d %s" % (e, m))
            return 1
    return 0


def cmd_dumpcheck(name):
    """A dump in which one peer's allowed IPs span many messages (the first
    peer's among them, so that the device's attributes and the first peer
    share the first message) ends, and returns every peer and every allowed
    IP exactly once, whatever the receive buffer (the kernel sizes a dump's
    messages from it: NLMSG_GOODSIZE to 32 KiB)."""
    dev = ifname_attr(name)
    g = Genl()
    v4 = lambda i: "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
    v6 = lambda i: "fd00::%x:%x" % (i >> 16, i & 0xFFFF)
    plan = [(K(0xA1), [("4", v4(i)) for i in range(3000)] + [("6", v6(i)) for i in range(1500)]),
            (K(0xA2), []),
            (K(0xA3), [("4", v4(0x10000 + i)) for i in range(700)]),
            (K(0xA4), [("6", v6(0x10000))])]
    e, m = g.set([dev, attr(D_FLAGS, u32(F_REPLACE_PEERS)), peers(*[peer(attr(P_PUBLIC_KEY, k)) for k, _ in plan])])
    if e:
        print("setup failed", e, m)
        return 1
    for k, ips in plan:
        for i in range(0, len(ips), 900):   # a PEERS attribute is under 64 KiB
            batch = [ip_v4(a, 32) if f == "4" else ip_v6(a, 128) for f, a in ips[i:i + 900]]
            e, m = g.set([dev, peers(peer(attr(P_PUBLIC_KEY, k), attr(P_ALLOWEDIPS, batch)))])
            if e:
                print("setup failed", e, m)
                return 1
    norm = lambda f, a: (a if f == "4" else socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, a)))
    want = [(k.hex(), sorted("%s/%d" % (norm(f, a), 32 if f == "4" else 128) for f, a in ips)) for k, ips in plan]
    fails = 0
    for bufsize in (4096, 8192, 32768):
        gs = Genl(bufsize)
        gs.s.settimeout(60)
        gs.send(gs.family, WG_CMD_GET_DEVICE, dev, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP)
        msgs, end, err = [], None, 0
        while end is None and len(msgs) < 100000:
            for t, fl, body in gs.recv_msgs():
                if t == NLMSG_DONE:
                    end = "done"
                elif t == NLMSG_ERROR:
                    end, err = "error", -struct.unpack("=i", body[:4])[0]
                else:
                    msgs.append((fl, parse_attrs(body[4:])))
        with_dev = sum(1 for _fl, attrs in msgs if any(t == D_IFINDEX for t, _ in attrs))
        c = canonical(msgs)
        got = [(p["1"], sorted(p.get("allowedips", []))) for p in c["peers"]]
        # A peer repeated in a message after the one that completed it would
        # come back as a second entry, and an allowed IP twice in the list.
        dup = sum(len(ips) - len(set(ips)) for _k, ips in got)
        ok = end == "done" and err == 0 and got == want and dup == 0 and len(msgs) > 2 and with_dev >= 1
        print("recv buffer %5d: %s after %d messages (device attributes in %d), peers %d, allowed IPs %d, duplicates %d: %s"
              % (bufsize, end, len(msgs), with_dev, len(got), sum(len(i) for _k, i in got), dup, "ok" if ok else "FAIL"))
        if not ok:
            fails += 1
            if got != want:
                print("  peers: got %s, want %s" % ([(k[:8], len(i)) for k, i in got], [(k[:8], len(i)) for k, i in want]))
        gs.s.close()
    g.set([dev, attr(D_FLAGS, u32(F_REPLACE_PEERS))])
    return 1 if fails else 0


def cmd_endpoint_on_hold(name, pub, addr, port, out):
    """Waits (30 s at most) for wg_delay's hold to begin, then sets the peer's
    endpoint, from this process and a socket opened before: a command
    started during the hold (fork, exec, a file read over 9p) may wait for
    the held CPU. Creates OUT.ready once it waits, then writes to OUT
    whether it saw the hold begin and whether the hold was still on once
    the kernel had answered (1 or 0 each)."""
    import base64
    ep = sockaddr_in6(addr, int(port)) if ":" in addr else sockaddr_in(addr, int(port))
    return set_on_hold([ifname_attr(name), peers(peer(attr(P_PUBLIC_KEY, base64.b64decode(pub)), attr(P_ENDPOINT, ep)))],
                       out, "endpoint-on-hold")


def cmd_key_on_hold(name, keyfile, out):
    """As cmd_endpoint_on_hold, setting the device's private key (read before
    the hold) instead."""
    import base64
    with open(keyfile) as f:
        key = base64.b64decode(f.read().strip())
    return set_on_hold([ifname_attr(name), attr(D_PRIVATE_KEY, key)], out, "key-on-hold")


def cmd_keys_and_stay(name, keyfile, peer_b64, pskfile):
    import base64
    import signal
    with open(keyfile) as f:
        key = base64.b64decode(f.read().strip())
    with open(pskfile) as f:
        psk = base64.b64decode(f.read().strip())
    e, m = Genl().set([ifname_attr(name), attr(D_PRIVATE_KEY, key),
                       peers(peer(attr(P_PUBLIC_KEY, base64.b64decode(peer_b64)), attr(P_PRESHARED_KEY, psk)))])
    if e:
        print("keys-and-stay: errno %d %s" % (e, m), flush=True)
        return 1
    print("set", flush=True)
    # pause(2) goes hardly deeper than the system call's entry: what the
    # request left deeper on this thread's stack stays as it was.
    signal.pause()
    return 0


def set_on_hold(msg, out, what):
    import time
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vm"))
    from hold_ping import holding
    g = Genl()
    open(out + ".ready", "w").close()
    end = time.monotonic() + 30
    while not holding() and time.monotonic() < end:
        time.sleep(0.002)
    seen = holding()
    e, m = g.set(msg)
    after = holding()
    with open(out, "w") as f:
        print(int(seen), int(after), file=f)
    if e:
        print("%s: errno %d %s" % (what, e, m))
    return 1 if e else 0


def main():
    cmd, name = sys.argv[1], sys.argv[2]
    if cmd == "endpoint-on-hold":
        return cmd_endpoint_on_hold(name, *sys.argv[3:7])
    if cmd == "key-on-hold":
        return cmd_key_on_hold(name, *sys.argv[3:5])
    if cmd == "keys-and-stay":
        return cmd_keys_and_stay(name, *sys.argv[3:6])
    if cmd == "dumpidx":
        return cmd_dumpidx(name, sys.argv[3])
    if cmd == "remove-many":
        return cmd_remove_many(name, sys.argv[3])
    if cmd == "dump":
        print(json.dumps(dump(Genl(), name), indent=1, sort_keys=True))
        return 0
    return {"bad": cmd_bad, "remove-ip": cmd_remove_ip, "dumpintr": cmd_dumpintr,
            "dumpcheck": cmd_dumpcheck}[cmd](name)


if __name__ == "__main__":
    sys.exit(main())
