#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Userspace helpers of tests/vm/suite/sendpath.sh (Python standard library
only; the crypto is tests/hostile/wgattack.py's).

  wgpeer.py padcheck --target ADDR --port PORT --pub B64 --static-priv FILE
                     --bind ADDR --lport PORT --ready FILE --want N
                     --timeout SECONDS
      A WireGuard peer of the device under test, in userspace: initiates a
      handshake to the device (Noise IK), confirms the session with a
      keepalive, creates FILE (--ready), then receives the device's data
      messages, decrypts them and checks that the padding after the inner IP
      packet is all zero. Exits 0 once N padded packets were seen and every
      padding byte so far was zero; 1 at the first packet with a non-zero
      padding byte (printed) or if fewer than N padded packets came within
      the timeout; 2 on a set-up error.

  wgpeer.py udpsend --dst ADDR --dport PORT --count N --size BYTES
                    --sndbuf BYTES --timeout SECONDS [--gso SEGMENTS]
      Sends N datagrams of BYTES from a blocking UDP socket with SO_SNDBUF
      BYTES, each send allowed at most --timeout seconds (then it fails:
      exit 1). With --gso, each send is one UDP GSO super-packet of SEGMENTS
      segments of BYTES, from a fresh socket (default send buffer); with
      --fresh 1, every datagram from a fresh socket too. With --go FILE,
      sends once FILE exists (waited for up to 120 s). Prints
      "sent=N seconds=S".

  wgpeer.py gsosize --ifname IF --size BYTES
      Sets the device's gso_max_size and gso_ipv4_max_size to BYTES in one
      RTM_NEWLINK (Debian 12's ip cannot set the second); exit 1 with the
      kernel's error and extack message if it refuses.

  wgpeer.py tcpsink --bind ADDR --port PORT --ready FILE --timeout SECONDS
      Accepts one TCP connection, reads it to the end, prints
      "bytes=N sha256=HEX".

  wgpeer.py tcpsource --dst ADDR --port PORT --bytes N --watch IF
                      [--tstamps BYTES]
      Sends N random bytes over TCP, in writes of 1 MiB; meanwhile reads
      the packets IF transmits (a packet socket sees a super-packet before
      the device segments it) and prints "bytes=N sha256=HEX
      largest=BYTES over64k=COUNT". With --tstamps, in writes of BYTES,
      each asking for a software transmit timestamp (SO_TIMESTAMPING:
      TX_SOFTWARE, OPT_ID, OPT_TSONLY; a driver makes it as it sends the
      packet with the write's last byte, skb_tx_timestamp); then also prints
      "writes=W tstamps=T", T the writes whose timestamp came back (within
      2 s of the end).

  wgpeer.py confirmlate --target ADDR --port PORT --pub B64 --static-priv FILE
                        --bind ADDR --lport PORT --send-to ADDR --send-port PORT
                        --confirm-after SECONDS --timeout SECONDS
                        [--when FILE [--ifname DEV]]
      Runs in the device's namespace. Initiates a handshake to the device;
      with the device's session still unconfirmed (the responder may not
      send on it yet), sends one datagram of 64 bytes to --send-to through
      the device, while a second thread sends the keepalive that confirms
      the session --confirm-after seconds after the response came (with
      --when: after FILE first reads 1, waited for up to 30 s). Exits 0
      if that datagram then reaches this peer, encrypted, within --timeout
      seconds of the keepalive (printed: after how long); 1 if not; 3 if it
      arrived but the keepalive went only after the datagram's send had
      returned (the interleaving was not forced). With --ifname (and
      --when, wg_delay's holding), the interleaving is forced only if the
      device DEV counted the keepalive received (its peers' rx bytes, over
      netlink) while the hold lasted.
  wgpeer.py seqsend --dst ADDR --dport PORT --first N --lens L1,L2,...
                    [--when FILE] [--comm NAME]
      Sends one datagram per length in --lens, numbered from --first: each
      holds its number (4 bytes), its length (2 bytes) and bytes derived
      from both (seqrecv checks them). Prints "sent=N". With --when, first
      waits (at most 60 s, else exit 1) until FILE reads 1 (wg_delay's
      "holding"; a FILE not there yet reads 0), and after the sends, until it no longer does, before it
      exits (an exiting process may wait for every CPU it ran on, the held
      one too, with its own CPU busy); then also prints "still=1" if FILE
      still read 1 right after the last send (else "still=0"). With
      --comm, names its task NAME first (for wg_delay's comm= filter).

  wgpeer.py queuecount --ifname IF --queues N --dport PORT --ready FILE
                      --stop FILE --timeout SECONDS
      Counts the IPv4 UDP packets to PORT that IF transmits, per transmit
      queue (N of them: a packet socket per queue in a PACKET_FANOUT_QM
      group), from when it creates --ready until --stop exists (or the
      timeout); prints "queues=C0,C1,... others=K" (K: other packets IF
      transmitted meanwhile).

  wgpeer.py seqrecv --bind ADDR --port PORT --ready FILE --idle SECONDS
                    --timeout SECONDS
      Receives seqsend's datagrams until none came for --idle seconds after
      the first (or --timeout passed), checks each one's bytes, and prints
      "received=N bad=B order=ok|broken numbers=FIRST-LAST" (order: every
      number one more than the one before).

  wgpeer.py bursts --target ADDR --port PORT --pub B64 --static-priv FILE
                   --bind ADDR --lport PORT --src ADDR --dst ADDR --dport PORT
                   --bursts B --burst K --gap SECONDS
      A WireGuard peer of the device under test (IPv4 outer), whose allowed
      IPs hold --src: initiates a handshake, then sends B bursts of K data
      messages, each burst one UDP GSO send (UDP_SEGMENT: all of one
      length), SECONDS apart. Each carries an IPv4 UDP packet from --src to
      --dst:--dport whose payload begins with a sequence number (big
      endian, counted over the genuine ones only), but for four in every
      burst (of at least 28): the 6th and the 21st are forged (a counter
      far ahead of the session's, a tag that does not authenticate), the
      10th and the 28th repeat the message before them (a replay). All
      messages are sealed before the first is sent. Prints
      "sent=N genuine=G forged=F replayed=R".
"""
import _socket as socket
import ctypes
import hashlib
import os
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hostile"))
import wgattack as w  # noqa: E402

MSG_INIT, MSG_RESP, MSG_DATA = 1, 2, 4
LABEL_MAC1 = b"mac1----"


def aead_decrypt(key, counter, ct, ad=b""):
    if len(ct) < 16:
        return None
    nonce = b"\0" * 4 + struct.pack("<Q", counter)
    body, tag = ct[:-16], ct[-16:]
    otk = w.chacha20_block(key, 0, nonce)[:32]
    pad = lambda b: b"\0" * (-len(b) % 16)
    want = w.poly1305(otk, ad + pad(ad) + body + pad(body) + struct.pack("<QQ", len(ad), len(body)))
    # A test tool: no need for a constant-time comparison.
    if want != tag:
        return None
    return w.chacha20_xor(key, 1, nonce, body)


def handshake(sock, target, port, dev_pub, s_priv):
    """Initiates and completes a handshake; returns (send key, receive key,
    our index, the device's index)."""
    sender = struct.unpack("<I", os.urandom(4))[0]
    c = w.blake2s(w.CONSTRUCTION)
    h = w.blake2s(w.blake2s(c, w.IDENTIFIER), dev_pub)
    e_priv = os.urandom(32)
    e_pub = w.x25519_pub(e_priv)
    (c,) = w.kdf(c, e_pub, 1)
    h = w.blake2s(h, e_pub)
    c, k = w.kdf(c, w.x25519(e_priv, dev_pub), 2)
    enc_static = w.aead_encrypt(k, 0, w.x25519_pub(s_priv), h)
    h = w.blake2s(h, enc_static)
    c, k = w.kdf(c, w.x25519(s_priv, dev_pub), 2)
    enc_ts = w.aead_encrypt(k, 0, w.tai64n(), h)
    h = w.blake2s(h, enc_ts)
    msg = struct.pack("<II", MSG_INIT, sender) + e_pub + enc_static + enc_ts
    msg += w.mac16(w.blake2s(LABEL_MAC1, dev_pub), msg) + b"\0" * 16
    deadline = time.monotonic() + 30
    sock.settimeout(5)
    sock.sendto(msg, (target, port))
    while True:
        if time.monotonic() > deadline:
            raise RuntimeError("no handshake response")
        try:
            r, _ = sock.recvfrom(4096)
        except socket.timeout:
            sock.sendto(msg, (target, port))
            continue
        if len(r) != 92 or r[:4] != struct.pack("<I", MSG_RESP) or struct.unpack("<I", r[8:12])[0] != sender:
            continue
        e_r = r[12:44]
        c2, h2 = c, h
        (c2,) = w.kdf(c2, e_r, 1)
        h2 = w.blake2s(h2, e_r)
        (c2,) = w.kdf(c2, w.x25519(e_priv, e_r), 1)
        (c2,) = w.kdf(c2, w.x25519(s_priv, e_r), 1)
        c2, t, k = w.kdf(c2, b"\0" * 32, 3)
        h2 = w.blake2s(h2, t)
        if w.aead_encrypt(k, 0, b"", h2) != r[44:60]:
            raise RuntimeError("handshake response does not authenticate")
        t_send, t_recv = w.kdf(c2, b"", 2)
        return t_send, t_recv, sender, struct.unpack("<I", r[4:8])[0]


def inner_len(pt):
    v = pt[0] >> 4
    if v == 4 and len(pt) >= 20:
        return struct.unpack(">H", pt[2:4])[0]
    if v == 6 and len(pt) >= 40:
        return 40 + struct.unpack(">H", pt[4:6])[0]
    return None


def session_with_device(a):
    """Binds --bind:--lport and completes a handshake with the device at
    --target:--port (--pub, --static-priv); returns the socket, the device's
    address, the send and receive keys, our index and the device's."""
    dev_pub = w.b64decode(a["pub"])
    with open(a["static-priv"]) as f:
        s_priv = w.b64decode(f.read())
    sock = socket.socket(socket.AF_INET6 if ":" in a["bind"] else socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((a["bind"], int(a["lport"])))
    t_send, t_recv, mine, theirs = handshake(sock, a["target"], int(a["port"]), dev_pub, s_priv)
    return sock, (a["target"], int(a["port"])), t_send, t_recv, mine, theirs


def keepalive(t_send, theirs):
    """The first data message of a session, empty: it confirms the session."""
    return struct.pack("<IIQ", MSG_DATA, theirs, 0) + w.aead_encrypt(t_send, 0, b"")


def data_messages(sock, t_recv, mine, deadline):
    """The device's data messages to index `mine` until `deadline`, as
    (counter, plaintext), plaintext None for one that does not authenticate."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        sock.settimeout(left)
        try:
            m, _ = sock.recvfrom(65536)
        except socket.timeout:
            return
        if len(m) < 32 or m[:4] != struct.pack("<I", MSG_DATA) or struct.unpack("<I", m[4:8])[0] != mine:
            continue
        counter = struct.unpack("<Q", m[8:16])[0]
        yield counter, aead_decrypt(t_recv, counter, m[16:])


def padcheck(a):
    sock, target, t_send, t_recv, mine, theirs = session_with_device(a)
    # A keepalive confirms the session: the device (responder) may send then.
    sock.sendto(keepalive(t_send, theirs), target)
    open(a["ready"], "w").close()
    want = int(a["want"])
    deadline = time.monotonic() + float(a["timeout"])
    packets = padded = pad_bytes = 0
    for counter, pt in data_messages(sock, t_recv, mine, deadline) if want > 0 else ():
        if pt is None:
            print("data message %d does not authenticate" % counter)
            return 1
        if not pt:
            continue  # keepalive
        n = inner_len(pt)
        if n is None or n > len(pt):
            print("data message %d: no IP packet inside: %s" % (counter, pt[:48].hex()))
            return 1
        packets += 1
        pad = pt[n:]
        if len(pt) % 16 and len(pt) < 1420:
            print("data message %d: plaintext of %d bytes is not padded to 16" % (counter, len(pt)))
            return 1
        if pad:
            padded += 1
            pad_bytes += len(pad)
        if pad.count(0) != len(pad):
            print("FAIL: data message %d (inner packet %d bytes): non-zero padding %s" % (counter, n, pad.hex()))
            return 1
        if padded >= want:
            break
    print("packets=%d padded=%d padding_bytes=%d (all zero)" % (packets, padded, pad_bytes))
    if padded < want:
        print("FAIL: only %d padded packets within %s s (wanted %d)" % (padded, a["timeout"], want))
        return 1
    return 0


def confirmlate(a):
    rx_of = None
    if "ifname" in a:
        # The device's count of bytes received from its peers (netlink),
        # with the socket opened now: nothing is started during the hold.
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "netlink"))
        import wgnl
        g = wgnl.Genl()

        def rx_of():
            return sum(int.from_bytes(bytes.fromhex(p.get(str(wgnl.P_RX), "")), "little")
                       for p in wgnl.dump(g, a["ifname"])["peers"])
    sock, target, t_send, t_recv, mine, theirs = session_with_device(a)
    responded = time.monotonic()
    confirming = keepalive(t_send, theirs)
    confirmed = []
    counted = []

    def param(name):
        try:
            with open(os.path.join(os.path.dirname(a["when"]), name)) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return 0

    def confirm():
        start = responded
        if "when" in a:
            # From when the datagram's send is being held (wg_delay's
            # holding reads 1), whenever that is: not a guess at how long
            # the steps before it take on a slow guest. (Not if a hold
            # began and ended unseen.)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not param("holding") and not param("held"):
                time.sleep(0.01)
            start = time.monotonic()
        rx0 = rx_of() if rx_of else None
        time.sleep(max(0.0, start + float(a["confirm-after"]) - time.monotonic()))
        sock.sendto(confirming, target)
        confirmed.append(time.monotonic())
        # Whether the device took the keepalive while the hold lasted: its
        # count of bytes received moved, and the hold was on still after.
        while rx_of and param("holding"):
            if rx_of() > rx0:
                if param("holding"):
                    counted.append(time.monotonic())
                break
            time.sleep(0.005)

    th = threading.Thread(target=confirm)
    th.start()
    app = socket.socket(socket.AF_INET6 if ":" in a["send-to"] else socket.AF_INET, socket.SOCK_DGRAM)
    app.sendto(b"\xa5" * 64, (a["send-to"], int(a["send-port"])))
    sent = time.monotonic()
    th.join()
    print("datagram sent %.3f s after the response (when its send returned); keepalive at %.3f s%s"
          % (sent - responded, confirmed[0] - responded,
             "" if not rx_of else ", taken by the device at %.3f s" % (counted[0] - responded) if counted
             else ", not taken by the device while the hold lasted"))
    # The keepalive must have been taken while the datagram's send was
    # still in the kernel (held there), or the interleaving was not forced.
    # (Without --ifname: sent before that send returned.)
    forced = bool(counted) if rx_of else confirmed[0] < sent
    deadline = confirmed[0] + float(a["timeout"])
    for counter, pt in data_messages(sock, t_recv, mine, deadline):
        if pt is None:
            print("data message %d does not authenticate" % counter)
            return 1
        n = inner_len(pt) if pt else None
        if n is not None and n >= 28 + 64 and pt[n - 64:n] == b"\xa5" * 64:
            print("the datagram arrived %.3f s after the keepalive" % (time.monotonic() - confirmed[0]))
            if not forced:
                print("not forced: the device did not take the keepalive while the hold lasted"
                      if rx_of else "not forced: the keepalive went after the datagram's send returned")
                return 3
            return 0
    print("FAIL: the datagram did not arrive within %s s of the keepalive" % a["timeout"])
    return 1


SOL_UDP, UDP_SEGMENT = 17, 103


def udpsend(a):
    count, size, timeout = int(a["count"]), int(a["size"]), float(a["timeout"])
    gso = int(a.get("gso", "0"))
    fresh = a.get("fresh", "0") == "1"
    dst = (a["dst"], int(a["dport"]))
    fam = socket.AF_INET6 if ":" in a["dst"] else socket.AF_INET
    if "go" in a:
        # Started early (a Python start costs seconds on a slow guest);
        # sends once the file exists.
        end = time.monotonic() + 120
        while not os.path.exists(a["go"]):
            if time.monotonic() > end:
                print("FAIL: %s did not appear within 120 s" % a["go"])
                return 1
            time.sleep(0.005)
    t0 = time.monotonic()
    s = None
    for i in range(count):
        if gso or fresh or s is None:
            if s is not None:
                s.close()
            s = socket.socket(fam, socket.SOCK_DGRAM)
            if gso:
                s.setsockopt(SOL_UDP, UDP_SEGMENT, size)
            else:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, int(a["sndbuf"]))
            s.settimeout(timeout)
        t = time.monotonic()
        try:
            s.sendto(b"\xa5" * (size * gso if gso else size), dst)
        except socket.timeout:
            print("FAIL: send %d blocked for more than %s s (sent=%d)" % (i, timeout, i))
            return 1
        except OSError as e:
            print("FAIL: send %d: %s" % (i, e))
            return 1
        if time.monotonic() - t > timeout:
            print("FAIL: send %d took %.1f s" % (i, time.monotonic() - t))
            return 1
    print("sent=%d seconds=%.1f" % (count, time.monotonic() - t0))
    return 0


def ipv4_udp(src, dst, dport, payload):
    """An IPv4 UDP packet (header checksum set, UDP checksum none)."""
    total = 28 + len(payload)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0, 64, 17, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    s = sum(struct.unpack("!10H", hdr))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    hdr = hdr[:10] + struct.pack("!H", ~s & 0xFFFF) + hdr[12:]
    return hdr + struct.pack("!HHHH", 40000, int(dport), 8 + len(payload), 0) + payload


def bursts(a):
    sock, target, t_send, _, _, theirs = session_with_device(a)
    n_bursts, k = int(a["bursts"]), int(a["burst"])
    forge, replay = (5, 20), (9, 27)
    if k <= max(replay):
        raise RuntimeError("a burst needs more than %d messages" % max(replay))
    counter = seq = 0
    sends = []
    for _ in range(n_bursts):
        msgs = []
        for i in range(k):
            if i in forge:
                sealed = w.aead_encrypt(t_send, counter + (1 << 40), b"\0" * 48)
                msgs.append(struct.pack("<IIQ", MSG_DATA, theirs, counter + (1 << 40))
                            + sealed[:-1] + bytes([sealed[-1] ^ 1]))
            elif i in replay:
                msgs.append(msgs[-1])
            else:
                pt = ipv4_udp(a["src"], a["dst"], a["dport"], struct.pack("!I", seq) + b"\x5a" * 16)
                msgs.append(struct.pack("<IIQ", MSG_DATA, theirs, counter) + w.aead_encrypt(t_send, counter, pt))
                counter += 1
                seq += 1
        if len(set(map(len, msgs))) != 1:
            raise RuntimeError("messages of a burst differ in length")
        sends.append(b"".join(msgs))
    segment = struct.pack("=H", len(msgs[0]))
    for burst in sends:
        sock.sendmsg([burst], [(SOL_UDP, UDP_SEGMENT, segment)], 0, target)
        time.sleep(float(a["gap"]))
    print("sent=%d genuine=%d forged=%d replayed=%d"
          % (n_bursts * k, seq, n_bursts * len(forge), n_bursts * len(replay)))
    return 0


NETLINK_ROUTE, RTM_NEWLINK, NLM_F_REQUEST, NLM_F_ACK, NLMSG_ERROR = 0, 16, 1, 4, 2
IFLA_IFNAME, IFLA_GSO_MAX_SIZE, IFLA_GSO_IPV4_MAX_SIZE, NLMSGERR_ATTR_MSG = 3, 41, 63, 1
NETLINK_CAP_ACK, NETLINK_EXT_ACK, SOL_NETLINK = 10, 11, 270


def nlattr(kind, payload):
    a = struct.pack("=HH", 4 + len(payload), kind) + payload
    return a + b"\0" * (-len(a) % 4)


def gsosize(a):
    size = int(a["size"])
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    s.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)  # the request is not echoed
    body = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0)
    body += nlattr(IFLA_IFNAME, a["ifname"].encode() + b"\0")
    body += nlattr(IFLA_GSO_MAX_SIZE, struct.pack("=I", size))
    body += nlattr(IFLA_GSO_IPV4_MAX_SIZE, struct.pack("=I", size))
    s.send(struct.pack("=IHHII", 16 + len(body), RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1, 0) + body)
    r = s.recv(65536)
    mlen, mtype = struct.unpack_from("=IH", r)
    if mtype != NLMSG_ERROR:
        print("FAIL: unexpected netlink reply type %d" % mtype)
        return 1
    err = struct.unpack_from("=i", r, 16)[0]
    if err == 0:
        print("%s: gso_max_size and gso_ipv4_max_size %d" % (a["ifname"], size))
        return 0
    msg = ""
    off = 16 + 4 + 16  # header, error, the request's header (NETLINK_CAP_ACK)
    while off + 4 <= mlen:
        alen, kind = struct.unpack_from("=HH", r, off)
        if alen < 4:
            break
        if kind == NLMSGERR_ATTR_MSG:
            msg = r[off + 4:off + alen].rstrip(b"\0").decode(errors="replace")
        off += (alen + 3) & ~3
    print("FAIL: %s refused gso size %d: %s (%s)" % (a["ifname"], size, os.strerror(-err), msg))
    return 1


def tcpsink(a):
    fam = socket.AF_INET6 if ":" in a["bind"] else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a["bind"], int(a["port"])))
    ls.listen(1)
    ls.settimeout(float(a["timeout"]))
    open(a["ready"], "w").close()
    fd, _ = ls._accept()
    c = socket.socket(fam, socket.SOCK_STREAM, 0, fd)
    c.settimeout(float(a["timeout"]))
    h, n = hashlib.sha256(), 0
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        h.update(d)
        n += len(d)
    print("bytes=%d sha256=%s" % (n, h.hexdigest()))
    return 0


ETH_P_ALL, PACKET_OUTGOING, SO_RCVBUFFORCE = 3, 4, 33


def packet_socket(ifname):
    """A non-blocking packet socket on IF that sees every packet, with room
    for a burst of them."""
    w = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    w.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
    w.bind((ifname, ETH_P_ALL))
    w.setblocking(False)
    return w


def tcpsource(a):
    total = int(a["bytes"])
    w = packet_socket(a["watch"])
    buf = bytearray(64)
    largest, over = 0, 0

    def drain():
        nonlocal largest, over
        while True:
            try:
                n, addr = w.recvfrom_into(buf, len(buf), socket.MSG_TRUNC)
            except BlockingIOError:
                return
            if addr[2] == PACKET_OUTGOING:
                largest = max(largest, n)
                over += n > 65536

    fam = socket.AF_INET6 if ":" in a["dst"] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect((a["dst"], int(a["port"])))
    step = int(a.get("tstamps", 0)) or 1 << 20
    if "tstamps" in a:
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPING,
                     SOF_TX_SOFTWARE | SOF_SOFTWARE | SOF_OPT_ID | SOF_OPT_TSONLY)
    h, sent, writes, keys = hashlib.sha256(), 0, 0, set()
    while sent < total:
        chunk = os.urandom(min(step, total - sent))
        s.sendall(chunk)
        h.update(chunk)
        sent += len(chunk)
        writes += 1
        drain()
        tstamp_keys(s, keys)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)  # the sink closes once it has read everything
    drain()
    print("bytes=%d sha256=%s largest=%d over64k=%d" % (sent, h.hexdigest(), largest, over))
    if "tstamps" in a:
        end = time.monotonic() + 2
        while len(keys) < writes and time.monotonic() < end:
            tstamp_keys(s, keys)
            time.sleep(0.05)
        print("writes=%d tstamps=%d" % (writes, len(keys)))
    return 0


SO_TIMESTAMPING, SOF_TX_SOFTWARE, SOF_SOFTWARE, SOF_OPT_ID, SOF_OPT_TSONLY = 37, 2, 16, 128, 2048
RECVERR = {(socket.IPPROTO_IP, 11), (socket.IPPROTO_IPV6, 25)}  # IP_RECVERR, IPV6_RECVERR


def tstamp_keys(s, keys):
    """Adds to KEYS the ids (OPT_ID: the byte the write ended at) of the
    transmit timestamps waiting on S's error queue. Non-blocking for the
    read: with a timeout, Python waits for S to be readable first, which an
    error queue does not make it."""
    timeout = s.gettimeout()
    s.settimeout(0.0)
    try:
        while True:
            try:
                _, anc, _, _ = s.recvmsg(1, 512, socket.MSG_ERRQUEUE)
            except (BlockingIOError, InterruptedError):
                return
            for level, kind, data in anc:
                if (level, kind) in RECVERR and len(data) >= 16:
                    keys.add(struct.unpack_from("=IBBBBII", data)[6])
    finally:
        s.settimeout(timeout)



def seq_payload(n, length):
    head = struct.pack(">IH", n, length)
    return head + bytes((n * 7 + i) & 0xFF for i in range(max(length - len(head), 0)))


SOL_PACKET, PACKET_FANOUT, PACKET_FANOUT_QM = 263, 18, 5


def queuecount(a):
    port, queues = int(a["dport"]), int(a["queues"])
    # One packet socket per transmit queue, in a fanout group that hands each
    # packet to the member its queue (skb->queue_mapping) names; members are
    # numbered in the order they joined.
    socks = []
    for _ in range(queues):
        w = packet_socket(a["ifname"])
        w.setsockopt(SOL_PACKET, PACKET_FANOUT, PACKET_FANOUT_QM << 16 | os.getpid() & 0xffff)
        socks.append(w)
    open(a["ready"], "w").close()
    counts, others = [0] * queues, 0
    buf = bytearray(64)
    deadline = time.monotonic() + float(a["timeout"])
    while True:
        stop = os.path.exists(a["stop"]) or time.monotonic() > deadline
        for i, w in enumerate(socks):
            while True:
                try:
                    n, addr = w.recvfrom_into(buf, len(buf), socket.MSG_TRUNC)
                except BlockingIOError:
                    break
                if addr[2] != PACKET_OUTGOING:
                    continue
                # Ethernet, then IPv4 carrying UDP to the port.
                ihl, end = (buf[14] & 15) * 4, min(n, len(buf))
                if (end >= 14 + ihl + 8 and buf[12:14] == b"\x08\x00" and buf[23] == 17
                        and struct.unpack_from(">H", buf, 14 + ihl + 2)[0] == port):
                    counts[i] += 1
                else:
                    others += 1
        if stop:
            break
        time.sleep(0.01)
    print("queues=%s others=%d" % (",".join(map(str, counts)), others))
    return 0


def seqsend(a):
    dst = (a["dst"], int(a["dport"]))
    fam = socket.AF_INET6 if ":" in a["dst"] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    n = int(a["first"])
    lens = [int(x) for x in a["lens"].split(",")]
    if "comm" in a:
        # The task's name (PR_SET_NAME), for wg_delay's comm= filter.
        if ctypes.CDLL(None, use_errno=True).prctl(15, a["comm"].encode(), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NAME)")

    def held():
        try:
            with open(a["when"]) as f:
                return f.read().strip() == "1"
        except FileNotFoundError:
            return False

    def wait_until(want):
        deadline = time.monotonic() + 60
        while held() != want:
            if time.monotonic() > deadline:
                print("FAIL: %s did not read %s within 60 s" % (a["when"], "1" if want else "0"))
                return False
            time.sleep(0.01)
        return True

    if "when" in a and not wait_until(True):
        return 1
    for length in lens:
        s.sendto(seq_payload(n, length), dst)
        n += 1
    if "when" in a:
        still = held()
        if not wait_until(False):
            return 1
        print("still=%d" % still)
    print("sent=%d" % len(lens))
    return 0


def seqrecv(a):
    fam = socket.AF_INET6 if ":" in a["bind"] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((a["bind"], int(a["port"])))
    open(a["ready"], "w").close()
    idle, deadline = float(a["idle"]), time.monotonic() + float(a["timeout"])
    got, bad = [], 0
    while time.monotonic() < deadline:
        s.settimeout(idle if got else max(deadline - time.monotonic(), 0.01))
        try:
            data = s.recv(65536)
        except socket.timeout:
            if got:
                break
            continue
        if len(data) < 6:
            bad += 1
            continue
        n, length = struct.unpack(">IH", data[:6])
        if len(data) != length or data != seq_payload(n, length):
            bad += 1
        got.append(n)
    order = all(b == a_ + 1 for a_, b in zip(got, got[1:]))
    print("received=%d bad=%d order=%s numbers=%s" % (
        len(got), bad, "ok" if order else "broken",
        "%d-%d" % (got[0], got[-1]) if got else "none"))
    if not order:
        print("as received: %s" % " ".join(map(str, got)))
    return 0

COMMANDS = {"padcheck": padcheck, "udpsend": udpsend, "gsosize": gsosize, "tcpsink": tcpsink,
            "tcpsource": tcpsource, "confirmlate": confirmlate, "bursts": bursts,
            "seqsend": seqsend, "seqrecv": seqrecv, "queuecount": queuecount}


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
