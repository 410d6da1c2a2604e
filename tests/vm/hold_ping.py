#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""One ICMP echo through a WireGuard tunnel while tests/kmod/wg_delay.ko holds
a call on the other end, for t_new_peer_window (tests/vm/race_lib.sh).

    hold_ping.py DEST LINK READY_FILE [DELAY_S] [TIMEOUT_S]

Run in the sending namespace (entering one waits for an RCU grace period,
which a hold keeps from ending; and no program is started once the hold has
begun: under the debug kernel an exec takes half a second or more). Creates
READY_FILE once it is ready, waits for wg_delay's `holding` counter to read
1, DELAY_S (0.2) more, sends one echo request to DEST (which starts a
handshake), and waits for the reply until TIMEOUT_S (8) after the hold ended.
A module that publishes the peer only when it is ready answers the first
initiation resent after the hold (one every 5 s, plus jitter). One that
loses the data in a peer not ready to receive answers only when something
else makes that peer receive: the next handshake's keepalive, about 15 s
after the send. (The hold lasts its 3 s on an idle machine, up to 10 s
seen under load: the guest's vCPUs do not always run.)

The round is forced only if the handshake initiation the echo started left
LINK (the underlay device the tunnel's UDP goes out of, seen with a packet
socket) at least MARGIN before the hold ended: then the other end could
find a half-made peer with it during the hold. (A module that publishes the
peer only once it is ready drops that initiation, and answers the one resent
5 s later; a module that publishes first answers it and takes the data
behind it while the peer cannot receive yet.) Prints when the hold
began and ended, when the initiation and the data left, "forced" or "not
forced", and "answered" or "no answer"; exits 0 if answered.
"""
import os
import select
import socket
import struct
import sys
import threading
import time

HOLDING = "/sys/module/wg_delay/parameters/holding"
ETH_P_ALL, PACKET_OUTGOING = 3, 4
# How long before the hold's end the initiation must have left for the round
# to count: the other end has to take it before the held call returns.
MARGIN = 1.0


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


def udp_of(frame):
    """(destination port, payload) of an IPv4 UDP frame whose payload holds
    at least a WireGuard message type (4 bytes), else None."""
    if len(frame) < 14 + 20 + 8 + 4 or frame[12:14] != b"\x08\x00" or frame[14 + 9] != 17:
        return None
    udp = 14 + (frame[14] & 0x0F) * 4
    if len(frame) < udp + 8 + 4:
        return None
    return int.from_bytes(frame[udp + 2:udp + 4], "big"), frame[udp + 8:]


def wg_type_out(frame):
    """(message type, UDP payload length) of an IPv4 UDP frame, else None."""
    u = udp_of(frame)
    return (u[1][0], len(u[1])) if u is not None else None


def wait_for_hold(ready):
    """Creates READY, then waits up to 30 s for the hold to begin: the time
    it began, or None (said on stdout)."""
    open(ready, "w").close()
    end = time.monotonic() + 30
    while not holding():
        if time.monotonic() > end:
            print("the hold did not begin within 30 s")
            return None
        time.sleep(0.005)
    return time.monotonic()


def hold_ended(began, ended):
    """When the hold ended: `ended` if known, else waits for it (up to 30 s
    after it began; None then)."""
    while ended is None and time.monotonic() < began + 30:
        if not holding():
            ended = time.monotonic()
        time.sleep(0.005)
    return ended


def since(began, t):
    """`t` as seconds after the hold began, for the report."""
    return "%.3f s" % (t - began) if t is not None else "never"


def main():
    dest, link, ready = sys.argv[1], sys.argv[2], sys.argv[3]
    delay = float(sys.argv[4]) if len(sys.argv) > 4 else 0.2
    limit = float(sys.argv[5]) if len(sys.argv) > 5 else 8.0
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    tap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    tap.bind((link, 0))
    ident = os.getpid() & 0xFFFF
    body = struct.pack("!HH", ident, 1) + b"new-peer-window"
    packet = struct.pack("!BBH", 8, 0, checksum(struct.pack("!BBH", 8, 0, 0) + body)) + body
    seen = {}

    def watch():
        # Times of the initiations (type 1) and of the first data message
        # with a payload (type 4, longer than a keepalive's 32 bytes) out.
        while "data" not in seen:
            frame, addr = tap.recvfrom(65536)
            if addr[2] != PACKET_OUTGOING:
                continue
            t = wg_type_out(frame)
            if t is None:
                continue
            if t[0] == 1:
                seen.setdefault("initiations", []).append(time.monotonic())
            elif t[0] == 4 and t[1] > 32:
                seen["data"] = time.monotonic()

    threading.Thread(target=watch, daemon=True).start()
    began = wait_for_hold(ready)
    if began is None:
        return 1
    time.sleep(delay)
    sock.sendto(packet, (dest, 0))
    sent = time.monotonic()
    ended = None
    answered = None
    # The reply is due within `limit` of the hold's end (known once it ends;
    # 60 s after the send at most).
    while answered is None:
        now = time.monotonic()
        if ended is None and not holding():
            ended = now
        if now > (ended + limit if ended is not None else sent + 60):
            break
        if not select.select([sock], [], [], 0.005)[0]:
            continue
        reply = sock.recv(2048)
        ihl = (reply[0] & 0x0F) * 4
        icmp = reply[ihl:ihl + 8]
        if len(icmp) == 8:
            kind, _, _, rid, seq = struct.unpack("!BBHHH", icmp)
            if kind == 0 and rid == ident and seq == 1:
                answered = time.monotonic()
    ended = hold_ended(began, ended)

    initiation = next((t for t in seen.get("initiations", []) if t >= began), None)

    def at(t):
        return since(began, t)

    print("hold began at 0, echo sent at %s, initiation out at %s, data out at %s, hold ended at %s, answer at %s"
          % (at(sent), at(initiation), at(seen.get("data")), at(ended), at(answered)))
    print("forced" if initiation is not None and ended is not None and initiation < ended - MARGIN else "not forced")
    print("answered" if answered is not None else "no answer")
    return 0 if answered is not None else 1


if __name__ == "__main__":
    sys.exit(main())
