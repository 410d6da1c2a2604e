#!/usr/bin/env bash
# Installs our wireguard.ko for a kernel, or takes it out again.
#
#   scripts/install.sh install KDIR MODULE   copy MODULE to
#       /lib/modules/RELEASE/updates/wireguard.ko (where modprobe prefers it to
#       the in-tree C driver), sign it if the kernel checks signatures, depmod
#   scripts/install.sh uninstall KDIR        remove it, depmod: the in-tree C
#       driver (if the kernel has one) is what modprobe finds again
#
# RELEASE is KDIR's include/config/kernel.release. INSTALL_MOD_PATH prefixes
# the module tree (as for the kernel's modules_install).
#
# Signing (kernel with CONFIG_MODULE_SIG=y): with MODULE_SIG_KEY (a PEM private
# key, or a PKCS#11 URI) and MODULE_SIG_CERT (its X.509 certificate, DER or
# PEM) if given, else the kernel's own key (CONFIG_MODULE_SIG_KEY in KDIR,
# usually certs/signing_key.pem, and certs/signing_key.x509). The kernel must
# trust the key: its own, or one enrolled in its keyrings (MOK, say). Without a
# key the install fails, unless ALLOW_UNSIGNED=1 and the kernel does not
# enforce signatures (it then loads the module and marks itself tainted, E).
set -euo pipefail

die() { echo "install: $*" >&2; exit 1; }
cmd=${1:?usage: install.sh install|uninstall KDIR [MODULE]}
kdir=${2:?usage: install.sh install|uninstall KDIR [MODULE]}
release=$(cat "$kdir/include/config/kernel.release" 2>/dev/null) || die "$kdir: no include/config/kernel.release (not a built kernel tree)"
moddir=${INSTALL_MOD_PATH:-}/lib/modules/$release
dst=$moddir/updates/wireguard.ko
cfg() { sed -n "s/^$1=//p" "$kdir/.config" | tr -d '"'; }

depmod_run() {
	if [ -n "${INSTALL_MOD_PATH:-}" ]; then depmod -a -b "$INSTALL_MOD_PATH" "$release"; else depmod -a "$release"; fi
}

case $cmd in
install)
	module=${3:?usage: install.sh install KDIR MODULE}
	[ -f "$module" ] || die "$module: no such module (build it first: make KDIR=$kdir)"
	vermagic=$(modinfo -F vermagic "$module" | cut -d' ' -f1)
	[ "$vermagic" = "$release" ] || die "$module was built for $vermagic, not for $release (rebuild with KDIR=$kdir)"
	mkdir -p "$moddir/updates"
	tmp=$(mktemp "$moddir/updates/.wireguard.ko.XXXXXX")
	trap 'rm -f "$tmp"' EXIT
	cp "$module" "$tmp"
	if [ "$(cfg CONFIG_MODULE_SIG)" = y ]; then
		key=${MODULE_SIG_KEY:-$(cfg CONFIG_MODULE_SIG_KEY)}
		cert=${MODULE_SIG_CERT:-$kdir/certs/signing_key.x509}
		case $key in pkcs11:*|/*) ;; *) key=$kdir/$key ;; esac
		hash=$(cfg CONFIG_MODULE_SIG_HASH)
		if [ -x "$kdir/scripts/sign-file" ] && { [[ $key == pkcs11:* ]] || [ -r "$key" ]; } && [ -r "$cert" ]; then
			"$kdir/scripts/sign-file" "${hash:-sha512}" "$key" "$cert" "$tmp" || die "signing with $key failed"
			echo "install: signed with $key ($cert)"
		elif [ "$(cfg CONFIG_MODULE_SIG_FORCE)" = y ]; then
			die "the kernel only loads signed modules and no signing key was found ($key, $cert): set MODULE_SIG_KEY and MODULE_SIG_CERT"
		elif [ "${ALLOW_UNSIGNED:-0}" = 1 ]; then
			echo "install: no signing key ($key): installing unsigned (the kernel will be tainted, E)" >&2
		else
			die "the kernel checks module signatures and no signing key was found ($key, $cert): set MODULE_SIG_KEY and MODULE_SIG_CERT, or ALLOW_UNSIGNED=1"
		fi
	fi
	mv "$tmp" "$dst"
	trap - EXIT
	depmod_run
	echo "install: $dst (for $release); 'modinfo -F filename wireguard' names it, 'ip link add wg0 type wireguard' loads it"
	;;
uninstall)
	if [ -e "$dst" ]; then
		rm -f "$dst"
		depmod_run
		echo "install: removed $dst"
	else
		echo "install: nothing installed at $dst"
	fi
	;;
*) die "unknown command $cmd (install or uninstall)" ;;
esac
