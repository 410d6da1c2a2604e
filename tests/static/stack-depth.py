#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The stack scrub covers what it must, in the module as built.

    tests/static/stack-depth.py [MODULE.ko]     (default build/release/wireguard.ko)
    tests/static/stack-depth.py --self-test    (the checker on made-up disassemblies)

`kapi::platform::scrubbed(f)` runs `f` in a frame of its own
(`call_apart`) and then zeroes SCRUB_BYTES of stack below its caller's frame,
so that no copy of a secret that `f`'s code moved survives there. That holds
only if nothing the module runs under `f` goes deeper than SCRUB_BYTES. This
computes, from the disassembly, the deepest stack of the module's own code
under each `call_apart` (each function's frame: return address, the pushes
and `sub`s of `%rsp` it makes, an alignment's slack; calls add the callee's
depth to the frame, tail jumps replace it) and fails if one is deeper than
SCRUB_BYTES (read from src/kapi/platform.rs), if a call cycle or an indirect call is found under one
(its depth would be unbounded or unknown), or if one of the scrubbed sites
(SITES) is missing.

The kernel's functions called from there (curve25519, BLAKE2s,
ChaCha20-Poly1305, the UDP send path) count as frames of depth 0: they get
the module's secrets by pointer and wipe their own copies
(memzero_explicit), as for the C driver; the scrub is for the module's
copies.

Needs llvm-objdump and llvm-cxxfilt (Debian's llvm, scripts/packages.txt).
"""
import importlib.util
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_spec = importlib.util.spec_from_file_location("panic_sites", os.path.join(TOP, "tests/static/panic-sites.py"))
panic_sites = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(panic_sites)

# The scrubbed sites, by the closure each `call_apart` runs (demangled): the
# handshake worker's messages, the peer work's initiations, the netlink
# SET_DEVICE handler.
SITES = [
    r"^wireguard_rs::kapi::platform::call_apart::<.*wireguard_rs::receive::HandshakeWorker.*::run::\{closure",
    r"^wireguard_rs::kapi::platform::call_apart::<.*wireguard_rs::send::handshake_work::\{closure",
    r"^wireguard_rs::kapi::platform::call_apart::<.*wireguard_rs::netlink::Genl.*::doit::\{closure",
]
ROOT = re.compile(r"^wireguard_rs::kapi::platform::call_apart::<")

# Functions whose indirect calls are known to go into the kernel (function
# pointers of the kernel's own structures, never the module's): their
# targets count as the kernel's functions do. Any other indirect call under
# a site fails the check (its depth unknown).
INDIRECT_KERNEL = [
    (r"^<wireguard_rs::kapi::udp::EncapSocket<.*>>::route$", "ipv6_stub->ipv6_dst_lookup_flow"),
    (r"^wg_shim_skb_orphan$", "skb->destructor, the sending socket's (skb_orphan)"),
    (r"^wg_shim_skb_dst_mtu$", "dst->ops->mtu (dst_mtu)"),
]


def scrub_bytes():
    """SCRUB_BYTES as src/kapi/platform.rs sets it."""
    src = open(os.path.join(TOP, "src/kapi/platform.rs")).read()
    m = re.search(r"pub\(crate\) const SCRUB_BYTES: usize = (\d+) \* 1024;", src)
    if not m:
        sys.exit("stack-depth: no SCRUB_BYTES in src/kapi/platform.rs")
    return int(m.group(1)) * 1024


def parse(text):
    """Each function's frame size, its direct calls, its tail jumps to other
    functions and whether it makes an indirect call."""
    funcs = {}
    order = []
    starts = {}  # section -> [(offset, function)]
    pending = []  # (function, kind, section, offset): calls through a section
    section = cur = last_call = None
    for line in text.split("\n"):
        m = re.match(r"^Disassembly of section (\S+):$", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"^([0-9a-f]+) <(.+)>:$", line)
        if m:
            cur = m.group(2)
            order.append(cur)
            starts.setdefault(section, []).append((int(m.group(1), 16), cur))
            funcs[cur] = {"pushes": 0, "sub": 0, "align": 0, "calls": set(), "jumps": set(),
                          "indirect": False, "prologue": True}
            continue
        if cur is None:
            continue
        f = funcs[cur]
        if "R_X86_64_" in line:
            # A call or jump just before went through this relocation: its
            # target, a function by name or an offset in a section (what
            # the instruction shows is only its unrelocated displacement).
            m = re.search(r"R_X86_64_(?:PLT32|PC32)\s+([^\s+-]+)(?:\+0x([0-9a-f]+))?", line)
            if m and last_call is not None:
                kind, shown = last_call
                if m.group(1).startswith("."):
                    # The field is 4 bytes before where the CPU counts from.
                    pending.append((cur, kind, m.group(1), int(m.group(2) or "0", 16) + 4))
                elif m.group(1) != cur:
                    f[kind].add(m.group(1))
            last_call = None
            continue
        if last_call is not None and last_call[1] is not None:
            # No relocation: the target shown is the target.
            f[last_call[0]].add(last_call[1])
        last_call = None
        if not re.match(r"^\s+[0-9a-f]+:\s", line):
            continue
        ins = line.split("\t")
        op = ins[1].strip() if len(ins) > 1 else ""
        arg = ins[2].split("#")[0].strip() if len(ins) > 2 else ""
        if f["prologue"]:
            if op in ("pushq", "push") and arg.startswith("%"):
                f["pushes"] += 1
                continue
            if op in ("movq", "mov") and arg == "%rsp, %rbp":
                continue
            f["prologue"] = False
        m = re.match(r"^\$(0x[0-9a-f]+|\d+), %rsp$", arg)
        if op in ("subq", "sub") and m:
            f["sub"] += int(m.group(1), 0)
        m = re.match(r"^\$-(\d+), %rsp$", arg)
        if op in ("andq", "and") and m:
            f["align"] = max(f["align"], int(m.group(1)) - 8)
        if op in ("callq", "call", "jmp", "jmpq") or re.match(r"^j[a-z]+$", op):
            kind = "calls" if op.startswith("call") else "jumps"
            if arg.startswith("*") or arg.startswith("%") or "__x86_indirect_" in line:
                f["indirect"] = True
                continue
            m = re.search(r"<([^>+]+)(\+0x[0-9a-f]+)?>", arg)
            if m:
                # Taken once the next line shows no relocation.
                last_call = (kind, m.group(1) if m.group(1) != cur else None)
    if cur is not None and last_call is not None and last_call[1] is not None:
        funcs[cur][last_call[0]].add(last_call[1])
    for name, kind, sec, off in pending:
        best = None
        for start, g in starts.get(sec, []):
            if start <= off and (best is None or start > best[0]):
                best = (start, g)
        if best and best[1] != name:
            funcs[name][kind].add(best[1])
    return order, funcs


def frame(f):
    return 8 + 8 * f["pushes"] + f["sub"] + f["align"]


def depths(order, funcs, kernel_indirect=()):
    """Each function's deepest stack of module code (None where unbounded: a
    cycle), with the path to it."""
    memo, onstack = {}, set()

    def depth(name):
        if name not in funcs:
            return 0, [], False  # outside the module (the kernel's)
        if name in memo:
            return memo[name]
        if name in onstack:
            return None, [name], False
        onstack.add(name)
        f = funcs[name]
        best, path, indirect = frame(f), [name], f["indirect"] and name not in kernel_indirect
        for callee, extra in [(c, frame(f)) for c in f["calls"]] + [(j, 0) for j in f["jumps"]]:
            d, p, ind = depth(callee)
            indirect = indirect or ind
            if d is None:
                onstack.discard(name)
                memo[name] = (None, [name] + p, indirect)
                return memo[name]
            if extra + d > best:
                best, path = extra + d, [name] + p
        onstack.discard(name)
        memo[name] = (best, path, indirect)
        return memo[name]

    return depth


def check(text, limit, sites=SITES):
    """Prints the verdict; returns the kinds of problem found (empty: none)."""
    order, funcs = parse(text)
    names = panic_sites.demangle(set(order) | {t for f in funcs.values() for t in f["calls"] | f["jumps"]})
    known = [re.compile(r) for r, _ in INDIRECT_KERNEL]
    depth = depths(order, funcs, {f for f in order if any(r.match(names[f]) for r in known)})
    problems = []
    roots = [f for f in order if ROOT.match(names[f])]
    for want in sites:
        if not any(re.match(want, names[f]) for f in roots):
            problems.append(("missing site", "no call_apart matches the scrubbed site %s (renamed, "
                             "or no longer scrubbed?)" % want))
    for r in roots:
        d, path, indirect = depth(r)
        shown = "\n      " + "\n   -> ".join(names.get(p, p) for p in path)
        if d is None:
            problems.append(("cycle", "a call cycle under %s: its depth is unbounded:%s" % (names[r], shown)))
            continue
        print("stack-depth: %5d bytes under %s (SCRUB_BYTES %d)" % (d, names[r], limit))
        if d > limit:
            problems.append(("too deep", "%d bytes of module code under %s, deeper than the %d "
                             "the scrub zeroes; the deepest path:%s" % (d, names[r], limit, shown)))
        if indirect:
            problems.append(("indirect", "an indirect call under %s: its depth is unknown" % names[r]))
    for _, p in problems:
        print("FAIL: " + p)
    return {k for k, _ in problems}


# Made-up disassemblies in llvm-objdump's form: a site's call_apart calls a
# helper (a frame of 8 + 16 + 0x100 bytes) which calls a leaf through a
# relocation, or tail-jumps to it.
SITE = "_RINvNtNtCs1_12wireguard_rs4kapi8platform10call_apartuNCNvNtB6_4send14handshake_work0EB6_"
HELPER = "_RNvNtCs1_12wireguard_rs4send6helper"
LEAF = "_RNvNtCs1_12wireguard_rs4send4leaf"
TEST_SITES = [r"^wireguard_rs::kapi::platform::call_apart::<.*wireguard_rs::send::handshake_work::\{closure"]


def sample(helper_body, leaf_sub=0x40):
    return "\n".join([
        "Disassembly of section .text:",
        "0000000000000000 <%s>:" % SITE,
        "       0:      \tpushq\t%rbx",
        "       1:      \tcallq\t0x40 <%s>" % HELPER,
        "       6:      \tpopq\t%rbx",
        "       7:      \tretq",
        "0000000000000040 <%s>:" % HELPER,
        "      40:      \tpushq\t%rbx",
        "      41:      \tpushq\t%r14",
        "      43:      \tsubq\t$256, %rsp             # imm = 0x100",
    ] + helper_body + [
        "      60:      \taddq\t$256, %rsp             # imm = 0x100",
        "      64:      \tretq",
        "0000000000000080 <%s>:" % LEAF,
        "      80:      \tsubq\t$0x%x, %%rsp" % leaf_sub,
        "      84:      \tretq",
    ])


def self_test():
    call = ["      4a:      \tcallq\t0x4f <%s+0xf>" % HELPER,
            "\t\t000000000000004b:  R_X86_64_PLT32\t%s-0x4" % LEAF]
    tail = ["      4a:      \tjmp\t0x80 <%s>" % LEAF]
    indirect = ["      4a:      \tcallq\t*%rax"]
    cycle = ["      4a:      \tcallq\t0x0 <%s>" % SITE]
    # Depths: the site 8 + 8, the helper 8 + 16 + 256 = 280, the leaf 8 + 64.
    cases = [
        ("a call through a relocation: 16 + 280 + 72 = 368", sample(call), 368, set()),
        ("the same, one byte over the limit", sample(call), 367, {"too deep"}),
        ("a tail jump replaces the frame: 16 + max(280, 72)", sample(tail), 296, set()),
        ("a deep leaf by tail jump: 16 + 8 + 0x400", sample(tail, 0x400), 16 + 8 + 0x400 - 1, {"too deep"}),
        ("an indirect call", sample(indirect), 4096, {"indirect"}),
        ("an indirect call known to go into the kernel", sample(indirect).replace(HELPER, "wg_shim_skb_orphan"),
         4096, set()),
        ("a cycle", sample(cycle), 4096, {"cycle"}),
        ("the site missing", sample(call).replace(SITE, HELPER + "x"), 4096, {"missing site"}),
    ]
    bad = 0
    for what, text, limit, want in cases:
        print("--- self-test: %s (want: %s)" % (what, ", ".join(sorted(want)) or "pass"))
        got = check(text, limit, TEST_SITES)
        if got != want:
            print("MISMATCH: %s: reported %s, want %s" % (what, sorted(got), sorted(want)))
            bad += 1
    print("stack-depth self-test: %d of %d cases as expected" % (len(cases) - bad, len(cases)))
    return 1 if bad else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) > 2:
        sys.exit(__doc__)
    module = argv[1] if len(argv) == 2 else os.path.join(TOP, "build/release/wireguard.ko")
    if not os.path.exists(module):
        sys.exit("stack-depth: no module at %s (scripts/build-module.sh release)" % module)
    return 1 if check(panic_sites.disassemble(module), scrub_bytes()) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
