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

The kernel's functions called from there are not in the module: they count
as depth 0, and KERNEL_CRYPTO_BYTES more must fit below the module's
deepest path, for the kernel's crypto under it, which gets the module's
secrets by pointer and does not wipe every copy it makes (x86-64's
curve25519 leaves the DH result in encode_point's frame: the C driver leaves
halves of DH results on its stacks, tests/vm/suite/secrets.sh finds them).
What else of the kernel runs below (the UDP send path) handles no secret.

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

# The kernel's crypto below the module's code, measured on 6.12's vmlinux
# (this script's parser over llvm-objdump's disassembly of it): curve25519_arch
# 592 bytes of frame, 1,408 with its fallback to curve25519_generic (the debug
# kernel, KASAN: 656 and 2,080); ChaCha20-Poly1305 some 0.9 KiB; BLAKE2s
# 0.5 KiB with its generic compression function.
KERNEL_CRYPTO_BYTES = 2560
SCRUB = re.compile(r"^wireguard_rs::kapi::platform::scrub_frames$")

# Functions whose indirect calls are known to go into the kernel (function
# pointers of the kernel's own structures, never the module's): their
# targets count as the kernel's functions do. Any other indirect call under
# a site fails the check (its depth unknown).
INDIRECT_KERNEL = [
    (r"^<wireguard_rs::kapi::udp::EncapSocket<.*>>::route$", "ipv6_stub->ipv6_dst_lookup_flow"),
    (r"^wg_shim_skb_orphan$", "skb->destructor, the sending socket's (skb_orphan)"),
    (r"^wg_shim_skb_dst_mtu$", "dst->ops->mtu (dst_mtu)"),
]


def scrub_consts():
    """SCRUB_BYTES and SCRUB_FRAME as src/kapi/platform.rs sets them."""
    src = open(os.path.join(TOP, "src/kapi/platform.rs")).read()
    m = re.search(r"pub\(crate\) const SCRUB_BYTES: usize = (\d+) \* 1024;", src)
    n = re.search(r"const SCRUB_FRAME: usize = (\d+);", src)
    if not m or not n:
        sys.exit("stack-depth: no SCRUB_BYTES or SCRUB_FRAME in src/kapi/platform.rs")
    return int(m.group(1)) * 1024, int(n.group(1))


def parse(text):
    """Each function's frame (the pushes and `sub`s of `%rsp` it makes
    anywhere, an alignment's slack: an upper bound), its direct calls (in
    order, in "seq", too), its tail jumps to other functions, and whether it
    makes an indirect call."""
    funcs = {}
    order = []
    starts = {}  # section -> [(offset, function)]
    pending = []  # (function, kind, slot, section, offset): calls through a section
    section = cur = last_call = None

    def add(f, kind, target, slot=None):
        f[kind].add(target)
        if kind == "calls":
            if slot is None:
                slot = [None]
                f["seq"].append(slot)
            slot[0] = target

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
                          "seq": [], "indirect": False, "stos": False}
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
                kind = last_call[0]
                if m.group(1).startswith("__x86_indirect_"):
                    f["indirect"] = True  # a retpoline or call thunk
                elif m.group(1).startswith("."):
                    # The field is 4 bytes before where the CPU counts from.
                    slot = None
                    if kind == "calls":
                        f["seq"].append([None])
                        slot = f["seq"][-1]
                    pending.append((cur, kind, slot, m.group(1), int(m.group(2) or "0", 16) + 4))
                else:
                    add(f, kind, m.group(1))
            last_call = None
            continue
        if last_call is not None and last_call[1] is not None:
            # No relocation: the target shown is the target.
            add(f, last_call[0], last_call[1])
        last_call = None
        if not re.match(r"^\s*[0-9a-f]+:\s", line):
            continue
        ins = line.split("\t")
        op = ins[1].strip() if len(ins) > 1 else ""
        arg = ins[2].split("#")[0].strip() if len(ins) > 2 else ""
        if op in ("pushq", "push") and arg.startswith("%"):
            f["pushes"] += 1
        m = re.match(r"^\$(0x[0-9a-f]+|\d+), %rsp$", arg)
        if op in ("subq", "sub") and m:
            f["sub"] += int(m.group(1), 0)
        m = re.match(r"^\$-(0x[0-9a-f]+|\d+), %rsp$", arg)
        if op in ("addq", "add") and m:
            f["sub"] += int(m.group(1), 0)
        if op in ("andq", "and") and m:
            f["align"] = max(f["align"], int(m.group(1), 0) - 8)
        if op.startswith("rep") and "stos" in line:
            f["stos"] = True
        if op in ("callq", "call", "jmp", "jmpq") or re.match(r"^j[a-z]+$", op):
            kind = "calls" if op.startswith("call") else "jumps"
            if arg.startswith("*") or arg.startswith("%"):
                f["indirect"] = True
                continue
            m = re.search(r"<([^>+]+)(\+0x[0-9a-f]+)?>", arg)
            if m:
                # Taken once the next line shows no relocation: a call to
                # the function itself (recursion) counts, a jump to one of
                # its own labels does not.
                own = m.group(1) == cur and (kind == "jumps" or m.group(2))
                last_call = (kind, None if own else m.group(1))
    if cur is not None and last_call is not None and last_call[1] is not None:
        add(funcs[cur], last_call[0], last_call[1])
    for name, kind, slot, sec, off in pending:
        best = None
        for start, g in starts.get(sec, []):
            if start <= off and (best is None or start > best[0]):
                best = (start, g)
        if best:
            add(funcs[name], kind, best[1], slot)
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


def check_scrub(order, funcs, names, roots, frame_bytes):
    """The scrub itself, as built: `scrub_frames` zeroes a frame of at least
    FRAME_BYTES (a call of memset or a `rep stos`) and calls itself; every
    call of a site's `call_apart` is followed by a call of `scrub_frames`
    (the next call its caller makes: at the same stack pointer)."""
    problems = []
    scrub = [f for f in order if SCRUB.match(names[f])]
    if len(scrub) != 1:
        return [("scrub shape", "%d functions named scrub_frames, not 1" % len(scrub))]
    sf = funcs[scrub[0]]
    zeroes = sf["stos"] or any(re.match(r"^(__asan_)?memset$", t) for t in sf["calls"])
    if sf["sub"] < frame_bytes or not zeroes or scrub[0] not in sf["calls"]:
        problems.append(("scrub shape", "scrub_frames does not zero a frame of %d bytes and call itself "
                         "(frame %d, zeroing %s, recursive %s)" % (
                             frame_bytes, sf["sub"], zeroes, scrub[0] in sf["calls"])))
    for r in roots:
        callers = [f for f in order if r in funcs[f]["calls"] or r in funcs[f]["jumps"]]
        if not callers:
            problems.append(("scrub shape", "nothing calls %s" % names[r]))
        for c in callers:
            seq = [t[0] for t in funcs[c]["seq"]]
            after = [seq[i + 1] if i + 1 < len(seq) else None for i, t in enumerate(seq) if t == r]
            if r in funcs[c]["jumps"] or any(a != scrub[0] for a in after):
                problems.append(("scrub shape", "%s calls %s without calling scrub_frames right after" % (
                    names[c], names[r])))
    return problems


def check(text, limit, frame_bytes, sites=SITES, kernel_bytes=KERNEL_CRYPTO_BYTES):
    """Prints the verdict; returns the kinds of problem found (empty: none)."""
    order, funcs = parse(text)
    names = panic_sites.demangle(set(order) | {t for f in funcs.values() for t in f["calls"] | f["jumps"]})
    known = [re.compile(r) for r, _ in INDIRECT_KERNEL]
    depth = depths(order, funcs, {f for f in order if any(r.match(names[f]) for r in known)})
    problems = []
    roots = [f for f in order if ROOT.match(names[f])]
    problems += check_scrub(order, funcs, names, roots, frame_bytes)
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
        print("stack-depth: %5d bytes (+ %d for the kernel's crypto) under %s (SCRUB_BYTES %d)" % (
            d, kernel_bytes, names[r], limit))
        if d + kernel_bytes > limit:
            problems.append(("too deep", "%d bytes of module code under %s, and %d for the kernel's crypto "
                             "below it: deeper than the %d the scrub zeroes; the deepest path:%s" % (
                                 d, names[r], kernel_bytes, limit, shown)))
        if indirect:
            problems.append(("indirect", "an indirect call under %s: its depth is unknown" % names[r]))
    for _, p in problems:
        print("FAIL: " + p)
    return {k for k, _ in problems}


# Made-up disassemblies in llvm-objdump's form: a caller calls a site's
# call_apart, then scrub_frames (a frame of 8 + 8 + 1024, memset, itself);
# the call_apart calls a helper (a frame of 8 + 16 + 256 bytes, its pushes
# after an early return, as LLVM's shrink-wrapping places them) which calls
# a leaf through a relocation, or tail-jumps to it.
CALLER = "_RNvNtCs1_12wireguard_rs4send6caller"
SITE = "_RINvNtNtCs1_12wireguard_rs4kapi8platform10call_apartuNCNvNtB6_4send14handshake_work0EB6_"
SCRUB_FN = "_RNvNtNtCs1_12wireguard_rs4kapi8platform12scrub_frames"
HELPER = "_RNvNtCs1_12wireguard_rs4send6helper"
LEAF = "_RNvNtCs1_12wireguard_rs4send4leaf"
TEST_SITES = [r"^wireguard_rs::kapi::platform::call_apart::<.*wireguard_rs::send::handshake_work::\{closure"]


def sample(helper_body, leaf_sub="$0x40", after_site=SCRUB_FN, scrub_self=True):
    return "\n".join([
        "Disassembly of section .text:",
        "0000000000000000 <%s>:" % SITE,
        "       0:      \tpushq\t%rbx",
        "       1:      \tcallq\t0x40 <%s>" % HELPER,
        "       6:      \tpopq\t%rbx",
        "       7:      \tretq",
        "0000000000000040 <%s>:" % HELPER,
        "      40:      \tendbr64",
        "      44:      \tcmpb\t$0, (%rdi)",
        "      47:      \tje\t0x4b <%s+0xb>" % HELPER,
        "      49:      \tretq",
        "      4a:      \tpushq\t%rbx",
        "      4b:      \tpushq\t%r14",
        "      4d:      \tsubq\t$256, %rsp             # imm = 0x100",
    ] + helper_body + [
        "      60:      \taddq\t$256, %rsp             # imm = 0x100",
        "      64:      \tretq",
        "0000000000000080 <%s>:" % LEAF,
        "      80:      \tsubq\t%s, %%rsp" % leaf_sub if leaf_sub.startswith("$0x") else
        "      80:      \taddq\t%s, %%rsp" % leaf_sub,
        "      84:      \tretq",
        "00000000000000c0 <%s>:" % CALLER,
        "      c0:      \tcallq\t0x0 <%s>" % SITE,
        "      c5:      \tmovl\t$6, %edi",
        "      ca:      \tcallq\t0xcf <%s+0xf>" % CALLER,
        "\t\t00000000000000cb:  R_X86_64_PLT32\t%s-0x4" % after_site,
        "      cf:      \tretq",
        "0000000000000100 <%s>:" % SCRUB_FN,
        "     100:      \tpushq\t%rbx",
        "     101:      \tsubq\t$1024, %rsp             # imm = 0x400",
        "     108:      \tcallq\t0x10d <%s+0xd>" % SCRUB_FN,
        "\t\t0000000000000109:  R_X86_64_PLT32\tmemset-0x4",
        "     10d:      \tcallq\t0x100 <%s>" % (SCRUB_FN if scrub_self else LEAF),
        "     112:      \taddq\t$1024, %rsp             # imm = 0x400",
        "     119:      \tpopq\t%rbx",
        "     11a:      \tretq",
    ])


def self_test():
    call = ["      4f:      \tcallq\t0x54 <%s+0x14>" % HELPER,
            "\t\t0000000000000050:  R_X86_64_PLT32\t%s-0x4" % LEAF]
    tail = ["      4f:      \tjmp\t0x80 <%s>" % LEAF]
    indirect = ["      4f:      \tcallq\t*%rax"]
    retpoline = ["      4f:      \tcallq\t0x54 <%s+0x14>" % HELPER,
                 "\t\t0000000000000050:  R_X86_64_PLT32\t__x86_indirect_thunk_rax-0x4"]
    cycle = ["      4f:      \tcallq\t0x0 <%s>" % SITE]
    recursion = ["      4f:      \tcallq\t0x40 <%s>" % HELPER]
    # Depths: the site 8 + 8, the helper 8 + 16 + 256 = 280, the leaf 8 + 64.
    cases = [
        ("a call through a relocation: 16 + 280 + 72 = 368", sample(call), 368, set()),
        ("the same, one byte over the limit", sample(call), 367, {"too deep"}),
        ("the same with 100 bytes for the kernel's crypto", sample(call), 468, set(), 100),
        ("the same with 101 bytes for the kernel's crypto", sample(call), 468, {"too deep"}, 101),
        ("a tail jump replaces the frame: 16 + max(280, 72)", sample(tail), 296, set()),
        ("a deep leaf by tail jump: 16 + 8 + 0x400", sample(tail, "$0x400"), 16 + 8 + 0x400 - 1, {"too deep"}),
        ("a leaf's frame as addq $-128: 16 + 280 + 136", sample(call, "$-128"), 16 + 280 + 136 - 1,
         {"too deep"}),
        ("an indirect call", sample(indirect), 4096, {"indirect"}),
        ("an indirect call through a retpoline thunk", sample(retpoline), 4096, {"indirect"}),
        ("an indirect call known to go into the kernel", sample(indirect).replace(HELPER, "wg_shim_skb_orphan"),
         4096, set()),
        ("a cycle (through the site, which the helper then calls unscrubbed)", sample(cycle), 4096,
         {"cycle", "scrub shape"}),
        ("a function calling itself", sample(recursion), 4096, {"cycle"}),
        ("the site missing", sample(call).replace(SITE, HELPER + "x"), 4096, {"missing site"}),
        ("the site's call not followed by the scrub's", sample(call, after_site=LEAF), 4096, {"scrub shape"}),
        ("a scrub that does not recurse", sample(call, scrub_self=False), 4096, {"scrub shape"}),
        ("a scrub frame smaller than SCRUB_FRAME", sample(call).replace("$1024, %rsp", "$512, %rsp"), 4096,
         {"scrub shape"}),
    ]
    return panic_sites.run_cases("stack-depth", [
        (c[0], c[3], lambda c=c: check(c[1], c[2], 1024, TEST_SITES, c[4] if len(c) > 4 else 0))
        for c in cases])


def main(argv):
    return panic_sites.module_main(argv, "stack-depth", __doc__, self_test,
                                   lambda text: check(text, *scrub_consts()))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
