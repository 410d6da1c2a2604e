#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""No panic reachable from a packet path, in the module as built.

    tests/static/panic-sites.py [MODULE.ko]      (default build/release/wireguard.ko)
    tests/static/panic-sites.py --self-test     (the checker on made-up disassemblies)

A Rust panic in the kernel is a BUG(): a remote denial of service if a
packet can reach one. The source rules (no `unwrap`, no unchecked indexing,
no overflowing arithmetic on packet paths) are checked here on the object
itself, with the kernel's overflow checks (CONFIG_RUST_OVERFLOW_CHECKS) and
whatever the kernel crate inlines into it:

1. No function reachable from a packet-path entry point (the callbacks the
   kernel calls for received datagrams, GRO, transmit, the crypt and
   handshake workers, NAPI polls, peer work and timers; ENTRY below) calls
   a panic function of `core` (overflow, bounds, unwrap, slice index...).
   Calls are followed through direct calls, tail calls and relocations
   (a function whose address is taken counts as reached: an over-estimate).
   The one exception is KERNEL_VEC below: the kernel crate's `Vec` growth,
   whose checked arithmetic is bounded by `Vec`'s own invariants.
2. Every other function that can panic is named in ALLOWED with the reason
   its panic is not reachable by a packet: a new one fails the check until
   it is fixed or named.

Needs llvm-objdump and llvm-cxxfilt (Debian's llvm, scripts/packages.txt).
"""
import collections
import os
import re
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The kernel calls these through function pointers for packets and the work
# they cause (demangled names).
ENTRY = re.compile(
    r"^wireguard_rs::kapi::(udp::(encap_rcv|gro_receive|gro_complete|encap_err\w*)_callback"
    r"|netdev::start_xmit_callback|crypt_queue::worker_cb|anchored::(napi|work|timer)_cb)::")

# What a panic calls (demangled names of `core`'s panic entry points).
PANIC = re.compile(
    r"^(core::(panicking::|option::(unwrap|expect)_failed|result::unwrap_failed"
    r"|slice::.*fail|str::.*fail|cell::panic_)|rust_begin_unwind|rust_panic)")

# The kernel crate's `Vec::push` and `Vec::reserve` (6.12's
# rust/kernel/alloc/kvec.rs), and ours that inline nothing else that can
# panic: their checks are `cap - len` (`cap >= len` is `Vec`'s invariant),
# `cap * 2` (`cap <= isize::MAX` for any type of at least a byte) and
# `len + 1` after a successful reserve. They may be reached: a handshake
# that authenticated takes a receiver index (`HashTable::reserve` grows the
# slots when none is free), as the C driver allocates its keypair there.
# Checked with a debug-info build (session 36): every panic site of these
# lies in kvec.rs.
KERNEL_VEC = [
    r"^<kernel::alloc::kvec::Vec<.*>>::(push|reserve)$",
    r"^<wireguard_rs::proto::hashtable::HashTable<.*>>::reserve$",
]

# Functions allowed to keep a panic site, none reachable from ENTRY (that is
# checked too): configuration (netlink from CAP_NET_ADMIN, under RTNL) and
# module load, where the sites are the kernel crate's `Vec` growth
# arithmetic inlined and iterator counts, bounded by what was allocated.
ALLOWED = [
    (r"^<wireguard_rs::tables::Tables>::(reserve|add_peer)$",
     "netlink: room for a configuration batch (Vec growth inlined)"),
    (r"^<wireguard_rs::proto::allowedips::AllowedIps<.*>>::reserve$",
     "netlink: allowed-IP nodes for a batch (Vec growth inlined)"),
    (r"^wireguard_rs::netlink::set_device$",
     "netlink: counting the attributes of one message (iterator sums)"),
    (r"^<wireguard_rs::WireGuard as kernel::Module>::init$",
     "module load: the self-tests and the rate limiter's table size"),
]


def disassemble(module):
    try:
        return subprocess.run(["llvm-objdump", "-dr", "--no-show-raw-insn", module],
                              check=True, capture_output=True, text=True).stdout
    except FileNotFoundError:
        sys.exit("panic-sites: llvm-objdump not found (scripts/setup-host.sh installs llvm)")


def demangle(names):
    names = list(names)
    if not names:
        return {}
    out = subprocess.run(["llvm-cxxfilt"], input="\n".join(names), check=True,
                         capture_output=True, text=True).stdout.split("\n")
    return dict(zip(names, out))


def parse(text):
    """The functions in order, and each one's outgoing edges: the functions
    and symbols it calls, jumps to or takes the address of."""
    edges = collections.defaultdict(set)
    starts = collections.defaultdict(list)  # section -> [(offset, function)]
    section = cur = None
    order = []
    pending = []  # (function, section, offset): section-relative references
    for line in text.split("\n"):
        m = re.match(r"^Disassembly of section (\S+):$", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"^([0-9a-f]+) <(.+)>:$", line)
        if m:
            cur = m.group(2)
            order.append(cur)
            starts[section].append((int(m.group(1), 16), cur))
            continue
        if cur is None:
            continue
        # A direct call or jump to another function (not to a label of its
        # own, "<f+0x..>"), as llvm-objdump and GNU objdump print it.
        m = re.search(r"\s(?:callq?|jmpq?)\s+(?:0x)?[0-9a-f]+ <([^>+]+)>\s*$", line)
        if m and m.group(1) != cur:
            edges[cur].add(m.group(1))
        m = re.search(r"R_X86_64_\w+\s+(\S+?)(?:([+-])0x([0-9a-f]+))?\s*$", line)
        if m:
            sym = m.group(1)
            if sym.startswith("."):
                off = int(m.group(3) or "0", 16) * (-1 if m.group(2) == "-" else 1)
                pending.append((cur, sym, off))
            elif sym != cur:
                edges[cur].add(sym)
    # A section-relative reference (a local function's address taken, or
    # called through its section): to the function that holds the offset.
    for f, sec, off in pending:
        best = None
        for start, g in starts.get(sec, []):
            if start <= off and (best is None or start > best[0]):
                best = (start, g)
        if best and best[1] != f:
            edges[f].add(best[1])
    return order, edges


def check(text):
    order, edges = parse(text)
    funcs = set(order)
    names = demangle(set(order) | {t for ts in edges.values() for t in ts})
    panics = {f: sorted({names[t] for t in edges[f] if PANIC.match(names[t])}) for f in order}
    panics = {f: p for f, p in panics.items() if p}
    entries = [f for f in order if ENTRY.match(names[f])]
    problems = []
    if not entries:
        problems.append("no packet-path entry point found (ENTRY matches no function): "
                        "the check would check nothing")
    # Reachability from the entry points, keeping one path to each.
    parent = {f: None for f in entries}
    queue = collections.deque(entries)
    while queue:
        f = queue.popleft()
        for t in sorted(edges[f]):
            if t in funcs and t not in parent:
                parent[t] = f
                queue.append(t)
    kernel_vec = [re.compile(r) for r in KERNEL_VEC]
    for f in order:
        if f in parent and f in panics and not any(r.match(names[f]) for r in kernel_vec):
            path, g = [], f
            while g is not None:
                path.append(names[g])
                g = parent[g]
            problems.append("reachable from a packet path and can panic (%s):\n      %s" % (
                ", ".join(p.split("::")[-1] for p in panics[f]),
                "\n   <- ".join(path)))
    allowed = [(re.compile(r), why) for r, why in ALLOWED]
    for f in order:
        if f in panics and f not in parent and not any(r.match(names[f]) for r, _ in allowed) \
                and not any(r.match(names[f]) for r in kernel_vec):
            problems.append("can panic and is not in ALLOWED (%s): %s" % (
                ", ".join(p.split("::")[-1] for p in panics[f]), names[f]))
    print("panic-sites: %d functions, %d packet-path entry points, %d functions reachable from "
          "them, %d with a panic site (%d of them the kernel's Vec growth)" % (
              len(order), len(entries), len(parent), len(panics),
              sum(1 for f in panics if any(r.match(names[f]) for r in kernel_vec))))
    for p in problems:
        print("FAIL: " + p)
    return 1 if problems else 0


# Made-up disassemblies in llvm-objdump's form (mangled names of the
# shapes the demangler knows): an entry point that reaches a panic through a
# direct call, one that reaches it through a section-relative relocation (a
# local function's address), a panic site off the packet paths that is not
# allowed, and the clean case.
ENTRY_FN = "_RINvNtNtCs1_12wireguard_rs4kapi3udp18encap_rcv_callbackB4_EB4_"
HELPER = "_RNvNtCs1_12wireguard_rs7receive6helper"
CONFIG = "_RNvNtCs1_12wireguard_rs7netlink5other"
PANIC_SYM = "_RNvNtNtCs2_4core9panicking11panic_const24panic_const_add_overflow"


def sample(call_line, panic_in, extra=""):
    return "\n".join([
        "Disassembly of section .text:",
        "0000000000000000 <%s>:" % ENTRY_FN,
        "       0:      \tpushq\t%rbp",
        call_line,
        "      10:      \tretq",
        "0000000000000040 <%s>:" % HELPER,
        "      40:      \taddl\t$1, %eax",
        "      48:      \tcallq\t0x4d <%s+0xd>" % HELPER,
        "\t\t0000000000000049:  R_X86_64_PLT32\t%s-0x4" % PANIC_SYM if panic_in == "helper" else "",
        "      50:      \tretq",
        "0000000000000080 <%s>:" % CONFIG,
        "      80:      \tcallq\t0x85 <%s+0x5>" % CONFIG,
        "\t\t0000000000000081:  R_X86_64_PLT32\t%s-0x4" % PANIC_SYM if panic_in == "config" else "",
        "      90:      \tretq",
        extra,
    ])


def self_test():
    direct = "       4:      \tcallq\t0x40 <%s>" % HELPER
    by_section = "       4:      \tmovq\t$0, %rdi\n\t\t0000000000000007:  R_X86_64_32S\t.text+0x40"
    unrelated = "       4:      \tnop"
    cases = [
        ("a panic reached by a direct call", sample(direct, "helper"), 1),
        ("a panic reached through a section-relative relocation", sample(by_section, "helper"), 1),
        ("a panic off the packet paths, not allowed", sample(unrelated, "config"), 1),
        ("the same helper, not reached", sample(unrelated, "helper"), 1),
        ("no panic anywhere", sample(direct, "none"), 0),
        ("no entry point", "Disassembly of section .text:\n0000000000000000 <%s>:\n       0:\tretq" % HELPER, 1),
    ]
    bad = 0
    for what, text, want in cases:
        print("--- self-test: %s (want exit %d)" % (what, want))
        got = check(text)
        if got != want:
            print("MISMATCH: %s: exit %d, want %d" % (what, got, want))
            bad += 1
    print("panic-sites self-test: %d of %d cases as expected" % (len(cases) - bad, len(cases)))
    return 1 if bad else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) > 2:
        sys.exit(__doc__)
    module = argv[1] if len(argv) == 2 else os.path.join(TOP, "build/release/wireguard.ko")
    if not os.path.exists(module):
        sys.exit("panic-sites: no module at %s (scripts/build-module.sh release)" % module)
    return check(disassemble(module))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
