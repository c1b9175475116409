#!/bin/bash
# make bench-oci: `docker run --rm IMG true` under a private dockerd
# (tests/runtime/docker-lib.sh) and `podman run --rm IMG true` under a
# private podman (tests/runtime/podman-lib.sh), each with husk-runtime
# against runc: one warm-up of each, then interleaved runs, medians and
# their ratio.  Each husk run boots a VM (QEMU under TCG here).
# BENCH_RUNS sets the number of runs of each (default 7).  Docker and
# Podman run one after the other, each in its own process (own roots,
# own cleanup).  Run from the repository root, as root.
N=${BENCH_RUNS:-7}

if [ $# -eq 0 ]; then
	"$0" docker || exit 1
	echo
	exec "$0" podman
fi

. "$(dirname "$0")/../runtime/lib.sh"
case $1 in
docker)
	. "$(dirname "$0")/../runtime/docker-lib.sh"
	docker_setup || { echo "dockerd did not start" >&2; exit 1; }
	build_docker_image || { echo "docker load failed" >&2; exit 1; }
	# one_run RUNTIME
	one_run() { dk run --rm --runtime "$1" --network none "$IMG" true; }
	HUSK=husk
	RUNC=runc
	WHAT="docker run --rm --network none IMG true"
	;;
podman)
	. "$(dirname "$0")/../runtime/podman-lib.sh"
	podman_setup
	build_podman_image || { echo "podman load failed" >&2; exit 1; }
	one_run() { PM_RUNTIME=$1 pm run --rm --network none "$IMG" true; }
	HUSK=$T/bin/husk-runtime
	RUNC=$(command -v runc) || { echo "no runc" >&2; exit 1; }
	WHAT="podman run --rm --network none IMG true"
	;;
*)
	echo "usage: $0 [docker|podman]" >&2
	exit 2
	;;
esac

# run_ms RUNTIME: one run, in ms; "fail" if it failed.
run_ms() {
	local s e
	s=$(now_ms)
	one_run "$1" >/dev/null 2>&1 || {
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
run_ms "$HUSK" >/dev/null
run_ms "$RUNC" >/dev/null
for _ in $(seq "$N"); do
	run_ms "$HUSK" >>"$T/husk.ms"
	run_ms "$RUNC" >>"$T/runc.ms"
done
if grep -q fail "$T/husk.ms" "$T/runc.ms"; then
	echo "some runs failed: husk $(tr '\n' ' ' <"$T/husk.ms"), runc $(tr '\n' ' ' <"$T/runc.ms")" >&2
	exit 1
fi
h=$(median <"$T/husk.ms")
r=$(median <"$T/runc.ms")
echo "| \`$WHAT\` ($N runs each, interleaved) | median |"
echo "| --- | --- |"
echo "| husk-runtime (a VM per run, $(grep -q 'accel = "kvm"' "$T/husk.toml" && echo KVM || echo TCG)) | $h ms |"
echo "| runc | $r ms |"
echo "| ratio husk / runc | $(awk -v h="$h" -v r="$r" 'BEGIN {printf "%.1f", h / r}')x |"
