#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""No panic reachable from a packet path, nor any panic site elsewhere, in the
module as built (the kernel crate's `Vec` growth excepted, below).

    tests/static/panic-sites.py [MODULE.ko]      (default build/release/wireguard.ko)
    tests/static/panic-sites.py --self-test     (the checker on made-up disassemblies)

A Rust panic in the kernel is a BUG(): a remote denial of service if a
packet can reach one. The source rules (no `unwrap`, no unchecked indexing,
no overflowing arithmetic on packet paths) are checked here on the object
itself, with the kernel's overflow checks (CONFIG_RUST_OVERFLOW_CHECKS) and
whatever the kernel crate inlines into it:

1. No function of the module reachable from a packet-path entry point (the
   callbacks the kernel calls for received datagrams, GRO, transmit, the
   crypt and handshake workers, NAPI polls, peer work and timers: ENTRIES
   below, each of which must be found) calls a panic function of `core`
   (overflow, bounds, unwrap, slice index...). Calls are followed through
   direct calls, tail calls (conditional ones too) and relocations in code
   (a function whose address code takes counts as reached: an
   over-estimate); function pointers in data are not followed (the kernel's
   callbacks are the entry points, named). The one exception is KERNEL_VEC
   below: the kernel crate's `Vec` growth, whose checked arithmetic is
   bounded by `Vec`'s own invariants, kept out of line in two wrappers.
2. No other function of the module can panic either, KERNEL_VEC excepted
   as above (the netlink handlers, module load: reachable by CAP_NET_ADMIN
   in a user namespace, so by an unprivileged user where those are
   allowed). ALLOWED names exceptions with their reasons; it is empty
   (since session 37, when the last three, the configuration's sums and
   `Vec` growth and a self-test's slice, were made panic-free), and a new
   site fails the check until it is fixed or named there.

Not checked: Rust code of the kernel image that the module calls
(`core::fmt` and the `Display` of addresses for debug messages, the kernel
crate's locks, `Error` and `printk`): it lies outside the module. The script
lists what of it is called, from the packet paths and from the rest.

Needs llvm-objdump and llvm-cxxfilt (Debian's llvm, scripts/packages.txt).
"""
import collections
import os
import re
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The kernel calls these through function pointers for packets and the work
# they cause (demangled names, generic or not). Each must match a function:
# one that went missing (renamed, say) would leave its paths unchecked.
ENTRIES = [
    r"^wireguard_rs::kapi::udp::encap_rcv_callback\b",
    r"^wireguard_rs::kapi::udp::gro_receive_callback\b",
    r"^wireguard_rs::kapi::netdev::start_xmit_callback\b",
    r"^wireguard_rs::kapi::crypt_queue::worker_cb\b",
    r"^wireguard_rs::kapi::anchored::napi_cb\b",
    r"^wireguard_rs::kapi::anchored::work_cb\b",
    r"^wireguard_rs::kapi::anchored::timer_cb\b",
]

# What a panic calls (demangled names of `core`'s panic entry points).
PANIC = re.compile(
    r"^(core::(panicking::|option::(unwrap|expect)_failed|result::unwrap_failed"
    r"|slice::.*fail|str::.*fail|cell::panic_)|rust_begin_unwind|rust_panic)")

# The kernel crate's `Vec::push` and `Vec::reserve` (6.12's
# rust/kernel/alloc/kvec.rs), and `kapi`'s one-line wrappers of them, which
# are never inlined so that nothing else shares the exemption: their checks
# are `cap - len` (`cap >= len` is `Vec`'s invariant), `cap * 2` (`cap <=
# isize::MAX` for any type of at least a byte) and `len + 1` after a
# successful reserve. They may be reached: a handshake that authenticated
# takes a receiver index (`HashTable::reserve` grows the slots when none is
# free), as the C driver allocates its keypair there.
KERNEL_VEC = [
    r"^<kernel::alloc::kvec::Vec<.*>>::(push|reserve)$",
    r"^<wireguard_rs::kapi::platform::\w+ as wireguard_rs::proto::platform::Alloc>::vec_(push|reserve)::<.*>$",
]

# Functions allowed to keep a panic site, as (regex on the demangled name,
# reason); none may be reachable from ENTRIES (that is checked too). None:
# the configuration path and module load are held to the same rule as the
# packet paths.
ALLOWED = []


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
        m = re.search(r"\s(?:callq?|j[a-z]+)\s+(?:0x)?[0-9a-f]+ <([^>+]+)>\s*$", line)
        if m and m.group(1) != cur:
            edges[cur].add(m.group(1))
        m = re.search(r"R_X86_64_(\w+)\s+(\S+?)(?:([+-])0x([0-9a-f]+))?\s*$", line)
        if m:
            sym = m.group(2)
            if sym.startswith("."):
                off = int(m.group(4) or "0", 16) * (-1 if m.group(3) == "-" else 1)
                # A PC-relative field is 4 bytes before where the CPU counts
                # from: its target is the addend plus 4 (`call .text+0x4bc`
                # reaches 0x4c0).
                if m.group(1) in ("PC32", "PLT32"):
                    off += 4
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


def check(text, entries_wanted=ENTRIES, allowed_list=ALLOWED):
    """Prints the verdict; returns the kinds of problem found (empty: none)."""
    order, edges = parse(text)
    funcs = set(order)
    names = demangle(set(order) | {t for ts in edges.values() for t in ts})
    panics = {f: sorted({names[t] for t in edges[f] if PANIC.match(names[t])}) for f in order}
    panics = {f: p for f, p in panics.items() if p}
    problems = []  # (kind, text)
    entries = []
    for want in entries_wanted:
        found = [f for f in order if re.match(want, names[f])]
        if not found:
            problems.append(("missing entry", "no function matches the entry point %s: its "
                             "paths would go unchecked (renamed? update ENTRIES)" % want))
        entries += [f for f in found if f not in entries]
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
    is_vec = lambda f: any(r.match(names[f]) for r in kernel_vec)
    for f in order:
        if f in parent and f in panics and not is_vec(f):
            path, g = [], f
            while g is not None:
                path.append(names[g])
                g = parent[g]
            problems.append(("reachable", "reachable from a packet path and can panic (%s):\n      %s" % (
                ", ".join(p.split("::")[-1] for p in panics[f]), "\n   <- ".join(path))))
    allowed = [re.compile(r) for r, _ in allowed_list]
    for f in order:
        if f in panics and f not in parent and not is_vec(f) and not any(r.match(names[f]) for r in allowed):
            problems.append(("unallowed", "can panic and is not in ALLOWED (%s): %s" % (
                ", ".join(p.split("::")[-1] for p in panics[f]), names[f])))
    # Statics (lock classes, format strings, the module's own) are referenced
    # too: only the kernel's Rust functions count.
    def kernel_code(t):
        n = names[t]
        return (t not in funcs and "::" in n and not PANIC.match(n) and
                not re.match(r"^<?wireguard_rs::", n) and not re.search(r"::[A-Z][A-Z0-9_]*$", n))
    outside = sorted({names[t] for f in parent for t in edges[f] if kernel_code(t)})
    outside_rest = sorted({names[t] for f in order if f not in parent for t in edges[f]
                           if kernel_code(t)} - set(outside))
    print("panic-sites: %d functions, %d packet-path entry points, %d functions reachable from "
          "them, %d with a panic site (%d of them the kernel's Vec growth)" % (
              len(order), len(entries), len(parent), len(panics), sum(1 for f in panics if is_vec(f))))
    if outside:
        print("Rust code of the kernel image the packet paths call (not checked here): " + "; ".join(outside))
    if outside_rest:
        print("Rust code of the kernel image the rest of the module calls besides (not checked here): " +
              "; ".join(outside_rest))
    for _, p in problems:
        print("FAIL: " + p)
    return {k for k, _ in problems}


# Made-up disassemblies in llvm-objdump's form (mangled names of the shapes
# the demangler knows): an entry point, a helper that can panic, and a
# configuration function. Each case says which kinds of problem it must
# report, so a case cannot pass by the other rule.
ENTRY_FN = "_RINvNtNtCs1_12wireguard_rs4kapi3udp18encap_rcv_callbackB4_EB4_"
HELPER = "_RNvNtCs1_12wireguard_rs7receive6helper"
CONFIG = "_RNvNtCs1_12wireguard_rs7netlink5other"
PANIC_SYM = "_RNvNtNtCs2_4core9panicking11panic_const24panic_const_add_overflow"
TEST_ENTRIES = [r"^wireguard_rs::kapi::udp::encap_rcv_callback\b"]


def sample(call_line, panic_in):
    return "\n".join(line for line in [
        "Disassembly of section .text:",
        "0000000000000000 <%s>:" % ENTRY_FN,
        "       0:      \tpushq\t%rbp",
        call_line,
        "      10:      \tretq",
        "0000000000000040 <%s>:" % HELPER,
        "      40:      \taddl\t$1, %eax",
        "      48:      \tcallq\t0x4d <%s+0xd>" % HELPER,
        "\t\t0000000000000049:  R_X86_64_PLT32\t%s-0x4" % PANIC_SYM if panic_in == "helper" else None,
        "      50:      \tretq",
        "0000000000000080 <%s>:" % CONFIG,
        "      80:      \tcallq\t0x85 <%s+0x5>" % CONFIG,
        "\t\t0000000000000081:  R_X86_64_PLT32\t%s-0x4" % PANIC_SYM if panic_in == "config" else None,
        "      90:      \tretq",
    ] if line is not None)


def self_test():
    direct = "       4:      \tcallq\t0x40 <%s>" % HELPER
    branch = "       4:      \tje\t0x40 <%s>" % HELPER
    absolute = "       4:      \tmovq\t$0, %rdi\n\t\t0000000000000007:  R_X86_64_32S\t.text+0x40"
    relative = "       4:      \tcallq\t0x9 <%s+0x9>\n\t\t0000000000000005:  R_X86_64_PLT32\t.text+0x3c" % ENTRY_FN
    nothing = "       4:      \tnop"
    helper_ok = [(r"^wireguard_rs::receive::helper$", "test")]
    cases = [
        # (what, text, allowed, want): the helper is allowed where only the
        # reachability rule may report it.
        ("reached by a direct call", sample(direct, "helper"), helper_ok, {"reachable"}),
        ("reached by a conditional jump", sample(branch, "helper"), helper_ok, {"reachable"}),
        ("reached by its address (absolute)", sample(absolute, "helper"), helper_ok, {"reachable"}),
        ("reached by a PC-relative call to .text+0x3c (0x40)", sample(relative, "helper"), helper_ok,
         {"reachable"}),
        ("an allowed panic, not reached", sample(nothing, "helper"), helper_ok, set()),
        ("a panic off the packet paths, not allowed", sample(nothing, "config"), [], {"unallowed"}),
        ("no panic anywhere", sample(direct, None), [], set()),
        ("an entry point missing", sample(direct, None) .replace(ENTRY_FN, HELPER + "x"), [],
         {"missing entry"}),
    ]
    return run_cases("panic-sites", [(what, want, lambda t=text, a=allowed: check(t, TEST_ENTRIES, a))
                                     for what, text, allowed, want in cases])


def run_cases(tool, cases):
    """A self-test: each case (what, the kinds of problem it must report,
    a function that checks it and returns those it reported) run and judged;
    1 if any reported other kinds, else 0. (tests/static/stack-depth.py's too.)"""
    bad = 0
    for what, want, run in cases:
        print("--- self-test: %s (want: %s)" % (what, ", ".join(sorted(want)) or "pass"))
        got = run()
        if got != want:
            print("MISMATCH: %s: reported %s, want %s" % (what, sorted(got), sorted(want)))
            bad += 1
    print("%s self-test: %d of %d cases as expected" % (tool, len(cases) - bad, len(cases)))
    return 1 if bad else 0


def module_main(argv, tool, usage, self_test, check_text):
    """The command line both checkers take: --self-test, or the module to
    check (default the release module); CHECK_TEXT gets its disassembly and
    returns the kinds of problem found. (tests/static/stack-depth.py's too.)"""
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) > 2:
        sys.exit(usage)
    module = argv[1] if len(argv) == 2 else os.path.join(TOP, "build/release/wireguard.ko")
    if not os.path.exists(module):
        sys.exit("%s: no module at %s (scripts/build-module.sh release)" % (tool, module))
    return 1 if check_text(disassemble(module)) else 0


def main(argv):
    return module_main(argv, "panic-sites", __doc__, self_test, check)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
