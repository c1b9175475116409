#!/bin/sh
# Print the timestamp every file in the guest images gets: $SOURCE_DATE_EPOCH
# when set (reproducible-builds.org), else the last commit's time, else 0.
set -eu
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
	echo "$SOURCE_DATE_EPOCH"
	exit 0
fi
t=$(git -C "$(dirname "$0")" log -1 --format=%ct 2>/dev/null || true)
echo "${t:-0}"
