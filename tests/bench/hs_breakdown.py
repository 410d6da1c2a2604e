#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Where a handshake's CPU goes, per X25519 sample, from `make bench`'s
profiles (BENCH_PROFILE=1).

    tests/bench/hs_breakdown.py PROFILE_DIR

reads PROFILE_DIR/IMPL-hs-chains.gz (the call chains of every sample of the
handshake run, `perf script`, written by tests/bench/guest.sh) for each
implementation there and prints one markdown table: each kind of work as its
samples over the X25519 samples of the same run.

Why per X25519 sample: both drivers make the same Diffie-Hellman calls in
the kernel's own curve25519 (three variable-base and one fixed-base
multiplication per handshake answered), so the X25519 samples of a run
measure how many handshakes it did at the speed the machine had during it.
The machine's speed moves by more than the two drivers differ from one run
to the next; work counted in those units is comparable across runs, and
across drivers, where samples per second are not.

Kinds, by the sample's call chain, first match wins:
- X25519, BLAKE2s, ChaCha20-Poly1305: the kernel's library functions (the
  sampled function's name);
- the driver's own code: a sample in the module;
- the kernel under the driver: any other sample with the module in its
  chain (sockets, routing, the UDP tunnel, locks, allocation, work queues);
- the tester: a sample in user space, or in the tester's system calls
  (poll, sendto, recvfrom);
- idle; the rest of the kernel.
"""
import gzip
import os
import re
import sys

MODULE_DSO = "wireguard"
KINDS = ["X25519", "BLAKE2s", "ChaCha20-Poly1305", "driver's own code",
         "kernel under the driver", "tester", "rest of the kernel", "idle"]
DRIVER = KINDS[:5]
FRAME = re.compile(r"^\s*([0-9a-f]+)\s+(\S+?)(?:\+0x[0-9a-f]+)?\s+\((.*)\)\s*$")
# Kernel addresses are in the upper half (x86-64).
KERNEL_SPACE = 1 << 63
TESTER_CALLS = re.compile(r"^(__x64_sys_|__sys_|do_sys_)(poll|ppoll|sendto|recvfrom)$")


def chains(lines):
    """`perf script -F cpu,ip,sym,dso` output (a header line per sample, then
    its frames, innermost first): the list of [(symbol, dso, kernel), ...]."""
    out, cur = [], None
    for line in lines:
        m = FRAME.match(line)
        if m:
            if cur is not None:
                cur.append((m.group(2), m.group(3), int(m.group(1), 16) >= KERNEL_SPACE))
        elif line.strip():
            cur = []
            out.append(cur)
    return [c for c in out if c]


def kind(chain):
    sym, dso, kernel = chain[0]
    # "[wireguard]", or the module's file when perf finds it.
    in_module = lambda d: os.path.basename(d.strip("[]")).split(".")[0] == MODULE_DSO
    if "curve25519" in sym or sym == "encode_point":
        return "X25519"
    if "blake2s" in sym:
        return "BLAKE2s"
    if "chacha" in sym or "poly1305" in sym:
        return "ChaCha20-Poly1305"
    if in_module(dso):
        return "driver's own code"
    if any(in_module(d) for _, d, _ in chain):
        return "kernel under the driver"
    if not kernel or any(TESTER_CALLS.match(s) for s, _, _ in chain):
        return "tester"
    if re.search(r"safe_halt|default_idle|cpuidle|intel_idle", sym):
        return "idle"
    return "rest of the kernel"


def breakdown(samples):
    """Per kind: its samples over the X25519 samples (None if there are none)."""
    counts = {k: 0 for k in KINDS}
    for c in samples:
        counts[kind(c)] += 1
    dh = counts["X25519"]
    if not dh:
        return counts, None
    return counts, {k: v / dh for k, v in counts.items()}


def table(rows):
    """rows: [(label, counts, per_dh)] -> markdown lines."""
    head = ["implementation", "samples"] + [k for k in KINDS if k != "X25519"] + ["driver in all"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for label, counts, per in rows:
        if per is None:
            lines.append("| %s | %d | no X25519 sample |" % (label, sum(counts.values())))
            continue
        cells = ["%.3f" % per[k] for k in KINDS if k != "X25519"]
        cells.append("%.3f" % sum(per[k] for k in DRIVER))
        lines.append("| %s | %d | %s |" % (label, sum(counts.values()), " | ".join(cells)))
    return lines


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__.split("\n\n")[1])
    rows = []
    for impl, label in (("rs", "ours"), ("c", "C driver (or BENCH_BASE)")):
        path = os.path.join(argv[1], "%s-hs-chains.gz" % impl)
        if os.path.exists(path):
            with gzip.open(path, "rt", errors="replace") as f:
                rows.append((label,) + breakdown(chains(f)))
    if not rows:
        print("hs_breakdown: no handshake call chains in %s" % argv[1])
        return 1
    print("Handshakes, CPU per X25519 sample (%s): each kind's samples over the X25519 samples of "
          "the same run; \"driver in all\" adds X25519 (1.0) and the driver's kinds." % argv[1])
    print()
    print("\n".join(table(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
