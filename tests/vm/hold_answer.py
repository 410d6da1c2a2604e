#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Whether a WireGuard device answers a handshake initiation while
tests/kmod/wg_delay.ko holds another one in the same device, for
t_identity_readers (tests/vm/race_lib.sh).

    hold_answer.py DEST LINK PORT READY_FILE

Run in the initiating namespace before the hold begins (entering one waits
for an RCU grace period, which a hold keeps from ending; and no program is
started once the hold has begun: under the debug kernel an exec takes half
a second or more). Creates READY_FILE once it is ready, waits for
wg_delay's `holding` counter to read 1, 0.2 s more, then sends one UDP
datagram to DEST (port 9), through the tunnel whose device listens on PORT:
that starts a handshake. Watches LINK (the underlay device) with a packet
socket for the handshake response (message type 2) coming in to PORT, and
notes whether the hold was still on when it came. Prints when the hold
began and ended, when the datagram left and the response came in, and
"answered during the hold" or "not answered during the hold"; exits 0 on
the first.
"""
import socket
import sys
import time

HOLDING = "/sys/module/wg_delay/parameters/holding"
ETH_P_ALL, PACKET_OUTGOING = 3, 4


def holding():
    try:
        with open(HOLDING) as f:
            return f.read().strip() == "1"
    except OSError:
        return False


def response_to(frame, port):
    """Whether an IPv4 frame is a UDP datagram to `port` holding a handshake
    response (type 2, its 92 bytes)."""
    if len(frame) < 14 + 20 + 8 + 92 or frame[12:14] != b"\x08\x00" or frame[14 + 9] != 17:
        return False
    udp = 14 + (frame[14] & 0x0F) * 4
    if len(frame) < udp + 8 + 92:
        return False
    return int.from_bytes(frame[udp + 2:udp + 4], "big") == port and frame[udp + 8] == 2


def main():
    dest, link, port, ready = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    tap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    tap.bind((link, 0))
    tap.settimeout(0.01)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    open(ready, "w").close()
    end = time.monotonic() + 30
    while not holding():
        if time.monotonic() > end:
            print("the hold did not begin within 30 s")
            return 1
        time.sleep(0.005)
    began = time.monotonic()
    time.sleep(0.2)
    udp.sendto(b"identity-readers", (dest, 9))
    sent = time.monotonic()
    ended = answered = None
    during = False
    # Until the response, or 1 s after the hold ended (30 s at most).
    while answered is None and time.monotonic() < began + 30:
        if ended is None and not holding():
            ended = time.monotonic()
        if ended is not None and time.monotonic() > ended + 1:
            break
        try:
            frame, addr = tap.recvfrom(65536)
        except socket.timeout:
            continue
        if addr[2] != PACKET_OUTGOING and response_to(frame, port):
            answered = time.monotonic()
            during = holding()
    while ended is None and time.monotonic() < began + 30:
        if not holding():
            ended = time.monotonic()
        time.sleep(0.005)

    def at(t):
        return "%.3f s" % (t - began) if t is not None else "never"

    print("hold began at 0, datagram sent at %s, response in at %s, hold ended at %s"
          % (at(sent), at(answered), at(ended)))
    print("answered during the hold" if during else "not answered during the hold")
    return 0 if during else 1


if __name__ == "__main__":
    sys.exit(main())
