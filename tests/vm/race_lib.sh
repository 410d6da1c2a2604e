# Peer and device lifetime under races and at scale (issue 11), inside the
# guest. Sourced after tests/vm/lib.sh by tests/vm/suite/lifecycle.sh (short
# forms, in `make check`) and tests/vm/race.sh (`make race`, long forms).
#
#   t_race_config_delete_move SECONDS   wg setconf/set with peers from two
#       processes (two namespaces) while others delete and re-create the
#       device, move another between namespaces, bring both up and down, and
#       dump by ifindex; then every device must go and the module unload, with
#       no "waiting for ... to become free" (a device pinned by peers created
#       after its unregistration began).
#   t_peer_churn_traffic SECONDS NPEERS  a tunnel carrying pings while NPEERS
#       peers are added and removed over and over on both ends (REMOVE_ME in
#       bulk, REPLACE_PEERS, the real peer removed and re-created while its
#       other end keeps initiating handshakes); the tunnel must carry traffic
#       again afterwards.
#   t_new_peer_window ROUNDS  finding 5 of issue 11, forced: a peer added
#       while its other end is already initiating must work at once. The
#       test's kprobe module (tests/kmod/wg_delay.c) holds the adding
#       process in napi_enable for 3 s (our peer's NAPI context and the C
#       driver's are enabled as the peer is created). A peer the handshake
#       path can find before that (published first, as f3c3ba8 did, whose
#       NAPI context was added and its timers started only after a grace
#       period) takes the handshake and the data behind it while its NAPI
#       context is not ready: the schedule is lost, the ping stays in the
#       peer's queue. Each round the other end pings 0.2 s into the hold
#       and must be answered within 8 s of the hold's end (an initiation
#       that finds no peer is resent after 5 s; the lost ping would wait
#       for the next handshake, some 15 s after it was sent). The hold also
#       keeps RCU grace periods from ending, so the pinger
#       (tests/vm/hold_ping.py) enters its namespace before it and starts
#       no program during it (an exec costs half a second in the debug
#       guest). Not every round can show it: the hold keeps its CPU, and a
#       handshake queued to that CPU runs only after the hold. A round
#       counts as forced when the handshake initiation left the other end's
#       underlay device at least 1 s before the hold ended (seen with a
#       packet socket): the stimulus, not proof that this end took it
#       during the hold; none forced fails. f3c3ba8's module left the ping
#       unanswered in 4 and 3 of 6 rounds in two runs on a quiet machine,
#       in none of 6 beside make check (2026-12-03).
#   t_key_change_window ROUNDS  a private key changed while a handshake
#       made under the old one is between its last step and installing its
#       session must not leave a session that sends: the key change stops
#       every session sending, and one installed after it was made for a key
#       the device no longer has. wg_delay holds the initiator's
#       begin_session (found in /proc/kallsyms; the responder's, earlier,
#       passes) for 2 s; a process already in the namespace
#       (tests/netlink/wgnl.py key-on-hold) sets a new key once the hold
#       begins; the ping that started the handshake must then go unanswered
#       (the other end knows only the old key), and, with the old key back,
#       the tunnel must work again. 6979bd8's module installed the session
#       after the key change and sent the ping with it (3 of 3 rounds). The
#       C driver passes (WG_IMPL=c with impl_load, 2 of 2 rounds): its key
#       change clears the handshake, whose state begin_session checks.
#   t_identity_readers  the device's key is read by the handshake workers
#       of every CPU at once: wg_delay holds A's consume_initiation of B's
#       initiation (A's key held for reading) for 3 s, and meanwhile C's
#       initiation to A must be answered (tests/vm/hold_answer.py, in the
#       initiators' namespace before the hold, sends through C's device once
#       the hold begins and sees A's response come in on the veth). With
#       the key behind a mutex (until session 34) A's other worker waited
#       for the hold to end. (The C driver passes without showing anything:
#       its consume_initiation takes its key with `down_read` after the
#       probe's hold, at its entry.)
#   t_delete_many_peers NPEERS  a running device with NPEERS peers deleted
#       while another process waits for RTNL, with hung_task_timeout_secs at
#       10: no hung task, no soft lockup (the runner's judge fails the run on
#       either), and the deletion bounded.
RACE_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WGNL=$RACE_TOP/tests/netlink/wgnl.py

# Writes N random base64 keys to FILE (one process: wg genkey per key is slow
# under emulation).
race_keys() {
	python3 -c 'import base64, os, sys
for _ in range(int(sys.argv[1])): print(base64.b64encode(os.urandom(32)).decode())' "$1" >"$2"
}

# A wg(8) configuration: private key $1 (file), peers: public keys from file
# $2, each with a /32 out of 10.(200+$3).0.0/16 and an endpoint; one in $4
# (default 10) with a persistent keepalive of 1 to 3 s, so that handshakes
# and timers run (not all: each initiation costs a DH, slow under emulation).
race_conf() {
	local priv=$1 keys=$2 net=$3 every=${4:-10}
	echo "[Interface]"
	echo "PrivateKey = $(cat "$priv")"
	awk -v net="$net" -v every="$every" '{ i = NR
		printf "[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.%d/32\nEndpoint = 127.0.0.1:%d\n", $1, 200 + net, int(i / 256) % 256, i % 256, 20000 + (i % 1000)
		if (i % every == 0) printf "PersistentKeepalive = %d\n", 1 + (i % 3) }' "$keys"
}

# Two namespaces, $1-a and $1-b, joined by a veth pair (va, 10.$2.0.1/24;
# vb, 10.$2.0.2/24), each with an unconfigured WireGuard device (wga, wgb),
# and their private keys in /tmp/$1-ka and /tmp/$1-kb.
race_pair() {
	local p=$1 net=$2
	ip netns add "$p-a"
	ip netns add "$p-b"
	ip link add va netns "$p-a" type veth peer name vb netns "$p-b"
	ip -n "$p-a" addr add "10.$net.0.1/24" dev va
	ip -n "$p-b" addr add "10.$net.0.2/24" dev vb
	ip -n "$p-a" link set va up
	ip -n "$p-b" link set vb up
	(umask 077 && wg genkey >"/tmp/$p-ka" && wg genkey >"/tmp/$p-kb")
	ip -n "$p-a" link add wga type wireguard
	ip -n "$p-b" link add wgb type wireguard
}

# The function of the module under test for wg_delay to hold: the C driver's
# $1 (WG_IMPL=c), else ours whose mangled name matches the awk pattern $2
# (found in /proc/kallsyms; fails, saying so, if none does).
race_symbol() {
	local sym=$1
	[ "${WG_IMPL:-rs}" = c ] || sym=$(awk -v p="$2" '$3 ~ p {print $3; exit}' /proc/kallsyms)
	[ -n "$sym" ] || { echo "no symbol matching $2 in /proc/kallsyms" >&2; return 1; }
	echo "$sym"
}

# Runs "$@" in a loop until $deadline (epoch seconds); each run bounded (a
# command stuck in the kernel is reported, not waited for).
race_loop() {
	local log=$1
	shift
	while [ "$(date +%s)" -lt "$deadline" ]; do
		"$@" >>"$log" 2>&1
	done
}

# Waits up to $1 seconds for the pids $2...; fails naming those still alive.
race_wait() {
	local limit=$1 p alive
	shift
	local end=$(( $(date +%s) + limit ))
	while :; do
		alive=
		for p in "$@"; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
		[ -z "$alive" ] && return 0
		if [ "$(date +%s)" -ge "$end" ]; then
			echo "still running after ${limit}s (stuck in the kernel?):$alive"
			ps -o pid,stat,wchan:32,args -p "${alive# }" 2>/dev/null || true
			return 1
		fi
		sleep 1
	done
}

# Fails if the kernel says a device cannot be freed.
race_no_pinned_device() {
	if dmesg | grep -E 'unregister_netdevice: waiting for .* to become free'; then
		echo "a device is pinned: its unregistration waits for ever"
		return 1
	fi
}

t_race_config_delete_move() {
	local seconds=${1:-20}
	local W=/tmp/race-cfg
	rm -rf "$W"; mkdir -p "$W"
	# Report a pinned device after 1 s instead of 10.
	sysctl -qw net.core.netdev_unregister_timeout_secs=1
	modprobe wireguard
	wg genkey >"$W/priv"
	# Enough peers that a dump takes several messages (RTNL is let go
	# between them).
	race_keys 300 "$W/keys"
	race_conf "$W/priv" "$W/keys" 0 30 >"$W/conf"
	ip netns add rc
	ip link add wgr0 type wireguard
	ip link add wgr1 type wireguard
	# A device in rc holds wgr1's index there: wgr1 changes index when it
	# moves in.
	ip -n rc link add wgr2 index "$(cat /sys/class/net/wgr1/ifindex)" type wireguard
	local deadline=$(( $(date +%s) + seconds ))
	local pids=()
	setter() {
		local d
		for d in wgr0 wgr1; do
			timeout 60 wg setconf "$d" "$W/conf"
			timeout 60 wg set "$d" peer "$(sed -n 3p "$W/keys")" allowed-ips 10.9.0.0/16 endpoint 127.0.0.2:1
		done
	}
	setter_rc() { timeout 60 ip netns exec rc wg setconf wgr1 "$W/conf"; timeout 60 ip netns exec rc wg setconf wgr2 "$W/conf"; }
	deleter() { timeout 60 ip link del wgr0; timeout 60 ip link add wgr0 type wireguard; }
	# Each round trip gives wgr1 a new index: its old one is taken while
	# it is away.
	mover() {
		local idx
		idx=$(cat /sys/class/net/wgr1/ifindex 2>/dev/null) || { timeout 60 ip -n rc link set wgr1 netns 1; return; }
		timeout 60 ip link set wgr1 netns rc
		timeout 60 ip link add wgrh index "$idx" type wireguard
		timeout 60 ip -n rc link set wgr1 netns 1
		timeout 60 ip link del wgrh
	}
	updown() {
		timeout 60 ip link set wgr0 up; timeout 60 ip link set wgr1 up
		timeout 60 ip link set wgr0 down; timeout 60 ip -n rc link set wgr1 down
	}
	race_loop "$W/setter.log" setter & pids+=($!)
	race_loop "$W/setter_rc.log" setter_rc & pids+=($!)
	race_loop "$W/deleter.log" deleter & pids+=($!)
	race_loop "$W/mover.log" mover & pids+=($!)
	race_loop "$W/updown.log" updown & pids+=($!)
	python3 "$WGNL" dumpidx wgr1 "$seconds" >"$W/dumpidx.log" 2>&1 & local dumper=$!
	local ok=0
	race_wait $((seconds + 60)) "${pids[@]}" "$dumper" || ok=1
	wait "$dumper" || { echo "dumps by ifindex:"; cat "$W/dumpidx.log"; ok=1; }
	tail -n 1 "$W/dumpidx.log"
	echo "setconf runs: $(grep -c . "$W/setter.log" || true) lines of errors (ENODEV expected)"
	sleep 2
	race_no_pinned_device || ok=1
	[ $ok = 0 ] || return 1
	ip link del wgr0 2>/dev/null || true
	ip link del wgr1 2>/dev/null || ip -n rc link del wgr1 2>/dev/null || true
	ip link del wgrh 2>/dev/null || true
	ip netns del rc
	sleep 3
	race_no_pinned_device
	[ "$(count_devs)" = 0 ]
	timeout 120 rmmod wireguard
	assert refute test -d /sys/module/wireguard
}

t_peer_churn_traffic() {
	local seconds=${1:-20} npeers=${2:-1000}
	local W=/tmp/race-churn
	rm -rf "$W"; mkdir -p "$W"
	modprobe wireguard
	ip netns add ch1; ip netns add ch2
	ip link add v1 netns ch1 type veth peer name v2 netns ch2
	ip -n ch1 addr add 192.168.77.1/24 dev v1; ip -n ch1 link set v1 up
	ip -n ch2 addr add 192.168.77.2/24 dev v2; ip -n ch2 link set v2 up
	ip -n ch1 link add wg0 type wireguard
	ip -n ch2 link add wg1 type wireguard
	wg genkey >"$W/k0"; wg genkey >"$W/k1"
	local p0 p1; p0=$(wg pubkey <"$W/k0"); p1=$(wg pubkey <"$W/k1")
	race_keys "$npeers" "$W/extra0"
	race_keys "$npeers" "$W/extra1"
	# wg0's base: the real peer only; with extras; wg1 alike.
	{ echo "[Interface]"; echo "PrivateKey = $(cat "$W/k0")"; echo "ListenPort = 51820"
	  echo "[Peer]"; echo "PublicKey = $p1"; echo "AllowedIPs = 10.77.0.2/32"; echo "Endpoint = 192.168.77.2:51821"; } >"$W/base0"
	{ echo "[Interface]"; echo "PrivateKey = $(cat "$W/k1")"; echo "ListenPort = 51821"
	  echo "[Peer]"; echo "PublicKey = $p0"; echo "AllowedIPs = 10.77.0.1/32"; echo "Endpoint = 192.168.77.1:51820"
	  echo "PersistentKeepalive = 1"; } >"$W/base1"
	{ cat "$W/base0"; race_conf "$W/k0" "$W/extra0" 1 50 | sed 1,2d; } >"$W/full0"
	race_conf "$W/k1" "$W/extra1" 2 50 >"$W/add1"
	ip netns exec ch1 wg setconf wg0 "$W/base0"
	ip netns exec ch2 wg setconf wg1 "$W/base1"
	ip -n ch1 addr add 10.77.0.1/24 dev wg0; ip -n ch1 link set wg0 up
	ip -n ch2 addr add 10.77.0.2/24 dev wg1; ip -n ch2 link set wg1 up
	ip netns exec ch2 ping -c 3 -W 5 10.77.0.1 >/dev/null
	local deadline=$(( $(date +%s) + seconds ))
	# Traffic both ways for the whole churn.
	ip netns exec ch2 ping -q -i 0.05 -w "$seconds" 10.77.0.1 >"$W/ping2" 2>&1 &
	local ping2=$!
	ip netns exec ch1 ping -q -i 0.05 -w "$seconds" 10.77.0.2 >"$W/ping1" 2>&1 &
	local ping1=$!
	churn0() {
		# REPLACE_PEERS with NPEERS extras, then back to the real peer only:
		# the real peer is removed and re-created while wg1 keeps initiating.
		timeout 120 ip netns exec ch1 wg setconf wg0 "$W/full0" || echo "setconf full0 failed"
		timeout 120 ip netns exec ch1 wg setconf wg0 "$W/base0" || echo "setconf base0 failed"
		timeout 60 ip netns exec ch1 wg set wg0 peer "$p1" remove || echo "remove real peer failed"
		timeout 60 ip netns exec ch1 wg setconf wg0 "$W/base0" || echo "setconf base0 failed"
	}
	churn1() {
		# NPEERS extras added, then removed in bulk (REMOVE_ME).
		timeout 120 ip netns exec ch2 wg addconf wg1 "$W/add1" || echo "addconf failed"
		timeout 120 ip netns exec ch2 python3 "$WGNL" remove-many wg1 "$W/extra1" || echo "remove-many failed"
	}
	race_loop "$W/churn0.log" churn0 & local c0=$!
	race_loop "$W/churn1.log" churn1 & local c1=$!
	local ok=0
	race_wait $((seconds + 300)) "$c0" "$c1" "$ping1" "$ping2" || ok=1
	if grep -q failed "$W/churn0.log" "$W/churn1.log"; then
		grep failed "$W/churn0.log" "$W/churn1.log" | sort | uniq -c; ok=1
	fi
	echo "ping ch1->ch2: $(grep -o '[0-9]* received' "$W/ping1")"
	echo "ping ch2->ch1: $(grep -o '[0-9]* received' "$W/ping2")"
	grep -Eq ' [1-9][0-9]* received' "$W/ping1" || { echo "no traffic ch1->ch2 during the churn"; ok=1; }
	grep -Eq ' [1-9][0-9]* received' "$W/ping2" || { echo "no traffic ch2->ch1 during the churn"; ok=1; }
	[ "$(ip netns exec ch2 wg show wg1 peers | wc -l)" = 1 ] || { echo "wg1 kept extra peers"; ok=1; }
	[ "$(ip netns exec ch1 wg show wg0 peers | wc -l)" = 1 ] || { echo "wg0 kept extra peers"; ok=1; }
	# The tunnel works after the churn (a new handshake may be needed).
	local i
	for i in $(seq 1 20); do ip netns exec ch2 ping -c 1 -W 2 10.77.0.1 >/dev/null && break; done
	ip netns exec ch2 ping -c 3 -W 5 10.77.0.1 >/dev/null || { echo "no traffic after the churn"; ok=1; }
	ip netns del ch1; ip netns del ch2
	sleep 2
	race_no_pinned_device || ok=1
	[ $ok = 0 ] || return 1
	timeout 120 rmmod wireguard
}

t_delete_many_peers() {
	local npeers=${1:-10000}
	local W=/tmp/race-many
	rm -rf "$W"; mkdir -p "$W"
	modprobe wireguard
	local old; old=$(cat /proc/sys/kernel/hung_task_timeout_secs)
	sysctl -qw kernel.hung_task_timeout_secs=10
	wg genkey >"$W/priv"
	race_keys "$npeers" "$W/keys"
	race_conf "$W/priv" "$W/keys" 3 500 >"$W/conf"
	ip link add wgm type wireguard
	local t0 t1 t2
	t0=$(date +%s)
	wg setconf wgm "$W/conf"
	ip link set wgm up
	t1=$(date +%s)
	[ "$(wg show wgm peers | wc -l)" = "$npeers" ]
	echo "$npeers peers configured and up in $((t1 - t0)) s"
	# Deleted while another process waits for RTNL (a hung-task report if
	# it waits more than 10 s; khungtaskd looks every 10 s).
	ip link del wgm &
	local del=$!
	sleep 0.5
	ip link add wgm-other type dummy &
	local other=$!
	local ok=0
	race_wait 600 "$del" "$other" || ok=1
	t2=$(date +%s)
	echo "deleted in $((t2 - t1)) s"
	# Give khungtaskd its look at what waited, then restore.
	sleep 12
	sysctl -qw kernel.hung_task_timeout_secs="$old"
	ip link del wgm-other 2>/dev/null || true
	[ $ok = 0 ] || return 1
	if dmesg | grep -E 'blocked for more than|soft lockup'; then return 1; fi
	# Generous: a sane deletion of 10,000 peers takes seconds even under TCG.
	[ $((t2 - t1)) -lt 120 ] || { echo "deletion took $((t2 - t1)) s"; return 1; }
	race_no_pinned_device
	timeout 120 rmmod wireguard
}

t_new_peer_window() {
	local rounds=${1:-4} ko=$RACE_TOP/build/debug/wg_delay.ko i j held st=0 setter pinger kb forced=0 r
	[ -e "$ko" ] || { echo "no $ko (scripts/build-module.sh debug builds it)"; return 1; }
	race_pair nw 71
	kb=$(wg pubkey </tmp/nw-kb)
	ip netns exec nw-a wg set wga private-key /tmp/nw-ka listen-port 51871
	ip netns exec nw-b wg set wgb private-key /tmp/nw-kb listen-port 51872 \
		peer "$(wg pubkey </tmp/nw-ka)" allowed-ips 10.72.0.1/32 endpoint 10.71.0.1:51871
	ip -n nw-a addr add 10.72.0.1/24 dev wga
	ip -n nw-b addr add 10.72.0.2/24 dev wgb
	ip -n nw-a link set wga up
	ip -n nw-b link set wgb up
	ip netns exec nw-b ping -q -c 1 -w 10 10.71.0.1 >/dev/null
	for i in $(seq 1 "$rounds"); do
		# No peer on wga; wgb forgets its session (down and up).
		ip netns exec nw-a wg set wga peer "$kb" remove
		ip -n nw-b link set wgb down
		ip -n nw-b link set wgb up
		insmod "$ko" symbol=napi_enable delay_ms=3000 count=1 || { st=1; break; }
		# The pinger (no exec once the hold begins) enters its namespace
		# before the hold, says so, then pings 0.2 s into it.
		rm -f /tmp/nw-ready /tmp/nw-ping
		ip netns exec nw-b python3 "$RACE_TOP/tests/vm/hold_ping.py" 10.72.0.1 vb /tmp/nw-ready >/tmp/nw-ping 2>&1 &
		pinger=$!
		for j in $(seq 1 300); do [ -e /tmp/nw-ready ] && break; sleep 0.1; done
		ip netns exec nw-a wg set wga peer "$kb" allowed-ips 10.72.0.2/32 &
		setter=$!
		wait "$pinger" && r=0 || r=1
		sed -n 1p /tmp/nw-ping
		if grep -qx forced /tmp/nw-ping; then
			forced=$((forced + 1))
		else
			echo "round $i: the initiation did not leave during the hold (not forced)"
		fi
		if [ $r = 0 ]; then
			echo "round $i: answered"
		else
			echo "round $i: FAIL: $(tr '\n' ' ' </tmp/nw-ping)"
			st=1
		fi
		wait "$setter" || { echo "round $i: wg set failed"; st=1; }
		held=$(cat /sys/module/wg_delay/parameters/held)
		rmmod wg_delay
		[ "$held" = 1 ] || { echo "round $i: napi_enable held $held times, not once"; st=1; }
	done
	echo "$forced of $rounds rounds sent the initiation during the hold"
	[ "$forced" -gt 0 ] || { echo "FAIL: no round sent the initiation during the hold: nothing was tested"; st=1; }
	ip netns del nw-a
	ip netns del nw-b
	return $st
}

t_key_change_window() {
	local rounds=${1:-3} ko=$RACE_TOP/build/debug/wg_delay.ko sym i j held seen after setter r st=0 forced=0
	[ -e "$ko" ] || { echo "no $ko (scripts/build-module.sh debug builds it)"; return 1; }
	race_pair kw 73
	(umask 077 && wg genkey >/tmp/kw-new)
	# The module is loaded now. (WG_IMPL=c, with the C driver loaded by
	# tests/hostile/impl.sh's impl_load: its begin_session.)
	sym=$(race_symbol wg_noise_handshake_begin_session '7session13begin_session$') || return 1
	ip netns exec kw-a wg set wga private-key /tmp/kw-ka listen-port 51881 \
		peer "$(wg pubkey </tmp/kw-kb)" allowed-ips 10.74.0.2/32 endpoint 10.73.0.2:51882
	ip netns exec kw-b wg set wgb private-key /tmp/kw-kb listen-port 51882 \
		peer "$(wg pubkey </tmp/kw-ka)" allowed-ips 10.74.0.1/32 endpoint 10.73.0.1:51881
	ip -n kw-a addr add 10.74.0.1/24 dev wga
	ip -n kw-b addr add 10.74.0.2/24 dev wgb
	for i in $(seq 1 "$rounds"); do
		# The old key; no session on either end (down drops them).
		ip netns exec kw-a wg set wga private-key /tmp/kw-ka
		ip -n kw-a link set wga down
		ip -n kw-b link set wgb down
		ip -n kw-a link set wga up
		ip -n kw-b link set wgb up
		rm -f /tmp/kw-set /tmp/kw-set.ready
		ip netns exec kw-a python3 -S "$WGNL" key-on-hold wga /tmp/kw-new /tmp/kw-set &
		setter=$!
		for j in $(seq 1 300); do [ -e /tmp/kw-set.ready ] && break; sleep 0.1; done
		# The responder's begin_session (wgb's, before its response) passes;
		# the initiator's (wga's, on the response) is held.
		insmod "$ko" symbol="$sym" delay_ms=2000 skip=1 count=1 || { st=1; break; }
		if ip netns exec kw-a ping -q -c 1 -w 8 10.74.0.2 >/dev/null; then r=answered; else r=unanswered; fi
		wait "$setter" || { echo "round $i: setting the key failed"; st=1; }
		held=$(cat /sys/module/wg_delay/parameters/held)
		rmmod wg_delay
		read -r seen after </tmp/kw-set
		echo "round $i: begin_session held $held, the key changed during the hold: $seen, ping $r"
		[ "$held" = 1 ] || { echo "round $i: FAIL: begin_session held $held times, not once"; st=1; }
		[ "$seen" = 1 ] && forced=$((forced + 1))
		[ "$r" = unanswered ] || { echo "round $i: FAIL: a session made under the old key sent after the key changed"; st=1; }
	done
	# The old key back: the tunnel works (the unanswered pings were the
	# key change's doing, not a broken set-up).
	ip netns exec kw-a wg set wga private-key /tmp/kw-ka
	ip netns exec kw-a ping -q -c 1 -w 10 10.74.0.2 >/dev/null || { echo "FAIL: no tunnel with the old key back"; st=1; }
	echo "$forced of $rounds rounds changed the key during the hold"
	[ "$forced" = "$rounds" ] || { echo "FAIL: the key changed during the hold in only $forced rounds"; st=1; }
	ip netns del kw-a
	ip netns del kw-b
	return $st
}

t_identity_readers() {
	local ko=$RACE_TOP/build/debug/wg_delay.ko sym i helper st=0
	[ -e "$ko" ] || { echo "no $ko (scripts/build-module.sh debug builds it)"; return 1; }
	race_pair ir 75
	(umask 077 && wg genkey >/tmp/ir-kc)
	ip -n ir-b link add wgc type wireguard
	sym=$(race_symbol wg_noise_handshake_consume_initiation '13PeerHandshake.*18consume_initiation') || return 1
	ip netns exec ir-a wg set wga private-key /tmp/ir-ka listen-port 51891 \
		peer "$(wg pubkey </tmp/ir-kb)" allowed-ips 10.76.0.2/32 endpoint 10.75.0.2:51892 \
		peer "$(wg pubkey </tmp/ir-kc)" allowed-ips 10.77.0.3/32 endpoint 10.75.0.2:51893
	ip netns exec ir-b wg set wgb private-key /tmp/ir-kb listen-port 51892 \
		peer "$(wg pubkey </tmp/ir-ka)" allowed-ips 10.76.0.1/32 endpoint 10.75.0.1:51891
	ip netns exec ir-b wg set wgc private-key /tmp/ir-kc listen-port 51893 \
		peer "$(wg pubkey </tmp/ir-ka)" allowed-ips 10.77.0.1/32 endpoint 10.75.0.1:51891
	ip -n ir-a addr add 10.76.0.1/24 dev wga
	ip -n ir-a addr add 10.77.0.1/24 dev wga
	ip -n ir-b addr add 10.76.0.2/24 dev wgb
	ip -n ir-b addr add 10.77.0.3/24 dev wgc
	ip -n ir-a link set wga up
	ip -n ir-b link set wgb up
	ip -n ir-b link set wgc up
	# The ARP entries both ways, before the hold.
	ip netns exec ir-b ping -q -c 1 -w 5 10.75.0.1 >/dev/null
	# C's side, ready before the hold: once the hold begins it sends through
	# wgc and watches vb for A's response.
	rm -f /tmp/ir-ready
	ip netns exec ir-b python3 "$RACE_TOP/tests/vm/hold_answer.py" 10.77.0.1 vb 51893 /tmp/ir-ready >/tmp/ir-answer 2>&1 &
	helper=$!
	for i in $(seq 1 300); do [ -e /tmp/ir-ready ] && break; sleep 0.1; done
	# B's initiation is held in A's consume_initiation (A's key held for
	# reading, B's handshake locked) for 3 s.
	insmod "$ko" symbol="$sym" delay_ms=3000 count=1 || return 1
	ip netns exec ir-b ping -q -c 1 -w 10 10.76.0.1 >/dev/null &
	race_wait 60 "$helper" || st=1
	wait "$helper" || st=1
	cat /tmp/ir-answer
	wait
	[ "$(cat /sys/module/wg_delay/parameters/held)" = 1 ] || { echo "FAIL: held $(cat /sys/module/wg_delay/parameters/held) times, not once"; st=1; }
	rmmod wg_delay
	[ "$st" = 0 ] || echo "FAIL: A answered no initiation while another was held in consume_initiation"
	# Both tunnels work after the hold.
	ip netns exec ir-b ping -q -c 1 -w 10 10.76.0.1 >/dev/null || { echo "FAIL: no tunnel B-A"; st=1; }
	ip netns exec ir-b ping -q -c 1 -w 10 10.77.0.1 >/dev/null || { echo "FAIL: no tunnel C-A"; st=1; }
	ip netns del ir-a
	ip netns del ir-b
	return $st
}
