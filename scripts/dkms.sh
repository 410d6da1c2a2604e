#!/usr/bin/env bash
# `make dkms-install` / `make dkms-remove`: the module under DKMS.
#
#   scripts/dkms.sh install KDIR   copy the source to /usr/src/NAME-VERSION,
#                                  dkms add, build and install for KDIR's kernel
#   scripts/dkms.sh remove         dkms remove (every kernel), delete the copy
#
# The build runs offline: dkms.conf gets the absolute paths of the rustc,
# bindgen and Rust library source found now (scripts/lib.sh).
. "$(dirname "$0")/lib.sh"
command -v dkms >/dev/null || die "dkms is not installed (apt-get install dkms)"
name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"/\1/p' "$TOP/dkms.conf")
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$TOP/dkms.conf")
srcdir=/usr/src/$name-$version
case ${1:-} in
install)
	kdir=${2:?usage: dkms.sh install KDIR}
	RUSTC=$RUSTC BINDGEN=$BINDGEN RUST_LIB_SRC=$RUST_LIB_SRC "$TOP/scripts/preflight.sh" "$kdir" || exit 1
	release=$(cat "$kdir/include/config/kernel.release")
	dkms status -m "$name" -v "$version" 2>/dev/null | grep -q . && dkms remove -m "$name" -v "$version" --all
	rm -rf "$srcdir"
	mkdir -p "$srcdir"
	# What the build needs, nothing else (no build products of the checkout).
	(cd "$TOP" && cp -r --parents Kbuild Makefile COPYING dkms.conf src include scripts kernel "$srcdir/")
	rm -f "$srcdir/src/bindings_generated.rs"
	find "$srcdir" \( -name '*.o' -o -name '*.ko' -o -name '.*.cmd' -o -name '*.mod*' -o -name '*.rmeta' -o -name '*.d' \) -delete
	sed -i -e "s|@RUSTC@|$RUSTC|" -e "s|@BINDGEN@|$BINDGEN|" -e "s|@RUST_LIB_SRC@|$RUST_LIB_SRC|" "$srcdir/dkms.conf"
	dkms add -m "$name" -v "$version"
	dkms build -m "$name" -v "$version" -k "$release" --kernelsourcedir "$kdir" ||
		{ cat "/var/lib/dkms/$name/$version/build/make.log" 2>/dev/null | tail -n 30 >&2; die "dkms build failed"; }
	dkms install -m "$name" -v "$version" -k "$release" --kernelsourcedir "$kdir" --force
	dkms status -m "$name" -v "$version"
	;;
remove)
	if dkms status -m "$name" -v "$version" 2>/dev/null | grep -q .; then
		dkms remove -m "$name" -v "$version" --all
	fi
	rm -rf "$srcdir"
	log "dkms: $name $version removed"
	;;
*) die "usage: dkms.sh install KDIR | remove" ;;
esac
