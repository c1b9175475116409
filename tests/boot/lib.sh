# Shared by the boot tests (sourced, bash): boot husk's kernel and guest
# images under QEMU with the agent channel on a virtio-serial port behind
# a unix socket and a share (tag kataShared) for container rootfs, 9p or,
# with VM_SHARE=virtio-fs, Debian's virtiofsd; drive the agent with husk
# ctl, print TAP.  Every QEMU and virtiofsd is started here, killed by its
# PID on exit, and every wait is bounded.
#
# KVM is used when a tiny guest really runs under it (the result is
# cached per host boot); otherwise TCG.  Run from the repository root.
# Many variables here are for the scripts that source this file.
# shellcheck disable=SC2034
set -u
. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

BUILD=${BUILD:-build}
IMAGES=${IMAGES:-images}
HUSK=${HUSK:-$BUILD/bin/husk}
QEMU=${QEMU:-qemu-system-x86_64}
VMLINUX=${HUSK_KERNEL:-$IMAGES/vmlinux-husk}
BZIMAGE=${HUSK_BZIMAGE:-$IMAGES/vmlinuz-husk}
INITRD=${HUSK_INITRD:-$IMAGES/husk-initrd.img}
ROOTFS_IMG=${HUSK_ROOTFS:-$IMAGES/husk-rootfs.img}
TRIVIAL_INITRD=${TRIVIAL_INITRD:-$BUILD/tests/boot/trivial-initrd.img}
READY_TIMEOUT=${BOOT_READY_TIMEOUT:-60}
EXIT_TIMEOUT=${BOOT_EXIT_TIMEOUT:-30}
# The 9p storage Kata's runtime sends, and where the rootfs then appears.
SHARED=/run/kata-containers/shared/containers
STORAGE="9p:kataShared:9p:$SHARED/:trans=virtio,version=9p2000.L,cache=mmap:nodev:msize=8192"
# The virtio-fs storage Kata's runtime sends (no options without DAX).
STORAGE_VFS="virtio-fs:kataShared:virtiofs:$SHARED/"
# VM_SHARE: 9p or virtio-fs, for the next vm_start.  VM_MEM: guest RAM,
# which virtio-fs needs as a shared memfd of this size.
VM_SHARE=9p
VM_MEM=256M
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
VFS_TIMEOUT=${BOOT_VFS_TIMEOUT:-10}

T=
QEMU_PID=
VFS_PID=
VM_DIR=
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

# Stop the VM of this test by its PID: TERM, a bounded wait, KILL.
vm_kill() {
	local pid=$QEMU_PID
	[ -n "$pid" ] || return 0
	QEMU_PID=
	stop_pid "$pid"
}

# Stop this test's virtiofsd by its PID (it also exits when QEMU goes).
# In namespace mode it is a monitor, and its sandboxed child outlives a
# killed monitor while QEMU stays connected: the child goes first.
vfs_kill() {
	local pid=$VFS_PID child
	[ -n "$pid" ] || return 0
	VFS_PID=
	for child in $(pgrep -P "$pid"); do
		kill -KILL "$child" 2>/dev/null
	done
	stop_pid "$pid"
}

cleanup() {
	# A second INT or TERM must not leave the VM running.
	trap '' INT TERM HUP
	vm_kill
	vfs_kill
	[ -n "$T" ] && rm -rf "$T"
}

# setup NAME FILE...: a temp dir, the trap, and the files the test needs.
setup() {
	local f name=$1
	shift
	command -v "$QEMU" >/dev/null || { echo "ok 1 # SKIP no $QEMU"; exit 0; }
	[ -x /bin/busybox ] || { echo "ok 1 # SKIP needs busybox-static for the container rootfs"; exit 0; }
	for f in "$HUSK" "$@"; do
		if [ ! -f "$f" ]; then
			echo "not ok 1 - $f is missing (make kernel initrd image)"
			exit 1
		fi
	done
	T=$(mktemp -d "/tmp/husk-boot-$name.XXXXXX")
	trap cleanup EXIT
	trap 'exit 1' INT TERM HUP
	pick_accel
}

# ACCEL and ACCEL_ARGS: kvm only if a trivial guest boots and powers off
# under it within 5 s (/dev/kvm can exist where guests never run).
pick_accel() {
	local cache boot_id log
	ACCEL=tcg
	if [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ -f "$TRIVIAL_INITRD" ]; then
		boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)
		cache=$BUILD/tests/boot/accel-$boot_id
		if [ -f "$cache" ]; then
			ACCEL=$(cat "$cache")
		else
			log=$(timeout -k 2 5 "$QEMU" -accel kvm -M microvm,x-option-roms=off \
				-m 128M -nodefaults -no-user-config -nographic -no-reboot \
				-serial stdio -kernel "$VMLINUX" -initrd "$TRIVIAL_INITRD" \
				-append "console=ttyS0 quiet panic=-1" 2>&1 </dev/null) &&
				echo "$log" | grep -q HUSK-TRIVIAL-INIT && ACCEL=kvm
			mkdir -p "$(dirname "$cache")"
			echo "$ACCEL" >"$cache"
		fi
	fi
	if [ "$ACCEL" = kvm ]; then
		ACCEL_ARGS=(-accel kvm -cpu host)
		TSC=
	else
		ACCEL_ARGS=(-accel tcg)
		# microvm under TCG: no PIT calibration hangs (platform.md).
		TSC="tsc_early_khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)"
	fi
	echo "# accelerator: $ACCEL"
}

# vfs_start DIR SOCKET LOG: Debian's virtiofsd (QEMU 7.2's C daemon)
# serving DIR on SOCKET, sandboxed in its own mount, pid and net
# namespaces (pivot_root into DIR) with its seccomp filter, which it
# applies once QEMU connects.  Sets VFS_PID; returns 1 with VFS_ERROR if
# the socket does not appear.
vfs_start() {
	local dir=$1 sock=$2 log=$3 end
	VFS_ERROR=
	"$VIRTIOFSD" --socket-path="$sock" -o source="$dir" \
		-o sandbox=namespace -o cache=auto -o xattr \
		-o announce_submounts --thread-pool-size=1 \
		>"$log" 2>&1 </dev/null &
	VFS_PID=$!
	end=$(($(date +%s) + VFS_TIMEOUT))
	while [ ! -S "$sock" ]; do
		if ! kill -0 "$VFS_PID" 2>/dev/null; then
			wait "$VFS_PID"
			VFS_ERROR="virtiofsd exited with status $? before its socket appeared: $(tail -n 2 "$log")"
			VFS_PID=
			return 1
		fi
		if [ "$(date +%s)" -ge "$end" ]; then
			VFS_ERROR="virtiofsd: no socket $sock after ${VFS_TIMEOUT}s"
			vfs_kill
			return 1
		fi
		sleep 0.01
	done
}

# vm_start NAME TRANSPORT APPEND QEMU-ARGS...: boot in the background.
# TRANSPORT is pci or mmio (virtio-serial and share device flavours).
# With VM_SHARE=virtio-fs it first starts virtiofsd on share/ and gives
# QEMU a shared memfd of VM_MEM as RAM (the caller passes no -m; microvm needs
# memory-backend=mem from the caller; q35 gets it as its NUMA node).
# Sets VM_DIR (console.log, qemu.log, agent.sock, share/, vfs.sock,
# virtiofsd.log), QEMU_PID, VFS_PID and VM_START (host time just before
# QEMU was spawned).  Returns 1 with VM_ERROR when virtiofsd fails.
vm_start() {
	local name=$1 transport=$2 append=$3 serial=virtio-serial-pci dev
	local share=()
	shift 3
	[ "$transport" = mmio ] && serial=virtio-serial-device
	VM_DIR=$T/$name
	mkdir -p "$VM_DIR/share"
	SOCK=$VM_DIR/agent.sock
	if [ "$VM_SHARE" = virtio-fs ]; then
		dev=vhost-user-fs-pci
		[ "$transport" = mmio ] && dev=vhost-user-fs-device
		if ! vfs_start "$VM_DIR/share" "$VM_DIR/vfs.sock" "$VM_DIR/virtiofsd.log"; then
			VM_ERROR=$VFS_ERROR
			return 1
		fi
		share=(-m "$VM_MEM"
			-object "memory-backend-memfd,id=mem,size=$VM_MEM,share=on"
			-chardev "socket,id=vfs,path=$VM_DIR/vfs.sock"
			-device "$dev,chardev=vfs,tag=kataShared,queue-size=1024")
		# libvhost-user refuses legacy virtio-mmio (virtiofsd aborts).
		if [ "$transport" = mmio ]; then
			share+=(-global virtio-mmio.force-legacy=false)
		else
			# shellcheck disable=SC2054 # one -numa value
			share+=(-numa node,memdev=mem)
		fi
	else
		dev=virtio-9p-pci
		[ "$transport" = mmio ] && dev=virtio-9p-device
		share=(-fsdev "local,id=fs0,path=$VM_DIR/share,security_model=none"
			-device "$dev,fsdev=fs0,mount_tag=kataShared")
	fi
	VM_START=$(now)
	"$QEMU" "${ACCEL_ARGS[@]}" -smp 1 -nodefaults -no-user-config -nographic \
		-no-reboot -serial "file:$VM_DIR/console.log" \
		-device "$serial" \
		-chardev "socket,id=agent,path=$SOCK,server=on,wait=off" \
		-device "virtserialport,chardev=agent,name=${VM_CHANNEL:-agent.channel.0}" \
		"${share[@]}" \
		"$@" -append "console=ttyS0 quiet panic=-1 $append" \
		>"$VM_DIR/qemu.log" 2>&1 </dev/null &
	QEMU_PID=$!
}

ctl() { "$HUSK" ctl --addr "unix:$SOCK" "$@"; }

console_tail() { # the last console lines, without SeaBIOS' escapes
	tr -d '\r' <"$VM_DIR/console.log" 2>/dev/null | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' |
		tail -n "${1:-8}"
	tail -n 3 "$VM_DIR/qemu.log" 2>/dev/null
}

# vm_wait_ready: Check answers SERVING, or a clear reason why not, fast:
# QEMU gone (its exit status and the console's last words), or no answer
# within READY_TIMEOUT.  Sets READY_S (host seconds since vm_start) and
# VM_ERROR.  Returns 0 when ready.
vm_wait_ready() {
	local end out rc left
	VM_ERROR=
	end=$(awk -v s="$(now)" -v t="$READY_TIMEOUT" 'BEGIN { printf "%d", s + t }')
	while [ ! -S "$SOCK" ]; do
		if ! kill -0 "$QEMU_PID" 2>/dev/null; then
			wait "$QEMU_PID"
			rc=$?
			QEMU_PID=
			VM_ERROR="QEMU exited with status $rc before it opened the agent socket"
			return 1
		fi
		if [ "$(date +%s)" -ge "$end" ]; then
			VM_ERROR="no agent socket after ${READY_TIMEOUT}s"
			vm_kill
			return 1
		fi
		sleep 0.01
	done
	# The guest keeps what the host sends before the port is open, so
	# one Check suffices; it fails at once if QEMU goes away.
	left=$((end - $(date +%s)))
	[ "$left" -gt 0 ] || left=1
	out=$(timeout -k 2 "$left" "$HUSK" ctl --addr "unix:$SOCK" check 2>&1)
	rc=$?
	READY_S=$(since "$VM_START")
	[ "$rc" = 0 ] && [ "$out" = SERVING ] && return 0
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		VM_ERROR="the agent did not answer Check within ${READY_TIMEOUT}s"
		vm_kill
		return 1
	fi
	# The socket may close a moment before QEMU is gone: give it 5 s.
	for _ in $(seq 100); do
		kill -0 "$QEMU_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$QEMU_PID" 2>/dev/null; then
		VM_ERROR="Check failed after ${READY_S}s: $out"
		vm_kill
		return 1
	fi
	wait "$QEMU_PID"
	rc=$?
	QEMU_PID=
	VM_ERROR="QEMU exited with status $rc after ${READY_S}s before the agent answered Check"
	return 1
}

# vm_wait_exit: QEMU's exit status once it is gone, or 124 after
# EXIT_TIMEOUT (it is killed then).  Sets EXIT_S.
vm_wait_exit() {
	local start pid=$QEMU_PID rc
	start=$(now)
	for _ in $(seq $((EXIT_TIMEOUT * 20))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	EXIT_S=$(since "$start")
	if kill -0 "$pid" 2>/dev/null; then
		vm_kill
		return 124
	fi
	wait "$pid"
	rc=$?
	QEMU_PID=
	return $rc
}

# end_sandbox NAME ID CODE: the end of a container run: ID's exit code is
# CODE, RemoveContainer, DestroySandbox, then the guest powers off and
# QEMU exits 0.  Returns vm_wait_exit's status.
end_sandbox() {
	local name=$1 id=$2 code=$3 out rc
	out=$(ctl wait --id "$id" 2>&1)
	expect "$name: the exit code arrives" "$code" "$out"
	out=$(ctl remove --id "$id" 2>&1)
	expect "$name: RemoveContainer" "" "$out"
	out=$(ctl destroy-sandbox 2>&1)
	expect "$name: DestroySandbox answers" "" "$out"
	vm_wait_exit
	rc=$?
	expect "$name: the guest powers off and QEMU exits 0 (${EXIT_S}s)" 0 "$rc"
	return "$rc"
}

# run_e2e NAME TRANSPORT APPEND ROOT-REGEX QEMU-ARGS...: the whole life
# of a guest: ready, details, a container over 9p, DestroySandbox, exit 0.
# ROOT-REGEX is matched against the guest's root line in /proc/mounts.
run_e2e() {
	local name=$1 transport=$2 append=$3 root_re=$4 out line rc
	shift 4
	vm_start "$name" "$transport" "$append" "$@"
	if ! vm_wait_ready; then
		not_ok "$name: agent ready: $VM_ERROR"
		console_tail 15 | diag
		return
	fi
	ok "$name: Check answers SERVING ${READY_S}s after QEMU started ($ACCEL)"
	line=$(tr -d '\r' <"$VM_DIR/console.log" | grep -ao 'husk-agent: serving on .*' | head -n 1)
	if echo "$line" | grep -Eq '^husk-agent: serving on vport[0-9]+p[0-9]+ at uptime [0-9.]+s'; then
		ok "$name: boot marker: ${line#husk-agent: }"
	else
		not_ok "$name: no boot marker on the console (got '$line')"
	fi
	out=$(ctl guest-details 2>&1)
	if echo "$out" | grep -qx 'init 1' && echo "$out" | grep -qx 'storage 9p'; then
		ok "$name: GetGuestDetails answers (agent is init, 9p storage)"
	else
		not_ok "$name: GetGuestDetails: $out"
	fi

	make_rootfs "$VM_DIR/share/c1/rootfs"
	out=$(ctl create-sandbox --hostname "$name" --storage "$STORAGE" 2>&1)
	expect "$name: CreateSandbox mounts the 9p share at $SHARED" "" "$out"
	out=$(ctl create --id c1 --rootfs "$SHARED/c1/rootfs" \
		--mount bind:/proc/1/mounts:/guest-mounts:bind,ro -- \
		/bin/sh -c 'echo hello; grep " / " /guest-mounts; cat /sys/class/net/lo/flags; exit 7' 2>&1)
	expect "$name: CreateContainer with its rootfs on 9p" "" "$out"
	out=$(ctl start --id c1 2>&1)
	expect "$name: StartContainer" "" "$out"
	out=$(ctl read-stdout --id c1 2>&1)
	expect "$name: echo hello arrives" hello "$(echo "$out" | head -n 1)"
	line=$(echo "$out" | sed -n 2p)
	if echo "$line" | grep -Eq "$root_re"; then
		ok "$name: guest root: $line"
	else
		not_ok "$name: guest root: want /$root_re/, got '$line'"
	fi
	# lo comes up after Check (init_late), before the first container.
	expect "$name: the container sees the guest's lo up (IFF_UP|IFF_LOOPBACK)" 0x9 \
		"$(echo "$out" | sed -n 3p)"
	end_sandbox "$name" c1 7
	rc=$?
	if tr -d '\r' <"$VM_DIR/console.log" | grep -q 'husk-agent: powering off at uptime .*: sandbox destroyed'; then
		ok "$name: the reason is on the console before power off"
	else
		not_ok "$name: no power-off reason on the console"
		console_tail 10 | diag
	fi
	[ "$rc" = 0 ] || console_tail 10 | diag
}

finish() {
	vm_kill
	echo "1..$tap_n"
	[ "$tap_failed" = 0 ]
}
