#!/bin/bash
# virtio-fs end to end through ctr: a bind volume shared with a running
# container (both directions at once, rename, unlink while open, mmap, hard
# links, fsync, 64 MiB each way, ownership and modes), a host mount made
# under an rslave volume after the start showing in the container, an
# rshared mount made in the container NOT reaching the host (what
# virtio-fs cannot carry), and the faults: virtiofsd SIGKILLed under a
# running container, a virtio_fs_daemon that does not exist, one that
# exits at once and one that never makes its socket, a volume source
# removed before boot.  Each with the leak check.
. "$(dirname "$0")/lib.sh"

FSOPS=${FSOPS:-$TOP/$BUILD/tests/boot/fsops}
DAEMON=/usr/lib/qemu/virtiofsd

[ -x "$DAEMON" ] || skip_all "no $DAEMON (qemu-system-common)"
if [ ! -x "$FSOPS" ]; then
	echo "not ok 1 - $FSOPS is missing (make $BUILD/tests/boot/fsops)"
	exit 1
fi
setup

note_ids fs-a fs-prop fs-shared fs-kill fs-nodaemon fs-gone

n_exec=0
# cx ID CMD...: run CMD in container ID, its output on stdout.
cx() {
	local id=$1
	shift
	n_exec=$((n_exec + 1))
	ctr task exec --exec-id "e$n_exec" "$id" "$@"
}
stop_rm() { # ID
	ctr task kill -s SIGKILL "$1" >/dev/null 2>&1
	wait_status "$1" STOPPED
	ctr task delete "$1" >/dev/null 2>&1
	ctr containers delete "$1" >/dev/null 2>&1
}
# The virtiofsd processes of this test (monitor and sandboxed child).
fs_pids() {
	local p
	for p in $(test_pids); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q virtiofsd &&
			echo "$p"
	done
}

# ---- files through a bind volume -----------------------------------------
V=$T/vol
mkdir -p "$V/dir"
cp "$FSOPS" "$V/fsops"
echo owned >"$V/owned"
chown 1234:5678 "$V/owned"
chmod 0640 "$V/owned"
chmod 0711 "$V/dir"
ctr run -d --runtime "$RUNTIME" \
	--mount "type=bind,src=$V,dst=/v,options=rbind:rw" \
	"$IMG" fs-a sleep 1000 >"$T/err" 2>&1
if ! wait_status fs-a RUNNING; then
	not_ok "a container with a bind volume runs"
	diag <"$T/err"
	finish
fi
ok "a container with a bind volume runs"
expect "the VM's shared fs is virtio-fs (a virtiofsd runs)" yes \
	"$([ -n "$(fs_pids)" ] && echo yes || echo no)"
# Sandboxed: a monitor (the shim's child) and the daemon proper, its child,
# in mount, pid and net namespaces other than the shim's, under seccomp
# (mode 2, filter).
shim=$(cat "$T/state/io.containerd.runtime.v2.task/$NS/fs-a/shim.pid" 2>/dev/null)
mon= child=
for p in $(fs_pids); do
	pp=$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
	[ "$pp" = "$shim" ] && mon=$p
done
for p in $(fs_pids); do
	[ "$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)" = "$mon" ] && child=$p
done
if [ -n "$mon" ] && [ -n "$child" ]; then
	ns_differ=yes
	for n in mnt pid net; do
		[ "$(readlink "/proc/$shim/ns/$n")" = "$(readlink "/proc/$child/ns/$n")" ] &&
			ns_differ="${ns_differ#yes} $n"
	done
	expect "virtiofsd's child is in mount, pid and net namespaces of its own (not the shim's)" yes "$ns_differ"
	expect "virtiofsd's child runs under seccomp" 2 \
		"$(awk '/^Seccomp:/ { print $2 }' "/proc/$child/status")"
else
	not_ok "virtiofsd: a monitor (child of the shim $shim) and its sandboxed child (got '$mon' '$child')"
fi

cx fs-a sh -c 'echo from-container >/v/c2h'
expect "container -> host at once" from-container "$(cat "$V/c2h" 2>&1)"
echo from-host >"$V/h2c"
expect "host -> container at once" from-host "$(cx fs-a cat /v/h2c 2>&1)"
echo again >"$V/h2c"
expect "host rewrite seen at once" again "$(cx fs-a cat /v/h2c 2>&1)"

cx fs-a mv /v/c2h /v/renamed
expect "rename in the container: host sees the new name only" "renamed" \
	"$(ls "$V" | grep -E '^(c2h|renamed)$')"
mv "$V/renamed" "$V/renamed2"
expect "rename on the host: container sees it" "renamed2" \
	"$(cx fs-a ls /v | grep -E '^renamed')"

echo still-here >"$V/u"
expect "unlink while open: the open file still reads" "still-here gone" \
	"$(cx fs-a sh -c 'exec 3</v/u; rm /v/u; cat <&3; [ -e /v/u ] || echo gone' | tr '\n' ' ' | sed 's/ $//')"
expect "unlink while open: gone on the host" absent \
	"$([ -e "$V/u" ] && echo present || echo absent)"

out=$(cx fs-a /v/fsops mmap-write /v/m1 mapped-by-guest 2>&1)
expect "mmap write in the container reaches the host" mapped-by-guest \
	"$(cat "$V/m1" 2>&1)"
[ -n "$out" ] && diag <<<"$out"
printf mapped-by-host >"$V/m2"
expect "mmap read in the container sees the host's bytes" mapped-by-host \
	"$(cx fs-a /v/fsops mmap-read /v/m2 2>&1)"

echo linked >"$V/l1"
cx fs-a ln /v/l1 /v/l2
expect "hard link made in the container: one inode, 2 links" \
	"$(stat -c %i "$V/l1") 2" "$(stat -c '%i %h' "$V/l2" 2>&1)"
ln "$V/l1" "$V/l3"
# Metadata is cached in the guest for cache=auto's timeout (1 s): the new
# link count shows within it, not necessarily at once.
sleep 1.2
expect "hard link made on the host: the container counts 3 (after cache=auto's 1 s)" 3 \
	"$(cx fs-a stat -c %h /v/l1 2>&1)"

cx fs-a /v/fsops fsync /v/f1 synced
expect "fsync in the container" synced "$(cat "$V/f1" 2>&1)"

cx fs-a dd if=/dev/urandom of=/v/big bs=1M count=64 2>/dev/null
expect "64 MiB written in the container: same bytes on the host" \
	"$(cx fs-a md5sum /v/big | cut -d' ' -f1)" \
	"$(md5sum <"$V/big" | cut -d' ' -f1)"
head -c 67108864 /dev/urandom >"$V/big2"
expect "64 MiB written on the host: same bytes in the container" \
	"$(md5sum <"$V/big2" | cut -d' ' -f1)" \
	"$(cx fs-a md5sum /v/big2 | cut -d' ' -f1)"
rm -f "$V/big" "$V/big2"

expect "ownership and mode as the host has them" "1234:5678 640" \
	"$(cx fs-a stat -c '%u:%g %a' /v/owned 2>&1)"
expect "directory mode as the host has it" 711 \
	"$(cx fs-a stat -c %a /v/dir 2>&1)"
cx fs-a sh -c 'echo x >/v/mine; chmod 0604 /v/mine; chown 42:43 /v/mine'
expect "a file the container made and chowned: on the host" "42:43 604" \
	"$(stat -c '%u:%g %a' "$V/mine" 2>&1)"
stop_rm fs-a
assert_clean "bind volume" fs-a

# ---- propagation ----------------------------------------------------------
# The volume is a shared mount on the host, so the shim's (slave) copy and
# virtiofsd's (slave of that) receive what is mounted under it later.
P=$T/pvol
mkdir -p "$P/sub"
mount --bind "$P" "$P" && mount --make-shared "$P"
ctr run -d --runtime "$RUNTIME" \
	--mount "type=bind,src=$P,dst=/pv,options=rbind:rslave:rw" \
	"$IMG" fs-prop sleep 1000 >"$T/err" 2>&1
if wait_status fs-prop RUNNING; then
	mount -t tmpfs -o size=1m husk-e2e-sub "$P/sub"
	echo on-a-later-mount >"$P/sub/marker"
	got=
	for _ in $(seq 30); do
		got=$(cx fs-prop cat /pv/sub/marker 2>/dev/null)
		[ -n "$got" ] && break
		sleep 0.2
	done
	expect "rslave volume: a host mount made after the start shows in the container" \
		on-a-later-mount "$got"
else
	not_ok "rslave volume: the container runs"
	diag <"$T/err"
fi
stop_rm fs-prop
# (virtiofsd's copy holds it while the VM runs: unmount after the stop.)
umount "$P/sub" 2>/dev/null

# rshared in the container: the guest's mount stays in the guest; virtio-fs
# (FUSE) has no way to make a host mount (README, "Shared filesystem").
ctr run -d --privileged --runtime "$RUNTIME" \
	--mount "type=bind,src=$P,dst=/pv,options=rbind:rshared:rw" \
	"$IMG" fs-shared sleep 1000 >"$T/err" 2>&1
if wait_status fs-shared RUNNING; then
	cx fs-shared sh -c 'mount -t tmpfs in-guest /pv/sub && echo x >/pv/sub/guest-only' >"$T/err" 2>&1
	expect "rshared: the container mounted under the volume" x \
		"$(cx fs-shared cat /pv/sub/guest-only 2>&1)"
	expect "rshared: the guest's mount does not reach the host (virtio-fs cannot carry it)" \
		"not-a-mount absent" \
		"$(mountpoint -q "$P/sub" && echo mount || echo not-a-mount) $([ -e "$P/sub/guest-only" ] && echo present || echo absent)"
else
	not_ok "rshared volume: the container runs"
	diag <"$T/err"
fi
stop_rm fs-shared
umount "$P/sub" 2>/dev/null
umount "$P"
assert_clean "rslave and rshared volumes" fs-prop fs-shared

# ---- faults -------------------------------------------------------------
# virtiofsd SIGKILLed under a running container: the task exits (255, as
# when QEMU dies), its exit event is published, the shim says why.
ctr events >"$T/events" 2>&1 &
ev=$!
husk_run fs-kill sleep 1000 >/dev/null 2>"$T/err" &
bg=$!
wait_status fs-kill RUNNING
shim=$(cat "$T/state/io.containerd.runtime.v2.task/$NS/fs-kill/shim.pid" 2>/dev/null)
mon=
for p in $(fs_pids); do
	[ "$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)" = "$shim" ] && mon=$p
done
if [ -n "$mon" ]; then
	t0=$(now_ms)
	kill -KILL "$mon"
	wait "$bg"
	rc=$?
	el=$(($(now_ms) - t0))
	expect "virtiofsd killed: the task exits with 255" 255 "$rc"
	[ "$el" -lt 5000 ] && ok "virtiofsd killed: exit seen in $el ms" ||
		not_ok "virtiofsd killed: exit took $el ms"
	sleep 0.3
	grep -q '/tasks/exit.*fs-kill' "$T/events" &&
		ok "virtiofsd killed: the exit event is published" ||
		not_ok "virtiofsd killed: no /tasks/exit event for fs-kill"
	grep -qE 'virtiofsd \(pid [0-9]+\) was killed by signal 9' "$T/containerd.log" &&
		ok "virtiofsd killed: the shim says virtiofsd was killed" ||
		not_ok "virtiofsd killed: no error naming virtiofsd in the log"
else
	not_ok "virtiofsd killed: no virtiofsd child of the shim ($shim) found"
	kill "$bg" 2>/dev/null
	wait "$bg"
fi
kill "$ev" 2>/dev/null
wait "$ev" 2>/dev/null
ctr containers delete fs-kill >/dev/null 2>&1
CLEAN_WITHIN_MS=3000 assert_clean "virtiofsd killed" fs-kill

# A virtio_fs_daemon that does not exist: Create fails naming it.
write_husk_config "$T/nodaemon.toml" 'virtio_fs_daemon = "/nonexistent/virtiofsd"'
out=$(ctr run --rm --runtime "$RUNTIME" --runtime-config-path "$T/nodaemon.toml" \
	"$IMG" fs-nodaemon echo never 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && echo "$out" | grep -q 'virtiofsd.*/nonexistent/virtiofsd'; then
	ok "missing virtio_fs_daemon: fails naming it"
	echo "$out" | head -2 | diag
else
	not_ok "missing virtio_fs_daemon: rc $rc, got '$out'"
fi
ctr containers delete fs-nodaemon >/dev/null 2>&1
assert_clean "missing virtio_fs_daemon" fs-nodaemon

# A daemon that refuses to start, and one that never makes its socket:
# Create fails naming virtiofsd and quoting its log; the second is killed.
for kind in refuses hangs; do
	f=$T/virtiofsd-$kind
	{
		echo '#!/bin/bash'
		echo '[ "$1" = --version ] && { echo "virtiofsd version 7.2.0 (test stand-in)"; exit 0; }'
		if [ $kind = refuses ]; then
			echo 'echo "stand-in: cannot serve this source" >&2; exit 1'
		else
			# argv[0] keeps its path: the leak check looks for it.
			echo 'echo "stand-in: hanging before the socket" >&2; exec -a "$0" sleep 1000'
		fi
	} >"$f"
	chmod +x "$f"
	write_husk_config "$T/$kind.toml" "virtio_fs_daemon = \"$f\""
	note_ids "fs-$kind"
	out=$(ctr run --rm --runtime "$RUNTIME" --runtime-config-path "$T/$kind.toml" \
		"$IMG" "fs-$kind" echo never 2>&1)
	rc=$?
	if [ $kind = refuses ]; then
		pat='VM failed to boot: virtiofsd \(pid [0-9]+\) exited with status 1; its log .*stand-in: cannot serve this source'
	else
		# The shim listens on the socket itself (--fd): QEMU's
		# connection waits there for an accept() that never comes.
		pat="VM failed to boot: virtiofsd \\(pid [0-9]+\\): did not accept QEMU's connection on .*vhost-fs.sock within 5000 ms; its log .*stand-in: hanging before the socket"
	fi
	if [ "$rc" -ne 0 ] && echo "$out" | grep -qE "$pat"; then
		ok "virtiofsd that $kind: Create fails naming it and quoting its log"
		echo "$out" | head -2 | diag
	else
		not_ok "virtiofsd that $kind: rc $rc, got '$out'"
	fi
	ctr containers delete "fs-$kind" >/dev/null 2>&1
	assert_clean "virtiofsd that $kind" "fs-$kind"
done

# A volume source removed before the VM boots.
mkdir "$T/gone"
ctr container create --runtime "$RUNTIME" \
	--mount "type=bind,src=$T/gone,dst=/g,options=rbind:rw" \
	"$IMG" fs-gone echo never >/dev/null 2>&1
rmdir "$T/gone"
out=$(ctr task start fs-gone 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && echo "$out" | grep -q "$T/gone: No such file or directory"; then
	ok "volume source removed before boot: fails naming it"
	echo "$out" | head -2 | diag
else
	not_ok "volume source removed before boot: rc $rc, got '$out'"
fi
ctr task delete fs-gone >/dev/null 2>&1
ctr containers delete fs-gone >/dev/null 2>&1
assert_clean "volume source removed" fs-gone

finish
