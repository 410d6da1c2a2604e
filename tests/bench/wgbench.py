#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The handshake programs of `make bench` (Python standard library only).

  wgbench.py gen DIR [PEERS [HANDSHAKES]]                      (host)
      A device private key, PEERS peers (default 100) with their private
      keys, and HANDSHAKES (default 1000) genuine handshake initiations from
      them to the device, spread evenly over the peers, each peer's
      timestamps strictly increasing; with the initiator's Noise state after
      each, so that responses can be verified afterwards. Writes
      DIR/device.key (wg(8) format), DIR/peers.conf (for `wg addconf`),
      DIR/initiations.txt and DIR/state.txt.
  wgbench.py handshakes DIR TARGET PORT PREFIX OUT             (guest)
      Runs the initiations against the device, pipelined: every peer has one
      initiation in flight at a time, and sends its next one GAP (30 ms)
      after its response came back (the per-peer flood rule allows one per
      20 ms, on a coarse clock); peer p sends from PREFIX.p.1 to PREFIX.p.3
      in turn, so no source address goes near the per-source rate limit.
      With 100 peers the tester offers up to 3,000 handshakes a second, more
      than the device completes under emulation: the device is the
      bottleneck. The time is from the first initiation sent to the last
      response received. Writes OUT: a summary line, then every response in
      hex with its arrival time (verified on the host: see verify), and the
      longest time no response came (a stall shows there).
  wgbench.py verify DIR OUT                                     (host)
      Checks every response of OUT as the initiator would (Noise IK: DH of
      both ephemeral and static against the responder's ephemeral, the
      empty AEAD's tag, mac1 to the initiator's key) and prints
      "handshakes=N seconds=S valid=V missing=M".
  wgbench.py flood IFNAME SRCMAC DSTMAC TARGET PORT PUBFILE SECONDS OUT [RATE]  (guest)
      Injects, as fast as it can for SECONDS (or RATE a second, paced in
      bursts of 64), handshake initiations with a
      valid mac1 (the device must do a Diffie-Hellman for each unless it is
      under load, when it answers with cookie replies) from 1024 spoofed
      source addresses in 10.200.0.0/16, through an AF_PACKET socket on
      IFNAME. Writes "sent=N seconds=S" to OUT.

Under emulation every import costs: the guest commands import only C modules.
"""
import _socket as socket
import binascii
import os
import select
import struct
import sys
import time
from _blake2 import blake2s as _blake2s
from _collections import deque

LABEL_MAC1 = b"mac1----"
# A peer's next initiation leaves GAP after its last response arrived: the
# flood rule allows one per 20 ms per peer, on a coarse clock (4 ms at HZ=250).
GAP = 0.030
# Each peer sends from SOURCES addresses in turn, so that one address sees at
# most one initiation per SOURCES * GAP (90 ms): under the per-source rate
# limit (20 per second, a burst of 5), which applies only under load anyway.
SOURCES = 3


def b64(data):
    return binascii.b2a_base64(data).decode().strip()


def unb64(text):
    return binascii.a2b_base64(text.strip())


def wgattack():
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hostile"))
    import wgattack as w
    return w


# ------------------------------------------------------------------- host ---
def gen(out, peers=100, handshakes=1000):
    w = wgattack()
    os.makedirs(out, exist_ok=True)
    dev_priv = bytearray(os.urandom(32))
    dev_priv[0] &= 248
    dev_priv[31] = (dev_priv[31] & 127) | 64
    dev_priv = bytes(dev_priv)
    dev_pub = w.x25519_pub(dev_priv)
    privs = [os.urandom(32) for _ in range(peers)]
    pubs = [w.x25519_pub(k) for k in privs]
    with open(os.path.join(out, "device.key"), "w") as f:
        f.write(b64(dev_priv) + "\n")
    with open(os.path.join(out, "device.pub"), "w") as f:
        f.write(b64(dev_pub) + "\n")
    with open(os.path.join(out, "peers.conf"), "w") as f:
        for p in range(peers):
            f.write("[Peer]\nPublicKey = %s\nAllowedIPs = 10.10.%d.%d/32\n\n" % (b64(pubs[p]), p // 250, p % 250 + 1))
    c0 = w.blake2s(w.CONSTRUCTION)
    h0 = w.blake2s(w.blake2s(c0, w.IDENTIFIER), dev_pub)
    mac1_key = w.blake2s(LABEL_MAC1, dev_pub)
    # Static-static DH once per peer, as a real initiator precomputes it.
    ss = [w.x25519(privs[p], dev_pub) for p in range(peers)]
    waves = (handshakes + peers - 1) // peers
    base = 0x400000000000000A + 1700000000
    init_f = open(os.path.join(out, "initiations.txt"), "w")
    state_f = open(os.path.join(out, "state.txt"), "w")
    n = 0
    for wave in range(waves):
        for p in range(peers):
            if n == handshakes:
                break
            n += 1
            sender = 0x10000000 + wave * peers + p
            e_priv = os.urandom(32)
            e_pub = w.x25519_pub(e_priv)
            (c,) = w.kdf(c0, e_pub, 1)
            h = w.blake2s(h0, e_pub)
            c, k = w.kdf(c, w.x25519(e_priv, dev_pub), 2)
            enc_static = w.aead_encrypt(k, 0, pubs[p], h)
            h = w.blake2s(h, enc_static)
            c, k = w.kdf(c, ss[p], 2)
            # TAI64N: one second later each wave; the device only asks that
            # a peer's timestamps increase.
            enc_ts = w.aead_encrypt(k, 0, struct.pack(">QI", base + wave, 0), h)
            h = w.blake2s(h, enc_ts)
            msg = struct.pack("<II", w.MSG_INIT, sender) + e_pub + enc_static + enc_ts
            msg += w.mac16(mac1_key, msg) + b"\0" * 16
            init_f.write("%d %d %s\n" % (wave, p, msg.hex()))
            state_f.write("%d %d %s %s %s %s\n" % (sender, p, e_priv.hex(), privs[p].hex(), c.hex(), h.hex()))
    init_f.close()
    state_f.close()
    return 0


def verify(data, out):
    w = wgattack()
    state = {}
    with open(os.path.join(data, "state.txt")) as f:
        for line in f:
            sender, p, e_priv, s_priv, c, h = line.split()
            state[int(sender)] = (bytes.fromhex(e_priv), bytes.fromhex(s_priv), bytes.fromhex(c), bytes.fromhex(h))
    summary, responses = {}, []
    with open(out) as f:
        for line in f:
            parts = line.split()
            if parts[0] == "response":
                responses.append(bytes.fromhex(parts[1]))
            elif "=" in parts[0]:
                for kv in parts:
                    k, _, v = kv.partition("=")
                    summary[k] = v
    valid, seen = 0, set()
    for r in responses:
        if len(r) != w.LEN_RESP or r[:4] != struct.pack("<I", w.MSG_RESP):
            continue
        receiver = struct.unpack("<I", r[8:12])[0]
        if receiver not in state or receiver in seen:
            continue
        e_priv, s_priv, c, h = state[receiver]
        e_r = r[12:44]
        (c,) = w.kdf(c, e_r, 1)
        h = w.blake2s(h, e_r)
        (c,) = w.kdf(c, w.x25519(e_priv, e_r), 1)
        (c,) = w.kdf(c, w.x25519(s_priv, e_r), 1)
        c, t, k = w.kdf(c, b"\0" * 32, 3)
        h = w.blake2s(h, t)
        if w.aead_encrypt(k, 0, b"", h) != r[44:60]:
            continue
        if w.mac16(w.blake2s(LABEL_MAC1, w.x25519_pub(s_priv)), r[:60]) != r[60:76]:
            continue
        seen.add(receiver)
        valid += 1
    print("handshakes=%s seconds=%s valid=%d missing=%d wall=%s silence=%s" % (
        summary.get("sent", "?"), summary.get("busy", "?"), valid, len(state) - valid, summary.get("wall", "?"),
        summary.get("silence", "?")))
    return 0 if valid == len(state) else 1


# ------------------------------------------------------------------ guest ---
def ip4(text):
    return struct.unpack("!I", socket.inet_aton(text))[0]


def handshakes(data, target, port, prefix, out):
    port = int(port)
    msgs = {}
    with open(os.path.join(data, "initiations.txt")) as f:
        for line in f:
            wave, p, msg = line.split()
            msgs.setdefault(int(p), []).append(bytes.fromhex(msg))
    peers = 1 + max(msgs)
    total = sum(len(m) for m in msgs.values())
    socks, by_fd = [], {}
    poll = select.poll()
    for p in range(peers):
        mine = []
        for k in range(SOURCES):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("%s.%d.%d" % (prefix, p, k + 1), 0))
            s.setblocking(False)
            mine.append(s)
            by_fd[s.fileno()] = s
            poll.register(s.fileno(), select.POLLIN)
        socks.append(mine)
    dest = (target, port)
    responses = []
    sent = lost = done = 0
    nextk = [0] * peers
    inflight = {}  # sender index -> (peer, time sent)
    t0 = time.monotonic()
    last = t0
    # Peers whose next initiation may leave, in the order they may: every
    # peer waits GAP after its response, so this is first in, first out.
    ready = deque((t0, p) for p in range(peers))

    def requeue(p, now):
        nextk[p] += 1
        if nextk[p] < len(msgs[p]):
            ready.append((now + GAP, p))

    while ready or inflight:
        now = time.monotonic()
        while ready and ready[0][0] <= now:
            p = ready.popleft()[1]
            k = nextk[p]
            msg = msgs[p][k]
            socks[p][k % SOURCES].sendto(msg, dest)
            sent += 1
            inflight[struct.unpack("<I", msg[4:8])[0]] = (p, now)
        wait = ready[0][0] - now if ready else 1.0
        events = poll.poll(max(wait, 0.0) * 1000)
        for fd, _ in events:
            s = by_fd[fd]
            while True:
                try:
                    r = s.recv(2048)
                except BlockingIOError:
                    break
                now = time.monotonic()
                if len(r) >= 12 and r[0] == 2:
                    rcv = struct.unpack("<I", r[8:12])[0]
                    if rcv in inflight:
                        p = inflight.pop(rcv)[0]
                        responses.append((now - t0, r))
                        done += 1
                        last = now
                        requeue(p, now)
        if not events:
            # Unanswered for 10 s: lost; that peer goes on with its next one.
            now = time.monotonic()
            for rcv, (p, when) in list(inflight.items()):
                if now - when > 10.0:
                    del inflight[rcv]
                    lost += 1
                    requeue(p, now)
    busy = last - t0
    wall = time.monotonic() - t0
    # The longest time without any response: a stall, when it is long.
    times = [0.0] + [t for t, _ in responses]
    silence = max([b - a for a, b in zip(times, times[1:])] or [0.0])
    with open(out, "w") as f:
        f.write("sent=%d received=%d lost=%d busy=%.6f wall=%.6f silence=%.6f\n" % (
            sent, len(responses), lost, busy, wall, silence))
        for t, r in responses:
            f.write("response %s %.6f\n" % (r.hex(), t))
    print("handshakes: sent %d, %d responses, %d lost, %.3f s from the first initiation to the last response, "
          "longest silence %.3f s" % (sent, len(responses), lost, busy, silence))
    return 0 if sent == total else 1


def csum(data):
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def flood(ifname, srcmac, dstmac, target, port, pubfile, seconds, out, rate="0"):
    """RATE initiations a second (in bursts of 64, paced by the clock), or
    as fast as it can (0)."""
    port, seconds, rate = int(port), float(seconds), float(rate)
    with open(pubfile) as f:
        pub = unb64(f.read())
    mac1_key = _blake2s(LABEL_MAC1 + pub).digest()
    smac = bytes.fromhex(srcmac.replace(":", ""))
    dmac = bytes.fromhex(dstmac.replace(":", ""))
    dst = socket.inet_aton(target)
    pool = []
    for i in range(1024):
        src = socket.inet_aton("10.200.%d.%d" % (i // 250, i % 250 + 1))
        body = struct.pack("<I", 1) + os.urandom(112)
        payload = body + _blake2s(body, digest_size=16, key=mac1_key).digest() + b"\0" * 16
        ulen = 8 + len(payload)
        udp = struct.pack("!HHHH", 40000 + i, port, ulen, 0) + payload  # IPv4: checksum 0, none
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, i, 0x4000, 64, 17, 0, src, dst)
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        pool.append(dmac + smac + b"\x08\x00" + hdr + udp)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    send = s.send
    sent = 0
    t0 = start = time.monotonic()
    end = t0 + seconds
    while time.monotonic() < end:
        for i in range(0, 1024, 64):
            if rate > 0:
                # The next burst when it is due: no catching up after a
                # stall beyond one burst (a paced attacker, not a burst).
                wait = t0 + sent / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                elif wait < -64 / rate:
                    t0 -= wait + 64 / rate
            for fr in pool[i:i + 64]:
                try:
                    send(fr)
                    sent += 1
                except OSError:
                    pass
            if time.monotonic() >= end:
                break
    took = time.monotonic() - start
    with open(out, "w") as f:
        f.write("sent=%d seconds=%.3f\n" % (sent, took))
    return 0


def main(argv):
    if not argv:
        sys.stderr.write(__doc__)
        return 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "gen" and 1 <= len(rest) <= 3:
        return gen(rest[0], *[int(x) for x in rest[1:]])
    if cmd == "verify" and len(rest) == 2:
        return verify(*rest)
    if cmd == "handshakes" and len(rest) == 5:
        return handshakes(*rest)
    if cmd == "flood" and len(rest) in (8, 9):
        return flood(*rest)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
