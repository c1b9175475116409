#!/bin/bash
# Docker (Debian's docker.io 20.10) with husk-runtime as a runc-compatible
# runtime (daemon.json "runtimes"): a private dockerd (its own data root,
# exec root, pid file, socket and containerd) inside a network namespace
# this test makes, where docker0 and dockerd's iptables rules live, so
# nothing reaches the host's network.  A busybox image built here with tar
# and sha256sum is loaded; then docker run (output, exit code, -i stdin),
# exec, stop, pause, unpause, update --memory and rm -f, each in its own
# VM, and the default bridge network
# (set up by Docker's libnetwork-setkey prestart hook): run -d -p with
# busybox httpd fetched from dockerd's namespace, a ping between two
# containers.  dockerd is stopped by PID and everything is removed, also
# after a failure.  Run from the repository root, as root.
. "$(dirname "$0")/lib.sh"

DOCKER_BRIDGE=1
. "$(dirname "$0")/docker-lib.sh"

if ! docker_setup; then
	not_ok "dockerd did not start"
	echo "1..$tap_n"
	exit 1
fi
ok "a private dockerd started (own roots, network namespace, bridge inside it)"
check "dockerd lists the husk runtime" sh -c "'$DOCKER_CLI' -H unix://$T/docker.sock info 2>/dev/null | grep -q 'Runtimes:.*husk'"
build_docker_image
expect "docker load of a locally built busybox image" 0 $?

out=$(drun --rm "$IMG" echo hello 2>"$T/run.err")
expect "docker run --rm --runtime husk IMG echo hello" hello "$out"
[ "$out" = hello ] || diag <"$T/run.err"

drun --rm "$IMG" sh -c 'exit 7' 2>"$T/run.err"
expect "docker run: exit code 7 comes back" 7 $?

# -t: a terminal of the CLI's size, and a resize that reaches it.
TTY_SCRIPT='sleep 1; stty size; i=0; while [ $i -lt 60 ]; do sleep 0.25; s=$(stty size); if [ "$s" != "30 100" ]; then echo "now $s"; exit 4; fi; i=$((i+1)); done; exit 1'
out=$(python3 tests/runtime/pty_drive.py 30x100 40x120 90 -- "$DOCKER_CLI" -H "unix://$T/docker.sock" \
	run --runtime husk --network none --rm -it "$IMG" sh -c "$TTY_SCRIPT")
check "docker run -it: stty size sees the terminal's size (30 100)" grep -qx '30 100' <<<"$out"
check "docker run -it: a resize of the terminal reaches the container (40 120)" grep -qx 'now 40 120' <<<"$out"
check "docker run -it: the exit code comes back through the terminal path (4)" grep -qx 'exit=4' <<<"$out"
grep -qx 'now 40 120' <<<"$out" || diag <<<"$out"

head -c 1048576 /dev/urandom >"$T/in.bin"
drun --rm -i "$IMG" cat <"$T/in.bin" >"$T/out.bin" 2>"$T/run.err"
if cmp -s "$T/in.bin" "$T/out.bin"; then
	ok "docker run -i: 1 MiB of stdin round-trips byte-exact"
else
	not_ok "docker run -i: $(stat -c %s "$T/out.bin") bytes back, differ"
	diag <"$T/run.err"
fi

dk create --runtime husk --network none --name c1 "$IMG" sleep 600 >/dev/null &&
	dk start c1 >/dev/null
expect "docker run -d (create, start)" running "$(dk inspect -f '{{.State.Status}}' c1 2>/dev/null)"
out=$(dk exec c1 sh -c 'echo from-exec; exit 0' 2>&1)
expect "docker exec" from-exec "$out"
dk exec c1 sh -c 'exit 5'
expect "docker exec: exit code 5 comes back" 5 $?
out=$(python3 tests/runtime/pty_drive.py 30x100 40x120 90 -- "$DOCKER_CLI" -H "unix://$T/docker.sock" \
	exec -it c1 sh -c "$TTY_SCRIPT")
check "docker exec -it: stty size sees the terminal's size (30 100)" grep -qx '30 100' <<<"$out"
check "docker exec -it: a resize of the terminal reaches the exec (40 120)" grep -qx 'now 40 120' <<<"$out"
grep -qx 'now 40 120' <<<"$out" || diag <<<"$out"
dk logs c1 >/dev/null 2>&1
expect "docker logs" 0 $?
start=$(now_ms)
dk stop -t 2 c1 >/dev/null
expect "docker stop (TERM ignored by sleep as pid 1, KILL after 2 s)" 0 $?
expect "docker stop: the exit code is 137" 137 "$(dk inspect -f '{{.State.ExitCode}}' c1)"
dk rm c1 >/dev/null
expect "docker rm" 0 $?

# --- pause, unpause, update: runc's pause, resume and update --resources ---
drun -d --name p1 "$IMG" sh -c 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.2; done' >/dev/null
lines() { dk logs p1 2>/dev/null | wc -l; }
for _ in $(seq 300); do [ "$(lines)" -ge 3 ] && break; sleep 0.1; done
dk pause p1 >/dev/null
expect "docker pause" 0 $?
expect "docker pause: the container is paused" paused "$(dk inspect -f '{{.State.Status}}' p1 2>/dev/null)"
sleep 0.5
a=$(lines)
sleep 3
b=$(lines)
expect "paused: no output for 3 s ($a lines, then $b)" "$a" "$b"
dk unpause p1 >/dev/null
expect "docker unpause" 0 $?
expect "docker unpause: the container runs" running "$(dk inspect -f '{{.State.Status}}' p1 2>/dev/null)"
for _ in $(seq 300); do [ "$(lines)" -gt "$b" ] && break; sleep 0.1; done
check "unpaused: output again ($(lines) lines after $b)" [ "$(lines)" -gt "$b" ]
dk update --memory 64m --memory-swap 64m p1 >/dev/null 2>"$T/run.err"
expect "docker update --memory 64m" 0 $?
diag <"$T/run.err"
out=$(dk exec p1 sh -c 'cat "/sys/fs/cgroup$(sed -n "s/^0:://p" /proc/self/cgroup)/memory.max"' 2>&1)
expect "docker update: the container's cgroup in the VM has memory.max 64 MiB" 67108864 "$out"
dk rm -f p1 >/dev/null
expect "docker rm -f of the updated container" 0 $?

dk run -d --runtime husk --network none --name c2 "$IMG" sleep 600 >/dev/null
dk rm -f c2 >/dev/null
expect "docker rm -f of a running container" 0 $?
# --- the default bridge network, as Docker sets it up ---------------------
mkdir -p "$T/www"
echo "served-by-husk-$$" >"$T/www/index.html"
dk run -d --runtime husk -p 18080:80 --name web -v "$T/www:/www:ro" "$IMG" \
	httpd -f -p 80 -h /www >/dev/null 2>"$T/run.err"
expect "docker run -d -p 18080:80 (bridge network) busybox httpd" running "$(dk inspect -f '{{.State.Status}}' web 2>/dev/null)"
diag <"$T/run.err"
ip=$(dk inspect -f '{{.NetworkSettings.IPAddress}}' web 2>/dev/null)
check "Docker gave the container an address on docker0 ($ip)" grep -q '^10\.217\.0\.' <<<"$ip"
out=$(dk exec web ip -4 addr show eth0 2>&1)
check "the VM's eth0 has Docker's address" grep -q "inet $ip/24" <<<"$out"
grep -q "inet $ip/24" <<<"$out" || diag <<<"$out"
# Fetched through the published port, from dockerd's namespace (docker0's
# address: the DNAT rule or docker-proxy forwards it).
fetched=
for _ in $(seq 60); do
	fetched=$(dknet wget -q -T 5 -O- "http://10.217.0.1:18080/index.html" 2>/dev/null) && break
	sleep 1
done
expect "docker run -p: the page is fetched through the published port" "served-by-husk-$$" "$fetched"
fetched=$(dknet wget -q -T 5 -O- "http://$ip:80/index.html" 2>/dev/null)
expect "the page is fetched from the container's address directly" "served-by-husk-$$" "$fetched"
out=$(dk run --rm --runtime husk "$IMG" ping -c 2 -W 10 "$ip" 2>&1)
check "a second container pings the first across docker0" grep -q '2 packets received' <<<"$out"
grep -q '2 packets received' <<<"$out" || diag <<<"$out"
dk rm -f web >/dev/null
expect "docker rm -f of the published container" 0 $?
# --network host: a VM cannot share the host's stack; it gets lo only.
out=$(dk run --rm --runtime husk --network host "$IMG" ip -o link 2>&1 | awk -F': ' '{print $2}' | tr '\n' ' ')
expect "docker run --network host: the VM has lo only" "lo " "$out"
links=
for _ in $(seq 100); do
	links=$(dknet ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -vx -e lo -e docker0)
	[ -z "$links" ] && [ -z "$(ls -A "$T/exec/netns" 2>/dev/null | grep -vx default)" ] && break
	sleep 0.1
done
expect "no veth or tap left in dockerd's namespace" "" "$(echo $links)"
# "default" is dockerd's own, the host network's sandbox (--network host).
# Mounts, not files: libnetwork unmounts a sandbox's namespace at once but
# removes the file only in its garbage collection, once a minute.
expect "no network namespace left mounted in dockerd's exec root" "" \
	"$(awk -v d="$T/exec/netns/" 'index($5, d) == 1 && $5 != d "default" { print $5 }' /proc/self/mountinfo | tr '\n' ' ')"

check "no container left in docker" [ -z "$(dk ps -aq)" ]
RT_MOUNTS_OWNED="$T/data
$T/exec/netns/default"
rt_assert_clean "docker"
check "no husk-runtime state left in docker's runtime root" \
	[ -z "$(ls -A "$T"/exec/runtime-*/moby 2>/dev/null)" ]

echo "1..$tap_n"
[ "$tap_failed" = 0 ]
