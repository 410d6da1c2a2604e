"""A minimal WireGuard initiator for VM tests, on wgattack's primitives: it
handshakes with a device that has it as a peer, then sends data messages
whose plaintext it chooses (what no kernel sender would send: not IP, IP
with a wrong length), or floods the device with handshake initiations whose
mac1 is wrong. Run with `python3 -S` and this folder on sys.path (as
tests/vm/suite/lifecycle.sh does):

  wgpeer.py data HOST PORT OUR_PRIVATE_B64 THEIR_PUBLIC_B64 HEX_PAYLOAD...
      one handshake (fails unless the response authenticates), then one data
      message per payload, counters 0, 1, ...; prints "sent N".
  wgpeer.py badmac HOST PORT COUNT
      COUNT initiation-sized messages with a random (wrong) mac1.
"""
import _socket as socket
import binascii
import os
import struct
import sys

import wgattack as w


def handshake(sock, addr, priv, their_pub):
    """Initiates; returns (sending key, their index) once the response
    authenticated."""
    c = w.blake2s(w.CONSTRUCTION)
    h = w.blake2s(c, w.IDENTIFIER)
    h = w.blake2s(h, their_pub)
    e_priv = os.urandom(32)
    e_pub = w.x25519_pub(e_priv)
    (c,) = w.kdf(c, e_pub, 1)
    h = w.blake2s(h, e_pub)
    c, k = w.kdf(c, w.x25519(e_priv, their_pub), 2)
    enc_static = w.aead_encrypt(k, 0, w.x25519_pub(priv), h)
    h = w.blake2s(h, enc_static)
    c, k = w.kdf(c, w.x25519(priv, their_pub), 2)
    enc_ts = w.aead_encrypt(k, 0, w.tai64n(), h)
    h = w.blake2s(h, enc_ts)
    index = struct.unpack("<I", os.urandom(4))[0]
    msg = struct.pack("<II", w.MSG_INIT, index) + e_pub + enc_static + enc_ts
    msg += w.mac16(w.blake2s(w.LABEL_MAC1, their_pub), msg)
    sock.sendto(msg + b"\0" * 16, addr)
    sock.settimeout(20)
    while True:
        resp, _ = sock.recvfrom(2048)
        if len(resp) == w.LEN_RESP and resp[0] == w.MSG_RESP:
            break
    _, their_index, receiver = struct.unpack("<III", resp[:12])
    if receiver != index:
        sys.exit("response for another index")
    e_r = resp[12:44]
    enc_nothing = resp[44:60]
    (c,) = w.kdf(c, e_r, 1)
    h = w.blake2s(h, e_r)
    (c,) = w.kdf(c, w.x25519(e_priv, e_r), 1)
    (c,) = w.kdf(c, w.x25519(priv, e_r), 1)
    c, tau, k = w.kdf(c, b"\0" * 32, 3)
    h = w.blake2s(h, tau)
    if w.aead_encrypt(k, 0, b"", h) != enc_nothing:
        sys.exit("the response did not authenticate")
    send_key, _ = w.kdf(c, b"", 2)
    return send_key, their_index


def main(argv):
    cmd, host, port = argv[0], argv[1], int(argv[2])
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_DGRAM)
    addr = (host, port)
    if cmd == "data":
        priv = binascii.a2b_base64(argv[3])
        their_pub = binascii.a2b_base64(argv[4])
        key, their_index = handshake(sock, addr, priv, their_pub)
        n = 0
        for counter, payload in enumerate(argv[5:]):
            plain = binascii.unhexlify(payload)
            sock.sendto(struct.pack("<IIQ", w.MSG_DATA, their_index, counter) + w.aead_encrypt(key, counter, plain), addr)
            n += 1
        print("sent", n)
    elif cmd == "badmac":
        for _ in range(int(argv[3])):
            msg = struct.pack("<II", w.MSG_INIT, 1) + os.urandom(w.LEN_INIT - 8)
            sock.sendto(msg, addr)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
