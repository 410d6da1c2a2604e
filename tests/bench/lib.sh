# Sourced by the benchmark's guest scripts (tests/bench/guest.sh, the veth
# bench in one VM; tests/bench/pair.sh and, through the command server, its
# peer VM, the bench across a virtio-net link): what both measure the same way.

note() { printf '[%s] %s\n' "$(date +%T)" "$*"; }

# What the report's title says of a run: ROUNDS SECONDS. Writes
# $RESULTS/meta.txt (kernel, this VM's vCPUs, the rounds and seconds, the date,
# both modules' versions and ours' checksum) and prints it.
write_meta() {
	{
		echo "kernel $(uname -r)"
		echo "vcpus $(nproc)"
		echo "rounds $1"
		echo "seconds $2"
		echo "date $(date -u +%F)"
		echo "ours $(modinfo -F version "$WG_RS_MODULE") $(md5sum <"$WG_RS_MODULE" | cut -c1-12)"
		if [ -n "${base:-}" ]; then
			echo "base $(modinfo -F version "$WG_C_MODULE") $(md5sum <"$WG_C_MODULE" | cut -c1-12) $WG_C_MODULE"
		else
			echo "c $(modinfo -F version "$WG_C_MODULE")"
		fi
	} >"$RESULTS/meta.txt"
	cat "$RESULTS/meta.txt"
}

# The busy and total jiffies of all CPUs (first line of /proc/stat).
cpu_jiffies() {
	awk '/^cpu / { busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6 }' /proc/stat
}

# vm-run.sh boots with the module's debug lines on (dyndbg) and every kernel
# message on the console, which is a serial port under emulation: a debug
# line per packet or handshake would be what is measured. Both off, as a
# deployment runs; warnings still reach the console. Run after each load of
# the module (dynamic debug's settings for a module go with it).
quiet() {
	local ctl=/proc/dynamic_debug/control
	dmesg -n 5
	[ -e $ctl ] || ctl=/sys/kernel/debug/dynamic_debug/control
	if [ -e $ctl ]; then
		echo 'module wireguard -p' >$ctl || return 1
		! grep -q '\[wireguard\].* =p ' $ctl || { echo "wireguard debug lines still on"; return 1; }
	fi
}

# One JSON line: this VM's interface counters (ip -s -j link: stats64 by
# interface) and UDP MIB (/proc/net/snmp: InDatagrams, RcvbufErrors...), for
# the pair bench's account of where datagrams were lost.
bench_counters() {
	python3 -S -c 'import json, subprocess
links = json.loads(subprocess.run(["ip", "-s", "-j", "link", "show"], capture_output=True, text=True, check=True).stdout)
udp = [l.split()[1:] for l in open("/proc/net/snmp") if l.startswith("Udp:")]
print(json.dumps({"links": {l["ifname"]: l.get("stats64", {}) for l in links},
                  "udp": dict(zip(udp[0], map(int, udp[1])))}))'
}
