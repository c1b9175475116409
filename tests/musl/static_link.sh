#!/bin/sh
# TAP: the musl build of tests/musl/static_link.c is a static ELF (no
# PT_INTERP, no dynamic section, nothing of glibc in it), and the checks it
# runs itself pass; they are renumbered into this plan.
#
#   tests/musl/static_link.sh [BINARY]   (default $BUILD/musl-obj/tests/static_link)
set -eu

bin=${1:-${BUILD:-build}/musl-obj/tests/static_link}
n=0
failed=0

result() { # result OK DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 1 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

if [ ! -x "$bin" ]; then
	echo "1..1"
	echo "not ok 1 - $bin is missing (make tests builds it)"
	exit 1
fi

ehdr=$(readelf -hW "$bin" 2>&1) || true
phdrs=$(readelf -lW "$bin" 2>&1) || true
dyn=$(readelf -dW "$bin" 2>&1) || true

ok=0
echo "$ehdr" | grep -Eq '^ *Type: +(EXEC|DYN) ' && ok=1
result $ok "$bin is an ELF executable"

ok=0
echo "$phdrs" | grep -q '^Program Headers:' &&
	! echo "$phdrs" | grep -q INTERP && ok=1
result $ok "no PT_INTERP: needs no dynamic loader"

ok=0
echo "$dyn" | grep -q 'no dynamic section' && ok=1
result $ok "no dynamic section: no shared libraries"

glibc=$(strings -a "$bin" | grep -c -e 'GLIBC_' -e 'ld-linux' || true)
ok=0
[ "$glibc" = 0 ] && ok=1
result $ok "no glibc symbol versions or loader name ($glibc found)"

# Run it and fold its results into this plan.
rc=0
out=$("$bin" 2>&1) || rc=$?
plan=$(echo "$out" | sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' | head -n 1)
ran=0
while IFS= read -r line; do
	case $line in
	"ok "[0-9]*)
		ran=$((ran + 1))
		result 1 "static_link: ${line#ok [0-9]* - }"
		;;
	"not ok "[0-9]*)
		ran=$((ran + 1))
		result 0 "static_link: ${line#not ok [0-9]* - }"
		;;
	*)
		if [ -n "$line" ]; then
			echo "# $line"
		fi
		;;
	esac
done <<EOT
$out
EOT

ok=0
[ "$rc" = 0 ] && [ -n "$plan" ] && [ "$ran" = "$plan" ] && ok=1
result $ok "static_link exits 0 after its whole plan ($ran of ${plan:-?} ran, exit $rc)"

echo "1..$n"
[ "$failed" = 0 ]
