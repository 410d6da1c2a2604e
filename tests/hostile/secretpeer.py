"""A WireGuard peer in userspace that prints the secrets of its handshake, for
tests/vm/suite/secrets.sh: every value of the handshake that the device
computes too and that is secret (the four DH results; each KDF's
intermediate key and outputs: the chaining keys, the AEAD keys, tau, the two
transport keys). With the device's own private key and the preshared key,
these are what the test then searches the kernel's stacks for
(tests/kmod/wg_stack_scan.c). On wgattack's
primitives; run with `python3 -S` and this folder on sys.path.

  secretpeer.py initiate HOST PORT OUR_PRIVATE_B64 THEIR_PUBLIC_B64 PSK_B64
      Initiates a handshake to the device; once the response authenticated,
      sends a keepalive (the device's first data message, which confirms its
      session).
  secretpeer.py respond BIND PORT OUR_PRIVATE_B64 THEIR_PUBLIC_B64 PSK_B64
      Waits (30 s at most) for the device's initiation on BIND:PORT,
      answers it, then waits for the device's first data message and checks
      that it decrypts.

Either prints one line per secret, "NAME HEX", and exits 0; or exits non-zero
with what failed.

  secretpeer.py dh PRIVATE_B64 PUBLIC_B64
      Prints "dh_ss HEX": the static-static DH result a device with that
      private key computes for a peer with that public key when the key is
      set.
"""
import _socket as socket
import binascii
import os
import struct
import sys

import wgattack as w


def kdf(c, inp, label, names, out):
    """WireGuard's KDF over the chaining key C and INP, with the secrets it
    makes appended to OUT: its intermediate key (HMAC(C, INP), from which
    every output follows), named "prk_" LABEL, and its outputs, NAMES."""
    out.append(("prk_" + label, w.hmac_blake2s(c, inp)))
    res = w.kdf(c, inp, len(names))
    out += zip(names, res)
    return res


def chain_start(responder_pub):
    c = w.blake2s(w.CONSTRUCTION)
    h = w.blake2s(c, w.IDENTIFIER)
    return c, w.blake2s(h, responder_pub)


def aead_open(key, counter, sealed, ad):
    """The plaintext of SEALED, or None if its tag does not verify."""
    nonce = b"\0" * 4 + struct.pack("<Q", counter)
    plain = w.chacha20_xor(key, 1, nonce, sealed[:-16])
    return plain if w.aead_encrypt_nonce(key, nonce, plain, ad) == sealed else None


def response_half(c, h, e_r, dh_ee, dh_se, psk, out):
    """The chaining of the response after the initiation's: the responder's
    ephemeral E_R, the ee and se DH results, the psk; returns (c, h, k),
    the key the response's empty AEAD uses, and appends the secrets to OUT."""
    (c,) = kdf(c, e_r, "er", ["ck_er"], out)
    h = w.blake2s(h, e_r)
    out.append(("dh_ee", dh_ee))
    (c,) = kdf(c, dh_ee, "ee", ["ck_ee"], out)
    out.append(("dh_se", dh_se))
    (c,) = kdf(c, dh_se, "se", ["ck_se"], out)
    c, tau, k = kdf(c, psk, "psk", ["ck_psk", "tau", "k_empty"], out)
    return c, w.blake2s(h, tau), k


def handshake(sock, addr, priv, their_pub, psk, out, timeout=30):
    """Initiates a handshake from SOCK to the device at ADDR (Noise IKpsk2
    with PSK); once its response authenticated, returns (sending key,
    receiving key, the device's index), and has appended the secrets to
    OUT. Waits TIMEOUT seconds at most for each datagram."""
    c, h = chain_start(their_pub)
    e_priv = os.urandom(32)
    e_pub = w.x25519_pub(e_priv)
    (c,) = w.kdf(c, e_pub, 1)
    h = w.blake2s(h, e_pub)
    dh = w.x25519(e_priv, their_pub)
    out.append(("dh_es", dh))
    c, k = kdf(c, dh, "es", ["ck_es", "k_static"], out)
    enc_static = w.aead_encrypt(k, 0, w.x25519_pub(priv), h)
    h = w.blake2s(h, enc_static)
    dh = w.x25519(priv, their_pub)
    out.append(("dh_ss", dh))
    c, k = kdf(c, dh, "ss", ["ck_ss", "k_timestamp"], out)
    enc_ts = w.aead_encrypt(k, 0, w.tai64n(), h)
    h = w.blake2s(h, enc_ts)
    index = struct.unpack("<I", os.urandom(4))[0]
    msg = struct.pack("<II", w.MSG_INIT, index) + e_pub + enc_static + enc_ts
    msg += w.mac16(w.blake2s(w.LABEL_MAC1, their_pub), msg)
    sock.sendto(msg + b"\0" * 16, addr)
    sock.settimeout(timeout)
    while True:
        resp, _ = sock.recvfrom(2048)
        if len(resp) == w.LEN_RESP and resp[0] == w.MSG_RESP:
            break
    _, their_index, receiver = struct.unpack("<III", resp[:12])
    if receiver != index:
        sys.exit("response for another index")
    e_r = resp[12:44]
    c, h, k = response_half(c, h, e_r, w.x25519(e_priv, e_r), w.x25519(priv, e_r), psk, out)
    if aead_open(k, 0, resp[44:60], h) != b"":
        sys.exit("the response did not authenticate")
    send, recv = kdf(c, b"", "transport", ["transport_i2r", "transport_r2i"], out)
    return send, recv, their_index


def initiate(host, port, priv, their_pub, psk):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_DGRAM)
    addr = (host, port)
    out = []
    send, _, their_index = handshake(sock, addr, priv, their_pub, psk, out)
    sock.sendto(struct.pack("<IIQ", w.MSG_DATA, their_index, 0) + w.aead_encrypt(send, 0, b""), addr)
    return out


def respond(bind, port, priv, their_pub, psk):
    fam = socket.AF_INET6 if ":" in bind else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_DGRAM)
    sock.bind((bind, port))
    sock.settimeout(30)
    our_pub = w.x25519_pub(priv)
    while True:
        msg, addr = sock.recvfrom(2048)
        if len(msg) == w.LEN_INIT and msg[0] == w.MSG_INIT:
            break
    out = []
    c, h = chain_start(our_pub)
    their_index = struct.unpack("<I", msg[4:8])[0]
    e_i = msg[8:40]
    (c,) = w.kdf(c, e_i, 1)
    h = w.blake2s(h, e_i)
    dh = w.x25519(priv, e_i)
    out.append(("dh_es", dh))
    c, k = kdf(c, dh, "es", ["ck_es", "k_static"], out)
    static = aead_open(k, 0, msg[40:88], h)
    if static != their_pub:
        sys.exit("the initiation is not from the device's key")
    h = w.blake2s(h, msg[40:88])
    dh = w.x25519(priv, their_pub)
    out.append(("dh_ss", dh))
    c, k = kdf(c, dh, "ss", ["ck_ss", "k_timestamp"], out)
    if aead_open(k, 0, msg[88:116], h) is None:
        sys.exit("the initiation's timestamp did not authenticate")
    h = w.blake2s(h, msg[88:116])
    e_priv = os.urandom(32)
    e_pub = w.x25519_pub(e_priv)
    c, h, k = response_half(c, h, e_pub, w.x25519(e_priv, e_i), w.x25519(e_priv, their_pub), psk, out)
    index = struct.unpack("<I", os.urandom(4))[0]
    resp = struct.pack("<III", w.MSG_RESP, index, their_index) + e_pub + w.aead_encrypt(k, 0, b"", h)
    resp += w.mac16(w.blake2s(w.LABEL_MAC1, their_pub), resp)
    sock.sendto(resp + b"\0" * 16, addr)
    recv, send = kdf(c, b"", "transport", ["transport_i2r", "transport_r2i"], out)
    while True:
        data, _ = sock.recvfrom(4096)
        if len(data) >= w.LEN_DATA_MIN and data[0] == w.MSG_DATA and struct.unpack("<I", data[4:8])[0] == index:
            break
    counter = struct.unpack("<Q", data[8:16])[0]
    if aead_open(recv, counter, data[16:], b"") is None:
        sys.exit("the device's data message did not decrypt")
    return out


def main(argv):
    if len(argv) == 3 and argv[0] == "dh":
        print("dh_ss", w.x25519(*[binascii.a2b_base64(a) for a in argv[1:]]).hex())
        return
    if len(argv) != 6 or argv[0] not in ("initiate", "respond"):
        sys.exit(__doc__)
    role = initiate if argv[0] == "initiate" else respond
    keys = [binascii.a2b_base64(a) for a in argv[3:6]]
    for name, value in role(argv[1], int(argv[2]), *keys):
        print(name, value.hex())


if __name__ == "__main__":
    main(sys.argv[1:])
