#!/bin/bash
# TAP tests for check-config.sh (and kconfig-why.py) on hand-made
# fragments, configs and a two-symbol Kconfig tree: no kernel build needed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
cc=$here/check-config.sh
. "$here/tap.sh"

cat > a.config <<'EOF'
# comment lines and blank lines are ignored

CONFIG_A=y
# CONFIG_B is not set
CONFIG_NR=4
CONFIG_S="x y"
EOF
cat > b.config <<'EOF'
CONFIG_C=y
# CONFIG_D is not set
EOF
cat > good <<'EOF'
CONFIG_A=y
# CONFIG_B is not set
CONFIG_NR=4
CONFIG_S="x y"
CONFIG_C=y
CONFIG_OTHER=y
EOF

echo "1..9"
t "all requested options present" 0 '^check-config: all 6 requested options landed$' \
	"$cc" a.config b.config good

sed 's/^CONFIG_C=y$/# CONFIG_C is not set/' good > drop
t "a dropped option is listed" 1 '^  CONFIG_C=y \(have: not set; from b.config\)$' \
	"$cc" a.config b.config drop

sed 's/^# CONFIG_B is not set$/CONFIG_B=y/' good > on
t "an option that must stay off is listed" 1 '^  CONFIG_B=n \(have: y; from a.config\)$' \
	"$cc" a.config b.config on

sed 's/^CONFIG_NR=4$/CONFIG_NR=8/' good > nr
t "a value mismatch is listed" 1 '^  CONFIG_NR=4 \(have: 8' "$cc" a.config b.config nr

t "the summary counts misses" 1 '^check-config: 1 of 6 requested options did not land' \
	"$cc" a.config b.config nr

printf 'CONFIG_A=y\n' > c1.config
printf '# CONFIG_A is not set\n' > c2.config
t "fragments that disagree are an error" 1 'CONFIG_A: requested as y in c1.config and as not set in c2.config' \
	"$cc" c1.config c2.config good

printf 'CONFIG_A y\n' > junk.config
t "a malformed line is an error" 1 'junk.config:1: not a Kconfig assignment' \
	"$cc" junk.config good

t "usage error without a config" 2 usage "$cc" a.config

# A tiny Kconfig tree: FEATURE depends on GATE, which is off.
mkdir -p src
cat > src/Kconfig <<'EOF'
config GATE
	bool "gate"

config FEATURE
	bool "feature"
	depends on GATE
EOF
printf 'CONFIG_FEATURE=y\n' > f.config
printf '# CONFIG_GATE is not set\n' > src/.config
t "-s explains a miss from Kconfig" 1 'depends on: GATE( \[=n\])?' \
	"$cc" -s src f.config src/.config

tap_done
