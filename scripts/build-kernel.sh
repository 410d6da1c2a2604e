#!/usr/bin/env bash
# Builds (or finds in the cache) the kernel of one flavour and prints its build
# directory. Usage: scripts/build-kernel.sh release|debug
#
# The source is Debian's linux-source-6.12, unpacked once into the cache. Each
# flavour is built out of tree (O=) from tinyconfig plus the project's fragments
# in kernel/, with LLVM=1 and Debian's rustc. The build directory's name carries a
# hash of everything it is built from (see kernel_key in lib.sh), so a warm run
# rebuilds nothing and a changed fragment gets a fresh directory.
. "$(dirname "$0")/lib.sh"

# Only the resulting directory goes to stdout (callers capture it); all else
# goes to stderr.
exec 3>&1 1>&2

flavour=${1:?usage: build-kernel.sh release|debug}
case $flavour in release|debug) ;; *) die "unknown flavour $flavour" ;; esac

[ -x "$BINDGEN" ] || "$TOP/scripts/setup-host.sh"

pkgver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || echo unknown)
src=$CACHE/linux-source-$pkgver
out=$(kernel_dir "$flavour")

# A finished kernel needs no lock (the marker is written last): a caller
# must not wait for another flavour's build to use one that is there.
if [ -f "$out/.wg-build-complete" ]; then
	echo "$out" >&3
	exit 0
fi

# One build per cache at a time: a second caller (another checkout, a test
# beside an edit loop) waits for the first, then finds its result.
mkdir -p "$CACHE"
exec 9>"$CACHE/.kernel-build.lock"
flock 9

if [ -f "$out/.wg-build-complete" ]; then
	echo "$out" >&3
	exit 0
fi

if [ ! -f "$src/.wg-unpacked" ]; then
	log "unpacking $KERNEL_SRC_TARBALL into $src"
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xf "$KERNEL_SRC_TARBALL" -C "$src.tmp" --strip-components=1
	mv "$src.tmp" "$src"
	touch "$src/.wg-unpacked"
fi

kmake() {
	make -C "$src" O="$out" LLVM=1 RUSTC="$RUSTC" BINDGEN="$BINDGEN" \
		RUST_LIB_SRC="$RUST_LIB_SRC" "$@"
}

log "configuring the $flavour kernel in $out"
rm -rf "$out"
mkdir -p "$out"
kmake -s tinyconfig >/dev/null
fragments=("$TOP/kernel/base.config" "$TOP/kernel/$flavour.config")
(cd "$out" && "$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${fragments[@]}" >/dev/null)
kmake -s olddefconfig >/dev/null

# Every option the fragments ask for must have taken effect: Kconfig silently
# drops what a dependency forbids (SLUB_TINY dropping KASAN, say).
missing=0
while IFS= read -r line; do
	case $line in CONFIG_*=*) ;; *) continue ;; esac
	opt=${line%%=*}
	want=${line#*=}
	if [ "$want" = n ]; then
		grep -qx "$opt=[ym]" "$out/.config" && { log "config: $opt is set, fragment wants it off"; missing=1; }
	else
		grep -qxF "$line" "$out/.config" || { log "config: wanted $line, got: $(grep "^$opt=\|# $opt is not set" "$out/.config" || echo absent)"; missing=1; }
	fi
done < <(cat "${fragments[@]}")
[ $missing -eq 0 ] || die "the $flavour configuration does not match the fragments"

kmake -s rustavailable
usual="usually 8-10 min on 2 idle cores"
[ "$flavour" = debug ] && usual="usually 15-16 min on 2 idle cores"
log "building the $flavour kernel ($usual)"
start=$(date +%s)
# Never silent for more than a minute: a line of progress every 60 s.
(
	while sleep 60; do
		log "building the $flavour kernel: $(grep -c '^  [A-Z]' "$out/build.log" 2>/dev/null || echo 0) steps, $(( ($(date +%s) - start) / 60 )) min so far ($usual)"
	done
) &
ticker=$!
trap 'kill $ticker 2>/dev/null || true' EXIT
kmake -j"$(nproc)" bzImage modules >"$out/build.log" 2>&1 || { tail -n 50 "$out/build.log" >&2; die "kernel build failed, see $out/build.log"; }
kill $ticker 2>/dev/null || true
log "built the $flavour kernel in $(( $(date +%s) - start )) s"
touch "$out/.wg-build-complete"
echo "$out" >&3
