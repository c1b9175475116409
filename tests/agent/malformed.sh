#!/bin/bash
# The malformed-request table (tests/agent/malformed.c) against a live
# agent: every bad request gets the right code and names the field.
. "$(dirname "$0")/lib.sh"
HELPER=${MALFORMED:-$BUILD/host/tests/agent_malformed}
[ -x "$HELPER" ] || skip_all "no $HELPER"
setup
out=$("$HELPER" "unix:$SOCK" "$ROOTFS")
echo "$out"
# The numbering continues after the helper's own lines.
tap_n=$(echo "$out" | grep -cE '^(not )?ok')
