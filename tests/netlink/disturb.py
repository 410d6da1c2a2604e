#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""What runs beside the netlink fuzzer (fuzz.sh), in one process: under
emulation every exec of ip(8) or wg(8) costs about half a second of CPU, so
shell loops of them took more CPU than the fuzzers themselves.

  disturb.py SECONDS [--toggle IFNAME] [--recreate IFNAME] [--dump IFNAME]

Until SECONDS have passed (or it is killed): --toggle brings IFNAME up and
down, --recreate deletes IFNAME and creates it again (a wireguard device),
--dump dumps IFNAME's configuration over generic netlink as `wg show` does,
each about twice a second. Errors (a device the fuzzer made unusable, one
deleted meanwhile) are counted, not fatal: this only makes the fuzzer's
devices change underneath it. Prints what it did at the end.
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wgnl import NLM_F_ACK, NLM_F_REQUEST, NLMSG_ERROR, Genl, attr, ifname_attr  # noqa: E402

NETLINK_ROUTE = 0
RTM_NEWLINK, RTM_DELLINK = 16, 17
NLM_F_EXCL, NLM_F_CREATE = 0x200, 0x400
IFLA_IFNAME, IFLA_LINKINFO, IFLA_INFO_KIND = 3, 18, 1
IFF_UP = 1
SOL_SOCKET, SO_RCVTIMEO = 1, 20


class Rtnl:
    def __init__(self):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        self.s.bind((0, 0))
        self.s.setsockopt(SOL_SOCKET, SO_RCVTIMEO, struct.pack("=qq", 20, 0))
        self.seq = 0

    def request(self, mtype, flags, ifi_flags, change, attrs):
        """Returns the errno of the ACK (EAGAIN if none within 20 s)."""
        self.seq += 1
        body = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, 0, ifi_flags, change) + b"".join(attrs)
        self.s.send(struct.pack("=IHHII", 16 + len(body), mtype, NLM_F_REQUEST | NLM_F_ACK | flags, self.seq, 0) + body)
        while True:
            try:
                data = self.s.recv(65536)
            except BlockingIOError:
                return 11
            while len(data) >= 16:
                ln, t, _fl, sq, _pid = struct.unpack("=IHHII", data[:16])
                if t == NLMSG_ERROR and sq == self.seq:
                    return -struct.unpack("=i", data[16:20])[0]
                data = data[(max(ln, 16) + 3) & ~3:]

    def updown(self, name, up):
        return self.request(RTM_NEWLINK, 0, IFF_UP if up else 0, IFF_UP, [attr(IFLA_IFNAME, name.encode() + b"\0")])

    def delete(self, name):
        return self.request(RTM_DELLINK, 0, 0, 0, [attr(IFLA_IFNAME, name.encode() + b"\0")])

    def create(self, name):
        return self.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, 0,
                            [attr(IFLA_IFNAME, name.encode() + b"\0"),
                             attr(IFLA_LINKINFO, [attr(IFLA_INFO_KIND, b"wireguard\0")])])


def main():
    args = sys.argv[1:]
    seconds = float(args[0])
    opts = {}
    for i in range(1, len(args) - 1, 2):
        opts[args[i]] = args[i + 1]
    r = Rtnl()
    g = Genl(1 << 16)
    g.s.setsockopt(SOL_SOCKET, SO_RCVTIMEO, struct.pack("=qq", 20, 0))
    stats = {}

    def note(what, e):
        k = "%s %s" % (what, os.strerror(e) if e else "ok")
        stats[k] = stats.get(k, 0) + 1

    deadline = time.monotonic() + seconds
    tick = 0
    try:
        while time.monotonic() < deadline:
            if "--toggle" in opts:
                note("up/down", r.updown(opts["--toggle"], tick % 2 == 0))
            if "--recreate" in opts and tick % 4 == 1:
                note("delete", r.delete(opts["--recreate"]))
            if "--recreate" in opts and tick % 4 == 3:
                note("create", r.create(opts["--recreate"]))
            if "--dump" in opts:
                try:
                    e, _m, _msgs = g.dump_raw([ifname_attr(opts["--dump"])])
                except BlockingIOError:
                    e = 11
                note("dump", e)
            tick += 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        print("disturb: %d rounds: %s" % (tick, ", ".join("%s %d" % kv for kv in sorted(stats.items()))), flush=True)


def on_term(_sig, _frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, on_term)
    main()
