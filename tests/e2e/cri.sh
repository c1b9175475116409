#!/bin/bash
# The shim under containerd's CRI plugin: a host-network pod with runtime
# handler "husk", two containers in it (echo, exit 3) whose exits the CRI
# plugin sees (it matches our /tasks/exit events), their log, one shim and
# one VM for the whole pod, and nothing left behind after the pod is
# stopped and removed.
#
# The CRI client is tests/e2e/cri_client.py on Debian's python3-grpcio; the
# CRI api.proto comes from Debian's containerd source package (cached under
# ${XDG_CACHE_HOME:-~/.cache}/husk/src) and is compiled here with
# grpc_tools.protoc.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cri-lib.sh"

cri_prereqs
start=$(now_ms)
setup
cri_setup

pod=$(cri runp husk-pod husk "$T/logs" 2>"$T/err")
if [ -z "$pod" ]; then
	not_ok "RunPodSandbox with handler husk"
	diag <"$T/err"
	finish
fi
ok "RunPodSandbox with handler husk"
note_ids "$pod"
# A host-network pod's spec names no network namespace: lo only, one warning.
n=$(grep -c "names no network namespace (hostNetwork)" "$T/containerd.log" 2>/dev/null)
expect "the host-network pod: one warning that the VM gets lo only" 1 "$n"
procs=$(pod_processes)
case $procs in
"qemu:"[0-9]*" shim:"[0-9]*" ") ok "the pod has one shim and one VM" ;;
*) not_ok "the pod has one shim and one VM (got '$procs')" ;;
esac

# c-echo: exit 0, reason Completed (the CRI plugin saw our TaskExit), log.
res=$(cri run "$pod/husk-pod" c-echo "$T/logs" "$IMG" echo hello-cri 2>"$T/err")
echo "$res" | diag
[ -s "$T/err" ] && diag <"$T/err"
expect "echo container exits 0" 0 "$(echo "$res" | sed -n 's/.*exit_code=\([0-9]*\).*/\1/p')"
expect "echo container's reason" Completed "$(echo "$res" | sed -n 's/.*reason=\([^ ]*\).*/\1/p')"
log=$(echo "$res" | sed -n 's/.*log=//p')
if [ -f "$log" ] && grep -q ' stdout F hello-cri$' "$log"; then
	ok "the container log has 'stdout F hello-cri'"
else
	not_ok "the container log has 'stdout F hello-cri' ($log: $(cat "$log" 2>/dev/null))"
fi

res=$(cri run "$pod/husk-pod" c-exit "$T/logs" "$IMG" sh -c 'exit 3' 2>"$T/err")
echo "$res" | diag
[ -s "$T/err" ] && diag <"$T/err"
expect "sh -c 'exit 3' container exits 3" 3 "$(echo "$res" | sed -n 's/.*exit_code=\([0-9]*\).*/\1/p')"
expect "exit 3 container's reason" Error "$(echo "$res" | sed -n 's/.*reason=\([^ ]*\).*/\1/p')"

# A hostPath volume (Kubernetes' default propagation), shared over virtio-fs: the container
# reads the host's file and writes one the host reads.
mkdir -p "$T/hostpath"
echo from-host >"$T/hostpath/in"
res=$(HUSK_CRI_MOUNT="$T/hostpath:/data" cri run "$pod/husk-pod" c-vol "$T/logs" \
	"$IMG" sh -c 'cat /data/in && echo from-cri >/data/out' 2>"$T/err")
echo "$res" | diag
[ -s "$T/err" ] && diag <"$T/err"
expect "hostPath volume container exits 0" 0 "$(echo "$res" | sed -n 's/.*exit_code=\([0-9]*\).*/\1/p')"
log=$(echo "$res" | sed -n 's/.*log=//p')
grep -q ' stdout F from-host$' "$log" 2>/dev/null &&
	ok "hostPath volume: the container read the host's file" ||
	not_ok "hostPath volume: the container read the host's file ($(cat "$log" 2>/dev/null))"
expect "hostPath volume: the host reads the container's file" from-cri \
	"$(cat "$T/hostpath/out" 2>&1)"

expect "all containers ran on the pod's shim and VM" "$procs" "$(pod_processes)"

if cri stopp "$pod" 2>"$T/err"; then ok "StopPodSandbox"; else not_ok "StopPodSandbox"; diag <"$T/err"; fi
if cri rmp "$pod" 2>"$T/err"; then ok "RemovePodSandbox"; else not_ok "RemovePodSandbox"; diag <"$T/err"; fi
expect "no pods left" "" "$(cri pods 2>&1)"
expect "no containers left in containerd" "" "$(ctr containers ls -q 2>&1)"
expect "no tasks left in containerd" "" "$(ctr tasks ls -q 2>&1)"
assert_clean "after the pod" "$pod"
expect "no cgroup of the pod" "" "$(find /sys/fs/cgroup -maxdepth 4 -name "*$pod*" 2>/dev/null)"
echo "# $(($(now_ms) - start)) ms"
finish
