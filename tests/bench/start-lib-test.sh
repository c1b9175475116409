#!/bin/bash
# The start timeline parser of tests/bench/start-lib.sh on sample lines in
# the format the shim writes (msg="start timeline" sandbox=ID
# phases="name=ms,..."): steps, totals, a missing phase, malformed lines,
# statistics.  No VM: runs in make check.
. "$(dirname "$0")/../common.sh"
. "$(dirname "$0")/start-lib.sh"

log='time="2026-12-06T19:40:01.000000000Z" level=info msg="sandbox ready" sandbox=a boot_ms=500
time="2026-12-06T19:40:02.000000000Z" level=info msg="start timeline" sandbox=s-init-1 phases="start=0,create=40,spawned=95,console=180,agent=620,sandbox=650,container=700,started=760,exit=800,teardown=910"
time="2026-12-06T19:40:03.000000000Z" level=info msg="start timeline" sandbox=s-dax-1 phases="create=0,spawned=30,agent=400,teardown=500" extra=1'

# refused DESCRIPTION COMMAND...: ok if the command fails and prints nothing
refused() {
	local d=$1 out
	shift
	if out=$("$@"); then not_ok "$d (accepted: $out)"
	elif [ -n "$out" ]; then not_ok "$d (printed: $out)"
	else ok "$d"; fi
}

expect "two timeline lines found among others" 2 "$(echo "$log" | timeline_lines | wc -l)"
expect "sandbox and phases of the first" \
	"s-init-1 start=0,create=40,spawned=95,console=180,agent=620,sandbox=650,container=700,started=760,exit=800,teardown=910" \
	"$(echo "$log" | timeline_lines | head -n 1)"
p=$(echo "$log" | timeline_lines | head -n 1 | cut -d' ' -f2)
expect "steps: each phase since the previous one" \
	"start 0|create 40|spawned 55|console 85|agent 440|sandbox 30|container 50|started 60|exit 40|teardown 110" \
	"$(timeline_steps "$p" | paste -sd'|')"
expect "total: the last phase" 910 "$(timeline_total "$p")"
expect "phases that did not happen are skipped, steps span the gap" \
	"create 0|spawned 30|agent 370|teardown 100" \
	"$(timeline_steps "create=0,spawned=30,agent=400,teardown=500" | paste -sd'|')"
refused "out of order is refused" timeline_steps "create=0,agent=10,spawned=20"
refused "an unknown phase is refused" timeline_steps "create=0,boot=10"
refused "a value going backwards is refused" timeline_steps "create=50,spawned=20"
refused "a value that is no number is refused" timeline_steps "create=0,spawned=x"
refused "an empty list is refused" timeline_steps ""
expect "no timeline lines in a log without them" 0 \
	"$(echo 'level=info msg="sandbox ready"' | timeline_lines | wc -l)"
expect "median, odd count" 3 "$(printf '5\n1\n3\n' | median)"
expect "median, even count" 2.5 "$(printf '4\n1\n3\n2\n' | median)"
expect "median of nothing" n/a "$(median </dev/null)"
expect "p99 of 1..100" 99 "$(seq 100 | pctl 99)"
expect "p50 of 1..100" 50 "$(seq 100 | pctl 50)"
expect "ratio" 2.50 "$(ratio 5 2)"
expect "ratio with a missing value" n/a "$(ratio n/a 2)"
# The per-phase table from a log of three initrd runs (one malformed) and
# one DAX run that skipped the console phase.
D=$(mktemp -d /tmp/hbtest.XXXXXX)
trap 'rm -rf "$D"' EXIT
{
	echo 'level=info msg="start timeline" sandbox=s-init-1 phases="start=0,create=40,spawned=100,console=200,agent=600,teardown=1000"'
	echo 'level=info msg="start timeline" sandbox=s-init-2 phases="start=0,create=60,spawned=120,console=260,agent=700,teardown=1200"'
	echo 'level=info msg="start timeline" sandbox=s-init-3 phases="start=0,create=x"'
	echo 'level=info msg="start timeline" sandbox=s-dax-1 phases="start=0,create=50,spawned=90,agent=500,teardown=800"'
	echo 'level=info msg="start timeline" sandbox=w-init phases="start=0,teardown=99999"'
} >"$D/log"
timeline_collect "$D/log" "$D" init dax
expect "collect: the two good initrd runs, the warm-up left out" "1000 1200" \
	"$(paste -sd' ' "$D/total.init")"
table=$(phase_table "$D" init "initrd" 1500 dax "DAX" 1000)
expect "table: agent step medians and shares" \
	"| agent: console -> agent ready | 420 | 38% | 410 | 51% |" \
	"$(echo "$table" | grep '^| agent:')"
expect "table: a phase one case lacks shows n/a there" \
	"| console: spawned -> first console byte | 120 | 11% | n/a |  |" \
	"$(echo "$table" | grep '^| console:')"
expect "table: totals" "| timeline total (shim start to teardown done) | 1100 | | 800 | |" \
	"$(echo "$table" | grep '^| timeline total')"
expect "table: outside the shim" "| outside the shim (ctr wall - timeline total) | 400 | | 200 | |" \
	"$(echo "$table" | grep '^| outside')"
expect "table: no row for phases no run had" 0 "$(echo "$table" | grep -c '^| sandbox:')"
: >"$D/empty.log"
timeline_collect "$D/empty.log" "$D" init dax
refused "table: nothing (and a failure) without timelines" \
	phase_table "$D" init "initrd" 1500 dax "DAX" 1000

echo "1..$tap_n"
[ "$tap_failed" = 0 ]
