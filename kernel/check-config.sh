#!/bin/bash
# check-config.sh [-s KSRC] FRAGMENT... CONFIG
#
# Verify that every option requested by the Kconfig fragments landed in the
# final .config. merge_config.sh and olddefconfig drop an option silently
# when one of its dependencies is off, so the build must check afterwards.
#
# A fragment line is "CONFIG_X=value" or "# CONFIG_X is not set"; a request
# for "not set" is also met when the symbol is absent. Two fragments asking
# for different values of one symbol is an error (merge order would decide).
# With -s KSRC (a configured kernel tree) each miss is explained from the
# kernel's Kconfig: its dependencies and selectors with their values.
#
# Prints one line per problem and a summary; exit 0 when all landed, 1 if
# not, 2 on usage errors.
set -eu

ksrc=
if [ "${1:-}" = -s ]; then
	[ $# -ge 2 ] || { echo "usage: $0 [-s KSRC] FRAGMENT... CONFIG" >&2; exit 2; }
	ksrc=$2
	shift 2
fi
if [ $# -lt 2 ]; then
	echo "usage: $0 [-s KSRC] FRAGMENT... CONFIG" >&2
	exit 2
fi

# The last argument is the config; the rest are fragments.
config=${!#}
frags=("${@:1:$#-1}")
for f in "${frags[@]}" "$config"; do
	[ -r "$f" ] || { echo "check-config: cannot read $f" >&2; exit 2; }
done

here=$(cd "$(dirname "$0")" && pwd)
# why KSRC CONFIG SYM...: explain each symbol from the kernel's Kconfig.
# kconfiglib gives the full picture (enclosing if/menu blocks, selects);
# if it cannot parse this tree, fall back to the symbol's own lines.
why() {
	local src=$1 cfg=$2 s
	shift 2
	if /usr/bin/python3 "$here/kconfig-why.py" "$src" "$cfg" "$@" 2>/dev/null; then
		return 0
	fi
	for s; do
		echo "CONFIG_$s: (kconfiglib unavailable; own lines only, not enclosing if/menu)"
		(cd "$src" && grep -rlE --include='Kconfig*' "^(menu)?config $s\$" . |
			while read -r k; do
				awk -v s="$s" -v k="$k" '
				$0 ~ "^(menu)?config " s "$" { on = 1; next }
				on && /^[^ \t]/ { on = 0 }
				on && /^[ \t]+(depends on|select|bool|tristate|def_bool|prompt|default)/ {
					sub(/^[ \t]+/, ""); print "    " k ": " $0 }' "$k"
			done) || true
	done
}

report=$(mktemp)
trap 'rm -f "$report"' EXIT

# awk loads the config, then walks the fragments in merge order.
set +e
awk -v cfg="$config" '
function norm(v) { return v == "" ? "not set" : v }
BEGIN {
	while ((getline line < cfg) > 0)
		if (match(line, /^CONFIG_[A-Za-z0-9_]+=/))
			have[substr(line, 1, RLENGTH - 1)] = substr(line, RLENGTH + 1)
	close(cfg)
}
{
	f = FILENAME; sub(/.*\//, "", f)
	sym = ""; val = ""
	if (match($0, /^CONFIG_[A-Za-z0-9_]+=/)) {
		sym = substr($0, 1, RLENGTH - 1); val = substr($0, RLENGTH + 1)
		if (val == "n") val = ""
	} else if ($0 ~ /^# CONFIG_[A-Za-z0-9_]+ is not set[ \t]*$/) {
		sym = $2; val = ""
	} else if ($0 ~ /^[ \t]*(#.*)?$/) {
		next
	} else {
		printf "%s:%d: not a Kconfig assignment: %s\n", f, FNR, $0
		bad++
		next
	}
	if (sym in want && want[sym] != val) {
		printf "%s: requested as %s in %s and as %s in %s\n", sym,
			norm(want[sym]), from[sym], norm(val), f
		bad++
	}
	if (!(sym in want)) order[++n] = sym
	want[sym] = val; from[sym] = f
}
END {
	for (i = 1; i <= n; i++) {
		s = order[i]
		got = (s in have) ? have[s] : ""
		if (got == "n") got = ""
		if (got != want[s]) {
			printf "MISSING %s=%s (have: %s; from %s)\n", s,
				want[s] == "" ? "n" : want[s], norm(got), from[s]
			miss++
		}
	}
	printf "TOTAL %d %d %d\n", n, miss + 0, bad + 0
}' "${frags[@]}" > "$report" 2>&1
rc=$?
set -e
[ $rc -eq 0 ] || { cat "$report"; exit 2; }

read -r total missing bad < <(sed -n 's/^TOTAL //p' "$report")
grep -v '^TOTAL ' "$report" | sed 's/^MISSING /  /' || true

if [ "$missing" -gt 0 ] && [ -n "$ksrc" ]; then
	syms=$(sed -n 's/^MISSING CONFIG_\([A-Za-z0-9_]*\)=.*/\1/p' "$report")
	echo "why (from the Kconfig files in $ksrc):"
	# shellcheck disable=SC2086
	why "$ksrc" "$config" $syms | sed 's/^/  /'
fi

if [ "$missing" -gt 0 ] || [ "$bad" -gt 0 ]; then
	echo "check-config: $missing of $total requested options did not land" \
		"($bad fragment errors)"
	exit 1
fi
echo "check-config: all $total requested options landed"
