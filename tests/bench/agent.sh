#!/bin/bash
# husk-agent numbers, as a table: stripped static binary size, idle RSS
# after CreateSandbox, create+start+wait+remove of `true` per second (driven
# by husk ctl, so it includes five client process starts per cycle), and
# ReadStdout throughput for a 100 MiB stream.  Needs root.
. "$(dirname "$0")/../agent/lib.sh"
BENCH=1
[ "$(id -u)" = 0 ] || { echo "bench agent: needs root" >&2; exit 0; }
CYCLES=${BENCH_CYCLES:-50}
T=$(mktemp -d /tmp/husk-agent-bench.XXXXXX)
trap 'stop_agent; rm -rf "$T"' EXIT
make_rootfs "$T/rootfs"
ROOTFS=$T/rootfs
start_agent

stripped=$BUILD/bin/husk-agent-stripped
if [ -f "$stripped" ]; then
	size_kib="$(( $(stat -c %s "$stripped") / 1024 )) KiB"
else
	size_kib="n/a (no $stripped)"
fi
ctl create-sandbox --hostname bench
rss_kib=$(awk '/VmRSS/ {print $2}' "/proc/$AGENT_REAL/status")

start=$(date +%s%N)
for i in $(seq "$CYCLES"); do
	ctl create --id "b$i" --rootfs "$ROOTFS" -- true
	ctl start --id "b$i"
	ctl wait --id "b$i" >/dev/null
	ctl remove --id "b$i"
done
end=$(date +%s%N)
rate=$(awk -v n="$CYCLES" -v ns=$((end - start)) 'BEGIN { printf "%.1f", n / (ns / 1e9) }')

ctl create --id tp --rootfs "$ROOTFS" -- head -c 104857600 /dev/zero
ctl start --id tp
start=$(date +%s%N)
bytes=$(ctl read-stdout --id tp --len 1048576 | wc -c)
end=$(date +%s%N)
ctl wait --id tp >/dev/null
ctl remove --id tp
mibs=$(awk -v b="$bytes" -v ns=$((end - start)) 'BEGIN { printf "%.0f", b / 1048576 / (ns / 1e9) }')
ctl destroy-sandbox

agent_kind=$(file -b "$AGENT" | grep -q 'statically' && echo "static" || echo "dynamic (sanitizer build)")
printf '| %-52s | %-22s | %-10s |\n' "husk-agent ($agent_kind)" "value" "target"
printf '| %-52s | %-22s | %-10s |\n' "----" "----" "----"
printf '| %-52s | %-22s | %-10s |\n' "stripped static binary size" "$size_kib" "<= 512 KiB"
printf '| %-52s | %-22s | %-10s |\n' "idle RSS after CreateSandbox" "$rss_kib KiB" "<= 1 MiB"
printf '| %-52s | %-22s | %-10s |\n' "create+start+wait+remove of true (via husk ctl)" "$rate /s" ""
printf '| %-52s | %-22s | %-10s |\n' "ReadStdout, 100 MiB stream ($bytes bytes)" "$mibs MiB/s" ""
