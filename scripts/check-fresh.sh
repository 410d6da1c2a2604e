#!/usr/bin/env bash
# `make check-fresh`: the README's commands on a truly fresh Debian 12, as a
# newcomer runs them: a minimal root made by debootstrap (no compiler, no
# cargo, none of scripts/packages.txt), where only git and make are
# installed, then, as root in a chroot: git clone of this checkout, and
# `make demo` (FRESH_TARGETS="demo check" runs `make check` too, about an
# hour more). To save time the kernels this host built are shared with the
# chroot (bind mounts at the same paths: their cache key covers the package
# versions and the fragments, so the fresh set-up finds them only if it
# would have built the same); FRESH_KERNELS=0 builds them afresh too.
#
# FRESH_USER=1: as a user with sudo instead of root (the README's other
# case): the root gets sudo and a user `newcomer` allowed to use it without a
# password, and the commands run as that user, in its home. The kernels are
# then built afresh (the shared ones name root's cache in their paths, which
# a user cannot read): make demo alone takes about 20 minutes more.
#
# Needs root (debootstrap, chroot, mounts). The root lives in
# $CACHE/fresh-root and is made anew each run; the packages debootstrap
# fetches are cached in $CACHE/fresh-debootstrap.tar.gz (the same for every
# run of a day's mirror; delete it for a newer one).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || die "make check-fresh needs root (debootstrap, chroot)"
targets=${FRESH_TARGETS:-demo}
as_user=${FRESH_USER:-0}
[ "$as_user" = 0 ] || FRESH_KERNELS=0
root=$CACHE/fresh-root
tarball=$CACHE/fresh-debootstrap.tar.gz
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}

command -v debootstrap >/dev/null || {
	log "installing debootstrap (host)"
	apt-get install -y -q --no-install-recommends debootstrap >/dev/null
}

mounts=()
cleanup() {
	local i
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() { mkdir -p "$2"; mount --bind "$1" "$2"; mounts+=("$2"); }

start=$(date +%s)
if [ -d "$root" ]; then
	cleanup
	rm -rf "$root"
fi
if [ ! -f "$tarball" ]; then
	log "fresh: downloading a minimal Debian 12 (debootstrap --make-tarball, once)"
	debootstrap --variant=minbase --make-tarball="$tarball" bookworm "$root.tmp" "$mirror" >"$CACHE/fresh-debootstrap.log" 2>&1 ||
		{ tail -n 20 "$CACHE/fresh-debootstrap.log" >&2; die "debootstrap --make-tarball failed"; }
	rm -rf "$root.tmp"
fi
log "fresh: making a minimal Debian 12 root in $root"
debootstrap --variant=minbase --unpack-tarball="$tarball" bookworm "$root" "$mirror" >"$CACHE/fresh-debootstrap.log" 2>&1 ||
	{ tail -n 20 "$CACHE/fresh-debootstrap.log" >&2; die "debootstrap failed"; }
# The host's package sources (bookworm-security carries rustc-web).
cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/"
rm -f "$root/etc/apt/sources.list"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
# This machine's network, not its software: a network whose egress goes
# through a TLS-inspecting proxy needs its CA certificates (those added
# locally, /usr/local/share/ca-certificates) and pip told to use the system
# store (/etc/pip.conf), as any machine on that network would have; without
# them crates.io and PyPI fail with "self-signed certificate in certificate
# chain". ca-certificates, when newcomer.sh installs it, adds them.
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
	mkdir -p "$root/usr/local/share/ca-certificates"
	cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi
[ ! -f /etc/pip.conf ] || cp /etc/pip.conf "$root/etc/pip.conf"

mount -t proc proc "$root/proc"; mounts+=("$root/proc")
mount -t sysfs sys "$root/sys"; mounts+=("$root/sys")
bind /dev "$root/dev"
mount -t devpts devpts "$root/dev/pts" -o newinstance,ptmxmode=0666 2>/dev/null && mounts+=("$root/dev/pts") || bind /dev/pts "$root/dev/pts"
mount -t tmpfs tmpfs "$root/tmp"; mounts+=("$root/tmp")
bind "$TOP" "$root/mnt/checkout"
if [ "${FRESH_KERNELS:-1}" = 1 ]; then
	for d in "$CACHE"/linux-source-* "$CACHE"/kernel-*; do
		[ -d "$d" ] || continue
		case $d in *.tmp) continue ;; esac
		bind "$d" "$root$d"
	done
fi

# Inside: nothing but what a newcomer has, then git and make.
if [ "$as_user" = 0 ]; then
	user_setup= run_as= home=/root
else
	user_setup="DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends sudo >/dev/null
useradd -m -s /bin/bash newcomer
echo 'newcomer ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/newcomer"
	run_as="setpriv --reuid=newcomer --regid=newcomer --init-groups env HOME=/home/newcomer USER=newcomer"
	home=/home/newcomer
fi
cat >"$root/tmp/newcomer.sh" <<EOF
set -e
export HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin CI=\${CI:-}
command -v cc cargo rustc clang 2>/dev/null && { echo "fresh: the root is not fresh"; exit 1; }
apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends git make ca-certificates >/dev/null
update-ca-certificates >/dev/null
$user_setup
git config --system --add safe.directory '*'
$run_as git clone -q /mnt/checkout $home/wireguard-rs
cd $home/wireguard-rs
for t in $targets; do
	echo "fresh: make \$t"
	s=\$(date +%s)
	$run_as make \$t
	echo "fresh: make \$t passed in \$(( \$(date +%s) - s )) s"
done
EOF
log "fresh: running 'make $targets' in the fresh root (as $([ "$as_user" = 0 ] && echo root || echo "a user with sudo"), in a chroot)"
set +e
chroot "$root" /bin/bash /tmp/newcomer.sh
status=$?
set -e
elapsed=$(( $(date +%s) - start ))
if [ $status -ne 0 ]; then
	log "fresh: FAILED (exit $status) after $elapsed s"
	exit 1
fi
log "fresh: passed: make $targets on a fresh Debian 12 root in $elapsed s"
echo "1 passed, 0 failed"
