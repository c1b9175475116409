#!/bin/bash
# make bench-oci: `docker run --rm IMG true` with husk-runtime against runc
# under a private dockerd (tests/runtime/docker-lib.sh), interleaved runs,
# medians and their ratio.  Each husk run boots a VM (QEMU under TCG here).
# BENCH_RUNS sets the number of runs of each (default 7).  Run from the
# repository root, as root.
. "$(dirname "$0")/../runtime/lib.sh"
. "$(dirname "$0")/../runtime/docker-lib.sh"

N=${BENCH_RUNS:-7}
docker_setup || { echo "dockerd did not start" >&2; exit 1; }
build_docker_image || { echo "docker load failed" >&2; exit 1; }

# run_ms RUNTIME: one docker run --rm ... true, in ms; "fail" if it failed.
run_ms() {
	local s e
	s=$(now_ms)
	dk run --rm --runtime "$1" --network none "$IMG" true >/dev/null 2>&1 || {
		echo fail
		return
	}
	e=$(now_ms)
	echo $((e - s))
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}'; }

: >"$T/husk.ms"
: >"$T/runc.ms"
# One warm-up of each (image unpacked, caches filled), not counted.
run_ms husk >/dev/null
run_ms runc >/dev/null
for _ in $(seq "$N"); do
	run_ms husk >>"$T/husk.ms"
	run_ms runc >>"$T/runc.ms"
done
if grep -q fail "$T/husk.ms" "$T/runc.ms"; then
	echo "some runs failed: husk $(tr '\n' ' ' <"$T/husk.ms"), runc $(tr '\n' ' ' <"$T/runc.ms")" >&2
	exit 1
fi
h=$(median <"$T/husk.ms")
r=$(median <"$T/runc.ms")
echo "| docker run --rm IMG true ($N runs each, interleaved) | median |"
echo "| --- | --- |"
echo "| husk-runtime (a VM per run, $(grep -q 'accel = "kvm"' "$T/husk.toml" && echo KVM || echo TCG)) | $h ms |"
echo "| runc | $r ms |"
echo "| ratio husk / runc | $(awk -v h="$h" -v r="$r" 'BEGIN {printf "%.1f", h / r}')x |"
