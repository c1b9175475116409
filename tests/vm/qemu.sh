#!/bin/bash
# TAP: the host library's QEMU driver (host/hv-qemu.c) against real VMs (TCG
# here), through tests/vm/vm_driver.c, plus "husk check" and "husk env":
#   boot       microvm + initrd: vm_start, vm_connect_agent, Health.Check
#              SERVING, DestroySandbox, graceful vm_stop
#   dax        q35 + the DAX image on nvdimm, the same, with the firmware
#              husk picks (qboot where QEMU ships it): the guest's clock
#              stays on the TSC; dax-seabios the same with SeaBIOS by name
#   failures   missing initrd (fails fast, names the file), a kernel QEMU
#              cannot load (QEMU's message quoted), a guest that dies before
#              the agent (fails fast, console quoted), an agent that never
#              answers (times out, says so), QEMU killed (noticed)
# After every case: no QEMU left (by pid), no child left, run_dir empty.
# A missing guest asset (kernel, initrd, DAX image) is a failure: make
# check builds them all (make kernel initrd image).
set -u

top=$(pwd)
BUILD=${BUILD:-build}
IMAGES=${IMAGES:-images}
driver=$BUILD/host/tests/vm_driver
husk=$BUILD/bin/husk
abs() { case $1 in /*) echo "$1" ;; *) echo "$top/$1" ;; esac; }
kernel=$(abs "$IMAGES")/vmlinux-husk
initrd=$(abs "$IMAGES")/husk-initrd.img
image=$(abs "$IMAGES")/husk-rootfs.img
work=$(abs "$BUILD")/tests/vm
# A booting guest under TCG on a loaded machine: generous.
BOOT_MS=${VM_BOOT_TIMEOUT_MS:-60000}

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { # check COND-STATUS DESCRIPTION
	if [ "$1" = 0 ]; then ok "$2"; else not_ok "$2"; fi
}
finish() { echo "1..$n"; [ "$failed" = 0 ]; exit; }

if [ ! -x "$driver" ] || [ ! -x "$husk" ]; then
	not_ok "build $driver and $husk first (make tests)"
	finish
fi
missing=
for f in "$kernel" "$initrd" "$image"; do
	[ -f "$f" ] || missing="$missing $f"
done
if [ -n "$missing" ]; then
	not_ok "guest assets missing:$missing (make kernel initrd image)"
	finish
fi

rm -rf "$work"
mkdir -p "$work/shared"
# Keep the probe answer inside the test tree.
export HUSK_PROBE_CACHE=$work/kvm-probe

conf() { # conf NAME [KEY=VALUE lines for [hypervisor.qemu]]
	local f=$work/$1.toml
	shift
	{
		echo "[hypervisor.qemu]"
		echo "kernel = \"$kernel\""
		for kv in "$@"; do echo "$kv"; done
		echo "[agent.husk]"
		echo "dial_timeout = 60"
	} >"$f"
	echo "$f"
}

# run NAME CONFIG SCENARIO [TIMEOUT_MS]: the driver's output in $out.
# The boot cases keep the console in a file of their own ($CONSOLE=1);
# the others leave it to the driver, which then quotes it in errors.
run() {
	local name=$1 cfg=$2 scenario=$3 timeout=${4:-$BOOT_MS}
	run_dir=$work/run-$name
	console=-
	[ "${CONSOLE:-0}" = 1 ] && console=$work/$name.console
	rm -rf "$run_dir"
	mkdir -p "$run_dir"
	out=$("$driver" "$cfg" "$run_dir" "$work/shared" "$console" \
		"$scenario" "$timeout" 2>"$work/$name.stderr")
	rc=$?
	echo "$out" >"$work/$name.out"
	[ -s "$work/$name.stderr" ] && sed "s/^/# $name stderr: /" "$work/$name.stderr" | tail -5
	echo "$out" | sed "s/^/# $name: /"
}

get() { echo "$out" | sed -n "s/^$1=//p" | head -n 1; }

# Nothing left behind by the last run: QEMU, children, files.
clean_after() { # clean_after NAME
	local pid left
	pid=$(get pid)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		not_ok "$1: QEMU (pid $pid) still running after vm_stop"
		kill -9 "$pid" 2>/dev/null
		return
	fi
	left=$(ls -A "$run_dir")
	if [ "$(get children)" != 0 ] || [ -n "$left" ]; then
		not_ok "$1: left behind: children=$(get children) run_dir: $left"
		return
	fi
	ok "$1: no QEMU, no child, run_dir empty"
}

boot_case() { # boot_case NAME CONFIG (VM_DRIVER_POLL=1: vm_spawn, polling)
	local name=$1 cfg=$2
	CONSOLE=1 run "$name" "$cfg" health
	if [ "$(get health)" = SERVING ]; then
		ok "$name: agent SERVING $(get connect_ms) ms after vm_start ($(get vm))"
		check "$([ "$(get destroy)" = ok ] && echo 0)" \
			"$name: DestroySandbox answered, VM stopped in $(get stop_ms) ms"
	else
		not_ok "$name: no SERVING: $(get start_error)$(get connect_error)$(get health_error)"
		tail -n 20 "$console" | sed 's/^/#   /'
		not_ok "$name: DestroySandbox not reached"
	fi
	clean_after "$name"
}

# ---- good boots ----------------------------------------------------------
boot_case boot "$(conf boot "initrd = \"$initrd\"")"
boot_case dax "$(conf dax "image = \"$image\"" 'machine_type = "q35"' \
	'enable_debug = true')"
check "$(grep -aq 'EXT4-fs (pmem0p1)' "$work/dax.console" &&
	grep -aq 'rootflags=dax' "$work/dax.console" && echo 0)" \
	"dax: root mounted from /dev/pmem0p1 with rootflags=dax"
# qboot where QEMU keeps its data (the default QEMU here is /usr/bin's).
qemu_bin=$(realpath /usr/bin/qemu-system-x86_64)
qboot=
for d in "$(dirname "$qemu_bin")/../share/qemu" /usr/share/qemu; do
	[ -r "$d/qboot.rom" ] && { qboot=$(realpath "$d/qboot.rom"); break; }
done
if [ -n "$qboot" ]; then
	check "$([[ "$(get vm)" == *" bios qboot.rom"* ]] &&
		! grep -aq SeaBIOS "$work/dax.console" && echo 0)" \
		"dax: booted qboot ($qboot), not SeaBIOS"
else
	check "$(grep -aq SeaBIOS "$work/dax.console" && echo 0)" \
		"dax: no qboot.rom here, so QEMU's SeaBIOS booted it"
fi
# Under TCG the TSC from tsc_early_khz, never the emulated HPET, with
# either firmware; the VM powered off by ACPI (DestroySandbox above).
tsc_clock() { # CONSOLE
	grep -aq 'tsc: Detected .* MHz processor' "$1" &&
		grep -aq 'clocksource: Switched to clocksource tsc' "$1" &&
		! grep -aq 'Switched to clocksource hpet' "$1" &&
		! grep -aqi 'tsc.*unstable' "$1"
}
check "$(tsc_clock "$work/dax.console" && echo 0)" \
	"dax: the guest's clock is the TSC (tsc_early_khz), no HPET fallback"
seabios=/usr/share/seabios/bios-256k.bin
if [ -r "$seabios" ]; then
	boot_case dax-seabios "$(conf dax-seabios "image = \"$image\"" \
		'machine_type = "q35"' 'enable_debug = true' "firmware = \"$seabios\"")"
	check "$([[ "$(get vm)" == *" bios bios-256k.bin"* ]] &&
		grep -aq SeaBIOS "$work/dax-seabios.console" &&
		grep -aq 'EXT4-fs (pmem0p1)' "$work/dax-seabios.console" &&
		tsc_clock "$work/dax-seabios.console" && echo 0)" \
		"dax-seabios: firmware = $seabios booted SeaBIOS, DAX root, TSC clock"
else
	ok "# SKIP dax-seabios: no $seabios (package seabios)"
fi

# The event loop's path (host/pod.c): vm_spawn, then vm_agent_poll until
# the agent's channel is up, QEMU's own start included.
VM_DRIVER_POLL=1 boot_case poll "$(conf poll "initrd = \"$initrd\"")"

# ---- failures -------------------------------------------------------------
cfg=$(conf missing "initrd = \"$work/no-such-initrd.img\"")
run missing "$cfg" start
check "$([ $rc = 0 ] && [[ "$(get start_error)" == *"initrd $work/no-such-initrd.img: No such file or directory"* ]] && echo 0)" \
	"missing initrd: vm_start fails naming the file: $(get start_error)"
check "$([ -z "$(get pid)" ] && [ "$(get start_ms)" -lt 2000 ] && echo 0)" \
	"missing initrd: fails fast ($(get start_ms) ms), no QEMU started"
clean_after missing

echo "not a kernel" >"$work/bad-kernel"
cfg=$work/badkernel.toml
sed "s|^kernel = .*|kernel = \"$work/bad-kernel\"|" "$(conf badkernel "initrd = \"$initrd\"")" >"$cfg.tmp"
mv "$cfg.tmp" "$cfg"
run badkernel "$cfg" start
check "$([ $rc = 0 ] && [[ "$(get start_error)" == "VM failed to start: qemu exited with status 1: "* ]] && echo 0)" \
	"kernel QEMU cannot load: QEMU's own message quoted: $(get start_error)"
clean_after badkernel
VM_DRIVER_POLL=1 run badkernel-poll "$cfg" connect
check "$([ $rc = 0 ] && [ -n "$(get pid)" ] && [[ "$(get connect_error)" == "VM exited before the agent answered: qemu exited with status 1: "* ]] && echo 0)" \
	"kernel QEMU cannot load, vm_spawn: vm_agent_poll quotes QEMU: $(get connect_error)"
clean_after badkernel-poll

cfg=$(conf noinit "initrd = \"$initrd\"" 'kernel_params = "rdinit=/nonexistent"')
run noinit "$cfg" connect
check "$([ $rc = 0 ] && [[ "$(get connect_error)" == "VM exited before the agent opened its channel: qemu exited with status 0"*"Kernel panic"* ]] && echo 0)" \
	"guest dies before the agent: noticed at once ($(get connect_ms) ms), console quoted: $(get connect_error | cut -c1-160)..."
clean_after noinit

cfg=$(conf silent "initrd = \"$initrd\"" 'kernel_params = "rdinit=/nonexistent panic=0"')
run silent "$cfg" connect 3000
check "$([ $rc = 0 ] && [[ "$(get connect_error)" == "agent did not open its channel (virtio-serial agent.channel.0) within 3000 ms; the VM is running"* ]] && echo 0)" \
	"agent that never answers: vm_connect_agent times out ($(get connect_ms) ms) and says so"
clean_after silent

run killed "$(conf killed "initrd = \"$initrd\"")" kill
check "$([ $rc = 0 ] && [ "$(get running)" = 0 ] && [[ "$(get connect_after_kill)" == "VM exited before the agent answered: qemu was killed by signal 9"* ]] && echo 0)" \
	"QEMU killed: vm_running false, vm_connect_agent says so: $(get connect_after_kill | cut -c1-100)"
clean_after killed

# ---- husk check / husk env ------------------------------------------------
good=$work/boot.toml
chk=$("$husk" check --config "$good" 2>&1)
rc=$?
echo "$chk" | sed 's/^/# check: /'
check "$([ $rc = 0 ] && echo "$chk" | grep -q '^ok    kernel .*PVH' &&
	echo "$chk" | grep -q '^ok    initrd .*gzip\|^ok    initrd' &&
	echo "$chk" | grep -Eq '^(ok|warn) +kvm ' &&
	echo "$chk" | grep -Eq '^(ok|warn) +vhost-vsock ' &&
	echo "$chk" | grep -q '^husk can run on this host' && echo 0)" \
	"husk check: this host can run husk (exit 0, kernel and initrd valid, KVM and vsock judged)"
check "$(echo "$chk" | grep -q '^ok    kernel .*PVH entry; virtio_ring.mb_port' && echo 0)" \
	"husk check: husk's kernel carries its virtio barrier note (kernel/patches/0003)"
if [ ! -e /dev/vhost-vsock ]; then
	check "$(echo "$chk" | grep -q '^warn  vhost-vsock .*virtio-serial' && echo 0)" \
		"husk check: no vhost-vsock, so virtio-serial"
fi
if echo "$chk" | grep -q '^warn  kvm '; then
	check "$(echo "$chk" | grep -q '^warn  accel .*TCG will be used' && echo 0)" \
		"husk check: KVM not usable, so TCG"
fi
check "$(echo "$chk" | grep -Eq '^ok +machine +microvm: the VM is sized at boot .*no hotplug' && echo 0)" \
	"husk check: says microvm sizes at boot only (no hotplug)"
printf '[hypervisor.qemu]\nkernel = "%s"\ninitrd = "%s"\nmachine_type = "q35"\ndefault_maxmemory = 4096\n' \
	"$kernel" "$initrd" >"$work/q35.toml"
chk=$("$husk" check --config "$work/q35.toml" 2>&1)
check "$(echo "$chk" | grep -Eq '^ok +machine +q35: .*grown by hotplug .*up to 4096 MiB' && echo 0)" \
	"husk check: says q35 grows by hotplug up to default_maxmemory"
if [ -n "$qboot" ]; then
	check "$(echo "$chk" | grep -Eq "^ok +firmware +$qboot \(qboot" && echo 0)" \
		"husk check: q35 boots qboot ($qboot)"
else
	check "$(echo "$chk" | grep -Eq '^warn +firmware +no qboot.rom' && echo 0)" \
		"husk check: no qboot.rom, so q35 boots SeaBIOS (a warning)"
fi
printf 'firmware = "%s"\n' "$work/no-such-bios.bin" >>"$work/q35.toml"
chk=$("$husk" check --config "$work/q35.toml" 2>&1)
check "$([ $? = 1 ] && echo "$chk" | grep -Eq "^FAIL +firmware +firmware $work/no-such-bios.bin: No such file" && echo 0)" \
	"husk check: a configured firmware that is missing FAILs, naming key and path"
check "$(echo "$chk" | grep -Eq '^ok +shared_fs +(virtio-fs via .*virtiofsd version|virtio-9p: default: no virtiofsd at)' && echo 0)" \
	"husk check: says which shared filesystem (virtio-fs with the daemon's version, or 9p and why)"
chk=$("$husk" check --config "$work/missing.toml" 2>&1)
rc=$?
check "$([ $rc = 1 ] && echo "$chk" | grep -q "^FAIL  initrd .*no-such-initrd.img" &&
	echo "$chk" | grep -q '^husk cannot run on this host: 1 problem' && echo 0)" \
	"husk check: a missing initrd FAILs, exit 1"
chk=$("$husk" check --config "$work/badkernel.toml" 2>&1)
check "$([ $? = 1 ] && echo "$chk" | grep -q '^FAIL  kernel .*neither a vmlinux' && echo 0)" \
	"husk check: a file that is no kernel FAILs"
printf '[hypervisor.clh]\nkernel = "%s"\n' "$kernel" >"$work/clh.toml"
chk=$("$husk" check --config "$work/clh.toml" 2>&1)
rc=$?
if [ -x /usr/bin/cloud-hypervisor ]; then
	ok "# SKIP husk check without cloud-hypervisor: /usr/bin/cloud-hypervisor is installed"
else
	check "$([ $rc = 1 ] && echo "$chk" | grep -Eq '^FAIL +hypervisor +cloud-hypervisor /usr/bin/cloud-hypervisor: No such file' && echo 0)" \
		"husk check: [hypervisor.clh] without cloud-hypervisor installed FAILs and says where it looked (tests/vm/clh.sh has the rest)"
fi

env_out=$("$husk" env --config "$good" 2>&1)
check "$([ $? = 0 ] && echo "$env_out" | grep -q "^kernel = \"$kernel\"" &&
	echo "$env_out" | grep -q '^qemu_version = "QEMU emulator version' &&
	echo "$env_out" | grep -q "^  \"-initrd\"," &&
	echo "$env_out" | grep -q "^#   $good" && echo 0)" \
	"husk env: effective configuration, versions, the QEMU command line"
env_out=$("$husk" env --config "$work/dax.toml" 2>&1)
if [ -n "$qboot" ]; then
	check "$(echo "$env_out" | grep -qx "firmware = \"$qboot\"" &&
		echo "$env_out" | grep -A1 -x '  "-bios",' | grep -qx "  \"$qboot\"," && echo 0)" \
		"husk env: a q35 VM gets firmware $qboot (-bios)"
else
	check "$(echo "$env_out" | grep -qx 'firmware = ""' &&
		! echo "$env_out" | grep -q '"-bios"' && echo 0)" \
		"husk env: no qboot.rom, so no -bios (QEMU's SeaBIOS)"
fi
env_out=$("$husk" env --config "$good" 2>&1)
check "$(echo "$env_out" | grep -qx 'firmware = ""' && ! echo "$env_out" | grep -q '"-bios"' && echo 0)" \
	"husk env: microvm gets no -bios (its own qboot)"

# kernel_cmdline is the VM's own -append: under TCG a q35 VM that may grow
# starts with all its vCPUs and boots with maxcpus= (hv-qemu.c).
printf '[hypervisor.qemu]\nkernel = "%s"\ninitrd = "%s"\nmachine_type = "q35"\n' \
	"$kernel" "$initrd" >"$work/q35grow.toml"
env_out=$("$husk" env --config "$work/q35grow.toml" 2>&1)
kc=$(echo "$env_out" | sed -n 's/^kernel_cmdline = "\(.*\)"$/\1/p')
ap=$(echo "$env_out" | grep -A1 -x '  "-append",' | sed -n '2s/^  "\(.*\)",$/\1/p')
grow=
if echo "$env_out" | grep -qx 'accel = "tcg"' && [ "$(nproc)" -gt 1 ]; then
	grow=1
fi
check "$([ -n "$kc" ] && [ "$kc" = "$ap" ] &&
	{ [ -z "$grow" ] || [[ " $kc " == *" maxcpus=1 "* ]]; } && echo 0)" \
	"husk env: kernel_cmdline is the q35 VM's -append${grow:+, maxcpus=1 included (TCG, vCPUs to grow into)}: $kc"

finish
