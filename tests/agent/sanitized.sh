#!/bin/bash
# Run every agent integration test against the ASan/UBSan build of the agent
# (build/san/bin/husk-agent).  Each script already fails on a sanitizer
# report in the agent's log; this only points them at the other binary.
set -u
BUILD=${BUILD:-build}
export BUILD AGENT=$BUILD/san/bin/husk-agent
rc=0
for t in lifecycle process security resources malformed cycles; do
	bash "$(dirname "$0")/$t.sh" | sed "s/^\(\(not \)\?ok [0-9]*\)/\1 [asan:$t]/"
	[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
done
exit $rc
