#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""threads.py SECONDS: each thread's share of one CPU over SECONDS (user and
system time from /proc/PID/task/TID/stat, which without
CONFIG_IRQ_TIME_ACCOUNTING includes the softirq work run in the thread), the
25 busiest, after the whole guest's split (/proc/stat); then the sums by
kind: kworkers by the workqueue named in their name (a kworker's name ends
in "+WQ" while it runs an item of WQ, "-WQ" after), other threads by name.
A kworker serves every workqueue of its CPU's pool in turn: the threads are
read every 0.1 s and each reading's time goes to the workqueue the name gives
then, so the split by workqueue is right to about that grain (reading every
thread costs the guest a little CPU itself, under `python3` in the list).
The bench's profile step runs it over the flood rows (tests/bench/guest.sh)."""
import os
import sys
import time


def snap():
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            tids = os.listdir("/proc/%s/task" % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                with open("/proc/%s/task/%s/stat" % (pid, tid)) as f:
                    s = f.read()
            except OSError:
                continue
            comm = s[s.index("(") + 1:s.rindex(")")]
            fields = s[s.rindex(")") + 2:].split()
            out[tid] = (comm, int(fields[11]) + int(fields[12]))
    return out


def cpu():
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:9]]


def kind(comm):
    if comm.startswith("kworker/") and ("+" in comm or "-" in comm[8:]):
        return "kworkers of " + comm.replace("+", "-").split("-", 1)[1]
    return comm


def main():
    secs = float(sys.argv[1])
    step = 0.1
    prev, ca = snap(), cpu()
    first = dict(prev)
    sums, t0 = {}, time.monotonic()
    while time.monotonic() - t0 < secs:
        time.sleep(step)
        cur = snap()
        for tid, (comm, t) in cur.items():
            if tid in prev and t > prev[tid][1]:
                k = kind(comm)
                sums[k] = sums.get(k, 0) + t - prev[tid][1]
        prev = cur
    secs = time.monotonic() - t0
    cb = cpu()
    hz = os.sysconf("SC_CLK_TCK")
    names = "user nice system idle iowait irq softirq steal".split()
    tot = sum(y - x for x, y in zip(ca, cb)) or 1
    print("all CPUs: " + " ".join("%s=%.1f%%" % (n, 100.0 * (y - x) / tot) for n, x, y in zip(names, ca, cb)))
    d = {tid: (comm, t - first[tid][1]) for tid, (comm, t) in prev.items() if tid in first and t > first[tid][1]}
    for tid, (comm, dt) in sorted(d.items(), key=lambda x: -x[1][1])[:25]:
        print("%6.1f%% %s %s" % (100.0 * dt / hz / secs, tid, comm))
    print("by kind, each 0.1 s to the name then (percent of one CPU):")
    for k, dt in sorted(sums.items(), key=lambda x: -x[1])[:12]:
        print("%6.1f%% %s" % (100.0 * dt / hz / secs, k))


if __name__ == "__main__":
    main()
