#!/usr/bin/env bash
# Static check: no bare `! cmd` statement in the project's shell scripts.
# Under `set -e` bash ignores the status of a negated command, so a line
#     ! grep -q something file
# asserts nothing: it never fails the script or the test (even when grep
# finds the text). Write `! cmd || false`, `refute cmd` (tests/vm/lib.sh), or
# an explicit `if`. A line whose first token is `!` is refused unless it
#   - ends in `|| false`, `|| exit ...`, `|| return ...`, `|| fail...`,
#     `|| die...`, `|| {` or `|| { ...; }` (something that fails), or
#   - is part of a condition or a list: it ends with `then`, `do`, `&&`, `||`
#     or `|`, or the line before it ends with `&&`, `||` or `|`.
# Continuation lines (a trailing backslash) are joined; here-documents are
# skipped.
#
#   bare-negation.sh                 checks tests/, scripts/, .ci/ (shell
#                                    scripts: *.sh and files with a sh/bash
#                                    shebang); prints each offending line
#   bare-negation.sh FILE...         checks these files
#
# It first checks itself on tests/static/samples/bare-negation.sample, whose
# offending lines are marked `# OFFENCE`: the check must report exactly those.
# Exits non-zero on any offence or if the self-test fails.
set -u
cd "$(dirname "$0")/../.."

scan() { # FILE... -> "file:line: text" per offence
	awk '
	FNR == 1 { prev = ""; heredoc = ""; acc = ""; accline = 0 }
	{
		line = $0
		if (heredoc != "") {
			t = line; sub(/^\t+/, "", t)
			if (t == heredoc) heredoc = ""
			next
		}
		if (acc == "") accline = FNR
		if (line ~ /\\$/) { acc = acc substr(line, 1, length(line) - 1) " "; next }
		line = acc line; acc = ""
		# A here-document starts after this line: skip its body.
		if (match(line, /<<-?[ \t]*["\047]?[A-Za-z_][A-Za-z0-9_]*/)) {
			w = substr(line, RSTART, RLENGTH)
			sub(/^<<-?[ \t]*["\047]?/, "", w)
			heredoc = w
		}
		s = line
		sub(/[ \t]+#[^"\047]*$/, "", s)     # a trailing comment
		sub(/[ \t]+$/, "", s)
		if (s ~ /^[ \t]*!([ \t]|$)/ &&
		    s !~ /\|\|[ \t]*(false|exit|return|fail|die|\{)/ &&
		    s !~ /(;[ \t]*then|;[ \t]*do|&&|\|\||\|)$/ &&
		    s !~ /^[ \t]*![ \t]*(then|do)$/ &&
		    prev !~ /(&&|\|\||\|)$/)
			printf "%s:%d: bare negation (never fails under set -e; add `|| false`): %s\n", FILENAME, FNR, line
		if (s !~ /^[ \t]*(#|$)/) prev = s
	}' "$@"
}

# Self-test: the sample's marked lines, exactly.
sample=tests/static/samples/bare-negation.sample
want=$(grep -n '[#] OFFENCE$' "$sample" | cut -d: -f1 | sort -n | tr '\n' ' ')
got=$(scan "$sample" | cut -d: -f2 | sort -n | tr '\n' ' ')
if [ -z "$want" ] || [ "$want" != "$got" ]; then
	echo "bare-negation.sh self-test failed: expected offences on lines [$want], found [$got]"
	scan "$sample"
	exit 2
fi

if [ $# -gt 0 ]; then
	files=("$@")
else
	files=()
	while IFS= read -r f; do
		case $f in
		*.sh) files+=("$f") ;;
		*.py|*.md|*.txt|*.sample|*.json|*.c|*.h|*.rs) ;;
		*) head -n 1 "$f" | grep -qE '^#!.*\b(ba)?sh\b' && files+=("$f") ;;
		esac
	done < <(find tests scripts .ci -type f ! -path '*/samples/*' | sort)
fi
[ ${#files[@]} -gt 0 ] || { echo "no shell scripts found"; exit 2; }
out=$(scan "${files[@]}")
if [ -n "$out" ]; then
	echo "$out"
	exit 1
fi
echo "bare-negation: ${#files[@]} scripts, no bare \`! cmd\` statement"
