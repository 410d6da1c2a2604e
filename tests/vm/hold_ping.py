#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""One ICMP echo sent while tests/kmod/wg_delay.ko holds a call, for
t_new_peer_window (tests/vm/race_lib.sh).

    hold_ping.py DEST READY_FILE [DELAY_S] [TIMEOUT_S]

Run in the sending namespace (entering one waits for an RCU grace period,
which a hold keeps from ending). Creates READY_FILE once it is ready, waits
for wg_delay's `holding` counter to read 1, DELAY_S (0.5) more, sends one
echo request to DEST, and reads `holding` again: the round is forced only
if the hold was still on after the send. Then waits up to TIMEOUT_S (12) for
the reply. Prints "forced" or "not forced", then "answered" or "no answer";
exits 0 if answered. No program is started after the hold begins: under the
debug kernel an exec takes about half a second, more on a busy machine, and
the hold is 3 s.
"""
import os
import select
import socket
import struct
import sys
import time

HOLDING = "/sys/module/wg_delay/parameters/holding"


def holding():
    try:
        with open(HOLDING) as f:
            return f.read().strip() == "1"
    except OSError:
        return False


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def main():
    dest, ready = sys.argv[1], sys.argv[2]
    delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.5
    limit = float(sys.argv[4]) if len(sys.argv) > 4 else 12.0
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xFFFF
    body = struct.pack("!HH", ident, 1) + b"new-peer-window"
    packet = struct.pack("!BBH", 8, 0, checksum(struct.pack("!BBH", 8, 0, 0) + body)) + body
    open(ready, "w").close()
    end = time.monotonic() + 30
    while not holding():
        if time.monotonic() > end:
            print("the hold did not begin within 30 s")
            return 1
        time.sleep(0.01)
    time.sleep(delay)
    sock.sendto(packet, (dest, 0))
    print("forced" if holding() else "not forced")
    end = time.monotonic() + limit
    while True:
        left = end - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            print("no answer")
            return 1
        reply = sock.recv(2048)
        ihl = (reply[0] & 0x0F) * 4
        icmp = reply[ihl:ihl + 8]
        if len(icmp) == 8:
            kind, _, _, rid, seq = struct.unpack("!BBHHH", icmp)
            if kind == 0 and rid == ident and seq == 1:
                print("answered")
                return 0


if __name__ == "__main__":
    sys.exit(main())
