#!/bin/bash
# TAP: the Kconfig flow (defconfig, a changed symbol, the generated header
# and make fragment) works with Debian's kconfiglib, in a scratch directory.
set -u
PY=/usr/bin/python3
top=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fail=1; echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }

echo "1..7"
kc() { (cd "$top" && KCONFIG_CONFIG="$tmp/.config" srctree="$top" $PY -m "$@") >"$tmp/log" 2>&1; }
gen() { (cd "$top" && srctree="$top" $PY scripts/genconfig.py Kconfig "$tmp/.config" "$tmp/h.h" "$tmp/c.mk") >>"$tmp/log" 2>&1; }

check "defconfig writes .config" 'kc defconfig --kconfig Kconfig configs/husk_defconfig && [ -s "$tmp/.config" ]'
check "header generated" 'gen && [ -s "$tmp/h.h" ]'
check "enabled symbol has CONFIG_ and IS_ENABLED_ 1" \
	'grep -qx "#define CONFIG_AGENT_SECCOMP 1" "$tmp/h.h" && grep -qx "#define IS_ENABLED_CONFIG_AGENT_SECCOMP 1" "$tmp/h.h"'
check "disabled symbol is IS_ENABLED_ 0 and not defined" \
	'grep -qx "#define IS_ENABLED_CONFIG_DEBUG_CONSOLE 0" "$tmp/h.h" && ! grep -q "define CONFIG_DEBUG_CONSOLE " "$tmp/h.h"'
check "setconfig turns a symbol on" \
	'kc setconfig --kconfig Kconfig DEBUG_CONSOLE=y && gen && grep -qx "#define IS_ENABLED_CONFIG_DEBUG_CONSOLE 1" "$tmp/h.h"'
check "make fragment carries the value" 'grep -qx "CONFIG_DEBUG_CONSOLE=y" "$tmp/c.mk"'
check "derived int follows the log level choice" \
	'kc setconfig --kconfig Kconfig LOG_LEVEL_DEBUG=y && gen && grep -qx "#define CONFIG_DEFAULT_LOG_LEVEL 3" "$tmp/h.h"'
[ $fail = 0 ] || cat "$tmp/log"
exit $fail
