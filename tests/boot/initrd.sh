#!/bin/bash
# TAP: husk's kernel + initrd (husk-agent as /init) on microvm with the
# PVH vmlinux: the agent answers over virtio-serial, runs a container
# whose busybox rootfs comes over 9p, and DestroySandbox powers off; then
# DestroySandbox with a container still running, which it must stop first.
. tests/boot/lib.sh
setup initrd "$VMLINUX" "$INITRD"
# shellcheck disable=SC2054 # the commas belong to -M's value
machine=(-M microvm,x-option-roms=off -m 256M -kernel "$VMLINUX" -initrd "$INITRD")
run_e2e initrd mmio "$TSC" '^rootfs / rootfs ' "${machine[@]}"

vm_start busy mmio "$TSC" "${machine[@]}"
if vm_wait_ready; then
	make_rootfs "$VM_DIR/share/c2/rootfs"
	# A cgroup namespace of its own: the container's cgroup mount is a
	# new cgroup2 mount rooted at its cgroup (only a non-root cgroup has
	# cgroup.type), and nsdelegate stays on (the kernel ignores root
	# options outside the initial namespace).  Without one it is a bind
	# of the agent's (tests/e2e/resources.sh).
	out=$(ctl create-sandbox --storage "$STORAGE" 2>&1 &&
		ctl create --id c3 --cgroupns --rootfs "$SHARED/c2/rootfs" -- \
			/bin/sh -c 'cat /proc/self/cgroup; ls /sys/fs/cgroup/cgroup.type; sed -n "s/.* - cgroup2 [^ ]* //p" /proc/self/mountinfo' 2>&1 &&
		ctl start --id c3 2>&1 && ctl read-stdout --id c3 2>&1)
	case $(echo $out) in
	"0::/ /sys/fs/cgroup/cgroup.type "*nsdelegate*) ok "busy: cgroupns: cgroup2 rooted at the container's cgroup, nsdelegate on" ;;
	*) not_ok "busy: cgroupns: want '0::/ /sys/fs/cgroup/cgroup.type ...nsdelegate', got '$out'" ;;
	esac
	out=$(ctl create --id c2 --rootfs "$SHARED/c2/rootfs" -- /bin/sleep 1000 2>&1 &&
		ctl start --id c2 2>&1 && ctl destroy-sandbox 2>&1)
	expect "busy: DestroySandbox with a running container answers" "" "$out"
	vm_wait_exit
	rc=$?
	expect "busy: the container is stopped, the guest powers off, QEMU exits 0 (${EXIT_S}s)" 0 "$rc"
else
	not_ok "busy: agent ready: $VM_ERROR"
	console_tail 15 | diag
fi
finish
