#!/bin/bash
# TAP: "make install DESTDIR=... PREFIX=..." puts what has been built where a
# distro package expects it, with the right modes, and nothing else.
set -u
BUILD=${BUILD:-build}
IMAGES=${IMAGES:-images}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }

if make -s --no-print-directory install DESTDIR="$tmp" PREFIX=/usr \
	BUILD="$BUILD" IMAGES="$IMAGES" >"$tmp.log" 2>&1; then
	ok "make install succeeds"
else
	nok "make install succeeds"
	cat "$tmp.log"
fi
rm -f "$tmp.log"

# make check builds everything first ("all"), so a binary or guest asset
# that is missing is a failure, never a comment: install would silently
# leave it out of the package.
check_bin() { # built-path installed-path
	if [ ! -f "$1" ]; then
		nok "$(basename "$1") installed as $2: $1 was not built"
	elif [ -x "$tmp$2" ] && cmp -s "$1" "$tmp$2"; then
		ok "$(basename "$1") installed as $2"
	else
		nok "$(basename "$1") installed as $2"
	fi
}
check_bin "$BUILD/bin/husk-agent" /usr/libexec/husk/husk-agent
check_bin "$BUILD/bin/husk" /usr/bin/husk
check_bin "$BUILD/bin/containerd-shim-husk-v2" /usr/bin/containerd-shim-husk-v2
check_bin "$BUILD/bin/husk-runtime" /usr/bin/husk-runtime

for a in vmlinux-husk vmlinuz-husk husk-initrd.img husk-rootfs.img; do
	if [ ! -f "$IMAGES/$a" ]; then
		nok "$a installed 0644 in /usr/share/husk: $IMAGES/$a was not built"
	elif [ "$(stat -c %a "$tmp/usr/share/husk/$a" 2>/dev/null)" = 644 ] &&
		cmp -s "$IMAGES/$a" "$tmp/usr/share/husk/$a"; then
		ok "$a installed 0644 in /usr/share/husk"
	else
		nok "$a installed 0644 in /usr/share/husk"
	fi
done

conf=$tmp/usr/share/defaults/husk/configuration.toml
if [ -f "$conf" ] && grep -q '^kernel = "/usr/share/husk/vmlinux-husk"' "$conf"; then
	ok "default configuration installed, naming the installed kernel"
else
	nok "default configuration installed, naming the installed kernel"
fi

# Nothing outside the FHS places above.
stray=$(cd "$tmp" && find . -type f | grep -vE '^\./usr/(bin|libexec/husk|share/husk|share/defaults/husk)/')
if [ -z "$stray" ]; then
	ok "nothing installed outside bin, libexec/husk, share/husk, share/defaults/husk"
else
	nok "stray files: $stray"
fi
echo "1..$n"
exit $fail
