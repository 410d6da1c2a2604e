#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The tables of `make bench`, from what the guest scripts left in RESULTS.

  report.py RESULTS DATA      the veth bench (tests/bench/guest.sh, one VM)
  report.py --pair RESULTS    across virtio-net, two VMs (tests/bench/pair.sh)
  report.py --scenarios       the veth bench's scenario names (BENCH_SCENARIOS)

RESULTS is the VM's results folder (raw/ROUND-IMPL-SCENARIO.* and meta.txt),
DATA the handshake data wgbench.py gen wrote (the responses are verified
against it here, on the host, where the pure-Python X25519 is fast). Prints a
Markdown table: per scenario the median over the rounds of ours and of the C
driver, each with its spread (min-max), and the ratio. The ratio is ours/C
for rows where more is better and C/ours where less is better (latency, CPU
cost), so that in every row 1.0 is parity and above 1.0 means ours does
better. The runs of one round are seconds apart, ours and C's in turn, so
each row also gets the rounds' own ratios (ours against the other run of
the same round): their geometric mean and its 95% interval (Student's t
over the logarithms), which is what tells a difference from the machine's
noise; the verdict follows it. Writes the table to
RESULTS/table.md and the per-run figures to RESULTS/figures.tsv too. The
pair's raw files also hold one run of the bare link without WireGuard
(0-link-SCENARIO.*): information rows, "the link alone".

Exit status 1 when a figure of a row (not of an information row) is missing
for any run, or when either implementation has no run at all.
"""
import glob
import json
import math
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wgbench  # noqa: E402

# name, unit, more is better, format
ROWS = [
    ("tcp1", "TCP, 1 stream (Mbit/s)", True, "%.0f"),
    ("tcp1big", "TCP, 1 stream, big TCP offered: gso_max_size 192 KiB (C 6.12: 64 KiB) (Mbit/s)", True, "%.0f"),
    ("tcpN", "TCP, 1 stream per vCPU (Mbit/s)", True, "%.0f"),
    ("udp64", "UDP 64-byte payloads, delivered (kpps)", True, "%.1f"),
    ("hs", "handshakes with 100 peers (handshakes/s)", True, "%.0f"),
    ("flood", "TCP, 1 stream, under an initiation flood (Mbit/s)", True, "%.0f"),
    ("floodpaced", "TCP, 1 stream, under a flood paced at 8,000 initiations/s (Mbit/s)", True, "%.0f"),
    ("ping_idle", "ping RTT, idle tunnel, median (ms)", False, "%.3f"),
    ("ping_load", "ping RTT, under 1 TCP stream, median (ms)", False, "%.2f"),
    ("cpu", "guest CPU per GB carried, 1 stream (CPU s/GB)", False, "%.1f"),
    ("hs_cpu", "guest CPU per handshake, tester included (ms)", False, "%.2f"),
    ("tcp1cpu", "TCP, 1 stream, 1 vCPU online (Mbit/s)", True, "%.0f"),
    ("tcp50", "TCP, 50 peers at once, 1 stream each through one device (Mbit/s, all 50 devices received, one window)", True, "%.0f"),
]
INFO = [
    ("flood_rate", "initiations offered by the flood (kpps)", "%.1f"),
    ("floodpaced_rate", "initiations offered by the paced flood (kpps)", "%.1f"),
    ("hs_wall", "handshakes: time to complete all {handshakes} (s)", "%.2f"),
    ("hs_silence", "handshakes: longest wait for any response (s)", "%.2f"),
    ("scaling", "scaling: TCP, 1 stream per vCPU on all vCPUs, over 1 stream on 1 vCPU (x)", "%.2f"),
    ("udp64_outer", "UDP 64-byte: WireGuard packets per outer packet (ns2's wg0 tx_packets over veth2's) (x)", "%.2f"),
]

# The scenarios of tests/bench/guest.sh, in its order (BENCH_SCENARIOS names
# them; scripts/bench.sh checks the names against this list), and the
# scenario each figure of the veth table comes from (the scaling row needs two).
SCENARIOS = ["tcp1", "tcp1big", "tcpN", "udp64", "ping-idle", "ping-load", "hs", "flood",
             "tcp1cpu", "tcp50", "floodpaced"]
SCENARIO_OF = {
    "tcp1": ("tcp1",), "cpu": ("tcp1",), "tcp1big": ("tcp1big",), "tcpN": ("tcpN",),
    "udp64": ("udp64",), "udp64_outer": ("udp64",), "ping_idle": ("ping-idle",), "ping_load": ("ping-load",),
    "hs": ("hs",), "hs_cpu": ("hs",), "hs_wall": ("hs",), "hs_silence": ("hs",),
    "flood": ("flood",), "flood_rate": ("flood",), "floodpaced": ("floodpaced",),
    "floodpaced_rate": ("floodpaced",), "tcp1cpu": ("tcp1cpu",), "tcp50": ("tcp50",),
    "scaling": ("tcpN", "tcp1cpu"),
}
assert sorted(SCENARIO_OF) == sorted(r[0] for r in ROWS + INFO)
assert set(s for names in SCENARIO_OF.values() for s in names) == set(SCENARIOS)

# The bench across virtio-net (tests/bench/pair.sh): A -> B through the tunnel.
PAIR_ROWS = [
    ("tcp1", "TCP, 1 stream A→B (Mbit/s)", True, "%.0f"),
    ("tcpN", "TCP, 1 stream per vCPU A→B (Mbit/s)", True, "%.0f"),
    ("udp64", "UDP 64-byte payloads A→B, delivered (kpps)", True, "%.1f"),
    ("ping_idle", "ping RTT A→B, idle, median (ms)", False, "%.3f"),
    ("ping_load", "ping RTT A→B, under 1 TCP stream, median (ms)", False, "%.2f"),
]
PAIR_INFO = [
    ("udp64_sent", "UDP 64-byte: datagrams iperf3 sent (kpps)", "%.1f"),
    ("udp64_lost", "UDP 64-byte: datagrams lost on the way (% of those sent)", "%.0f"),
    ("udp64_drop_a", "UDP 64-byte, of which dropped in A (wg0 and NIC tx drops, %)", "%.1f"),
    ("udp64_drop_link", "UDP 64-byte, of which lost by the link (frames A's NIC sent, B's did not get, %)", "%.1f"),
    ("udp64_drop_wg", "UDP 64-byte, of which counted as rx dropped by B's wg0 (%)", "%.1f"),
    ("udp64_drop_sock", "UDP 64-byte, of which dropped at B's receiving socket (UDP RcvbufErrors, %)", "%.1f"),
    ("tcp1_retr", "TCP, 1 stream: retransmitted segments", "%.0f"),
]
# Scenario files of the raw folders (both benches), to find the runs.
SCENARIO_FILES = r"-(tcp1|tcp1big|tcp1cpu|tcp50|tcpN|udp64|hs|floodpaced|flood|ping-idle|ping-load|load|wg-ns1|wg-ns2|links|counters)\.(json|txt|cpu)$"


def iperf(path, key="sum_received"):
    with open(path) as f:
        d = json.load(f)
    if "error" in d and "end" not in d:
        raise ValueError(d["error"])
    return d["end"][key]


def median_rtt(path):
    with open(path) as f:
        rtts = [float(m) for m in re.findall(r"time=([0-9.]+) ms", f.read())]
    if not rtts:
        raise ValueError("no replies")
    return statistics.median(rtts)


def kv(path):
    out = {}
    with open(path) as f:
        for tok in f.read().split():
            k, eq, v = tok.partition("=")
            if eq:
                out[k] = v
    return out


def getter(f, prefix, notes, want=None):
    """get(name, fn): f[name] = fn(), or None with a note when fn fails (a
    missing or broken file: the cell stays empty); None without a note for
    a figure not in WANT (a scenario not run), if given."""
    def get(name, fn):
        if want is not None and name not in want:
            f[name] = None
            return
        try:
            f[name] = fn()
        except Exception as e:
            f[name] = None
            notes.append("%s %s: %s" % (prefix, name, e))
    return get


def tcp_figures(get, base):
    """The two TCP rows both tables have (receiver's throughput, Mbit/s)."""
    get("tcp1", lambda: iperf(base + "-tcp1.json")["bits_per_second"] / 1e6)
    get("tcpN", lambda: iperf(base + "-tcpN.json")["bits_per_second"] / 1e6)


def figures(raw, prefix, data, notes, want=None):
    """Every figure of one run (ROUND-IMPL), None where it is missing (or not
    in WANT, if given)."""
    f = {}
    get = getter(f, prefix, notes, want)
    base = os.path.join(raw, prefix)
    tcp_figures(get, base)
    get("tcp1big", lambda: iperf(base + "-tcp1big.json")["bits_per_second"] / 1e6)

    def udp():
        s = iperf(base + "-udp64.json")
        return s["bytes"] / 64 / s["seconds"] / 1e3
    get("udp64", udp)

    def udp64_outer():
        r = kv(base + "-udp64.txt")
        return int(r["wg"]) / int(r["outer"])
    get("udp64_outer", udp64_outer)

    def hs():
        import io
        import contextlib
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            wgbench.verify(data, base + "-hs.txt")
        r = kv_text(buf.getvalue())
        valid, secs = int(r["valid"]), float(r["seconds"])
        if int(r["missing"]):
            notes.append("%s hs: %s of %s handshakes missing or invalid" % (prefix, r["missing"], valid + int(r["missing"])))
        f["hs_wall"] = secs
        f["hs_silence"] = float(r["silence"]) if r.get("silence", "?") != "?" else None
        return valid / secs
    get("hs", hs)
    get("flood", lambda: iperf(base + "-flood.json")["bits_per_second"] / 1e6)

    def flood_rate():
        r = kv(base + "-flood.txt")
        return int(r["sent"]) / float(r["seconds"]) / 1e3
    get("flood_rate", flood_rate)
    get("floodpaced", lambda: iperf(base + "-floodpaced.json")["bits_per_second"] / 1e6)

    def floodpaced_rate():
        r = kv(base + "-floodpaced.txt")
        return int(r["sent"]) / float(r["seconds"]) / 1e3
    get("floodpaced_rate", floodpaced_rate)
    get("ping_idle", lambda: median_rtt(base + "-ping-idle.txt"))
    get("ping_load", lambda: median_rtt(base + "-ping-load.txt"))

    def cpu():
        with open(base + "-tcp1.cpu") as fh:
            t = fh.read().split()
        # before BUSY TOTAL after BUSY TOTAL hz HZ
        busy = (int(t[4]) - int(t[1])) / int(t[7])
        gb = iperf(base + "-tcp1.json")["bytes"] / 1e9
        return busy / gb
    get("cpu", cpu)

    def hs_cpu():
        with open(base + "-hs.cpu") as fh:
            t = fh.read().split()
        busy = (int(t[4]) - int(t[1])) / int(t[7])
        return busy * 1e3 / int(kv(base + "-hs.txt")["received"])
    get("hs_cpu", hs_cpu)
    get("tcp1cpu", lambda: iperf(base + "-tcp1cpu.json")["bits_per_second"] / 1e6)

    def tcp50():
        r = kv(base + "-tcp50.txt")
        if int(r["streams"]) != 50:
            raise ValueError("%s of 50 streams ran" % r["streams"])
        return float(r["mbits"])
    get("tcp50", tcp50)

    def scaling():
        if f.get("tcpN") is None or not f.get("tcp1cpu"):
            raise ValueError("no tcpN or tcp1cpu figure")
        return f["tcpN"] / f["tcp1cpu"]
    get("scaling", scaling)
    f.setdefault("hs_wall", None)
    f.setdefault("hs_silence", None)
    return f


def figures_pair(raw, prefix, notes):
    """Every figure of one run of the pair bench (ROUND-IMPL or 0-link)."""
    f = {}
    get = getter(f, prefix, notes)
    base = os.path.join(raw, prefix)
    tcp_figures(get, base)

    def udp(key):
        s = iperf(base + "-udp64.json", key)
        return s["bytes"] / 64 / s["seconds"] / 1e3
    get("udp64", lambda: udp("sum_received"))
    get("udp64_sent", lambda: udp("sum_sent"))
    get("udp64_lost", lambda: iperf(base + "-udp64.json")["lost_percent"])
    get("tcp1_retr", lambda: iperf(base + "-tcp1.json", "sum_sent")["retransmits"])
    get("ping_idle", lambda: median_rtt(base + "-ping-idle.txt"))
    get("ping_load", lambda: median_rtt(base + "-ping-load.txt"))

    # Where the UDP run's datagrams were lost: counter deltas across it
    # (after tcpN to after udp64), as shares of the datagrams iperf3 sent.
    def counters():
        c = {}
        with open(base + "-counters.txt") as fh:
            for line in fh:
                label, side, js = line.rstrip("\n").split(" ", 2)
                c[(label, side)] = json.loads(js)
        sent = iperf(base + "-udp64.json", "sum_sent")["bytes"] / 64

        def delta(side, *path):
            def at(label):
                v = c[(label, side)]
                for k in path:
                    v = v[k]
                return v
            return at("udp64") - at("tcpN")
        return c, sent, delta
    try:
        c, sent, delta = counters()
    except Exception as e:
        notes.append("%s udp64 loss account: %s" % (prefix, e))
        c = None
    for name, fn in (
            ("udp64_drop_a", lambda: delta("a", "links", "pair0", "tx", "dropped") +
             (delta("a", "links", "wg0", "tx", "dropped") if "wg0" in c[("udp64", "a")]["links"] else 0)),
            ("udp64_drop_link", lambda: delta("a", "links", "pair0", "tx", "packets") -
             delta("b", "links", "pair0", "rx", "packets")),
            ("udp64_drop_wg", lambda: delta("b", "links", "wg0", "rx", "dropped")),
            ("udp64_drop_sock", lambda: delta("b", "udp", "RcvbufErrors"))):
        if c is None:
            f[name] = None
            continue
        try:
            f[name] = 100 * fn() / sent
        except KeyError:  # no wg0 (the link alone)
            f[name] = None
    return f


def kv_text(text):
    out = {}
    for tok in text.split():
        k, eq, v = tok.partition("=")
        if eq:
            out[k] = v
    return out


def read_meta(results):
    meta = {}
    path = os.path.join(results, "meta.txt")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                k, _, v = line.strip().partition(" ")
                meta[k] = v
    return meta


def collect(results, figures, rows, info, impls):
    """The figures of every run in RESULTS/raw, by implementation (the first
    part of a run's name after the round: rs, c, link); writes figures.tsv.
    Returns them, the notes on missing figures, and the number missing from
    ROWS."""
    raw = os.path.join(results, "raw")
    runs = sorted(set(re.sub(SCENARIO_FILES, "", os.path.basename(p))
                      for p in glob.glob(os.path.join(raw, "*-*-*"))))
    notes = []
    per = {impl: [] for impl in impls}
    missing = 0
    tsv = ["run\t" + "\t".join(r[0] for r in rows + info)]
    for run in runs:
        rnd, _, impl = run.partition("-")
        if impl not in per:
            continue
        f = figures(raw, run, notes)
        f["_round"] = rnd
        per[impl].append(f)
        missing += sum(f[r[0]] is None for r in rows)
        tsv.append(run + "\t" + "\t".join("" if f[r[0]] is None else "%.6g" % f[r[0]] for r in rows + info))
    with open(os.path.join(results, "figures.tsv"), "w") as fh:
        fh.write("\n".join(tsv) + "\n")
    return per, notes, missing


def stat(per, impl, name):
    vals = [f[name] for f in per.get(impl, []) if f.get(name) is not None]
    if not vals:
        return None, None, None, 0
    return statistics.median(vals), min(vals), max(vals), len(vals)


# Student's t, two-sided 95%, for 1 to 30 degrees of freedom.
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042]


def t975(df):
    if df <= len(T975):
        return T975[df - 1]
    z = 1.959964  # beyond the table: the Cornish-Fisher expansion (2.021 at 40 against 2.0211)
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)


def paired(per, name, more):
    """The rounds' own ratios of row NAME (ours' run over the other run of
    the same round, inverted where less is better): their geometric mean,
    the 95% interval of it (None, None with one round), their number, and
    the number of rounds with a figure of either that could not be paired
    (the other's missing, or either zero: no ratio)."""
    other = {f["_round"]: f.get(name) for f in per.get("c", [])}
    ours = {f["_round"]: f.get(name) for f in per.get("rs", [])}
    ratios, unpaired = [], 0
    for rnd in sorted(set(ours) | set(other)):
        o, c = ours.get(rnd), other.get(rnd)
        if o is None and c is None:
            continue
        if not o or not c:
            unpaired += 1
            continue
        ratios.append(o / c if more else c / o)
    if not ratios:
        return None, None, None, 0, unpaired
    logs = [math.log(r) for r in ratios]
    mean = statistics.fmean(logs)
    if len(logs) < 2:
        return math.exp(mean), None, None, 1, unpaired
    half = t975(len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    return math.exp(mean), math.exp(mean - half), math.exp(mean + half), len(logs), unpaired


def paired_cell(gm, lo, hi, n, unpaired):
    more = "" if not unpaired else "; %d round%s unpaired" % (unpaired, "" if unpaired == 1 else "s")
    if gm is None:
        return "—" + (" (%s)" % more[2:] if more else "")
    if lo is None:
        return "%.2f (one round%s)" % (gm, more)
    return "%.2f (%.2f–%.2f, n=%d%s)" % (gm, lo, hi, n, more)


def verdict(ratio, pair, other):
    """From the paired interval where two rounds or more pair up: above 1.0
    ahead, below it behind, across it not told apart (then the ratio of
    medians says on which side it lies); with fewer, the ratio of medians
    alone, and the verdict says so."""
    gm, lo, hi, n, _ = pair
    if ratio is None:
        return "no figure"
    side = "ours ≥ %s" % other if ratio >= 1.0 else "**ours behind**"
    if n == 0:
        return side + " (medians only: no round pairs up)"
    if lo is None:
        return side + " (one round)"
    if lo > 1.0:
        return "**ours ahead** (interval above 1.0)"
    if hi < 1.0:
        return "**ours behind** (interval below 1.0)"
    return "not told apart from %s (interval spans 1.0; medians: %s)" % (
        other, "ours ≥ %s" % other if ratio >= 1.0 else "ours behind")


def cell(fmt, med, lo, hi, n):
    if med is None:
        return "—"
    return "%s (%s–%s, n=%d)" % (fmt % med, fmt % lo, fmt % hi, n)


def render(title, rows, info, per, notes, baseline=None, other="C"):
    """The table: ROWS with medians, spread, ratio and verdict; INFO rows for
    information; with BASELINE (an implementation key of PER), one more
    information row per row of ROWS: the figure of that run alone."""
    lines = [title, ""]
    lines.append("| scenario | ours: median (min–max) | %s: median (min–max) | ratio | "
                 "per-round ratios: geometric mean (95%% interval) | |"
                 % ("C driver" if other == "C" else other))
    lines.append("| --- | --- | --- | --- | --- | --- |")
    for name, label, more, fmt in rows:
        o, c = stat(per, "rs", name), stat(per, "c", name)
        ratio = None
        if o[0] is not None and c[0]:
            ratio = o[0] / c[0] if more else (c[0] / o[0] if o[0] else None)
        pair = paired(per, name, more)
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            label, cell(fmt, *o), cell(fmt, *c), "—" if ratio is None else "%.2f" % ratio,
            paired_cell(*pair), verdict(ratio, pair, other)))
    for name, label, fmt in info:
        o, c = stat(per, "rs", name), stat(per, "c", name)
        lines.append("| *%s* | %s | %s | | | for information |" % (label, cell(fmt, *o), cell(fmt, *c)))
    if baseline is not None:
        for name, label, fmt in [r[:2] + r[3:] for r in rows] + info:
            b = stat(per, baseline, name)
            if b[0] is None and name not in [r[0] for r in rows]:
                continue  # an information row that has no meaning without a tunnel
            lines.append("| *the link alone, no WireGuard: %s* | %s | | | | for information: the bare link, "
                         "no tunnel on either side |" % (label, cell(fmt, *b)))
    lines.append("")
    lines.append(("ratio: ours/C where more is better, C/ours where less is better (RTT, CPU cost): "
                  if other == "C" else "ratio: ours/base where more is better, base/ours where less is better: ") +
                 "above 1.0, ours does better. Per-round ratios: each round's run of ours against the other "
                 "run of the same round (seconds apart), their geometric mean and its 95% interval (Student's t "
                 "over their logarithms); an interval that spans 1.0 does not tell the two apart.")
    if notes:
        lines.append("")
        lines.append("notes (missing figures):")
        lines.extend("- " + n for n in notes)
    return "\n".join(lines) + "\n"


def main(argv):
    if argv == ["--scenarios"]:
        print(" ".join(SCENARIOS))
        return 0
    pair = argv[:1] == ["--pair"]
    if pair:
        argv = argv[1:]
    if len(argv) != (1 if pair else 2):
        sys.stderr.write(__doc__)
        return 2
    results = argv[0]
    meta = read_meta(results)
    if pair:
        rows, info, baseline = PAIR_ROWS, PAIR_INFO, "link"
        per, notes, missing = collect(results, figures_pair, rows, info, ("rs", "c", "link"))
        link = {"dgram": "QEMU -netdev dgram, no offloads",
                "tap": "taps with virtio-net headers on a bridge: checksum offload, TSO"}.get(meta.get("link", "dgram"), "?")
        title = ("`make bench-pair`, across virtio-net (%s), two VMs (the same implementation on both ends, "
                 "traffic A→B): %s, %s vCPU(s) in A and %s in B, %s rounds of %s s per scenario, %s "
                 "(ours: %s; %s: %s)" % (
                     link,
                     meta.get("kernel", "?"), meta.get("vcpus", "?"), meta.get("vcpus_b", "?"),
                     meta.get("rounds", "?"), meta.get("seconds", "?"), meta.get("date", "?"),
                     meta.get("ours", "?"), "base" if "base" in meta else "C",
                     meta.get("base", meta.get("c", "?"))))
    else:
        data = argv[1]
        # How many handshakes the data holds (scripts/bench.sh chose it).
        with open(os.path.join(data, "initiations.txt")) as fh:
            handshakes = "{:,}".format(sum(1 for _ in fh))
        rows, baseline = ROWS, None
        info = [(k, label.replace("{handshakes}", handshakes), fmt) for k, label, fmt in INFO]
        chosen = meta.get("scenarios", "all").split()
        if chosen != ["all"]:
            # BENCH_SCENARIOS: the rows whose scenarios ran, and only those.
            if not chosen or not set(chosen) <= set(SCENARIOS):
                sys.stderr.write("report: meta.txt names unknown scenarios: %s\n" % " ".join(chosen))
                return 1

            def ran(r):
                return set(SCENARIO_OF[r[0]]) <= set(chosen)
            rows, info = [r for r in rows if ran(r)], [r for r in info if ran(r)]
        wanted = set(r[0] for r in rows + info)
        per, notes, missing = collect(results, lambda raw, run, notes: figures(raw, run, data, notes, wanted),
                                      rows, info, ("rs", "c"))
        title = "`make bench`, over veth between two namespaces, one VM: %s, %s vCPUs, %s rounds of %s s per scenario, %s (ours: %s; %s: %s)%s" % (
            meta.get("kernel", "?"), meta.get("vcpus", "?"), meta.get("rounds", "?"), meta.get("seconds", "?"),
            meta.get("date", "?"), meta.get("ours", "?"), "base" if "base" in meta else "C",
            meta.get("base", meta.get("c", "?")),
            "" if chosen == ["all"] else "; only the scenarios " + ", ".join(chosen))
    # A run whose set-up failed left no file at all: count the runs too.
    if meta.get("rounds", "").isdigit():
        for impl, want in (("rs", int(meta["rounds"])), ("c", int(meta["rounds"])), (baseline, 1)):
            if impl is not None and len(per[impl]) != want:
                notes.append("%s: %d runs with figures, %d expected" % (impl, len(per[impl]), want))
                missing += 1
    text = render(title, rows, info, per, notes, baseline, "base" if "base" in meta else "C")
    with open(os.path.join(results, "table.md"), "w") as fh:
        fh.write(text)
    sys.stdout.write(text)
    return 0 if per["rs"] and per["c"] and not missing else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
