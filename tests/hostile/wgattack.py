#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A hostile third party for a WireGuard device (Python standard library only).

Run inside a network namespace next to the device under test (tests/vm/suite/
hostile.sh). It throws packets at the device's UDP port from three kinds of
source, and watches for any answer:

  * "sock": ordinary UDP sockets bound to each address given with --source
    (an ephemeral port each), which also listen for replies;
  * "spoof": Ethernet frames written with an AF_PACKET socket on --ifname,
    whose IP source is --spoof ADDR:PORT (the real peer's endpoint), so that
    the device sees the packets as coming from its peer.

A sniffer (AF_PACKET on --ifname, incoming frames only) runs from before the
first packet until --listen seconds after the last one: any IP packet from the
target's addresses (--target-addr) other than ICMPv6 neighbour discovery or
multicast listener traffic counts as a reply, and so does any datagram on the
"sock" sockets. The device must stay silent: exit status 1 if anything was
heard, 0 otherwise, 2 on a usage or set-up error.

  wgattack.py selftest
      known-answer tests of the crypto below (RFC 7748, RFC 8439, BLAKE2s)
  wgattack.py capture --ifname IF --port PORT --out FILE --ready FILE
      records the UDP datagrams to PORT arriving on IF, one a line, until SIGTERM
  wgattack.py capinfo FILE
      "type N: COUNT" per WireGuard message type of a capture
  wgattack.py attack --class CLASS [common options]
      garbage          random bytes of every length 0..2000
      malformed        types 1-4 with the right type byte but wrong lengths,
                       and the right lengths with non-zero reserved bytes
      bad-mac1         handshake messages of the right size, random (bad mac1)
      unknown-key      genuine-looking initiations (valid mac1) from a static
                       key the device does not know
      replay-handshake the captured handshake messages (types 1, 2) resent
      unknown-index    data messages whose receiver index the device never gave
      bad-ciphertext   data messages with a receiver index of the device's
                       live sessions but ciphertext under no key it holds, or
                       genuine ones with a changed counter or a flipped bit;
                       cookie replies with a live index and garbage
      replay-data      the captured data messages resent (twice each)
  wgattack.py flood-pcap --src-mac MAC --dst-mac MAC --target ADDR --port PORT
              --pub B64 --out FILE
      writes a flood of initiations with a valid mac1 from 1,024 spoofed
      sources in 10.200.0.0/16 as a pcap file, for a fast sender
      (tcpreplay --topspeed --loop=0 --preload-pcap: under emulation this
      Python process sent about 800 a second, which never held a device
      under load)
  wgattack.py cookie-flood --ifname IF --src-mac MAC --dst-mac MAC --target ADDR
              --port PORT --pub B64 --holders N --seconds S [--ready FILE]
              [--stop FILE] [--summary FILE] [--min-cookies N]
      the cookie holders of the handshake path under attack (IPv4), until
      --seconds pass or the file --stop appears, while another process
      sends the flood of flood-pcap (initiations with a valid mac1 from
      1,024 spoofed sources in 10.200.0.0/16), which keeps the device under
      load: N "cookie holders" in 10.201.0.0/16
      (the device must route that prefix back to IF: the holders never own
      their addresses, a sniffer on IF reads their cookie replies): each
      sends a handshake response with a valid mac1, reads the cookie the
      device answers with, and from then on sends responses with a valid
      mac2 too, which pass the MAC checks and reach the per-source rate
      limiter (and hold an entry there) but then cost the device no
      Diffie-Hellman (their receiver index is unknown). Writes --ready once
      --min-cookies holders (default N) have their cookie and have each sent
      a message with it; --summary gets the counters.
  wgattack.py control [common options] --static-priv FILE
      the positive control: a valid initiation from a static key that the
      device DOES know; exit 0 only if the device's response came back both
      to a socket and past the sniffer (so silence elsewhere means something)

Common options: --target ADDR --port PORT --target-addr ADDR... --source
ADDR... --spoof ADDR:PORT --ifname IF --src-mac MAC --dst-mac MAC --pub B64
(the device's public key) --capture FILE --seed N --listen SECONDS
--summary FILE (gets the number of datagrams sent).

Under emulation every imported module costs, so this imports only C modules
and os (no argparse, json, ipaddress, hashlib, hmac, random, enum...): the
suite runs it often. Run it as a module with PYTHONPYCACHEPREFIX set (see
tests/vm/suite/hostile.sh) and its own compilation is cached too.
"""
import _signal
import _socket as socket
import binascii
import os
import select
import struct
import sys
import time
from _blake2 import blake2s as _blake2s

# ---------------------------------------------------------------- crypto ----
# Only what a genuine-looking handshake initiation needs: X25519 (RFC 7748),
# ChaCha20-Poly1305 (RFC 8439), BLAKE2s and HMAC-BLAKE2s.
P25519 = 2**255 - 19


def x25519(k, u):
    k = bytearray(k)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    k = int.from_bytes(k, "little")
    x1 = int.from_bytes(u, "little") & ((1 << 255) - 1)
    x2, z2, x3, z3, swap = 1, 0, x1, 1, 0
    p = P25519
    for t in reversed(range(255)):
        kt = (k >> t) & 1
        swap ^= kt
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = kt
        a = (x2 + z2) % p
        aa = a * a % p
        b = (x2 - z2) % p
        bb = b * b % p
        e = (aa - bb) % p
        c = (x3 + z3) % p
        d = (x3 - z3) % p
        da = d * a % p
        cb = c * b % p
        x3 = (da + cb) ** 2 % p
        z3 = x1 * (da - cb) ** 2 % p
        x2 = aa * bb % p
        z2 = e * (aa + 121665 * e) % p
    if swap:
        x2, x3, z2, z3 = x3, x2, z3, z2
    return (x2 * pow(z2, p - 2, p) % p).to_bytes(32, "little")


def x25519_pub(priv):
    return x25519(priv, (9).to_bytes(32, "little"))


M32 = 0xFFFFFFFF


def _rotl(v, c):
    return ((v << c) & M32) | (v >> (32 - c))


def _qr(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & M32
    s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & M32
    s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & M32
    s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & M32
    s[b] = _rotl(s[b] ^ s[c], 7)


def chacha20_block(key, counter, nonce):
    s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    s += list(struct.unpack("<8I", key)) + [counter] + list(struct.unpack("<3I", nonce))
    w = s[:]
    for _ in range(10):
        _qr(w, 0, 4, 8, 12)
        _qr(w, 1, 5, 9, 13)
        _qr(w, 2, 6, 10, 14)
        _qr(w, 3, 7, 11, 15)
        _qr(w, 0, 5, 10, 15)
        _qr(w, 1, 6, 11, 12)
        _qr(w, 2, 7, 8, 13)
        _qr(w, 3, 4, 9, 14)
    return struct.pack("<16I", *[(a + b) & M32 for a, b in zip(w, s)])


def chacha20_xor(key, counter, nonce, data):
    out = bytearray()
    for i in range(0, len(data), 64):
        ks = chacha20_block(key, counter + i // 64, nonce)
        out += bytes(x ^ y for x, y in zip(data[i:i + 64], ks))
    return bytes(out)


def poly1305(key, msg):
    r = int.from_bytes(key[:16], "little") & 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
    s = int.from_bytes(key[16:32], "little")
    acc, p = 0, (1 << 130) - 5
    for i in range(0, len(msg), 16):
        acc = (acc + int.from_bytes(msg[i:i + 16] + b"\x01", "little")) * r % p
    return ((acc + s) & ((1 << 128) - 1)).to_bytes(16, "little")


def aead_encrypt_nonce(key, nonce, plaintext, ad):
    otk = chacha20_block(key, 0, nonce)[:32]
    ct = chacha20_xor(key, 1, nonce, plaintext)
    pad = lambda b: b"\0" * (-len(b) % 16)
    return ct + poly1305(otk, ad + pad(ad) + ct + pad(ct) + struct.pack("<QQ", len(ad), len(ct)))


def aead_encrypt(key, counter, plaintext, ad=b""):
    """WireGuard's AEAD: ChaCha20-Poly1305, nonce = 32 zero bits || counter (LE64)."""
    return aead_encrypt_nonce(key, b"\0" * 4 + struct.pack("<Q", counter), plaintext, ad)


def blake2s(*parts):
    return _blake2s(b"".join(parts)).digest()


def hmac_blake2s(key, msg):
    """HMAC (RFC 2104) over BLAKE2s-256, block size 64, as WireGuard's KDF."""
    assert len(key) <= 64
    k = key + b"\0" * (64 - len(key))
    inner = _blake2s(bytes(x ^ 0x36 for x in k) + msg).digest()
    return _blake2s(bytes(x ^ 0x5C for x in k) + inner).digest()


def kdf(chain, inp, n):
    t0 = hmac_blake2s(chain, inp)
    out, prev = [], b""
    for i in range(1, n + 1):
        prev = hmac_blake2s(t0, prev + bytes([i]))
        out.append(prev)
    return out


def mac16(key, msg):
    return _blake2s(msg, digest_size=16, key=key).digest()


class Rng:
    """SplitMix64: a reproducible stream from --seed, without `random`."""

    def __init__(self, seed):
        self.s = seed & (2**64 - 1)

    def u64(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & (2**64 - 1)
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & (2**64 - 1)
        return z ^ (z >> 31)

    def getrandbits(self, n):
        return self.u64() >> (64 - n)

    def randrange(self, a, b=None):
        lo, hi = (0, a) if b is None else (a, b)
        return lo + self.u64() % (hi - lo)

    def choice(self, seq):
        return seq[self.randrange(len(seq))]

    def randbytes(self, n):
        words = struct.pack("<%dQ" % ((n + 7) // 8), *[self.u64() for _ in range((n + 7) // 8)])
        return words[:n]


random = Rng(int.from_bytes(os.urandom(8), "little"))


def b64decode(s):
    return binascii.a2b_base64(s.strip() if isinstance(s, str) else s.strip())


def canon(addr):
    """The canonical text of an IPv4 or IPv6 address."""
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    return socket.inet_ntop(fam, socket.inet_pton(fam, addr))


def addr_family(addr):
    return 6 if ":" in addr else 4


CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"
LABEL_MAC1 = b"mac1----"
MSG_INIT, MSG_RESP, MSG_COOKIE, MSG_DATA = 1, 2, 3, 4
LEN_INIT, LEN_RESP, LEN_COOKIE, LEN_DATA_MIN = 148, 92, 64, 32
REJECT_AFTER_MESSAGES = 2**64 - 2**13 - 1


def tai64n():
    t = time.time_ns()
    return struct.pack(">QI", 0x400000000000000A + t // 10**9, t % 10**9)


def initiation(responder_pub, static_priv, sender_index):
    """A handshake initiation exactly as a WireGuard peer builds it (Noise IK,
    psk2 unused at this stage), with a valid mac1 and an all-zero mac2."""
    c = blake2s(CONSTRUCTION)
    h = blake2s(c, IDENTIFIER)
    h = blake2s(h, responder_pub)
    e_priv = os.urandom(32)
    e_pub = x25519_pub(e_priv)
    (c,) = kdf(c, e_pub, 1)
    h = blake2s(h, e_pub)
    c, k = kdf(c, x25519(e_priv, responder_pub), 2)
    enc_static = aead_encrypt(k, 0, x25519_pub(static_priv), h)
    h = blake2s(h, enc_static)
    c, k = kdf(c, x25519(static_priv, responder_pub), 2)
    enc_ts = aead_encrypt(k, 0, tai64n(), h)
    msg = struct.pack("<II", MSG_INIT, sender_index) + e_pub + enc_static + enc_ts
    msg += mac16(blake2s(LABEL_MAC1, responder_pub), msg)
    return msg + b"\0" * 16


def hchacha20(key, nonce16):
    s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    s += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))
    for _ in range(10):
        _qr(s, 0, 4, 8, 12)
        _qr(s, 1, 5, 9, 13)
        _qr(s, 2, 6, 10, 14)
        _qr(s, 3, 7, 11, 15)
        _qr(s, 0, 5, 10, 15)
        _qr(s, 1, 6, 11, 12)
        _qr(s, 2, 7, 8, 13)
        _qr(s, 3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def xchacha_open(key, nonce24, sealed, ad):
    """XChaCha20-Poly1305 decryption (draft-irtf-cfrg-xchacha); None if the
    tag is wrong."""
    sub = hchacha20(key, nonce24[:16])
    nonce = b"\0" * 4 + nonce24[16:]
    ct, tag = sealed[:-16], sealed[-16:]
    otk = chacha20_block(sub, 0, nonce)[:32]
    pad = lambda b: b"\0" * (-len(b) % 16)
    if poly1305(otk, ad + pad(ad) + ct + pad(ct) + struct.pack("<QQ", len(ad), len(ct))) != tag:
        return None
    return chacha20_xor(sub, 1, nonce, ct)


def selftest():
    # RFC 7748 section 5.2, first X25519 vector, and section 6.1 (Alice).
    k = bytes.fromhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4")
    u = bytes.fromhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")
    assert x25519(k, u).hex() == "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"
    a = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    assert x25519_pub(a).hex() == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    # RFC 8439 section 2.8.2.
    key = bytes(range(0x80, 0xA0))
    nonce = bytes.fromhex("070000004041424344454647")
    ad = bytes.fromhex("50515253c0c1c2c3c4c5c6c7")
    pt = (b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip "
          b"for the future, sunscreen would be it.")
    out = aead_encrypt_nonce(key, nonce, pt, ad)
    assert out[-16:].hex() == "1ae10b594f09e26a7e902ecbd0600691", out[-16:].hex()
    assert out[:16].hex() == "d31a8d34648e60db7b86afbc53ef7ec2"
    # BLAKE2s-256 of "abc" (RFC 7693 appendix B); HMAC-BLAKE2s and keyed
    # BLAKE2s-128 against Python's hmac and hashlib modules (values computed
    # with them, once).
    assert blake2s(b"abc").hex() == "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982"
    assert hmac_blake2s(b"k" * 32, b"WireGuard").hex() == \
        "7c83d1beb6d3b5041c2224bd03d1a5b06e3a3e6d4d6d4499ecf1ed70115d0aaf"
    assert hmac_blake2s(bytes(range(32)), b"").hex() == \
        "e2641d24dfa8dd89e8cb77f1cdc77d8c006e5bebdfc4d6a3a3a6f8d5b7586fb0"
    assert mac16(b"K" * 32, b"abc").hex() == "88ddaafea2baf1006d779995fd9b6b1d"
    # draft-irtf-cfrg-xchacha-03 section 2.2.1 (HChaCha20) and A.3.1
    # (XChaCha20-Poly1305, the tag and the first bytes).
    hk = bytes(range(32))
    hn = bytes.fromhex("000000090000004a0000000031415927")
    assert hchacha20(hk, hn).hex() == "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc"
    xk = bytes(range(0x80, 0xA0))
    xn = bytes(range(0x40, 0x58))
    xsealed = bytes.fromhex("bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
                            "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
                            "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
                            "21f9664c97637da9768812f615c68b13b52e"
                            "c0875924c1c7987947deafd8780acf49")
    xpt = xchacha_open(xk, xn, xsealed, ad)
    assert xpt == pt, xpt
    assert xchacha_open(xk, xn, xsealed[:-1] + b"\0", ad) is None
    print("selftest: pass")


# -------------------------------------------------------------- packets -----
ETH_P_ALL, ETH_P_IP, ETH_P_IPV6 = 0x0003, 0x0800, 0x86DD
SOL_PACKET = 263
PACKET_OUTGOING = 4
PACKET_IGNORE_OUTGOING = 23
SO_RCVBUFFORCE = 33


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp_frame(src_mac, dst_mac, src, sport, dst, dport, payload, ident=0):
    """An Ethernet frame carrying one UDP datagram, checksums computed (the
    device must see it as a well-formed datagram: a bad checksum would be
    dropped by the stack before the device and test nothing)."""
    v = addr_family(src)
    assert addr_family(dst) == v, (src, dst)
    fam = socket.AF_INET if v == 4 else socket.AF_INET6
    s, d = socket.inet_pton(fam, src), socket.inet_pton(fam, dst)
    ulen = 8 + len(payload)
    if v == 4:
        pseudo = s + d + struct.pack("!BBH", 0, 17, ulen)
    else:
        pseudo = s + d + struct.pack("!IxxxB", ulen, 17)
    ck = csum(pseudo + struct.pack("!HHHH", sport, dport, ulen, 0) + payload) or 0xFFFF
    udp = struct.pack("!HHHH", sport, dport, ulen, ck) + payload
    if v == 4:
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + ulen, ident & 0xFFFF, 0x4000, 64, 17, 0, s, d)
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        return dst_mac + src_mac + struct.pack("!H", ETH_P_IP) + hdr + udp
    hdr = struct.pack("!IHBB16s16s", 6 << 28, ulen, 17, 64, s, d)
    return dst_mac + src_mac + struct.pack("!H", ETH_P_IPV6) + hdr + udp


def parse_frame(frame):
    """(version, src, dst, proto, l4 bytes) of an IPv4/IPv6 frame, or None.
    proto is None for a non-first IPv4 fragment."""
    if len(frame) < 14:
        return None
    et = struct.unpack("!H", frame[12:14])[0]
    ip = frame[14:]
    if et == ETH_P_IP and len(ip) >= 20:
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack("!H", ip[2:4])[0]
        frag = struct.unpack("!H", ip[6:8])[0] & 0x1FFF
        src, dst = socket.inet_ntop(socket.AF_INET, ip[12:16]), socket.inet_ntop(socket.AF_INET, ip[16:20])
        return 4, src, dst, (None if frag else ip[9]), ip[ihl:tot]
    if et == ETH_P_IPV6 and len(ip) >= 40:
        plen = struct.unpack("!H", ip[4:6])[0]
        src, dst = socket.inet_ntop(socket.AF_INET6, ip[8:24]), socket.inet_ntop(socket.AF_INET6, ip[24:40])
        return 6, src, dst, ip[6], ip[40:40 + plen]
    return None


def parse_udp(frame):
    p = parse_frame(frame)
    if not p or p[3] != 17 or len(p[4]) < 8:
        return None
    v, src, dst, _, l4 = p
    sport, dport, ulen = struct.unpack("!HHH", l4[:6])
    return v, src, sport, dst, dport, l4[8:ulen]


def packet_socket(ifname, ignore_outgoing=True):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    if ignore_outgoing:
        s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((ifname, 0))
    return s


def capture(args):
    s = packet_socket(args.ifname)
    stop = []
    _signal.signal(_signal.SIGTERM, lambda *_: stop.append(1))
    _signal.signal(_signal.SIGINT, lambda *_: stop.append(1))
    with open(args.out, "w") as out:
        open(args.ready, "w").close()
        while not stop:
            try:
                r, _, _ = select.select([s], [], [], 0.2)
            except InterruptedError:
                continue
            if not r:
                continue
            frame = s.recv(65535)
            u = parse_udp(frame)
            if u and u[4] == args.port:
                # One datagram a line: version, source, port, destination,
                # port, payload in hex.
                out.write("%d %s %d %s %d %s\n" % (u[:5] + (u[5].hex(),)))
                out.flush()


def load_capture(path):
    pkts = []
    with open(path) as f:
        for line in f:
            if line.strip():
                v, src, sport, dst, dport, payload = line.split()
                pkts.append({"v": int(v), "src": src, "sport": int(sport), "dst": dst,
                             "dport": int(dport), "payload": bytes.fromhex(payload)})
    return pkts


def msg_type(payload):
    if len(payload) < 4 or payload[1:4] != b"\0\0\0":
        return None
    return payload[0]


def capinfo(args):
    counts = {}
    for p in load_capture(args.capinfo_file):
        t = msg_type(p["payload"])
        counts[t] = counts.get(t, 0) + 1
    for t in sorted(counts, key=str):
        print("type %s: %d" % (t, counts[t]))


# ---------------------------------------------------------------- attack ----
class Attacker:
    """Sends from every source, sniffs for replies throughout."""

    def __init__(self, args):
        self.args = args
        self.targets = set(canon(a) for a in args.target_addr)
        self.target = canon(args.target)
        self.version = addr_family(self.target)
        fam = socket.AF_INET if self.version == 4 else socket.AF_INET6
        self.socks = []
        for a in args.source:
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.bind((a, 0))
            self.socks.append(s)
        self.sniffer = packet_socket(args.ifname)
        self.inject = None
        if args.spoof:
            host, _, port = args.spoof.rpartition(":")
            self.spoof = (canon(host.strip("[]")), int(port))
            self.inject = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            self.inject.bind((args.ifname, 0))
            self.src_mac = bytes.fromhex(args.src_mac.replace(":", ""))
            self.dst_mac = bytes.fromhex(args.dst_mac.replace(":", ""))
        self.mtu_payload = 1500 - (20 if self.version == 4 else 40) - 8
        self.sent = 0
        self.replies = []
        self.ident = random.randrange(65536)

    def poll(self, timeout=0.0):
        while True:
            r, _, _ = select.select([self.sniffer] + self.socks, [], [], timeout)
            if not r:
                return
            for s in r:
                if s is self.sniffer:
                    self.sniffed(s.recv(65535))
                else:
                    data, addr = s.recvfrom(65535)
                    self.replies.append("datagram to %s from %s: %s" % (s.getsockname()[:2], addr[:2], data[:48].hex()))
            timeout = 0.0

    def sniffed(self, frame):
        p = parse_frame(frame)
        if not p or p[1] not in self.targets:
            return
        v, src, dst, proto, l4 = p
        if v == 6 and proto == 58 and l4 and l4[0] in (130, 131, 132, 133, 134, 135, 136, 137, 143):
            return  # neighbour discovery, multicast listener
        self.replies.append("frame from %s to %s, protocol %s: %s" % (src, dst, proto, l4[:48].hex()))

    def send_sock(self, payload):
        for s in self.socks:
            s.sendto(payload, (self.target, self.args.port))
            self.sent += 1

    def send_spoof(self, payload, spoof=None):
        if not self.inject or len(payload) > self.mtu_payload:
            return
        src, sport = spoof or self.spoof
        self.ident += 1
        self.inject.send(udp_frame(self.src_mac, self.dst_mac, src, sport, self.target, self.args.port,
                                   payload, self.ident))
        self.sent += 1

    def send(self, payload):
        self.send_sock(payload)
        self.send_spoof(payload)
        if self.sent % 64 < 4:
            self.poll()

    def finish(self, name):
        deadline = time.monotonic() + self.args.listen
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.poll(left)
        if self.args.summary:
            with open(self.args.summary, "w") as f:
                f.write("%d\n" % self.sent)
        print("%s: %d datagrams sent to %s port %d from %d socket(s)%s; %d replies" % (
            name, self.sent, self.target, self.args.port, len(self.socks),
            " and as %s:%d" % self.spoof if self.inject else "", len(self.replies)))
        for r in self.replies[:20]:
            print("  reply: " + r)
        return 1 if self.replies else 0


def rnd(n):
    return random.randbytes(n)


def captured(args, types):
    pkts = [p for p in load_capture(args.capture) if msg_type(p["payload"]) in types]
    if not pkts:
        print("the capture %s holds no message of type %s" % (args.capture, types))
        sys.exit(2)
    return pkts


def live_indices(args):
    """Receiver indices of the data messages the device accepted (its own)."""
    return sorted(set(struct.unpack("<I", p["payload"][4:8])[0]
                      for p in captured(args, {MSG_DATA})))


def c_garbage(a):
    for n in range(0, 2001):
        a.send(rnd(n))


def c_malformed(a):
    right = {MSG_INIT: LEN_INIT, MSG_RESP: LEN_RESP, MSG_COOKIE: LEN_COOKIE}
    for t, n in right.items():
        for ln in list(range(1, n + 65)) + [n * 2, 500, 1000, 1400, 2000]:
            if ln != n:
                a.send((bytes([t, 0, 0, 0]) + rnd(ln))[:ln])
        for reserved in (b"\x01\0\0", b"\0\0\x01", b"\xff\xff\xff"):
            a.send(bytes([t]) + reserved + rnd(n - 4))
    for ln in range(1, LEN_DATA_MIN):  # shorter than a keepalive
        a.send((bytes([MSG_DATA, 0, 0, 0]) + rnd(ln))[:ln])
    for ln in (32, 100, 1000):
        a.send(bytes([MSG_DATA, 0, 1, 0]) + rnd(ln - 4))
    for t in (0, 5, 6, 0x80, 0xFF):
        for ln in (4, 32, 92, 148, 1000):
            a.send(bytes([t, 0, 0, 0]) + rnd(ln - 4))


def c_bad_mac1(a):
    for _ in range(50):
        a.send(struct.pack("<I", MSG_INIT) + rnd(LEN_INIT - 4))
    for _ in range(25):
        a.send(struct.pack("<I", MSG_RESP) + rnd(LEN_RESP - 4))
    for _ in range(25):
        a.send(struct.pack("<I", MSG_COOKIE) + rnd(LEN_COOKIE - 4))
    # A genuine initiation to this device, with its mac1 or its body damaged.
    pub = b64decode(a.args.pub)
    for flip in (4, 40, 120, 131):
        m = bytearray(initiation(pub, os.urandom(32), random.getrandbits(32)))
        m[flip] ^= 0x01
        a.send(bytes(m))


def c_unknown_key(a):
    # Valid mac1, so the device decrypts the initiator's static key and finds
    # no peer with it. Few, and spaced: never near the handshake queue's
    # under-load threshold (which would make a cookie reply legitimate).
    pub = b64decode(a.args.pub)
    for _ in range(3):
        a.send(initiation(pub, os.urandom(32), random.getrandbits(32)))
        time.sleep(0.1)


def c_replay_handshake(a):
    pkts = captured(a.args, {MSG_INIT, MSG_RESP})
    if not any(msg_type(p["payload"]) == MSG_INIT for p in pkts) or \
            not any(msg_type(p["payload"]) == MSG_RESP for p in pkts):
        print("the capture lacks an initiation or a response")
        sys.exit(2)
    for p in pkts:
        a.send_sock(p["payload"])
        a.send_spoof(p["payload"], (p["src"], p["sport"]))  # as its sender
        time.sleep(0.05)


def c_unknown_index(a):
    known = set(live_indices(a.args))
    for _ in range(100):
        idx = random.getrandbits(32)
        while idx in known:
            idx = random.getrandbits(32)
        n = random.choice([LEN_DATA_MIN, 48, 64, 128, 512, 1400, random.randrange(LEN_DATA_MIN, 1400)])
        a.send(struct.pack("<IIQ", MSG_DATA, idx, random.getrandbits(64)) + rnd(n - 16))


def c_bad_ciphertext(a):
    data = captured(a.args, {MSG_DATA})
    maxctr = {}
    for p in data:
        idx, ctr = struct.unpack("<IQ", p["payload"][4:16])
        maxctr[idx] = max(ctr, maxctr.get(idx, 0))
    for idx, top in sorted(maxctr.items()):
        counters = [0, 1, top, top + 1, top + 2, top + 100, top + 8192, 2**32, 2**60,
                    REJECT_AFTER_MESSAGES - 1, REJECT_AFTER_MESSAGES, 2**64 - 1]
        for ctr in counters:
            for n in (0, 16, 64, 1000):  # encrypted length beyond the 16-byte tag
                a.send(struct.pack("<IIQ", MSG_DATA, idx, ctr) + rnd(16 + n))
            # Properly sealed, under a key the device does not hold: a 20-byte
            # IPv4 header as plaintext, padded to 32 bytes as a peer pads.
            inner = bytes.fromhex("4500002000004000401100000a0a0a0a0a0a0a0b") + b"\0" * 12
            a.send(struct.pack("<IIQ", MSG_DATA, idx, ctr) + aead_encrypt(os.urandom(32), ctr, inner))
        # A cookie reply naming a live index, with garbage instead of a cookie.
        a.send(struct.pack("<II", MSG_COOKIE, idx) + rnd(LEN_COOKIE - 8))
    # Genuine data messages, altered: a fresh counter (the tag then fails),
    # a flipped bit in ciphertext or tag, one byte short, 16 bytes long.
    for p in data:
        m = p["payload"]
        idx, ctr = struct.unpack("<IQ", m[4:16])
        fresh = bytearray(m)
        fresh[8:16] = struct.pack("<Q", maxctr[idx] + 1 + random.randrange(1000))
        a.send(bytes(fresh))
        for pos in (16, len(m) - 1):
            flipped = bytearray(m)
            flipped[pos] ^= 0x80
            a.send(bytes(flipped))
        if len(m) > LEN_DATA_MIN:
            a.send(m[:-1])
        a.send(m + rnd(16))


def c_replay_data(a):
    for _ in range(2):
        for p in captured(a.args, {MSG_DATA}):
            a.send_sock(p["payload"])
            a.send_spoof(p["payload"], (p["src"], p["sport"]))  # verbatim, as its sender


CLASSES = {
    "garbage": c_garbage,
    "malformed": c_malformed,
    "bad-mac1": c_bad_mac1,
    "unknown-key": c_unknown_key,
    "replay-handshake": c_replay_handshake,
    "unknown-index": c_unknown_index,
    "bad-ciphertext": c_bad_ciphertext,
    "replay-data": c_replay_data,
}


def attack(args):
    random.s = args.seed
    print("seed %d" % args.seed)
    a = Attacker(args)
    CLASSES[args.cls](a)
    return a.finish(args.cls)


def control(args):
    """The positive control: an initiation the device must answer, over a
    socket and over an injected frame (whose source is that socket's address,
    so the answer comes back to it). Proves the initiation builder, the frame
    builder and both reply detectors work."""
    a = Attacker(args)
    pub = b64decode(args.pub)
    with open(args.static_priv) as f:
        priv = b64decode(f.read())
    sock = a.socks[0]
    addr, port = sock.getsockname()[:2]
    ok = True
    for how in ("socket", "injected frame"):
        a.replies = []
        m = initiation(pub, priv, random.getrandbits(32))
        sender = struct.unpack("<I", m[4:8])[0]
        if how == "socket":
            # One copy, from this one socket: a second copy (from another
            # source) would race it through the device's handshake workers,
            # and whichever came second is a replay to the device.
            sock.sendto(m, (a.target, args.port))
            a.sent += 1
        else:
            a.send_spoof(m, (addr, port))
        deadline = time.monotonic() + args.listen
        got_datagram = got_frame = False
        while time.monotonic() < deadline and not (got_datagram and got_frame):
            a.poll(max(0.0, deadline - time.monotonic()))
            for r in a.replies:
                got_frame |= r.startswith("frame ")
                if r.startswith("datagram to %s" % ((addr, port),)):
                    data = bytes.fromhex(r.rsplit(": ", 1)[1])
                    # A response (type 2) whose receiver index is our sender index.
                    got_datagram |= data[:4] == struct.pack("<I", MSG_RESP) and \
                        struct.unpack("<I", data[8:12])[0] == sender
        print("control (%s): response to the socket: %s, seen by the sniffer: %s" % (
            how, got_datagram, got_frame))
        for r in a.replies:
            print("  heard: " + r)
        ok &= got_datagram and got_frame
        time.sleep(0.2)
    return 0 if ok else 1


LABEL_COOKIE = b"cookie--"


def flood_frames(mac1_key, smac, dmac, target, port):
    """The flood: initiations with a valid mac1, from 1,024 spoofed sources."""
    flood = []
    for i in range(1024):
        body = struct.pack("<I", MSG_INIT) + os.urandom(LEN_INIT - 36)
        msg = body + mac16(mac1_key, body) + b"\0" * 16
        flood.append(udp_frame(smac, dmac, "10.200.%d.%d" % (i // 250, i % 250 + 1), 40000 + i, target, port,
                               msg, ident=i))
    return flood


def flood_pcap(args):
    """See the module's documentation (flood-pcap)."""
    mac1_key = blake2s(LABEL_MAC1, b64decode(args.pub))
    smac = bytes.fromhex(args.src_mac.replace(":", ""))
    dmac = bytes.fromhex(args.dst_mac.replace(":", ""))
    frames = flood_frames(mac1_key, smac, dmac, args.target, int(args.port))
    with open(args.out, "wb") as f:
        # pcap: magic, version 2.4, zone, sigfigs, snaplen, Ethernet.
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for fr in frames:
            f.write(struct.pack("<IIII", 0, 0, len(fr), len(fr)) + fr)


def cookie_flood(args):
    """See the module's documentation (cookie-flood)."""
    pub = b64decode(args.pub)
    mac1_key = blake2s(LABEL_MAC1, pub)
    cookie_key = blake2s(LABEL_COOKIE, pub)
    smac = bytes.fromhex(args.src_mac.replace(":", ""))
    dmac = bytes.fromhex(args.dst_mac.replace(":", ""))
    target, port = args.target, args.port
    n = int(args.holders)
    min_cookies = int(args.min_cookies) if args.min_cookies is not None else n
    if n > 250 * 250 or min_cookies > n:
        usage("--holders at most 62500, --min-cookies at most --holders")
    # The holders: handshake responses (sender index 0x20000000 + i, a
    # random receiver index the device never gave), with their mac1; the
    # frame with the mac2 replaces the first once the cookie is known.
    base = 0x20000000
    msgs, frames, has_cookie, addrs = [], [], [False] * n, []
    for i in range(n):
        addr = "10.201.%d.%d" % (i // 250, i % 250 + 1)
        body = struct.pack("<III", MSG_RESP, base + i, 0x7F000000 + i) + os.urandom(LEN_RESP - 44)
        msg = body + mac16(mac1_key, body)
        msgs.append(msg)
        addrs.append(addr)
        frames.append(udp_frame(smac, dmac, addr, 30000 + i % 20000, target, port, msg + b"\0" * 16, ident=i))
    inject = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    inject.bind((args.ifname, 0))
    sniff = packet_socket(args.ifname)
    sniff.setblocking(False)
    send = inject.send
    st = {"holder_sent": 0, "holder_mac2_sent": 0, "cookie_replies": 0, "bad_cookie_replies": 0,
          "cookies": 0, "rounds": 0, "sniffed": 0}
    t0 = time.monotonic()
    end = t0 + float(args.seconds)
    ready = False
    # Holders whose mac2 message has gone out since they got their cookie.
    mac2_sent = [False] * n

    def drain():
        while True:
            try:
                frame = sniff.recv(2048)
            except (BlockingIOError, InterruptedError):
                return
            # Only what the device sends the holders: IPv4, UDP from PORT,
            # to 10.201.0.0/16 (byte offsets in the frame: fast under
            # emulation, most frames are something else).
            st["sniffed"] += 1
            if len(frame) < 42 + LEN_COOKIE or frame[12:14] != b"\x08\x00" or frame[30:32] != b"\x0a\xc9":
                continue
            u = parse_udp(frame)
            if not u or u[2] != port or len(u[5]) != LEN_COOKIE or u[5][0] != MSG_COOKIE:
                continue
            st["cookie_replies"] += 1
            i = struct.unpack("<I", u[5][4:8])[0] - base
            if not 0 <= i < n or has_cookie[i] or u[3] != addrs[i]:
                continue
            msg = msgs[i]
            cookie = xchacha_open(cookie_key, u[5][8:32], u[5][32:64], msg[-16:])
            if cookie is None:
                st["bad_cookie_replies"] += 1
                continue
            has_cookie[i] = True
            st["cookies"] += 1
            full = msg + mac16(cookie, msg)
            frames[i] = udp_frame(smac, dmac, addrs[i], 30000 + i % 20000, target, port, full, ident=i)

    while time.monotonic() < end and not (args.stop and os.path.exists(args.stop)):
        st["rounds"] += 1
        for start in range(0, n, 64):
            # 64 holders, then what came back.
            for i in range(start, min(start + 64, n)):
                try:
                    send(frames[i])
                except OSError:
                    continue
                if has_cookie[i]:
                    st["holder_mac2_sent"] += 1
                    mac2_sent[i] = True
                else:
                    st["holder_sent"] += 1
            drain()
        print("cookie-flood: round %d at %.1f s: %d cookies, %d cookie replies (%d bad), %d frames sniffed, "
              "%d holder messages sent" % (
                  st["rounds"], time.monotonic() - t0, st["cookies"], st["cookie_replies"],
                  st["bad_cookie_replies"], st["sniffed"], st["holder_sent"] + st["holder_mac2_sent"]))
        sys.stdout.flush()
        if not ready and st["cookies"] >= min_cookies and sum(mac2_sent) >= min_cookies:
            ready = True
            st["ready_after"] = round(time.monotonic() - t0, 1)
            print("cookie-flood: %d holders have their cookie and used it, after %.1f s" % (
                st["cookies"], time.monotonic() - t0))
            sys.stdout.flush()
            if args.ready:
                open(args.ready, "w").close()
    st["seconds"] = round(time.monotonic() - t0, 1)
    line = " ".join("%s=%s" % kv for kv in sorted(st.items()))
    print("cookie-flood: " + line)
    if args.summary:
        with open(args.summary, "w") as f:
            f.write(line + "\n")
    return 0 if ready else 1


class Args:
    """--name value options into attributes (dashes become underscores);
    the names in MULTI may repeat and collect into lists."""

    MULTI = ("target_addr", "source")

    def __init__(self, argv, known):
        for k in known:
            setattr(self, k, [] if k in self.MULTI else None)
        it = iter(argv)
        for opt in it:
            if not opt.startswith("--") or opt[2:].replace("-", "_") not in known:
                usage("unknown option %s" % opt)
            k = opt[2:].replace("-", "_")
            try:
                val = next(it)
            except StopIteration:
                usage("%s needs a value" % opt)
            if k in self.MULTI:
                getattr(self, k).append(val)
            else:
                setattr(self, k, val)


def usage(msg):
    sys.stderr.write("wgattack.py: %s\n%s" % (msg, __doc__))
    sys.exit(2)


COMMON = ("target", "port", "target_addr", "source", "spoof", "ifname", "src_mac", "dst_mac",
          "pub", "capture", "seed", "listen", "summary")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        usage("no command")
    cmd, rest = argv[0], argv[1:]
    if cmd == "selftest":
        selftest()
        return 0
    if cmd == "capinfo":
        if len(rest) != 1:
            usage("capinfo FILE")
        args = Args([], ())
        args.capinfo_file = rest[0]
        capinfo(args)
        return 0
    if cmd == "capture":
        args = Args(rest, ("ifname", "port", "out", "ready"))
        if None in (args.ifname, args.port, args.out, args.ready):
            usage("capture needs --ifname, --port, --out and --ready")
        args.port = int(args.port)
        capture(args)
        return 0
    if cmd == "cookie-flood":
        args = Args(rest, ("ifname", "src_mac", "dst_mac", "target", "port", "pub", "holders", "seconds", "ready",
                           "stop", "summary", "min_cookies"))
        for k in ("ifname", "src_mac", "dst_mac", "target", "port", "pub", "holders", "seconds"):
            if getattr(args, k) is None:
                usage("cookie-flood needs --%s" % k.replace("_", "-"))
        args.port = int(args.port)
        return cookie_flood(args)
    if cmd == "flood-pcap":
        args = Args(rest, ("src_mac", "dst_mac", "target", "port", "pub", "out"))
        for k in ("src_mac", "dst_mac", "target", "port", "pub", "out"):
            if getattr(args, k) is None:
                usage("flood-pcap needs --%s" % k.replace("_", "-"))
        flood_pcap(args)
        return 0
    if cmd not in ("attack", "control"):
        usage("unknown command %s" % cmd)
    args = Args(rest, COMMON + (("class",) if cmd == "attack" else ("static_priv",)))
    if cmd == "attack":
        args.cls = getattr(args, "class")
        if args.cls not in CLASSES:
            usage("--class must be one of %s" % ", ".join(sorted(CLASSES)))
    elif not args.static_priv:
        usage("control needs --static-priv")
    for k in ("target", "port", "ifname", "pub"):
        if getattr(args, k) is None:
            usage("--%s is required" % k.replace("_", "-"))
    args.port = int(args.port)
    args.seed = int(args.seed) if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    args.listen = float(args.listen) if args.listen is not None else 1.0
    args.target_addr.append(args.target)
    if args.spoof and not (args.src_mac and args.dst_mac):
        usage("--spoof needs --src-mac and --dst-mac")
    if not args.source:
        usage("at least one --source")
    return attack(args) if cmd == "attack" else control(args)


if __name__ == "__main__":
    sys.exit(main())
