#!/usr/bin/env bash
# Runs a suite in two guests joined by a link: VM A runs SUITE through
# scripts/vm-run.sh (our module installed, as for every suite; WG_IMPL from
# the environment as there), VM B runs tests/vm/pair/peer.sh (the in-tree C
# driver of the same kernel, driven by the suite through a command server;
# the suite may have B load our module instead: pair_load in
# tests/vm/pair/lib.sh, as the bench does).
#
#   scripts/vm-pair.sh [--flavour debug|release] [--peer-flavour debug|release]
#                      [--timeout SECONDS] [--name NAME] [--cpus N] [--memory M]
#                      [--link dgram|tap] SUITE [ARGS...]
#
# --cpus and --memory apply to each VM (vm-run.sh's defaults: 2 vCPUs, 2G).
# --peer-flavour: B's kernel (default: A's); the C driver's VM needs no
# sanitizers, and on the release kernel it answers A sooner.
#
# The link: one more virtio-net NIC in each guest, backed by
#   dgram (the default): QEMU `-netdev dgram`, each Ethernet frame one UDP
#        datagram between two ports on 127.0.0.1, picked free at start, so two
#        runs on one machine do not meet. It carries no virtio-net header, so
#        the NICs offer no offload: every frame is checksummed and at most
#        1514 bytes.
#   tap: QEMU `-netdev tap,vnet_hdr=on`, two tap devices with virtio-net
#        headers on a bridge, in a network namespace of the host made for
#        this run (wgpair-PID, deleted at the end; both QEMUs run in it). The
#        NICs then offer checksum offload and TSO both ways (what QEMU and
#        the host's tun driver agree on: the guest's virtio feature bits say
#        which), as a hypervisor's NIC does. Needs root. A namespace left by
#        a run that was killed (SIGKILL) is deleted by the next tap run once
#        no process is in it.
# Both guests boot the same cached kernel at the same time; each run is judged
# by vm-run.sh as a single-VM suite is (the guest's verdict, its kernel log:
# WARNING:, BUG:, KASAN, lockdep, kmemleak..., the time limit).
#
# Results: build/vm/NAME/ (A; NAME defaults to the suite's name) and
# build/vm/NAME-peer/ (B). The peer VM's outcome becomes A's last result
# line, "PASS peer_vm" or "FAIL peer_vm" (peer_vm.log: vm-run.sh's report on
# B), so a splat in the C driver's VM fails the suite too.
#
# Bounds: A's guest within --timeout (default 1500 s); B's within that plus
# 300 s. B's command server quits when the suite says so, when it hears
# nothing for 300 s, or when this runner drops a stop file into B's results
# folder: at A's end if the suite never said quit (A crashed), else 240 s
# later.
. "$(dirname "$0")/lib.sh"

flavour=debug peer_flavour= timeout=1500 name= link=dgram
size=()
while [ $# -gt 0 ]; do
	case $1 in
	--flavour) flavour=$2; shift 2 ;;
	--peer-flavour) peer_flavour=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	--cpus | --memory) size+=("$1" "$2"); shift 2 ;;
	--link) link=$2; shift 2 ;;
	--) shift; break ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
done
peer_flavour=${peer_flavour:-$flavour}
case $link in dgram | tap) ;; *) die "--link is dgram or tap, not '$link'" ;; esac
case $flavour/$peer_flavour in debug/debug | debug/release | release/release | release/debug) ;; *) die "flavours are debug or release" ;; esac
suite=${1:?usage: vm-pair.sh [options] SUITE}
shift
suite=$(readlink -f "$suite")
name=${name:-$(basename "$suite" .sh)}
peer=$name-peer

# What the run leaves behind goes at its end, however it ends.
netns=() port_a= port_b= ns= peer_log= a_log=
cleanup() {
	rm -f ${peer_log:+"$peer_log"} ${a_log:+"$a_log"}
	[ -z "$ns" ] || ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
if [ "$link" = dgram ]; then
	# Two free UDP ports on loopback (held together while picked, so distinct).
	read -r port_a port_b < <(python3 -c 'import socket
s = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
	[ -n "$port_b" ] || die "could not pick two free UDP ports"
	nic() { # LOCAL_PORT REMOTE_PORT MAC
		echo "-netdev dgram,id=pair,local.type=inet,local.host=127.0.0.1,local.port=$1,remote.type=inet,remote.host=127.0.0.1,remote.port=$2 -device virtio-net-pci,netdev=pair,mac=$3"
	}
	where="UDP 127.0.0.1:$port_a <-> 127.0.0.1:$port_b"
else
	# A namespace of this run's own: a bridge and two persistent taps with
	# virtio-net headers; QEMU attaches to a tap by name in its namespace.
	[ "$(id -u)" = 0 ] || die "the tap link needs root (a network namespace and tap devices)"
	# Namespaces of killed runs (no process left in them) go first.
	for old in $(ip netns list | awk '$1 ~ /^wgpair-[0-9]+$/ { print $1 }'); do
		[ -n "$(ip netns pids "$old" 2>/dev/null)" ] || ip netns del "$old" 2>/dev/null || true
	done
	ip netns add "wgpair-$$" || die "could not make the network namespace wgpair-$$"
	ns=wgpair-$$
	ip -n "$ns" link add br0 type bridge
	for t in tap0 tap1; do
		ip -n "$ns" tuntap add dev "$t" mode tap vnet_hdr
		ip -n "$ns" link set "$t" master br0 up
	done
	ip -n "$ns" link set br0 up
	netns=(ip netns exec "$ns")
	port_a=tap0 port_b=tap1
	nic() { # TAP - MAC
		echo "-netdev tap,id=pair,ifname=$1,script=no,downscript=no,vnet_hdr=on -device virtio-net-pci,netdev=pair,mac=$3"
	}
	where="taps with virtio-net headers on a bridge in the namespace $ns"
fi

"$TOP/scripts/build-kernel.sh" "$flavour" >/dev/null   # cached: built once, before two runners race for it
[ "$peer_flavour" = "$flavour" ] || "$TOP/scripts/build-kernel.sh" "$peer_flavour" >/dev/null
# Likewise the tests' kernel helpers each runner copies (scripts/vm-run.sh).
for f in "$flavour" "$peer_flavour"; do test_kmods_ready "$f"; done
log "vm-pair: $name (A: ${WG_IMPL:-rs}) <-> $peer (B: the C driver unless told otherwise), $link link: $where"
peer_log=$(mktemp)
WG_IMPL=c ${netns[@]+"${netns[@]}"} "$TOP/scripts/vm-run.sh" --flavour "$peer_flavour" --name "$peer" --timeout $((timeout + 300)) "${size[@]}" \
	--qemu-opts "$(nic "$port_b" "$port_a" 52:54:00:77:00:02)" "$TOP/tests/vm/pair/peer.sh" \
	</dev/null >"$peer_log" 2>&1 &
peer_pid=$!

a_log=$(mktemp)
set +e
${netns[@]+"${netns[@]}"} "$TOP/scripts/vm-run.sh" --flavour "$flavour" --name "$name" --timeout "$timeout" "${size[@]}" \
	--qemu-opts "$(nic "$port_a" "$port_b" 52:54:00:77:00:01)" "$suite" "$@" </dev/null 2> >(tee "$a_log" >&2)
status_a=$?
set -e

# B powers off once the suite said quit (its kmemleak scan takes a while);
# a peer VM never told so (A crashed, or hung) is told to stop at once, one
# still up 240 s after A's end too; its own time limit bounds the rest.
peer_res=$TOP/build/vm/$peer
grep -q '\] quit$' "$peer_res/ctl.log" 2>/dev/null || touch "$peer_res/stop"
for ((i = 0; i < 240; i++)); do
	kill -0 "$peer_pid" 2>/dev/null || break
	sleep 1
done
if kill -0 "$peer_pid" 2>/dev/null; then
	log "vm-pair: $peer still running 240 s after $name ended: asking it to stop"
	touch "$peer_res/stop"
fi
set +e
wait "$peer_pid"
status_b=$?
set -e
sed 's/^/[peer] /' "$peer_log" >&2

res=$TOP/build/vm/$name
mkdir -p "$res"
# A failed run of A beyond its checks (a crash, a splat, a leak, the time
# limit) gets a line of its own, so the summary names it.
if [ "$status_a" -ne 0 ] && { [ -s "$res/splats.txt" ] || ! [ -s "$res/verdict" ] ||
	! grep -q '^FAIL' "$res/results.txt" 2>/dev/null; }; then
	cp "$a_log" "$res/vm.log"
	# A check whose log exists but which has no result line was cut short.
	for f in "$res"/*.log; do
		c=$(basename "$f" .log)
		case $c in guest | vm | peer_vm | console | *-crash-[0-9]*) continue ;; esac
		grep -Eq "^(PASS|FAIL) $c\$" "$res/results.txt" 2>/dev/null ||
			echo "FAIL: the VM ended during check $c (a crash or the time limit: see splats.txt, console.log)" >>"$res/vm.log"
	done
	echo "FAIL vm" >>"$res/results.txt"
fi
cp "$peer_log" "$res/peer_vm.log"
# B stopped by this runner (verdict 3) because A never said quit is A's
# failure, not B's: peer_vm then judges B's kernel log only.
peer_ok=0
[ "$status_b" -eq 0 ] && peer_ok=1
if [ "$status_a" -ne 0 ] && [ "$(cat "$peer_res/verdict" 2>/dev/null)" = 3 ] && ! [ -s "$peer_res/splats.txt" ]; then
	peer_ok=1
fi
if [ "$peer_ok" = 1 ]; then
	echo "PASS peer_vm" >>"$res/results.txt"
else
	echo "FAIL peer_vm (the peer VM: build/vm/$peer/)" >&2
	echo "FAIL peer_vm" >>"$res/results.txt"
fi
[ "$status_a" -eq 0 ] && [ "$peer_ok" = 1 ]
