#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Userspace helpers of tests/vm/suite/gro.sh (Python standard library only).

  grotool.py watch --ifname IF --port PORT --stop FILE --ready FILE
      Reads the packets IF receives (a packet socket, which sees a packet
      after GRO) until FILE (--stop) exists, and counts the IPv4 and IPv6 UDP
      packets from or to PORT: prints "frames=N coalesced=C largest=BYTES",
      C those longer than IF's MTU (a datagram that came over IF is at most
      the MTU: a longer packet is several, coalesced by GRO). Creates the
      --ready file once it reads.

  grotool.py udpsink --bind ADDR --port PORT --count N --ready FILE
                     --timeout SECONDS
      Receives datagrams whose first 4 bytes are a sequence number (big
      endian) until N arrived or no datagram came for SECONDS; prints
      "got=G inorder=I dup=D", I the datagrams that came in sequence (each
      one more than the one before), D those seen before. Exit 0 if all N
      came, each once, in order; 1 otherwise.

  grotool.py udpburst --dst ADDR --port PORT --bursts B --burst K
                      --size BYTES --gap SECONDS
      Sends B bursts of K datagrams of BYTES (numbered 0, 1, ... in their
      first 4 bytes), SECONDS apart, each burst in one send (UDP GSO:
      UDP_SEGMENT of BYTES), so that the tunnel's device gets them together;
      prints "sent=N".
"""

import os
import socket
import struct
import sys
import time

ETH_P_ALL, PACKET_OUTGOING, SO_RCVBUFFORCE = 3, 4, 33
SOL_UDP, UDP_SEGMENT = 17, 103


def watch(a):
    mtu = int(open("/sys/class/net/%s/mtu" % a["ifname"]).read())
    port = int(a["port"])
    w = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    w.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
    w.bind((a["ifname"], ETH_P_ALL))
    w.settimeout(0.1)
    open(a["ready"], "w").close()
    buf = bytearray(128)
    frames = coalesced = largest = 0
    while True:
        try:
            n, addr = w.recvfrom_into(buf, len(buf), socket.MSG_TRUNC)
        except socket.timeout:
            if os.path.exists(a["stop"]):
                break
            continue
        if addr[2] == PACKET_OUTGOING or n < 14:
            continue
        ethertype = struct.unpack_from("!H", buf, 12)[0]
        if ethertype == 0x0800 and buf[14 + 9] == 17:
            ihl = (buf[14] & 15) * 4
            udp = 14 + ihl
        elif ethertype == 0x86DD and buf[14 + 6] == 17:
            udp = 14 + 40
        else:
            continue
        sport, dport = struct.unpack_from("!HH", buf, udp)
        if port not in (sport, dport):
            continue
        frames += 1
        largest = max(largest, n - 14)
        coalesced += n - 14 > mtu
    print("frames=%d coalesced=%d largest=%d" % (frames, coalesced, largest))
    return 0


def udpsink(a):
    fam = socket.AF_INET6 if ":" in a["bind"] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
    s.bind((a["bind"], int(a["port"])))
    s.settimeout(float(a["timeout"]))
    open(a["ready"], "w").close()
    want = int(a["count"])
    seen, got, inorder, dup, last = set(), 0, 0, 0, -1
    while got < want:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if len(d) < 4:
            continue
        seq = struct.unpack_from("!I", d)[0]
        got += 1
        if seq in seen:
            dup += 1
        seen.add(seq)
        inorder += seq == last + 1
        last = seq
    print("got=%d inorder=%d dup=%d" % (got, inorder, dup))
    return 0 if got == want and inorder == want and dup == 0 else 1


def udpburst(a):
    fam = socket.AF_INET6 if ":" in a["dst"] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    dst = (a["dst"], int(a["port"]))
    size, seq = max(int(a["size"]), 4), 0
    pad = b"\x5a" * (size - 4)
    segment = struct.pack("=H", size)
    for _ in range(int(a["bursts"])):
        burst = b""
        for _ in range(int(a["burst"])):
            burst += struct.pack("!I", seq) + pad
            seq += 1
        s.sendmsg([burst], [(SOL_UDP, UDP_SEGMENT, segment)], 0, dst)
        time.sleep(float(a["gap"]))
    print("sent=%d" % seq)
    return 0


COMMANDS = {"watch": watch, "udpsink": udpsink, "udpburst": udpburst}


def main(argv):
    if len(argv) < 2 or argv[1] not in COMMANDS:
        print(__doc__)
        return 2
    a, rest = {}, argv[2:]
    while rest:
        if not rest[0].startswith("--") or len(rest) < 2:
            print("bad argument %s" % rest[0])
            return 2
        a[rest[0][2:]] = rest[1]
        rest = rest[2:]
    try:
        return COMMANDS[argv[1]](a)
    except (KeyError, RuntimeError, OSError) as e:
        print("error: %r" % (e,))
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
