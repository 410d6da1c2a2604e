#!/usr/bin/env bash
# Static checks of the layering rule: `unsafe` appears only in src/kapi/, and
# every `unsafe` block or impl there is preceded by a `// SAFETY:` comment
# (within the eight lines above: a comment may span several lines).
# Prints one line per violation; exits non-zero if there is any.
set -u
cd "$(dirname "$0")/../.."
bad=0
# 1. No `unsafe` keyword outside kapi (comments and strings aside).
while IFS= read -r hit; do
	echo "unsafe outside src/kapi: $hit"; bad=1
done < <(grep -rnw --include='*.rs' 'unsafe' src | grep -v '^src/kapi/' | grep -v '^src/bindings_generated.rs' |
	grep -Ev '^[^:]+:[0-9]+:\s*(//|\*)' | grep -Ev 'forbid\(unsafe_code\)|deny\(unsafe_code\)')
# 2. Every unsafe block / impl in kapi has a SAFETY comment just above.
for f in src/kapi/*.rs; do
	[ "$f" = src/kapi/bindings.rs ] && continue
	awk -v f="$f" '
		{ line[NR] = $0 }
		/unsafe[[:space:]]*(\{|impl)/ && $0 !~ /^[[:space:]]*\/\// {
			ok = 0
			for (i = NR; i >= NR - 8 && i > 0; i--) if (line[i] ~ /SAFETY:/) ok = 1
			if (!ok) { printf "%s:%d: unsafe without a SAFETY comment: %s\n", f, NR, $0; bad = 1 }
		}
		END { exit bad }' "$f" || bad=1
done
# 3. The WireGuard files declare that they hold no unsafe code: every driver
#    file (src/*.rs but the crate root, which declares kapi, and the generated
#    bindings) and the protocol core (src/proto/mod.rs, whose attribute covers
#    its submodules). The list is the tree's, so no file can be missed or
#    named without existing.
files=(src/proto/mod.rs)
for f in src/*.rs; do
	case $f in src/wireguard_rs.rs|src/bindings_generated.rs) continue ;; esac
	files+=("$f")
done
[ "${#files[@]}" -ge 10 ] || { echo "only ${#files[@]} files to check (${files[*]}): not the project's tree?"; bad=1; }
for f in "${files[@]}"; do
	[ -f "$f" ] || { echo "$f: missing"; bad=1; continue; }
	grep -q '^#!\[forbid(unsafe_code)\]' "$f" || { echo "$f: missing #![forbid(unsafe_code)]"; bad=1; }
done
# Every module of the crate root but kapi is one of those files (or proto).
for m in $(sed -n 's/^[[:space:]]*\(pub\(([a-z]*)\)\? \)\?mod \([a-z_0-9]*\);.*/\3/p' src/wireguard_rs.rs); do
	case $m in kapi|proto) continue ;; esac
	[ -f "src/$m.rs" ] || { echo "src/wireguard_rs.rs: module $m is not a file src/$m.rs the audit checks"; bad=1; }
done
exit $bad
