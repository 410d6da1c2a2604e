#!/usr/bin/env bash
# Installing on the running kernel, as a user would (run by
# scripts/check-install.sh on the release kernel, which has CONFIG_MODULE_SIG):
#   KDIR [--dkms]
# vm-usual: 70 (seconds in make check on this machine kind, 2026-12-04: for the progress lines)
# 1. Before: modprobe finds the in-tree C driver.
# 2. scripts/install.sh install (what `make install` runs after building):
#    ours lands in updates/, signed with the kernel's key; `ip link add ...
#    type wireguard` autoloads ours, and the module does not taint the kernel
#    as unsigned (no E in /sys/module/wireguard/taint).
# 3. Without a key the install refuses (nothing installed); with
#    ALLOW_UNSIGNED=1 it installs, and that module does carry the E taint
#    (so the check in 2 can fail).
# 4. scripts/install.sh uninstall: the C driver autoloads again.
# 5. wg-quick's full tunnel (tests/vm/fulltunnel.sh), with ours and with the
#    C driver, each loaded by path.
# 6. systemd-networkd (tests/vm/networkd.sh): a .netdev of Kind=wireguard
#    and its .network, with ours and with the C driver.
# 7. --dkms: make dkms-install builds the module under DKMS for this kernel
#    (in the guest: slow under emulation), DKMS signs it with the kernel's
#    key as its configuration says, it autoloads without the E taint, and
#    make dkms-remove takes it out and the C driver is back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fulltunnel.sh"
. "$(dirname "$0")/networkd.sh"
kdir=${1:?usage: install.sh KDIR [--dkms]}
dkms=${2:-}
top=$(cd "$(dirname "$0")/../.." && pwd)
release=$(uname -r)
moddir=/lib/modules/$release
fail() { echo "FAIL: $*"; return 1; }

# guest.sh put ours in updates/ already: start from the kernel as shipped.
cp "$WG_RS_MODULE" /tmp/ours.ko
module=/tmp/ours.ko
rm -f "$moddir/updates/wireguard.ko"
depmod -a
ours_version=$(modinfo -F version "$module")
c_version=$(modinfo -F version "$WG_C_MODULE")

loaded_version() { cat /sys/module/wireguard/version 2>/dev/null || echo none; }

autoload() { # VERSION expected
	ip link add wgt type wireguard
	local v
	v=$(loaded_version)
	ip link del wgt
	rmmod wireguard
	[ "$v" = "$1" ] || fail "ip link add autoloaded version $v, expected $1"
}

c_is_back() {
	case $(modinfo -F filename wireguard) in
		"$moddir"/kernel/*) ;;
		*) fail "modinfo names $(modinfo -F filename wireguard), not the in-tree driver" ;;
	esac
	autoload "$c_version"
}

before() {
	[ "$ours_version" != "$c_version" ] || fail "ours and the C driver have the same version ($ours_version)"
	c_is_back
}

# `ip link add ... type wireguard` autoloads ours (installed as WHAT), and
# its signature holds: no E (unsigned) in the module's taint.
autoloads_signed() { # WHAT
	ip link add wgt type wireguard
	[ "$(loaded_version)" = "$ours_version" ] || fail "autoloaded $(loaded_version), not ours ($ours_version)"
	taint=$(cat /sys/module/wireguard/taint)
	echo "module taint ($1): '$taint'"
	case $taint in *E*) fail "$1 tainted the kernel as unsigned ($taint)" ;; esac
	ip link del wgt
	rmmod wireguard
}

install_signed() {
	[ "$(sed -n 's/^CONFIG_MODULE_SIG=//p' "$kdir/.config")" = y ] || fail "the test kernel lacks CONFIG_MODULE_SIG"
	out=$("$top/scripts/install.sh" install "$kdir" "$module")
	echo "$out"
	grep -q 'signed with' <<<"$out" || fail "install did not sign"
	[ "$(modinfo -F filename wireguard)" = "$moddir/updates/wireguard.ko" ] || fail "modinfo names $(modinfo -F filename wireguard)"
	[ -n "$(modinfo -F signer "$moddir/updates/wireguard.ko")" ] || fail "installed module has no signature"
	autoloads_signed "our signed module"
}

refuse_unsigned() {
	"$top/scripts/install.sh" uninstall "$kdir"
	if MODULE_SIG_KEY=/nonexistent.pem "$top/scripts/install.sh" install "$kdir" "$module"; then
		fail "install without a key succeeded"
	fi
	[ ! -e "$moddir/updates/wireguard.ko" ] || fail "a failed install left a module behind"
	ALLOW_UNSIGNED=1 MODULE_SIG_KEY=/nonexistent.pem "$top/scripts/install.sh" install "$kdir" "$module"
	[ -z "$(modinfo -F signer "$moddir/updates/wireguard.ko")" ] || fail "the unsigned install is signed"
	modprobe wireguard
	taint=$(cat /sys/module/wireguard/taint)
	echo "module taint (unsigned): '$taint'"
	rmmod wireguard
	case $taint in *E*) ;; *) fail "an unsigned module loaded without the E taint: the signed check proves nothing" ;; esac
}

uninstall() {
	"$top/scripts/install.sh" uninstall "$kdir"
	[ ! -e "$moddir/updates/wireguard.ko" ] || fail "still installed"
	c_is_back
}

# A directory of the guest's root (the host's, read-only over 9p) made
# writable, its changes kept in memory: where a user's machine has it on disk.
rw_overlay() {
	local t
	t=/run/overlay$(tr / _ <<<"$1")
	mkdir -p "$t/up" "$t/work"
	mount -t overlay overlay -o "lowerdir=$1,upperdir=$t/up,workdir=$t/work" "$1"
}

dkms_cycle() {
	local mod
	command -v dkms >/dev/null || fail "dkms is not installed"
	rw_overlay /usr/src       # the module's source
	rw_overlay /var/lib/dkms  # DKMS's builds
	rw_overlay /etc/dkms      # its configuration
	# A kernel built by its user (as this one) signs with its own key, not a
	# distribution's MOK: DKMS is told so (Documentation/usage.md).
	cat >/etc/dkms/framework.conf.d/wireguard-rs-test.conf <<-CONF
	sign_file=$kdir/scripts/sign-file
	mok_signing_key=$kdir/certs/signing_key.pem
	mok_certificate=$kdir/certs/signing_key.x509
	CONF
	make -C "$top" dkms-install KDIR="$kdir"
	mod=$(modinfo -F filename wireguard)
	case $mod in
		"$moddir"/updates/dkms/wireguard.ko*) ;;
		*) fail "after dkms-install modinfo names $mod" ;;
	esac
	[ -n "$(modinfo -F signer "$mod")" ] || fail "DKMS did not sign $mod"
	autoloads_signed "the module DKMS built and signed"
	make -C "$top" dkms-remove
	[ ! -e "$mod" ] || fail "dkms-remove left $mod"
	c_is_back
}

check before before
check install_signed install_signed
check refuse_unsigned refuse_unsigned
check uninstall uninstall
check wg_quick_full_tunnel_ours t_fulltunnel "$module"
check wg_quick_full_tunnel_c t_fulltunnel "$WG_C_MODULE"
check networkd_ours t_networkd "$module"
check networkd_c t_networkd "$WG_C_MODULE"
[ "$dkms" = --dkms ] && check dkms dkms_cycle
finish
