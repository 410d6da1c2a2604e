#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A generic-netlink fuzzer of the `wireguard` family, built on wgnl.py.

  fuzz.py SECONDS SEED TARGET [--others IFNAME,...] [--strict]

For SECONDS, sends WG_CMD_SET_DEVICE / WG_CMD_GET_DEVICE messages made from
the PRNG seeded with SEED (printed, so that a run can be repeated): most are
structure-aware (a valid-looking device/peer/allowed-IP tree with random
choices among valid, boundary and invalid values: wrong lengths, flags,
families, prefix lengths, duplicated and unknown attributes, wrong nesting,
ifindex/ifname mismatches, huge allowed-IP lists, lengths that overflow),
some of those are then mutated byte-wise (flips, truncation, lying lengths,
headers: nlmsg_len, command, version, flags), and some are pure random
bytes. Dumps are read with various receive buffers, sometimes abandoned
halfway (socket closed mid-dump) or with odd flags.

TARGET (an ifname in the namespace the fuzzer runs in) gets most of the
messages; the --others get some (and random ifindexes, nonexistent names).
Nothing else may change TARGET's configuration meanwhile (run a second
fuzzer in another namespace). The checks, besides what the kernel's own
detectors see:
  - every request is answered as netlink promises (an ACK asked for comes,
    exactly one; a dump ends with NLMSG_DONE or an error) within a time
    limit, and every dump message parses. Receiving never blocks: the genl
    core answers in the sender's context and continues a dump in recvmsg,
    so replies are read with MSG_DONTWAIT until the queue is empty, then
    polled for at most ANSWER_GRACE seconds if the end of an answer that
    must come is missing (an unanswered message is counted, and is a
    failure when its header was intact). Messages with a damaged header
    may get no answer at all: counted, not waited for;
  - a dump never runs away (at most 100,000 messages);
  - --strict: a SET that fails leaves TARGET's configuration (its dump,
    counters aside) as it was: nothing half-applied (our module's rule; the
    C driver applies a message up to its first bad peer, so without
    --strict those are only counted).
Exit status 0 when no check failed; the last line is a summary.
"""
import errno
import os
import random
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wgnl import (A_CIDR, A_FAMILY, A_FLAGS, A_IPADDR, AF_INET, AF_INET6, D_FLAGS, D_FWMARK, D_IFINDEX,  # noqa: E402
                  D_IFNAME, D_LISTEN_PORT, D_PEERS, D_PRIVATE_KEY, D_PUBLIC_KEY, Genl, NLA_F_NESTED,
                  NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, P_ALLOWEDIPS, P_ENDPOINT,
                  P_FLAGS, P_KEEPALIVE, P_LAST_HANDSHAKE, P_PRESHARED_KEY, P_PROTOCOL_VERSION, P_PUBLIC_KEY,
                  P_RX, P_TX, WG_CMD_GET_DEVICE, WG_CMD_SET_DEVICE, canonical, parse_attrs)

NLA_F_NET_BYTEORDER = 0x4000
NLM_F_ECHO, NLM_F_ROOT, NLM_F_MATCH, NLM_F_ATOMIC = 0x8, 0x100, 0x200, 0x400
SOL_SOCKET, SO_SNDBUFFORCE, SO_RCVBUFFORCE = 1, 32, 33
SO_RCVTIMEO = 20
MAX_DUMP_MSGS = 100000
# Seconds to poll for an answer that must come but is not queued yet (the
# kernel answers synchronously, so this is only spent when something is wrong).
ANSWER_GRACE = 5.0
# Seconds allowed for the baseline SET and the dumps of the all-or-nothing check.
CHECK_TIMEOUT = 60.0


class Fail(Exception):
    pass


class Fuzzer:
    def __init__(self, seed, target, others, strict):
        self.r = random.Random(seed)
        self.target, self.others, self.strict = target, others, strict
        self.g = self.sock()      # the fuzzed requests
        self.c = self.sock()      # the fuzzer's own requests (baseline, checks)
        self.stats = {}
        self.times = {}  # seconds spent, by what
        self.failures = []
        self.non_atomic = 0
        self.keys = [bytes([0x40 + i]) * 32 for i in range(6)] + [bytes(32)]
        self.own_pub = None
        self.current = "start"

    def sock(self, bufsize=1 << 16):
        g = Genl(bufsize)
        g.s.setsockopt(SOL_SOCKET, SO_SNDBUFFORCE, 4 << 20)
        g.s.setsockopt(SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20)
        # Never settimeout(): a Python socket with a timeout polls before every
        # recv, MSG_DONTWAIT or not, so a drain of an empty queue would wait
        # the whole timeout (what made the first runs report "0 messages").
        # SO_RCVTIMEO bounds the blocking receives of wgnl.Genl instead.
        g.s.setsockopt(SOL_SOCKET, SO_RCVTIMEO, struct.pack("=qq", 20, 0))
        return g

    def count(self, what):
        self.stats[what] = self.stats.get(what, 0) + 1

    def spent(self, what, since):
        """Adds the time since `since` to `what`; returns now."""
        now = time.monotonic()
        self.times[what] = self.times.get(what, 0.0) + now - since
        return now

    # ---- values -------------------------------------------------------------

    def pick(self, *choices):
        return self.r.choice(choices)

    def rbytes(self, n):
        return self.r.getrandbits(8 * n).to_bytes(n, "little") if n else b""

    def u8(self):
        return struct.pack("=B", self.pick(0, 1, 8, 24, 32, 33, 64, 127, 128, 129, 255, self.r.randrange(256)))

    def u16(self):
        return struct.pack("=H", self.pick(0, 1, 25, 0x7FFF, 0x8000, 0xFFFF, self.r.randrange(1 << 16)))

    def u32(self):
        return struct.pack("=I", self.pick(0, 1, 2, 3, 4, 7, 8, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
                                           self.r.getrandbits(32)))

    def sized(self, good, nominal):
        """`good` most of the time; else a wrong length or random bytes."""
        x = self.r.random()
        if x < 0.8:
            return good
        if x < 0.9:
            return self.rbytes(self.pick(0, 1, nominal - 1, nominal + 1, nominal * 2, self.r.randrange(80)))
        return good[:self.r.randrange(len(good) + 1)]

    def key(self):
        x = self.r.random()
        if x < 0.75:
            return self.r.choice(self.keys)
        if x < 0.85 and self.own_pub:
            return self.own_pub
        return self.sized(self.rbytes(32), 32)

    # ---- attributes ---------------------------------------------------------

    def attr(self, t, payload, nested=False):
        """An attribute, sometimes with wrong flags, type or length."""
        if isinstance(payload, list):
            payload = b"".join(payload)
            nested = True
        x = self.r.random()
        if x < 0.03:
            nested = not nested
        elif x < 0.05:
            t |= NLA_F_NET_BYTEORDER
        elif x < 0.06:
            t = self.r.randrange(1 << 14)
        t = (t | (NLA_F_NESTED if nested else 0)) & 0xFFFF
        ln = 4 + len(payload)
        if self.r.random() < 0.02:
            ln = self.pick(0, 1, 3, 4, ln - 1, ln + 1, ln + 4, self.r.randrange(1 << 16))
        # A length above 64 KiB wraps, as a careless encoder would.
        return struct.pack("=HH", ln & 0xFFFF, t) + payload + b"\0" * ((-len(payload)) % 4)

    def shuffle(self, attrs):
        """Drops, duplicates, reorders, adds unknown attributes (type 0 too)."""
        out = [a for a in attrs if self.r.random() > 0.05]
        if out and self.r.random() < 0.1:
            out.append(self.r.choice(out))
        if self.r.random() < 0.05:
            out.append(self.attr(self.pick(0, 9, 11, 12, 0x3FFF, self.r.randrange(64)), self.rbytes(self.r.randrange(12))))
        if self.r.random() < 0.2:
            self.r.shuffle(out)
        if self.r.random() < 0.03:
            out.append(self.rbytes(self.r.randrange(1, 8)))  # trailing garbage
        return out

    def allowed_ip(self):
        fam = self.r.random()
        if fam < 0.45:
            family, addr, maxc = AF_INET, self.rbytes(4), 32
        elif fam < 0.9:
            family, addr, maxc = AF_INET6, self.rbytes(16), 128
        else:
            family, addr, maxc = self.pick(0, 1, 17, 0xFFFF), self.rbytes(self.pick(4, 16)), 32
        if self.r.random() < 0.5:  # a few prefixes, so that peers collide
            addr = addr[:1] + bytes(len(addr) - 1)
        cidr = self.r.randrange(maxc + 1) if self.r.random() < 0.9 else self.r.randrange(256)
        a = [self.attr(A_FAMILY, self.sized(struct.pack("=H", family), 2)),
             self.attr(A_IPADDR, self.sized(addr, len(addr))),
             self.attr(A_CIDR, self.sized(struct.pack("=B", cidr), 1))]
        if self.r.random() < 0.3:
            a.append(self.attr(A_FLAGS, self.sized(struct.pack("=I", self.pick(0, 1, 1, 2, 3, 0xFFFFFFFF)), 4)))
        return self.attr(self.pick(0, 0, 0, 1, 7), self.shuffle(a))

    def allowed_ips(self):
        x = self.r.random()
        if x < 0.85:
            n = self.r.randrange(6)
        elif x < 0.97:
            n = self.r.randrange(100)
        else:
            return self.huge_allowed_ips(self.r.randrange(1000, 2400))
        return [self.allowed_ip() for _ in range(n)]

    def huge_allowed_ips(self, n):
        """Near (or past) 64 KiB: huge lists, wrapped lengths. Valid entries
        made quickly (one random draw each: the generic path costs seconds
        per list under emulation), a few of them replaced by fuzzed ones."""
        out = []
        v4, v6 = struct.pack("=H", AF_INET), struct.pack("=H", AF_INET6)
        fam_v4 = self.attr_plain(A_FAMILY, v4)
        fam_v6 = self.attr_plain(A_FAMILY, v6)
        for _ in range(n):
            x = self.r.getrandbits(160)
            if x & 1:
                body = fam_v4 + self.attr_plain(A_IPADDR, ((x >> 8) & 0xFFFFFFFF).to_bytes(4, "big")) + self.attr_plain(A_CIDR, bytes([(x >> 1) % 33]))
            else:
                body = fam_v6 + self.attr_plain(A_IPADDR, (x >> 32).to_bytes(16, "big")) + self.attr_plain(A_CIDR, bytes([(x >> 1) % 129]))
            out.append(self.attr_plain(NLA_F_NESTED, body))
        for _ in range(self.pick(0, 0, 1, 2, 5)):
            out[self.r.randrange(n)] = self.allowed_ip()
        return out

    def endpoint(self):
        x = self.r.random()
        if x < 0.45:
            e = struct.pack("=H", AF_INET) + struct.pack("!H", self.r.randrange(1, 65536)) + bytes([192, 0, 2, self.r.randrange(256)]) + bytes(8)
        elif x < 0.85:
            e = (struct.pack("=H", AF_INET6) + struct.pack("!H", self.r.randrange(65536)) + self.rbytes(4)
                 + b"\x20\x01\x0d\xb8" + self.rbytes(12) + self.pick(bytes(4), self.rbytes(4)))
        else:
            e = struct.pack("=H", self.pick(0, 1, 17, 0xFFFF)) + self.rbytes(self.pick(14, 26))
        return self.sized(e, len(e))

    def peer(self):
        a = [self.attr(P_PUBLIC_KEY, self.key())]
        if self.r.random() < 0.4:
            a.append(self.attr(P_FLAGS, self.sized(struct.pack("=I", self.pick(0, 1, 2, 3, 4, 5, 6, 7, 8, 0xFFFFFFFF, self.r.getrandbits(32))), 4)))
        if self.r.random() < 0.3:
            a.append(self.attr(P_PRESHARED_KEY, self.sized(self.rbytes(32), 32)))
        if self.r.random() < 0.4:
            a.append(self.attr(P_ENDPOINT, self.endpoint()))
        if self.r.random() < 0.3:
            a.append(self.attr(P_KEEPALIVE, self.sized(self.u16(), 2)))
        if self.r.random() < 0.6:
            ips = self.allowed_ips()
            a.append(self.attr(P_ALLOWEDIPS, ips, nested=True))
        if self.r.random() < 0.1:
            a.append(self.attr(P_PROTOCOL_VERSION, self.sized(struct.pack("=I", self.pick(0, 1, 1, 2, 0xFFFFFFFF)), 4)))
        if self.r.random() < 0.05:
            a.append(self.attr(self.pick(P_LAST_HANDSHAKE, P_RX, P_TX), self.rbytes(self.pick(8, 16))))
        return self.attr(self.pick(0, 0, 0, 1, 5), self.shuffle(a))

    def selector(self, name):
        """ifindex and/or ifname of `name`, or of something else."""
        # Not socket.if_nametoindex: for a missing name its SIOCGIFINDEX runs
        # dev_load(), which execs modprobe twice (seconds under emulation,
        # each time the device is deleted underneath). `ip netns exec`
        # mounts the namespace's own sysfs.
        try:
            with open("/sys/class/net/%s/ifindex" % name) as fh:
                idx = int(fh.read())
        except (OSError, ValueError):  # deleted meanwhile
            idx = 0x7FFFFF00
        x = self.r.random()
        if x < 0.45:
            return [self.attr(D_IFNAME, name.encode() + b"\0")]
        if x < 0.8:
            return [self.attr(D_IFINDEX, struct.pack("=I", idx))]
        if x < 0.85:
            return [self.attr(D_IFINDEX, struct.pack("=I", idx)), self.attr(D_IFNAME, name.encode() + b"\0")]
        if x < 0.88:
            return []
        other = self.pick("lo", "nonexistent0", "x" * 15, "x" * 16, "", name + "x")
        if x < 0.93:
            return [self.attr(D_IFNAME, self.sized(other.encode() + b"\0", len(other) + 1))]
        if x < 0.96:
            return [self.attr(D_IFNAME, name.encode())]  # no NUL
        return [self.attr(D_IFINDEX, self.sized(self.u32(), 4))]

    def set_attrs(self, name):
        a = self.selector(name)
        if self.r.random() < 0.3:
            a.append(self.attr(D_PRIVATE_KEY, self.sized(self.pick(bytes(32), b"\x11" * 32, b"\x22" * 32, self.rbytes(32)), 32)))
        if self.r.random() < 0.03:
            a.append(self.attr(D_PUBLIC_KEY, self.key()))
        if self.r.random() < 0.2:
            a.append(self.attr(D_FLAGS, self.sized(struct.pack("=I", self.pick(0, 1, 1, 2, 3, 0xFFFFFFFF)), 4)))
        if self.r.random() < 0.15:
            a.append(self.attr(D_LISTEN_PORT, self.sized(struct.pack("=H", self.pick(0, 0, 51820, 51821, self.r.randrange(1024, 65536))), 2)))
        if self.r.random() < 0.15:
            a.append(self.attr(D_FWMARK, self.sized(self.u32(), 4)))
        if self.r.random() < 0.7:
            x = self.r.random()
            if x < 0.9:
                ps = [self.peer() for _ in range(self.pick(0, 1, 1, 1, 2, 3, 8))]
            elif x < 0.95:
                ps = [self.rbytes(self.r.randrange(40))]  # garbage
            else:
                ps = [self.peer()]
                return self.shuffle(a) + [self.attr(D_PEERS, b"".join(ps), nested=False)]  # not nested
            a.append(self.attr(D_PEERS, ps, nested=True))
        return self.shuffle(a)

    # ---- messages -----------------------------------------------------------

    def message(self, cmd, payload, flags, version=1, ftype=None):
        self.g.seq += 1
        body = struct.pack("=BBH", cmd, version, 0) + payload
        msg = struct.pack("=IHHII", 16 + len(body), self.g.family if ftype is None else ftype, flags, self.g.seq, 0) + body
        return msg

    def mutate(self, msg):
        """Byte-level damage; returns (message, whether its header is intact)."""
        m = bytearray(msg)
        x = self.r.random()
        intact = True
        if x < 0.35:
            for _ in range(self.r.randrange(1, 9) if len(m) > 20 else 0):
                m[self.r.randrange(20, len(m))] = self.r.randrange(256)
        elif x < 0.55:
            m = m[:self.r.randrange(16, len(m) + 1)]
            struct.pack_into("=I", m, 0, len(m))
        elif x < 0.7:
            m += self.rbytes(self.r.randrange(1, 64))
            if self.r.random() < 0.5:
                struct.pack_into("=I", m, 0, len(m))
        elif x < 0.8:  # a lying nlmsg_len
            struct.pack_into("=I", m, 0, self.pick(0, 15, 16, 19, 20, len(m) - 1, len(m) + 4, 0xFFFFFFFF))
            intact = False
        elif x < 0.9:  # command, version, reserved
            m[16] = self.pick(0, 1, 2, 3, 0xFF, self.r.randrange(256))
            m[17] = self.pick(0, 1, 2, 0xFF)
            if self.r.random() < 0.3:
                m[18] = self.r.randrange(256)
        else:  # flags
            struct.pack_into("=H", m, 6, self.r.getrandbits(16))
            intact = False
        return bytes(m), intact

    def drain(self, g, seq, want_end, grace=ANSWER_GRACE, limit_msgs=MAX_DUMP_MSGS):
        """Reads what the kernel queued for the requests sent so far, without
        ever blocking: recv(MSG_DONTWAIT) until the queue is empty. The genl
        core answers in the sender's context and a dump continues in
        recvmsg, so once the queue is empty everything has been answered;
        if `want_end` and the end of `seq`'s answer (NLMSG_ERROR, or
        NLMSG_DONE) has not been seen yet, polls for at most `grace`
        seconds more. Returns ([(type, flags, seq, payload)] for `seq`,
        whether its end was seen, whether the receive queue overflowed)."""
        out = []
        n = 0
        ended = overflow = False
        deadline = None
        while True:
            try:
                data = g.s.recv(g.bufsize, socket.MSG_DONTWAIT)
            except BlockingIOError:
                if ended or not want_end:
                    return out, ended, overflow
                now = time.monotonic()
                if deadline is None:
                    deadline = now + grace
                if now >= deadline:
                    return out, ended, overflow
                select.select([g.s], [], [], deadline - now)
                continue
            except OSError as e:
                if e.errno == errno.ENOBUFS:  # the receive queue overflowed: not ours to judge
                    self.count("ENOBUFS")
                    overflow = True
                    continue
                raise
            while len(data) >= 16:
                ln, t, fl, sq, _pid = struct.unpack("=IHHII", data[:16])
                if ln < 16 or ln > len(data):
                    raise Fail("malformed reply header: len %d of %d" % (ln, len(data)))
                if sq == seq:
                    out.append((t, fl, sq, data[16:ln]))
                    if t in (NLMSG_ERROR, NLMSG_DONE):
                        ended = True
                n += 1
                data = data[(ln + 3) & ~3:]
            if n > limit_msgs:
                raise Fail("a dump ran past %d messages" % limit_msgs)

    def unanswered(self, what, intact, overflow, msg):
        """An answer that should have come did not (within ANSWER_GRACE)."""
        self.count("%s unanswered%s" % (what, "" if intact else " (damaged header)"))
        if intact and not overflow:
            raise Fail("%s: no answer within %g s to a request with an intact header; message %s"
                       % (what, ANSWER_GRACE, msg.hex()))

    def transact(self, attrs, cmd, flags):
        """One of the fuzzer's own requests on its own socket: returns (errno,
        [(flags, attrs)] of the dump messages). Fails if unanswered."""
        g = self.c
        g.seq += 1
        body = struct.pack("=BBH", cmd, 1, 0) + b"".join(attrs)
        msg = struct.pack("=IHHII", 16 + len(body), g.family, flags, g.seq, 0) + body
        g.s.send(msg)
        replies, ended, overflow = self.drain(g, g.seq, True, grace=CHECK_TIMEOUT)
        if not ended:
            raise Fail("%s: the fuzzer's own request got no answer within %g s%s"
                       % (self.current, CHECK_TIMEOUT, " (receive queue overflowed)" if overflow else ""))
        err = 0
        for t, _fl, _s, body in replies:
            if t == NLMSG_ERROR:
                err = -struct.unpack("=i", body[:4])[0]
        return err, [(fl, parse_attrs(body[4:])) for t, fl, _s, body in replies if t not in (NLMSG_DONE, NLMSG_ERROR)]

    def check_dump_messages(self, replies, what):
        msgs = [(fl, parse_attrs(body[4:])) for t, fl, _s, body in replies if t not in (NLMSG_DONE, NLMSG_ERROR)]
        try:
            c = canonical(msgs)
        except Exception as e:  # noqa: BLE001
            raise Fail("%s: the dump does not parse: %r" % (what, e))
        return c

    def dump_of(self, name):
        e, msgs = self.transact([self.attr_plain(D_IFNAME, name.encode() + b"\0")], WG_CMD_GET_DEVICE,
                                NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP)
        if e:
            return None
        c = canonical(msgs)
        for p in c["peers"]:
            for k in ("6", "7", "8"):  # last handshake, rx and tx bytes
                p.pop(k, None)
        pub = c["device"].get(str(D_PUBLIC_KEY))
        if pub:
            self.own_pub = bytes.fromhex(pub)
        return c

    @staticmethod
    def attr_plain(t, payload):
        return struct.pack("=HH", 4 + len(payload), t) + payload + b"\0" * ((-len(payload)) % 4)

    # ---- one step -----------------------------------------------------------

    def step(self, i):
        x = self.r.random()
        t = time.monotonic()
        if x < 0.62:
            name = self.target if self.r.random() < 0.75 or not self.others else self.r.choice(self.others)
            self.do_set(name)
        elif x < 0.9:
            self.do_dump(self.r.choice([self.target] + self.others))
            self.spent("GETs", t)
        elif x < 0.95:
            self.do_abandoned_dump(self.r.choice([self.target] + self.others))
            self.spent("abandoned GETs", t)
        else:
            self.do_random()
            self.spent("random messages", t)

    def do_set(self, name):
        self.current = "SET of %s" % name
        t = time.monotonic()
        payload = b"".join(self.set_attrs(name))
        self.current = "SET of %s (%d bytes)" % (name, len(payload))
        flags = NLM_F_REQUEST | NLM_F_ACK
        msg = self.message(WG_CMD_SET_DEVICE, payload, flags)
        intact = True
        if self.r.random() < 0.2:
            msg, intact = self.mutate(msg)
        seq = struct.unpack("=I", msg[8:12])[0]
        before = None
        t = self.spent("generating SETs", t)
        if name == self.target and self.r.random() < 0.25:
            before = self.dump_of(self.target)
            t = self.spent("dumps of the all-or-nothing check", t)
        try:
            self.g.s.send(msg)
        except OSError as e:
            self.count("send " + errno.errorcode.get(e.errno, str(e.errno)))
            return
        replies, _ended, overflow = self.drain(self.g, seq, intact)
        t = self.spent("SETs (send and answer)", t)
        errs = [r for r in replies if r[0] == NLMSG_ERROR]
        if not errs:
            self.unanswered("SET", intact, overflow, msg)
            return
        if len(errs) != 1:
            raise Fail("SET: %d acks for one request (%d replies); message %s" % (len(errs), len(replies), msg.hex()))
        err = -struct.unpack("=i", errs[0][3][:4])[0]
        self.count("SET " + (errno.errorcode.get(err, str(err)) if err else "ok"))
        if before is not None and err:
            after = self.dump_of(self.target)
            self.spent("dumps of the all-or-nothing check", t)
            self.count("all-or-nothing checks (failed SETs)")
            if after != before:
                self.non_atomic += 1
                if self.strict:
                    raise Fail("SET failed with %s but changed %s's configuration (half-applied); message %s"
                               % (errno.errorcode.get(err, err), self.target, msg.hex()[:400]))

    def do_dump(self, name):
        bufsize = self.pick(4096, 8192, 16384, 32768, 1 << 16)
        self.current = "GET of %s (buffer %d)" % (name, bufsize)
        t = time.monotonic()
        g = self.g if bufsize == 1 << 16 else self.sock(bufsize)
        t = self.spent("GETs: new sockets", t)
        try:
            attrs = self.selector(name) if self.r.random() < 0.9 else [self.rbytes(self.r.randrange(24))]
            if self.r.random() < 0.1:
                attrs += self.set_attrs(name)[:2]
            flags = NLM_F_REQUEST | NLM_F_DUMP | (NLM_F_ACK if self.r.random() < 0.7 else 0)
            odd = self.r.random() < 0.15
            if odd:
                flags = self.pick(NLM_F_REQUEST, NLM_F_REQUEST | NLM_F_ROOT, NLM_F_REQUEST | NLM_F_MATCH,
                                  NLM_F_REQUEST | NLM_F_DUMP | NLM_F_ECHO | NLM_F_ATOMIC, NLM_F_DUMP,
                                  self.r.getrandbits(16) | NLM_F_REQUEST)
            g.seq += 1
            body = struct.pack("=BBH", self.pick(*([WG_CMD_GET_DEVICE] * 8 + [WG_CMD_SET_DEVICE, 2, 0xFF])),
                               self.pick(1, 1, 1, 0, 2), 0) + b"".join(attrs)
            msg = struct.pack("=IHHII", 16 + len(body), g.family, flags, g.seq, 0) + body
            g.s.send(msg)
            # Answered for sure: a request (odd flags or not: at least an
            # error) asking for an ACK or a dump of GET_DEVICE.
            must = bool(flags & NLM_F_REQUEST) and (bool(flags & NLM_F_ACK) or
                                                    (msg[16] == WG_CMD_GET_DEVICE and flags & NLM_F_DUMP == NLM_F_DUMP))
            t = self.spent("GETs: generating", t)
            replies, _ended, overflow = self.drain(g, g.seq, must)
            t = self.spent("GETs: send and answer", t)
            ends = [r for r in replies if r[0] in (NLMSG_DONE, NLMSG_ERROR)]
            if must and not ends:
                self.unanswered("GET%s" % (" (odd)" if odd else ""), True, overflow, msg)
            self.check_dump_messages(replies, "GET dump of %s" % name)
            if ends:
                t, _fl, _s, body = ends[-1]
                err = -struct.unpack("=i", body[:4])[0] if len(body) >= 4 else 0
                self.count("GET %s%s" % (errno.errorcode.get(err, str(err)) if err else "ok", " (odd)" if odd else ""))
            else:
                self.count("GET no reply%s" % (" (odd)" if odd else ""))
        finally:
            if g is not self.g:
                g.s.close()

    def do_abandoned_dump(self, name):
        """A dump left halfway: the socket is closed after its first message."""
        self.current = "abandoned GET of %s" % name
        g = self.sock(4096)
        try:
            g.s.setsockopt(SOL_SOCKET, SO_RCVBUFFORCE, 4096)
            g.seq += 1
            body = struct.pack("=BBH", WG_CMD_GET_DEVICE, 1, 0) + self.attr_plain(D_IFNAME, name.encode() + b"\0")
            g.s.send(struct.pack("=IHHII", 16 + len(body), g.family, NLM_F_REQUEST | NLM_F_DUMP, g.seq, 0) + body)
            if self.r.random() < 0.5:
                try:
                    g.s.recv(4096, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    pass
            self.count("GET abandoned")
        finally:
            g.s.close()

    def do_random(self):
        """Pure random payloads (and commands) under a valid header."""
        cmd = self.pick(WG_CMD_GET_DEVICE, WG_CMD_SET_DEVICE, self.r.randrange(256))
        flags = NLM_F_REQUEST | NLM_F_ACK | (NLM_F_DUMP if self.r.random() < 0.3 else 0)
        msg = self.message(cmd, self.rbytes(self.r.randrange(200)), flags)
        self.current = "random message"
        self.g.s.send(msg)
        replies, ended, overflow = self.drain(self.g, struct.unpack("=I", msg[8:12])[0], True)
        if not ended:
            self.unanswered("random", True, overflow, msg)
        self.check_dump_messages(replies, "random message")
        self.count("random")

    def baseline(self):
        """A valid configuration of TARGET (reset now and then, so that what
        the fuzzer adds does not grow without bound)."""
        self.current = "baseline SET of %s" % self.target
        t = time.monotonic()
        ps = []
        for i, k in enumerate(self.keys[:4]):
            ps.append(self.attr_plain(0 | NLA_F_NESTED, self.attr_plain(P_PUBLIC_KEY, k)
                      + self.attr_plain(P_ENDPOINT, struct.pack("=H", AF_INET) + struct.pack("!H", 51820 + i) + bytes([192, 0, 2, 10 + i]) + bytes(8))
                      + self.attr_plain(P_ALLOWEDIPS | NLA_F_NESTED, self.attr_plain(NLA_F_NESTED, self.attr_plain(A_FAMILY, struct.pack("=H", AF_INET))
                                                                                                     + self.attr_plain(A_IPADDR, bytes([10, 77, i, 0]))
                                                                                                     + self.attr_plain(A_CIDR, b"\x18")))))
        e, _ = self.transact([self.attr_plain(D_IFNAME, self.target.encode() + b"\0"),
                              self.attr_plain(D_PRIVATE_KEY, b"\x11" * 32),
                              self.attr_plain(D_FLAGS, struct.pack("=I", 1)),
                              self.attr_plain(D_PEERS | NLA_F_NESTED, b"".join(ps))],
                             WG_CMD_SET_DEVICE, NLM_F_REQUEST | NLM_F_ACK)
        self.spent("baseline SETs", t)
        if e:
            raise Fail("baseline configuration of %s refused: %s" % (self.target, errno.errorcode.get(e, e)))


def main():
    args = sys.argv[1:]
    strict = "--strict" in args
    others = []
    if "--others" in args:
        others = [o for o in args[args.index("--others") + 1].split(",") if o]
    pos = [a for i, a in enumerate(args) if not a.startswith("--") and (i == 0 or args[i - 1] != "--others")]
    seconds, seed, target = float(pos[0]), int(pos[1]), pos[2]
    print("fuzz: seed %d, %g s, target %s, others %s%s" % (seed, seconds, target, others, ", strict" if strict else ""), flush=True)
    f = Fuzzer(seed, target, others, strict)
    deadline = time.monotonic() + seconds
    next_report = time.monotonic() + 15
    slow = []
    i = 0
    status = 0
    try:
        f.baseline()
        while time.monotonic() < deadline:
            if i % 150 == 0:
                f.baseline()
            t0 = time.monotonic()
            f.step(i)
            slow.append((time.monotonic() - t0, i, f.current))
            slow = sorted(slow, reverse=True)[:5]
            i += 1
            if time.monotonic() >= next_report:
                next_report += 15
                print("  %d messages, %.0f s left" % (i, deadline - time.monotonic()), flush=True)
        f.baseline()
        if f.dump_of(target) is None:
            raise Fail("%s cannot be dumped after the run" % target)
    except (Fail, OSError) as e:
        # OSError: EAGAIN from SO_RCVTIMEO or a send that failed.
        print("FAIL after %d messages (seed %d) during %s: %s" % (i, seed, f.current, e), flush=True)
        status = 1
        # Is the family still answering? A fresh socket, a plain dump.
        try:
            g = Genl()
            g.s.settimeout(60)  # only blocking receives on this one
            t0 = time.monotonic()
            e, m, msgs = g.dump_raw([Fuzzer.attr_plain(D_IFNAME, target.encode() + b"\0")])
            print("  a fresh dump of %s: errno %d, %d messages, %.1f s" % (target, e, len(msgs), time.monotonic() - t0))
        except Exception as e:  # noqa: BLE001
            print("  a fresh dump of %s failed too: %r" % (target, e))
    for k in sorted(f.stats):
        print("  %-34s %d" % (k, f.stats[k]))
    print("  slowest steps: %s" % "; ".join("%.1f s: #%d %s" % x for x in slow))
    print("  time spent (s): %s" % ", ".join("%s %.1f" % (k, v) for k, v in sorted(f.times.items(), key=lambda kv: -kv[1])))
    print("fuzz: seed %d: %d messages, %d failed SETs that changed the configuration%s: %s"
          % (seed, i, f.non_atomic, "" if strict else " (not checked)", "FAIL" if status else "ok"))
    return status


if __name__ == "__main__":
    sys.exit(main())
