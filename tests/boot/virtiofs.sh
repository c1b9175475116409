#!/bin/bash
# TAP: container root filesystems and a volume over virtio-fs, served by
# Debian's virtiofsd (QEMU 7.2's C daemon, sandboxed in its namespaces
# with its seccomp filter), on microvm (vhost-user-fs-device, modern
# virtio-mmio) and on q35 (vhost-user-fs-pci), guest RAM a shared memfd.
# The agent mounts the share as Kata's virtio-fs storage; a busybox
# container runs from it (stdout and exit code arrive) and POSIX behaviour
# is checked through the share, from both sides: visibility at once,
# rename, unlink while open, mmap, hard links, fsync, a 64 MiB file,
# ownership and modes.  virtiofsd exits with QEMU; nothing is left.
. tests/boot/lib.sh
FSOPS=${FSOPS:-$BUILD/tests/boot/fsops}
[ -x "$VIRTIOFSD" ] || skip_all "no $VIRTIOFSD (qemu-system-common)"
[ "$(id -u)" = 0 ] || skip_all "virtiofsd's namespace sandbox needs root"
setup virtiofs "$VMLINUX" "$BZIMAGE" "$INITRD" "$FSOPS"
VM_SHARE=virtio-fs

# cx EID [SPEC-OPTS] -- ARGS...: exec in c1, print its stdout.
cx() {
	local eid=$1
	shift
	ctl exec --id c1 --exec-id "$eid" "$@" >/dev/null || return 1
	ctl read-stdout --id c1 --exec-id "$eid"
	ctl wait --id c1 --exec-id "$eid" >"$VM_DIR/$eid.status"
}

# The sandboxed virtiofsd: the child of the monitor we started.
vfs_sandbox_check() {
	local name=$1 child ns_ok=1 ns
	child=$(pgrep -P "$VFS_PID" | head -n 1)
	if [ -z "$child" ]; then
		not_ok "$name: virtiofsd forked no sandboxed child"
		return
	fi
	for ns in mnt pid net; do
		[ "$(readlink "/proc/$child/ns/$ns")" != "$(readlink "/proc/self/ns/$ns")" ] || ns_ok=0
	done
	if [ "$ns_ok" = 1 ] && grep -q '^Seccomp:[[:space:]]*2' "/proc/$child/status"; then
		ok "$name: virtiofsd runs in its own mount, pid and net namespaces with a seccomp filter"
	else
		not_ok "$name: virtiofsd sandbox: namespaces ok=$ns_ok, $(grep '^Seccomp:' "/proc/$child/status")"
	fi
}

# run_vfs NAME TRANSPORT APPEND QEMU-ARGS...
run_vfs() {
	local name=$1 transport=$2 append=$3 out st h g rc vol line
	shift 3
	if ! vm_start "$name" "$transport" "$append" "$@"; then
		not_ok "$name: virtiofsd: $VM_ERROR"
		return
	fi
	if ! vm_wait_ready; then
		not_ok "$name: agent ready: $VM_ERROR"
		console_tail 15 | diag
		tail -n 5 "$VM_DIR/virtiofsd.log" | diag
		vfs_kill
		return
	fi
	ok "$name: Check answers SERVING ${READY_S}s after QEMU started ($ACCEL)"
	vfs_sandbox_check "$name"
	out=$(ctl guest-details 2>&1)
	if echo "$out" | grep -qx 'storage virtio-fs'; then
		ok "$name: GetGuestDetails lists the virtio-fs storage handler"
	else
		not_ok "$name: GetGuestDetails: $out"
	fi

	h=$VM_DIR/share
	vol=$h/c1-vol
	make_rootfs "$h/c1/rootfs"
	cp "$FSOPS" "$h/c1/rootfs/bin/fsops"
	mkdir -p "$vol"
	chmod 1777 "$vol"
	out=$(ctl create-sandbox --hostname "$name" --storage "$STORAGE_VFS" 2>&1)
	expect "$name: CreateSandbox mounts kataShared (virtiofs) at $SHARED" "" "$out"
	out=$(ctl create --id c1 --rootfs "$SHARED/c1/rootfs" \
		--mount bind:/proc/1/mounts:/guest-mounts:bind,ro \
		--mount "bind:$SHARED/c1-vol:/vol:rbind,rw" -- \
		/bin/sh -c 'echo hello; grep " / " /proc/self/mounts
			grep "^kataShared " /guest-mounts
			while [ ! -e /vol/stop ]; do sleep 0.1; done; exit 7' 2>&1)
	expect "$name: CreateContainer with its rootfs and a volume on virtio-fs" "" "$out"
	out=$(ctl start --id c1 2>&1)
	expect "$name: StartContainer" "" "$out"

	# Visible at once, both ways (no sleep, no sync).
	out=$(cx e1 -- sh -c 'echo from-guest >/vol/g1' 2>&1)
	expect "$name: the container's new file is on the host at once" \
		from-guest "$(cat "$vol/g1" 2>&1)"
	echo from-host >"$vol/h1"
	expect "$name: the host's new file is in the container at once" \
		from-host "$(cx e2 -- cat /vol/h1 2>&1)"
	echo appended >>"$vol/g1"
	expect "$name: the host's append to the container's file is seen" \
		"from-guest appended" "$(cx e3 -- cat /vol/g1 2>&1 | tr '\n' ' ' | sed 's/ $//')"

	# rename, both sides.
	cx e4 -- mv /vol/g1 /vol/g2 >/dev/null 2>&1
	if [ ! -e "$vol/g1" ] && [ "$(head -n 1 "$vol/g2" 2>&1)" = from-guest ]; then
		ok "$name: rename in the container is the host's rename"
	else
		not_ok "$name: rename in the container: $(find "$vol" -mindepth 1 -printf '%f ')"
	fi
	mv "$vol/h1" "$vol/h2"
	expect "$name: rename on the host: the new name opens in the container" \
		from-host "$(cx e5 -- cat /vol/h2 2>&1)"

	# unlink while open: the open file keeps its data, the name is gone.
	out=$(cx e6 -- sh -c 'echo kept >/vol/u; exec 3</vol/u; rm /vol/u
		[ -e /vol/u ] && echo still-there; cat <&3' 2>&1)
	if [ "$out" = kept ] && [ ! -e "$vol/u" ]; then
		ok "$name: unlink while open: data still readable, the name gone on the host"
	else
		not_ok "$name: unlink while open: '$out', host: $(find "$vol" -mindepth 1 -printf '%f ')"
	fi

	# mmap, both directions.
	out=$(cx e7 -- fsops mmap-write /vol/m1 mapped-by-guest 2>&1)
	expect "$name: a shared mapping written in the container reaches the host file" \
		mapped-by-guest "$(cat "$vol/m1" 2>&1)$out"
	printf mapped-by-host >"$vol/m2"
	expect "$name: the host's file read through a mapping in the container" \
		mapped-by-host "$(cx e8 -- fsops mmap-read /vol/m2 2>&1)"

	# hard links made in the container: one inode on the host.
	out=$(cx e9 -- sh -c 'echo linked >/vol/l1 && ln /vol/l1 /vol/l2 &&
		echo more >>/vol/l2 && stat -c "%h %i" /vol/l1 /vol/l2' 2>&1)
	st=$(stat -c '%h %i' "$vol/l1" "$vol/l2" 2>&1 | sort -u)
	if [ "$(echo "$st" | wc -l)" = 1 ] && [ "${st%% *}" = 2 ] &&
		[ "$(cat "$vol/l1")" = "linked
more" ] && [ "$(echo "$out" | sort -u)" = "$st" ]; then
		ok "$name: hard link: one inode, two links, same on both sides ($st)"
	else
		not_ok "$name: hard link: guest '$out', host '$st'"
	fi
	ln "$vol/h2" "$vol/h3"
	expect "$name: a hard link made on the host opens in the container" \
		from-host "$(cx e10 -- cat /vol/h3 2>&1)"

	# fsync and fdatasync succeed and the data is there.
	out=$(cx e11 -- fsops fsync /vol/f1 synced 2>&1)
	expect "$name: fsync and fdatasync in the container" \
		"0 synced" "$(cat "$VM_DIR/e11.status") $(cat "$vol/f1" 2>&1)$out"

	# 64 MiB each way, compared by checksum.
	out=$(cx e12 -- sh -c 'dd if=/dev/urandom of=/vol/big-guest bs=1M count=64 2>/dev/null &&
		md5sum /vol/big-guest' 2>&1)
	st=$(md5sum "$vol/big-guest" 2>&1)
	if [ "$(stat -c %s "$vol/big-guest" 2>/dev/null)" = 67108864 ] &&
		[ "${out%% *}" = "${st%% *}" ]; then
		ok "$name: a 64 MiB file written in the container is whole on the host"
	else
		not_ok "$name: 64 MiB from the guest: guest '$out', host '$st'"
	fi
	head -c 67108864 /dev/urandom >"$vol/big-host"
	st=$(md5sum <"$vol/big-host")
	out=$(cx e13 -- sh -c 'md5sum </vol/big-host' 2>&1)
	expect "$name: a 64 MiB host file reads whole in the container" "${st%% *}" "${out%% *}"
	rm -f "$vol/big-guest" "$vol/big-host"

	# Ownership and modes are the host's.
	echo owned >"$vol/o1"
	chown 1234:5678 "$vol/o1"
	chmod 0640 "$vol/o1"
	mkdir "$vol/d1"
	chown 4321:8765 "$vol/d1"
	chmod 2750 "$vol/d1"
	expect "$name: owner and mode of host files as the host has them" \
		"1234:5678 640 4321:8765 2750" \
		"$(cx e14 -- stat -c '%u:%g %a' /vol/o1 /vol/d1 2>&1 | tr '\n' ' ' | sed 's/ $//')"
	cx e15 -- sh -c 'echo x >/vol/o2 && chown 2222:3333 /vol/o2 && chmod 604 /vol/o2' >/dev/null 2>&1
	expect "$name: chown and chmod in the container land on the host" \
		"2222:3333 604" "$(stat -c '%u:%g %a' "$vol/o2" 2>&1)"
	cx e16 --user 1000:1000 -- sh -c 'echo u >/vol/o3' >/dev/null 2>&1
	expect "$name: a file created by uid 1000 in the container is 1000's on the host" \
		"1000:1000" "$(stat -c '%u:%g' "$vol/o3" 2>&1)"
	out=$(cx e17 --user 1000:1000 -- sh -c 'cat /vol/o1 2>&1 || echo denied' 2>&1)
	expect "$name: the host's 0640 file is denied to uid 1000 in the container" denied \
		"$(echo "$out" | tail -n 1)"

	# The main process: its stdout and exit code arrive.
	touch "$vol/stop"
	out=$(ctl read-stdout --id c1 2>&1)
	expect "$name: echo hello arrives" hello "$(echo "$out" | head -n 1)"
	line=$(echo "$out" | sed -n 2p)
	if echo "$line" | grep -Eq '^kataShared / virtiofs '; then
		ok "$name: container root: $line"
	else
		not_ok "$name: container root: want kataShared on / as virtiofs, got '$line'"
	fi
	line=$(echo "$out" | sed -n 3p)
	if echo "$line" | grep -Eq "^kataShared ${SHARED%/} virtiofs "; then
		ok "$name: the guest's share: $line"
	else
		not_ok "$name: the guest's share: want kataShared on $SHARED as virtiofs, got '$line'"
	fi
	end_sandbox "$name" c1 7
	rc=$?
	[ "$rc" = 0 ] || console_tail 10 | diag

	# virtiofsd goes with QEMU by itself; its socket file stays behind.
	g=$VFS_PID
	if ! pid_gone "$g" 50; then
		not_ok "$name: virtiofsd still runs 5s after QEMU exited"
		vfs_kill
	else
		wait "$g"
		rc=$?
		VFS_PID=
		expect "$name: virtiofsd exits 0 when QEMU disconnects" 0 "$rc"
	fi
	rm -f "$VM_DIR/vfs.sock"
}

# shellcheck disable=SC2054 # the commas belong to -M's value
run_vfs microvm mmio "$TSC" -M microvm,x-option-roms=off,memory-backend=mem \
	-kernel "$VMLINUX" -initrd "$INITRD"
run_vfs q35 pci "" -M q35 -kernel "$BZIMAGE" -initrd "$INITRD"

# Nothing of ours left: no virtiofsd, QEMU or socket.
left=$(find "$T" -name '*.sock' 2>/dev/null)
expect "no process or socket left" "" "$QEMU_PID$VFS_PID$left"
finish
