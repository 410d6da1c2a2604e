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

from hold_ping import ETH_P_ALL, PACKET_OUTGOING, hold_ended, holding, since, udp_of, wait_for_hold


def response_to(frame, port):
    """Whether a frame is a UDP datagram to `port` holding a handshake
    response (type 2, its 92 bytes)."""
    u = udp_of(frame)
    return u is not None and u[0] == port and len(u[1]) >= 92 and u[1][0] == 2


def main():
    dest, link, port, ready = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    tap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    tap.bind((link, 0))
    tap.settimeout(0.01)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    began = wait_for_hold(ready)
    if began is None:
        return 1
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
    ended = hold_ended(began, ended)

    print("hold began at 0, datagram sent at %s, response in at %s, hold ended at %s"
          % (since(began, sent), since(began, answered), since(began, ended)))
    print("answered during the hold" if during else "not answered during the hold")
    return 0 if during else 1


if __name__ == "__main__":
    sys.exit(main())
