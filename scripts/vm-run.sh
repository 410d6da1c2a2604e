#!/usr/bin/env bash
# Runs a script inside a virtme-ng guest and judges the run.
#
#   scripts/vm-run.sh [--flavour debug|release] [--cpus N] [--memory M]
#                     [--timeout SECONDS] [--name NAME] [--kvm]
#                     [--qemu-opts 'QEMU OPTIONS'] SCRIPT [ARGS...]
#
# The guest sees the host's filesystem (copy-on-write); it runs
# tests/vm/guest.sh, which installs our freshly built module into the guest's
# module tree (updates/, then depmod, as DKMS does), runs SCRIPT, and writes
# its verdict, its kernel log and a kmemleak report into a results folder
# shared read-write with the host (the runner's exit status is not reliable).
#
# The run fails unless the script's verdict is 0 and the kernel log is free of
# WARNING:, BUG: (KASAN included), UBSAN:, Oops, general protection fault,
# RCU stalls, lockdep reports, kmemleak leaks, hung tasks and devices whose
# unregistration waits for a reference ("waiting for ... to become free"), and unless the
# guest finished within the timeout. Results stay in build/vm/NAME/.
#
# WG_IMPL=rs|c in the host's environment is passed to the guest's script:
# suites that honour it test the in-tree C driver (c) instead of our module
# (rs, the default when unset).
#
# --qemu-opts adds options to QEMU's command line (repeatable), e.g. an extra
# NIC: scripts/vm-pair.sh joins two guests with a -netdev dgram or tap link that way.
. "$(dirname "$0")/lib.sh"

flavour=debug cpus=2 memory=2G timeout=900 name= kvm=0
qemu_opts=() extra_append=()
while [ $# -gt 0 ]; do
	case $1 in
	--flavour) flavour=$2; shift 2 ;;
	--cpus) cpus=$2; shift 2 ;;
	--memory) memory=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	--kvm) kvm=1; shift ;;
	--qemu-opts) qemu_opts+=("--qemu-opts=$2"); shift 2 ;;
	--append) extra_append+=("$2"); shift 2 ;;
	--) shift; break ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
done
script=${1:?usage: vm-run.sh [options] SCRIPT [ARGS...]}
shift
script=$(readlink -f "$script")
name=${name:-$(basename "$script" .sh)}
script_args=("$@")

kdir=$("$TOP/scripts/build-kernel.sh" "$flavour")
module=$TOP/build/$flavour/wireguard.ko
[ -f "$module" ] || die "no module at $module: run scripts/build-module.sh $flavour"
# The tests' kernel helpers (tests/kmod), built here if missing.
test_kmods_ready "$flavour"

results=$TOP/build/vm/$name
rm -rf "$results"
mkdir -p "$results"
cp "$TOP/build/$flavour/wg_hold_keys.ko" "$TOP/build/$flavour/wg_panic.ko" "$TOP/build/$flavour/wg_stack_scan.ko" "$results/"

# The guest's module tree, made here rather than in the guest (where every
# file copied over 9p costs seconds under emulation): the kernel's modules,
# ours in updates/ (where modprobe prefers it to the in-tree C driver, as
# DKMS installs), and depmod's indexes. One copy per run, in the results
# folder that the guest may write (tests/vm/install.sh installs into it);
# tests/vm/guest.sh mounts it over /lib/modules/RELEASE.
kver=$(cat "$kdir/include/config/kernel.release")
modtree=$results/modroot/lib/modules/$kver
mkdir -p "$modtree/updates"
# (What virtme-ng links in its .virtme_mods, which exists only after a
# kernel's first boot: the modules of modules.order and the kernel's lists.)
while read -r m; do
	mkdir -p "$modtree/kernel/$(dirname "$m")"
	cp "$kdir/${m%.o}.ko" "$modtree/kernel/${m%.o}.ko"
done <"$kdir/modules.order"
cp "$kdir/modules.order" "$kdir/modules.builtin" "$kdir/modules.builtin.modinfo" "$modtree/"
cp "$module" "$modtree/updates/wireguard.ko"
depmod -b "$results/modroot" "$kver"

append=(
	"panic=-1"           # a panicking guest reboots, and QEMU then exits
	"oops=panic"
	"softlockup_panic=1"
	"loglevel=7"
	"printk.devkmsg=on"
)
# The guest's root is the host's, over 9p; virtme-ng mounts it without a
# cache, so every exec reads its binary and libraries from the host again
# (a third of an exec's cost in the debug guest). Nothing on the root
# changes while a guest runs (what the host and guest share for writing,
# the results and build folders, are separate mounts), so the guest may
# cache it. The kernel takes the last rootflags= given.
append+=("rootflags=version=9p2000.L,trans=virtio,access=any,msize=512000,cache=loose")
if [ "$flavour" = debug ]; then
	append+=("panic_on_warn=1" "kmemleak=on" "kasan.fault=panic" "dyndbg=module wireguard +p")
else
	append+=("dyndbg=module wireguard +p")
fi

append+=(${extra_append[@]+"${extra_append[@]}"})

# The guest does not inherit the host's environment: WG_IMPL goes on the command.
impl_env=
if [ -n "${WG_IMPL:-}" ]; then
	case $WG_IMPL in rs|c) ;; *) die "WG_IMPL must be rs or c, not $WG_IMPL" ;; esac
	impl_env="WG_IMPL=$WG_IMPL "
fi
# So is WG_CACHE: guest scripts find in the cache what scripts/lib.sh finds on
# the host (the kernel's source tree, tools installed by setup-host.sh).
impl_env="WG_CACHE=$(printf %q "$CACHE") $impl_env"

kvm_opt=(--disable-kvm)
[ "$kvm" = 1 ] && kvm_opt=()

# How long this usually takes on this machine kind (a suite says so in a
# "# vm-usual: SECONDS" line), for the progress lines below.
usual=$(sed -n 's/^# vm-usual: *\([0-9][0-9]*\).*/\1/p' "$script" | head -n 1)
log "vm: $name on the $flavour kernel ($cpus vCPUs, $memory${WG_IMPL:+, WG_IMPL=$WG_IMPL}${usual:+, usually about $(( (usual + 59) / 60 )) min here}), results in $results"
start=$(date +%s)
run_guest() {
	# Guest exits are judged from the results folder; the QEMU status is kept only
	# for the record. `timeout` bounds a guest that hangs.
	PATH="$VENV/bin:$PATH" timeout --kill-after=30 "$timeout" "$VNG" --run "$kdir" "${kvm_opt[@]}" --user root \
		--cpus "$cpus" --memory "$memory" --rwdir "$results" --rwdir "$TOP/build" \
		--append "${append[*]}" --verbose "${qemu_opts[@]}" \
		--exec "${impl_env}bash $TOP/tests/vm/guest.sh $results $module $script ${script_args[*]}" \
		</dev/null >"$results/console.log" 2>&1 &
	vm_pid=$!
	trap 'kill "$vm_pid" 2>/dev/null || true' EXIT
	# Progress: each check's result as the guest records it, and a line at least
	# once a minute while nothing new comes.
	seen=0 quiet_since=$start
	while kill -0 "$vm_pid" 2>/dev/null; do
		sleep 5
		n=0
		[ -f "$results/results.txt" ] && n=$(wc -l <"$results/results.txt")
		if [ "$n" -gt "$seen" ]; then
			sed -n "$((seen + 1)),${n}p" "$results/results.txt" | while read -r line; do log "vm: $name: $line"; done
			seen=$n quiet_since=$(date +%s)
		elif [ $(( $(date +%s) - quiet_since )) -ge 60 ]; then
			log "vm: $name: running, $(( $(date +%s) - start )) s${usual:+ of about $usual}"
			quiet_since=$(date +%s)
		fi
	done
	wait "$vm_pid"
}
set +e
# A guest that died before its test started boots again, up to twice more
# (three boots in all). Nothing of ours had run: tests/vm/guest.sh loads no
# WireGuard module before it says "wg-guest: running" in the kernel log
# (which the console keeps up to the panic) and "=== running" in guest.log.
# Such crashes under emulation: the debug kernel's KASAN "wild-memory-access"
# in an early interrupt while booting (identify_cpu), and QEMU's TCG
# executing a stale int3 (in sched_clock_cpu while booting; in
# inet6_ehashfn during guest.sh's own static-key warm-up, session 32, which
# failed a make check). One more boot was not always enough: in session 34
# lifecycle's two boots both died so, and the suite never ran. A crash after
# the test started is judged as any other, and so is a third crash before
# it, and one whose trace names a function of a WireGuard module or of the
# tests' key holder (loaded before the test).
max_boots=3
crashed_before_test() {
	grep -q 'Kernel panic' "$results/console.log" || return 1
	if grep -q 'wg-guest: running' "$results/console.log" ||
		grep -q '^=== running' "$results/guest.log" 2>/dev/null ||
		grep -Eq 'Modules linked in:.*\<wireguard\>|\[(wireguard|wg_hold_keys)\]' "$results/console.log"; then
		return 1
	fi
}
run_guest
qemu_status=$?
boot=1
while [ "$boot" -lt "$max_boots" ] && crashed_before_test; do
	mv "$results/console.log" "$results/console-crash-$boot.log"
	[ ! -e "$results/guest.log" ] || mv "$results/guest.log" "$results/guest-crash-$boot.log"
	log "vm: $name: the kernel died before the test started ($(grep -m1 -o 'BUG: .*\|Oops: .*\|Kernel panic.*' "$results/console-crash-$boot.log"); console-crash-$boot.log); booting again"
	boot=$((boot + 1))
	run_guest
	qemu_status=$?
done
set -e
elapsed=$(( $(date +%s) - start ))
echo "$qemu_status" >"$results/qemu-status"

verdict=$(cat "$results/verdict" 2>/dev/null || echo none)
fail=0
if [ "$qemu_status" = 124 ] || [ "$qemu_status" = 137 ]; then
	log "vm: $name timed out after ${timeout}s"
	fail=1
fi
if [ "$verdict" != 0 ]; then
	log "vm: $name: guest verdict: $verdict"
	fail=1
fi
# Kernel-log splats, in the console (which survives a panic) and the guest's dmesg.
splat='WARNING:|BUG:|UBSAN:|Oops|general protection fault|rcu: INFO: rcu_.* detected stalls|rcu_.* self-detected stall|INFO: possible circular locking|INFO: possible recursive locking|WARNING: possible|inconsistent lock state|suspicious RCU usage|kmemleak: [0-9]+ new suspected|blocked for more than|Kernel panic|unreferenced object|unregister_netdevice: waiting for'
# (Only the files there are: a guest that died wrote no dmesg.txt, and
# grep's status for a missing file, under pipefail, would hide the console's
# lines.)
logs=()
for f in console.log dmesg.txt kmemleak.txt; do [ ! -e "$results/$f" ] || logs+=("$results/$f"); done
if grep -Ehn "$splat" ${logs[@]+"${logs[@]}"} /dev/null | grep -v 'test-expects-splat' >"$results/splats.txt"; then
	log "vm: $name: kernel log shows a problem:"
	head -n 20 "$results/splats.txt" >&2
	fail=1
fi
if [ $fail -ne 0 ]; then
	log "vm: $name FAILED after ${elapsed}s; last lines of the console:"
	tail -n 40 "$results/console.log" >&2
	exit 1
fi
log "vm: $name passed in ${elapsed}s"
