"""A minimal WireGuard initiator for VM tests, on wgattack's primitives (the
handshake is secretpeer's): it handshakes with a device that has it as a
peer, then sends data messages whose plaintext it chooses (what no kernel sender would send: not IP, IP
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

import secretpeer
import wgattack as w


def main(argv):
    cmd, host, port = argv[0], argv[1], int(argv[2])
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_DGRAM)
    addr = (host, port)
    if cmd == "data":
        priv = binascii.a2b_base64(argv[3])
        their_pub = binascii.a2b_base64(argv[4])
        # No preshared key (all zero); the secrets are not wanted here.
        key, _, their_index = secretpeer.handshake(sock, addr, priv, their_pub, b"\0" * 32, [], timeout=20)
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
