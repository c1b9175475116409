#!/bin/bash
# Run test programs that print TAP, count their results and print one final
# line "N passed, N failed, N skipped".  Exit non-zero on any failure.
#
# Arguments: test programs (run as they are), or fuzz:PATH for a libFuzzer
# target run for $CHECK_FUZZ_SECONDS.  A program that exits non-zero without
# reporting a failed test counts as one failure; so does one that reports
# nothing at all.
set -u

BUILD=${BUILD:-build}
LOGDIR=$BUILD/test-logs
FUZZ_SECONDS=${CHECK_FUZZ_SECONDS:-30}
PROG_TIMEOUT=${TEST_TIMEOUT:-900}
mkdir -p "$LOGDIR"

passed=0 failed=0 skipped=0

count_tap() { # $1 = name, $2 = log, $3 = exit status
	local name=$1 log=$2 rc=$3 p f s
	p=$(grep -cE '^ok [0-9]+' "$log" | head -1)
	s=$(grep -cE '^ok [0-9]+.*# (SKIP|skip)' "$log" | head -1)
	f=$(grep -cE '^not ok [0-9]+' "$log" | head -1)
	p=$((p - s))
	grep -E '^(not )?ok [0-9]+' "$log" | sed "s|^|[$name] |"
	if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ] || [ $((p + s)) -eq 0 ]; then
		echo "----- $name (exit $rc): last lines of $log -----"
		tail -n 40 "$log"
		echo "-----"
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name exited with status $rc"
		f=1
	elif [ $((p + s + f)) -eq 0 ]; then
		echo "not ok - $name reported no tests"
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

for arg in "$@"; do
	case $arg in
	fuzz:*)
		bin=${arg#fuzz:}
		name=fuzz-$(basename "$bin")
		log=$LOGDIR/$name.log
		corpus=$BUILD/fuzz/corpus/$(basename "$bin")
		seeds=tests/fuzz/corpus/$(basename "$bin")
		mkdir -p "$corpus"
		[ -d "$seeds" ] || seeds=
		mkdir -p "$BUILD/fuzz/artifacts"
		"$bin" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
			-artifact_prefix="$BUILD/fuzz/artifacts/" \
			"$corpus" $seeds >"$log" 2>&1
		rc=$?
		if [ $rc -eq 0 ]; then
			echo "ok 1 $name: ${FUZZ_SECONDS}s clean" >>"$log"
		else
			echo "not ok 1 $name: crash or leak, see $log" >>"$log"
		fi
		count_tap "$name" "$log" 0
		;;
	*)
		name=$(echo "$arg" | sed "s|^$BUILD/||; s|/tests/|/|; s|/|-|g")
		log=$LOGDIR/$name.log
		timeout -k 10 "$PROG_TIMEOUT" "$arg" >"$log" 2>&1 </dev/null
		count_tap "$name" "$log" $?
		;;
	esac
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
