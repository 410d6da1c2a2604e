#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Static check of tests/bench/report.py's statistics, on made-up results.

Builds results folders of the two-VM bench (`report.py --pair`: the same
code as the veth table, without the handshake data) whose figures give
known per-round ratios, runs report.py on them, and checks each row's
cells: the ratio of medians, the geometric mean of the rounds' own ratios
with its 95% interval (worked out by hand below, not by report.py's code),
and the verdict. Then tests/bench/hs_breakdown.py (the profiled handshakes'
CPU per X25519 sample) on made-up call chains. Exits non-zero on any
mismatch.
"""
import json
import os
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REPORT = os.path.join(TOP, "tests", "bench", "report.py")
sys.path.insert(0, os.path.dirname(REPORT))
import report as report_py  # noqa: E402


def write_run(raw, prefix, tcp1, tcpn, udp_kpps, ping_idle, ping_load):
    def iperf(name, end):
        with open(os.path.join(raw, "%s-%s.json" % (prefix, name)), "w") as f:
            json.dump({"end": end}, f)
    for name, mbit in (("tcp1", tcp1), ("tcpN", tcpn)):
        if mbit is None:
            continue  # a run with no figure for it
        s = {"bits_per_second": mbit * 1e6, "bytes": int(mbit * 1e6 / 8 * 10), "seconds": 10}
        iperf(name, {"sum_received": s, "sum_sent": dict(s, retransmits=0)})
    u = {"bytes": int(udp_kpps * 1e3 * 64 * 10), "seconds": 10, "lost_percent": 0}
    iperf("udp64", {"sum_received": u, "sum_sent": u})
    for name, ms in (("ping-idle", ping_idle), ("ping-load", ping_load)):
        with open(os.path.join(raw, "%s-%s.txt" % (prefix, name)), "w") as f:
            f.write("".join("64 bytes from 10.0.0.1: icmp_seq=%d ttl=64 time=%s ms\n" % (i, ms)
                            for i in range(1, 6)))


def report(rounds, ours, c):
    """OURS and C: per round, the figures (tcp1, tcpN, udp64, ping idle,
    ping load). Returns report.py's exit status and its rows by label."""
    d = tempfile.mkdtemp(prefix="bench-report-")
    raw = os.path.join(d, "raw")
    os.mkdir(raw)
    with open(os.path.join(d, "meta.txt"), "w") as f:
        f.write("rounds %d\nlink dgram\n" % rounds)
    write_run(raw, "0-link", 500, 500, 50, 0.2, 0.4)
    for r in range(rounds):
        write_run(raw, "%d-rs" % (r + 1), *ours[r])
        write_run(raw, "%d-c" % (r + 1), *c[r])
    p = subprocess.run([sys.executable, REPORT, "--pair", d], capture_output=True, text=True)
    rows = {}
    for line in p.stdout.splitlines():
        if not line.startswith("|"):
            continue
        cells = [x.strip() for x in line.strip().strip("|").split("|")]
        expect("columns of " + cells[0], len(cells), 6)
        rows[cells[0]] = cells[1:]
    subprocess.run(["rm", "-rf", d], check=True)
    return p.returncode, rows, p.stdout + p.stderr


failures = []


def expect(what, got, want):
    if got != want:
        failures.append("%s: got %r, want %r" % (what, got, want))


class Case:
    """One run of report.py on made-up results (see report()); its output is
    printed if a check of it fails. col(LABEL, I): cell I of the row LABEL
    after its label (0 ours, 1 C, 2 ratio, 3 per-round, 4 verdict), None if
    the row or the cell is missing."""

    def __init__(self, name, rounds, ours, c):
        self.name, self.failed_before = name, len(failures)
        self.status, self.rows, self.out = report(rounds, ours, c)

    def col(self, label, i):
        cells = self.rows.get(label, [])
        return cells[i] if i < len(cells) else None

    def expect(self, what, got, want):
        expect("%s: %s" % (self.name, what), got, want)

    def done(self):
        if len(failures) > self.failed_before:
            print(self.out)


TCP1 = "TCP, 1 stream A→B (Mbit/s)"
TCPN = "TCP, 1 stream per vCPU A→B (Mbit/s)"
UDP = "UDP 64-byte payloads A→B, delivered (kpps)"
PING = "ping RTT A→B, idle, median (ms)"

# Three rounds. tcp1: ratios 1.1, 1.2, 1.3: logs 0.09531, 0.18232, 0.26236,
# mean 0.18000, sd 0.08355, half-width 4.303 * 0.08355 / sqrt(3) = 0.20757:
# exp gives 1.197 (0.973-1.473). tcpN: ratios 2.0, 2.1, 2.2, all above 1.
# udp64: each round's figures differ (10, 20, 40 kpps) but are the same for
# both: the rounds' ratios are all 1.0 only if runs are paired by round.
# ping idle (less is better): C's 0.5 ms against ours' 1.0 in every round.
k = Case("three rounds", 3, [(110, 200, 10, 1.0, 2.0), (120, 210, 20, 1.0, 2.0), (130, 220, 40, 1.0, 2.0)],
         [(100, 100, 40, 0.5, 2.0), (100, 100, 10, 0.5, 2.0), (100, 100, 20, 0.5, 2.0)])
# (C's udp64 figures are those of ours rotated: paired by round, 10/40,
# 20/10, 40/20: ratios 0.25, 2, 2, geometric mean 1.0; logs -1.386, 0.693,
# 0.693, sd 1.2006, half-width 4.303 * 1.2006 / sqrt(3) = 2.9826: exp gives
# 0.051-19.74; sorted instead of paired, the interval would be 1.00-1.00.)
k.expect("exit status", k.status, 0)
k.expect(TCP1 + " ratio", k.col(TCP1, 2), "1.20")
k.expect(TCP1 + " paired", k.col(TCP1, 3), "1.20 (0.97–1.47, n=3)")
k.expect(TCP1 + " verdict", k.col(TCP1, 4), "not told apart from C (interval spans 1.0; medians: ours ≥ C)")
k.expect(TCPN + " paired", (k.col(TCPN, 3) or "")[:4], "2.10")
k.expect(TCPN + " verdict", k.col(TCPN, 4), "**ours ahead** (interval above 1.0)")
k.expect(UDP + " ratio", k.col(UDP, 2), "1.00")
k.expect(UDP + " paired", k.col(UDP, 3), "1.00 (0.05–19.74, n=3)")
k.expect(PING + " ratio", k.col(PING, 2), "0.50")
k.expect(PING + " paired", k.col(PING, 3), "0.50 (0.50–0.50, n=3)")
k.expect(PING + " verdict", k.col(PING, 4), "**ours behind** (interval below 1.0)")
k.done()

# Rounds that do not pair up. C's round 2 has no tcp1 figure (a set-up
# that failed): tcp1 pairs rounds 1 and 3 only, ratios 1.1 and 1.3: logs
# 0.09531 and 0.26236, mean 0.17884, sd 0.11812, half-width 12.706 *
# 0.11812 / sqrt(2) = 1.06127: exp gives 1.196 (0.414-3.456). Ours' udp64
# is 0 in round 3: no ratio, 2 rounds pair up (10/10, 20/20). A missing
# figure fails the report (exit 1).
k = Case("unpaired", 3, [(110, 200, 10, 1.0, 2.0), (120, 200, 20, 1.0, 2.0), (130, 200, 0, 1.0, 2.0)],
         [(100, 100, 10, 1.0, 2.0), (None, 100, 20, 1.0, 2.0), (100, 100, 40, 1.0, 2.0)])
k.expect("exit status", k.status, 1)
k.expect(TCP1 + " paired", k.col(TCP1, 3), "1.20 (0.41–3.46, n=2; 1 round unpaired)")
k.expect(UDP + " paired", k.col(UDP, 3), "1.00 (1.00–1.00, n=2; 1 round unpaired)")
k.done()

# Nothing pairs up (ours' only round has udp64 at 0): the medians alone.
k = Case("none paired", 1, [(100, 100, 0, 1.0, 2.0)], [(100, 100, 10, 1.0, 2.0)])
k.expect(UDP + " paired", k.col(UDP, 3), "— (1 round unpaired)")
k.expect(UDP + " verdict", k.col(UDP, 4), "**ours behind** (medians only: no round pairs up)")
k.done()

# Beyond the table of t: 2.0395 at 31 degrees of freedom, 2.0211 at 40.
t975 = getattr(report_py, "t975", lambda df: float("nan"))
expect("t(31)", round(t975(31), 3), 2.039)
expect("t(40)", round(t975(40), 3), 2.021)

# One round: no interval.
k = Case("one round", 1, [(90, 100, 10, 1.0, 2.0)], [(100, 100, 10, 1.0, 2.0)])
k.expect("exit status", k.status, 0)
k.expect(TCP1 + " paired", k.col(TCP1, 3), "0.90 (one round)")
k.expect(TCP1 + " verdict", k.col(TCP1, 4), "**ours behind** (one round)")
k.done()

# tests/bench/hs_breakdown.py on made-up call chains, in perf script's form:
# 4 X25519 samples (two functions), 2 BLAKE2s, 1 in the module, 3 under it
# (one of them in the tester's sendto: the driver's receive path counts as
# the driver's), 2 of the tester's (user space; its poll), 1 other, 2 idle.
import hs_breakdown  # noqa: E402
K, M, U = "[kernel.kallsyms]", "/lib/modules/6.12/updates/wireguard.ko", "/usr/bin/python3.11"
def sample(*frames):
    return "[000] \n" + "".join("\t%x %s+0x1 (%s)\n" % (0xffffffff81000000 if d != U else 0x4a0000, s, d)
                                for s, d in frames)
made_up = "".join([
    sample(("curve25519_arch", K), ("wg_shim_curve25519", M)) * 3,
    sample(("encode_point", K), ("curve25519_base_arch", K), ("send_response", M)),
    sample(("blake2s_compress_ssse3", K), ("blake2s_final", K), ("hmac", M)) * 2,
    sample(("HmacKey::extract", M), ("worker", M)),
    sample(("_raw_spin_unlock_irqrestore", K), ("queue_work_on", K), ("encap_recv", M)) * 2,
    sample(("ip_finish_output2", K), ("wg_receive", M), ("udp_queue_rcv_skb", K), ("__sys_sendto", K)),
    sample(("_PyEval_EvalFrameDefault", U)),
    sample(("datagram_poll", K), ("do_sys_poll", K), ("__x64_sys_poll", K)),
    sample(("run_timer_softirq", K), ("handle_softirqs", K)),
    sample(("pv_native_safe_halt", K), ("default_idle", K)) * 2,
]).splitlines(keepends=True)
counts, per = hs_breakdown.breakdown(hs_breakdown.chains(made_up))
expect("hs_breakdown counts", [counts[k] for k in hs_breakdown.KINDS], [4, 2, 0, 1, 3, 2, 1, 2])
expect("hs_breakdown driver in all", round(sum(per[k] for k in hs_breakdown.DRIVER), 3), 2.5)
row = hs_breakdown.table([("ours", counts, per)])[2]
expect("hs_breakdown row", row, "| ours | 15 | 0.500 | 0.000 | 0.250 | 0.750 | 0.500 | 0.250 | 0.500 | 2.500 |")

for f in failures:
    print("bench-report: " + f)
print("bench-report: %d mismatches" % len(failures))
sys.exit(1 if failures else 0)
