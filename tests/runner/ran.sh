#!/usr/bin/env bash
# The guest's side of tests/runner/judging.sh (run by tests/vm/guest.sh):
# records that the test ran; with "crash", the test itself then dies
# (wg_panic.ko, which scripts/vm-run.sh copies into the results folder);
# with "warn", the kernel log gets a warning's first line (written to
# /dev/kmsg: the runner judges the log's text) and the test passes.
echo "PASS ran" >>"$RESULTS/results.txt"
echo "the test ran; the guest's kernel booted at $(cut -d' ' -f1 /proc/uptime) s before this" >"$RESULTS/ran.log"
if [ "${1:-}" = warn ]; then
	echo "<4>WARNING: CPU: 0 PID: $$ at tests/runner/ran.sh (a test of the VM runner)" >/dev/kmsg
fi
if [ "${1:-}" = crash ]; then
	sync
	insmod "$RESULTS/wg_panic.ko"
	echo "wg_panic.ko loaded, and the kernel lives on" >>"$RESULTS/ran.log"
fi
exit 0
