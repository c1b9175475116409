// SPDX-License-Identifier: Apache-2.0
/*
 * The QEMU driver without a real VM: the exact argv for microvm + initrd,
 * q35 + nvdimm image, debug on and off, KVM vs TCG, vsock, virtio-fs;
 * the TSC parser; the child helpers; the guest probe against fake QEMU
 * binaries (one that passes, one that fails, one that hangs, which the
 * timeout must end); and vm_start failing cleanly, naming the file or
 * quoting QEMU, with nothing left in run_dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "hv.h"
#include "log.h"
#include "path.h"
#include "util.h"
#include "virtiofsd.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

/* Index of the argument pair "opt value" in @argv, or -1. */
static int find_pair(char **argv, const char *opt, const char *value)
{
	for (int i = 0; argv[i] && argv[i + 1]; i++)
		if (!strcmp(argv[i], opt) && !strcmp(argv[i + 1], value))
			return i;
	return -1;
}

static int find_arg(char **argv, const char *arg)
{
	for (int i = 0; argv[i]; i++)
		if (!strcmp(argv[i], arg))
			return i;
	return -1;
}

/* The value after the (only) @opt, or NULL. */
static const char *value_of(char **argv, const char *opt)
{
	int i = find_arg(argv, opt);

	return i >= 0 ? argv[i + 1] : NULL;
}

static int count_arg(char **argv, const char *arg)
{
	int n = 0;

	for (int i = 0; argv[i]; i++)
		n += !strcmp(argv[i], arg);
	return n;
}

FIXTURE(argv)
{
	struct husk_config cfg;
	struct vm_params p;
	struct qemu_host h;
	struct herr err;
	char **v;
};

FIXTURE_SETUP(argv)
{
	config_defaults(&self->cfg);
	free(self->cfg.kernel);
	free(self->cfg.initrd);
	self->cfg.kernel = xstrdup("/img/vmlinux");
	self->cfg.initrd = xstrdup("/img/initrd.img");
	self->p.cfg = &self->cfg;
	self->p.sandbox_id = "sb1";
	self->p.run_dir = "/run/husk/sb1";
	self->p.shared_dir = "/run/husk/sb1/shared";
	self->p.console_fd = -1;
	self->h.vsock_fd = -1;
	self->h.console_fd = -1;
	self->h.tsc_khz = 2596122;
	self->h.sandbox = true;
}

FIXTURE_TEARDOWN(argv)
{
	strv_free(self->v);
	config_free(&self->cfg);
}

/* The machine type of the VM under test. */
static void set_machine(FIXTURE_DATA(argv) * self, const char *machine)
{
	free(self->cfg.machine_type);
	self->cfg.machine_type = xstrdup(machine);
}

static void use_image(FIXTURE_DATA(argv) * self, const char *machine)
{
	free(self->cfg.initrd);
	self->cfg.initrd = NULL;
	self->cfg.image = xstrdup("/img/rootfs.img");
	set_machine(self, machine);
	self->h.image_size = 6 << 20;
}

TEST_F(argv, microvm_initrd_tcg)
{
	char **v;

	self->v = v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, v) TH_LOG("%s", self->err.msg);
	EXPECT_STREQ("/usr/bin/qemu-system-x86_64", v[0]);
	EXPECT_LE(0, find_pair(v, "-name", "sandbox-sb1"));
	/* PCI for the agent's virtio-serial: 128-entry receive queues. */
	EXPECT_LE(0, find_pair(v, "-machine",
			       "microvm,x-option-roms=off,pcie=on"));
	/* TCG's code cache capped, a balloon that only reports. */
	EXPECT_LE(0, find_pair(v, "-accel", "tcg,tb-size=20"));
	EXPECT_LE(0, find_pair(v, "-device",
			       "virtio-balloon-device,id=balloon0,"
			       "free-page-reporting=on"));
	EXPECT_EQ(-1, find_arg(v, "-cpu"));
	EXPECT_LE(0, find_pair(v, "-m", "256M"));
	/* TCG translates for parallel vCPUs: the guest's barriers stay. */
	EXPECT_LE(0, find_pair(v, "-smp", "1,maxcpus=2"));
	EXPECT_LE(0, find_arg(v, "-nodefaults"));
	EXPECT_LE(0, find_arg(v, "-no-user-config"));
	EXPECT_LE(0, find_arg(v, "-nographic"));
	EXPECT_LE(0, find_arg(v, "-no-reboot"));
	EXPECT_LE(0, find_arg(v, "-S"));
	EXPECT_LE(
		0,
		find_pair(v, "-sandbox",
			  "on,obsolete=deny,spawn=deny,resourcecontrol=deny"));
	EXPECT_LE(0,
		  find_pair(v, "-qmp",
			    "unix:/run/husk/sb1/qmp.sock,server=on,wait=off"));
	EXPECT_LE(0,
		  find_pair(v, "-chardev",
			    "file,id=console0,path=/run/husk/sb1/console.log"));
	EXPECT_LE(0, find_pair(v, "-serial", "chardev:console0"));
	EXPECT_LE(0, find_pair(v, "-kernel", "/img/vmlinux"));
	EXPECT_LE(0, find_pair(v, "-initrd", "/img/initrd.img"));
	EXPECT_STREQ("console=ttyS0 quiet panic=-1 rcupdate.rcu_expedited=1 "
		     "percpu_alloc=page lapic_timer_khz=1000000 noreplace-smp "
		     "tsc_early_khz=2596122",
		     value_of(v, "-append"));
	/* Agent over virtio-serial, on PCI (not virtio-mmio's 1024). */
	EXPECT_LE(0, find_pair(v, "-device",
			       "virtio-serial-pci,id=serial0,max_ports=2"));
	EXPECT_EQ(-1, find_pair(v, "-device",
				"virtio-serial-device,id=serial0,max_ports=2"));
	EXPECT_LE(0, find_pair(v, "-chardev",
			       "socket,id=agent0,path=/run/husk/sb1/"
			       "agent.sock,server=on,wait=off"));
	EXPECT_LE(0, find_pair(v, "-device",
			       "virtserialport,bus=serial0.0,chardev=agent0,id="
			       "channel0,name=agent.channel.0"));
	/* Shared dir over 9p. */
	EXPECT_LE(0, find_pair(v, "-fsdev",
			       "local,id=fs0,path=/run/husk/sb1/"
			       "shared,security_model=none,multidevs=remap"));
	EXPECT_LE(0,
		  find_pair(v, "-device",
			    "virtio-9p-device,fsdev=fs0,mount_tag=kataShared"));
	EXPECT_EQ(-1, find_arg(v, "-object"));
	EXPECT_EQ(1, count_arg(v, "-kernel"));
}

/* The size sizing.h chose, and room to grow on q35 (host/pod-size.c). */
TEST_F(argv, sized_q35_with_hotplug_room)
{
	char **v;

	set_machine(self, "q35");
	self->cfg.shared_fs = SHARED_FS_VIRTIO_FS;
	self->p.mem_mib = 768;
	self->p.vcpus = 2;
	self->p.max_mem_mib = 2048;
	self->p.max_vcpus = 4;
	self->v = v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, v) TH_LOG("%s", self->err.msg);
	EXPECT_LE(0, find_pair(v, "-m", "768M,slots=8,maxmem=2048M"));
	/* Under TCG all 4 are there, the guest brings up 2. */
	EXPECT_LE(0, find_pair(v, "-smp",
			       "4,maxcpus=4,sockets=4,cores=1,threads=1"));
	EXPECT_NE(NULL, strstr(value_of(v, "-append"), " maxcpus=2"));
	/* virtiofsd maps the boot RAM: the memfd has the boot size. */
	EXPECT_LE(0, find_pair(v, "-object",
			       "memory-backend-memfd,id=mem0,size=768M,"
			       "share=on"));
}

/* microvm cannot hotplug: the boot size only, no slots. */
TEST_F(argv, sized_microvm_no_room)
{
	char **v;

	self->p.mem_mib = 768;
	self->p.vcpus = 2;
	self->p.max_mem_mib = 2048;
	self->p.max_vcpus = 4;
	self->v = v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, v) TH_LOG("%s", self->err.msg);
	EXPECT_LE(0, find_pair(v, "-m", "768M"));
	EXPECT_LE(0, find_pair(v, "-smp", "2"));
}

TEST_F(argv, q35_nvdimm_image)
{
	char **v, *c;

	use_image(self, "q35");
	self->v = v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, v) TH_LOG("%s", self->err.msg);
	EXPECT_LE(0, find_pair(v, "-machine",
			       "q35,smm=off,sata=off,smbus=off,nvdimm=on"));
	EXPECT_LE(0, find_pair(v, "-m", "256M,slots=8,maxmem=2304M"));
	EXPECT_LE(0, find_pair(v, "-object",
			       "memory-backend-file,id=nvmem0,mem-path=/img/"
			       "rootfs.img,size=6291456,readonly=on,share=on"));
	EXPECT_LE(0, find_pair(v, "-device",
			       "nvdimm,id=nv0,memdev=nvmem0,unarmed=on"));
	EXPECT_EQ(-1, find_arg(v, "-initrd"));
	/*
	 * A TSC trusted under TCG, no 20 ms wait for PIT ticks through the
	 * IO-APIC; no data= (the image has no journal).
	 */
	EXPECT_STREQ("console=ttyS0 quiet panic=-1 rcupdate.rcu_expedited=1 "
		     "percpu_alloc=page lapic_timer_khz=1000000 noreplace-smp "
		     "tsc_early_khz=2596122 tsc=reliable no_timer_check "
		     "root=/dev/pmem0p1 rootflags=dax ro rootfstype=ext4",
		     value_of(v, "-append"));
	EXPECT_LE(0, find_pair(v, "-device",
			       "virtio-serial-pci,id=serial0,max_ports=2"));
	EXPECT_LE(0, find_pair(v, "-device",
			       "virtio-9p-pci,fsdev=fs0,mount_tag=kataShared"));
	/* kvmclock needs no TSC hint on q35 either, and skips the check. */
	self->h.kvm = true;
	c = qemu_kernel_cmdline(&self->cfg, &self->h);
	EXPECT_EQ(NULL, strstr(c, "tsc"));
	EXPECT_EQ(NULL, strstr(c, "no_timer_check"));
	EXPECT_EQ(NULL, strstr(c, "lapic_timer_khz"));
	free(c);
}

/* -bios only when the driver chose a firmware (qemu_firmware). */
TEST_F(argv, bios_from_the_chosen_firmware)
{
	use_image(self, "q35");
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v) TH_LOG("%s", self->err.msg);
	EXPECT_EQ(-1, find_arg(self->v, "-bios"));
	strv_free(self->v);
	self->h.firmware = "/usr/share/qemu/qboot.rom";
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v) TH_LOG("%s", self->err.msg);
	EXPECT_EQ(1, count_arg(self->v, "-bios"));
	EXPECT_LE(0, find_pair(self->v, "-bios", "/usr/share/qemu/qboot.rom"));
}

TEST_F(argv, pc_image_and_microvm_refused)
{
	use_image(self, "pc");
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v);
	EXPECT_LE(0, find_pair(self->v, "-machine", "pc,nvdimm=on"));
	strv_free(self->v);
	use_image(self, "microvm");
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_EQ(NULL, self->v);
	EXPECT_STREQ("image /img/rootfs.img needs machine_type q35 or pc "
		     "(microvm has no nvdimm)",
		     self->err.msg);
}

TEST_F(argv, debug_on_and_off)
{
	char *c;

	c = qemu_kernel_cmdline(&self->cfg, &self->h);
	EXPECT_STREQ("console=ttyS0 quiet panic=-1 rcupdate.rcu_expedited=1 "
		     "percpu_alloc=page lapic_timer_khz=1000000 noreplace-smp "
		     "tsc_early_khz=2596122",
		     c);
	free(c);
	self->cfg.agent_debug = true;
	c = qemu_kernel_cmdline(&self->cfg, &self->h);
	EXPECT_STREQ("console=ttyS0 quiet panic=-1 rcupdate.rcu_expedited=1 "
		     "percpu_alloc=page lapic_timer_khz=1000000 noreplace-smp "
		     "tsc_early_khz=2596122 agent.log=debug",
		     c);
	free(c);
	self->cfg.agent_debug = false;
	self->cfg.enable_debug = true;
	free(self->cfg.kernel_params);
	self->cfg.kernel_params =
		xstrdup("agent.debug_console panic=0 percpu_alloc=embed");
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v);
	/* The operator's parameters come last, so that they win. */
	EXPECT_STREQ("console=ttyS0 panic=-1 rcupdate.rcu_expedited=1 "
		     "percpu_alloc=page lapic_timer_khz=1000000 noreplace-smp "
		     "tsc_early_khz=2596122 agent.log=debug "
		     "agent.debug_console panic=0 percpu_alloc=embed",
		     value_of(self->v, "-append"));
}

/* tcg_tb_size 0 leaves QEMU's own cache; the balloon can be left out. */
TEST_F(argv, tcg_default_cache_no_balloon)
{
	self->cfg.tcg_tb_size = 0;
	self->cfg.reclaim_guest_freed_memory = false;
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v);
	EXPECT_LE(0, find_pair(self->v, "-accel", "tcg"));
	for (int i = 0; self->v[i]; i++)
		EXPECT_EQ(NULL, strstr(self->v[i], "balloon"));
	strv_free(self->v);

	/* On a PCI machine the balloon is a PCI device. */
	self->cfg.reclaim_guest_freed_memory = true;
	self->cfg.tcg_tb_size = 64;
	use_image(self, "q35");
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v);
	EXPECT_LE(0, find_pair(self->v, "-accel", "tcg,tb-size=64"));
	strv_free(self->v);

	/*
	 * A q35 VM that may grow: a share per boot vCPU, 11/10 of one at
	 * least, and 2 vCPU threads that start offline, each holding a region
	 * of QEMU's: 10 regions of 2 MiB in 20 MiB, 2 held, leave 16.
	 */
	self->cfg.tcg_tb_size = 8;
	self->p.vcpus = 2;
	self->p.max_vcpus = 4;
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v);
	EXPECT_LE(0, find_pair(self->v, "-accel", "tcg,tb-size=20"));
	EXPECT_LE(0, find_pair(self->v, "-device",
			       "virtio-balloon-pci,id=balloon0,"
			       "free-page-reporting=on"));
}

/* Two vCPUs from boot, no hotplug (microvm): a thread and a share each. */
TEST_F(argv, tcg_cache_per_boot_vcpu)
{
	self->cfg.tcg_tb_size = 8;
	self->p.vcpus = 2;
	self->p.max_vcpus = 4;
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v);
	EXPECT_LE(0, find_pair(self->v, "-accel", "tcg,tb-size=16"));
}

/*
 * One vCPU under TCG: a second possible one, never started, so QEMU 7.2
 * keeps the guest's memory barriers (hv-qemu.c, tcg_needs_second_cpu).
 * Not under KVM, nor with one TCG thread for all (hotplug on q35), nor
 * with two vCPUs from boot, which are parallel anyway.
 */
TEST_F(argv, tcg_one_vcpu_translated_parallel)
{
	set_machine(self, "q35");
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v) TH_LOG("%s", self->err.msg);
	EXPECT_LE(0, find_pair(self->v, "-smp", "1,maxcpus=2"));
	EXPECT_LE(0, find_pair(self->v, "-accel", "tcg,tb-size=20"));
	strv_free(self->v);

	self->h.kvm = true;
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v) TH_LOG("%s", self->err.msg);
	EXPECT_LE(0, find_pair(self->v, "-smp", "1"));
	strv_free(self->v);

	self->h.kvm = false;
	self->p.max_vcpus = 2;
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v) TH_LOG("%s", self->err.msg);
	/*
	 * A VM that may grow: both vCPUs from the start (a TCG thread each,
	 * parallel), the guest brings up one.  11/10 of a share of the
	 * cache for the running one (22 MiB) beside a 2 MiB region the
	 * offline one holds: 12 regions in 24 MiB.
	 */
	EXPECT_LE(0, find_pair(self->v, "-smp",
			       "2,maxcpus=2,sockets=2,cores=1,threads=1"));
	EXPECT_LE(0, find_pair(self->v, "-accel", "tcg,tb-size=24"));
	EXPECT_STREQ("console=ttyS0 quiet panic=-1 rcupdate.rcu_expedited=1 "
		     "percpu_alloc=page lapic_timer_khz=1000000 noreplace-smp "
		     "tsc_early_khz=2596122 tsc=reliable no_timer_check "
		     "maxcpus=1",
		     value_of(self->v, "-append"));
	for (int i = 0; self->v[i]; i++)
		EXPECT_EQ(NULL, strstr(self->v[i], "thread=single"));
	strv_free(self->v);

	/* 16: 26 regions of 2 MiB in 52 MiB, 15 held offline, leave 22. */
	self->p.max_vcpus = 16;
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v) TH_LOG("%s", self->err.msg);
	EXPECT_LE(0, find_pair(self->v, "-accel", "tcg,tb-size=52"));
	strv_free(self->v);

	/* With KVM they are hot-added: absent until then, all brought up. */
	self->h.kvm = true;
	self->p.max_vcpus = 2;
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v) TH_LOG("%s", self->err.msg);
	EXPECT_LE(0, find_pair(self->v, "-smp",
			       "1,maxcpus=2,sockets=2,cores=1,threads=1"));
	EXPECT_EQ(NULL, strstr(value_of(self->v, "-append"), "maxcpus"));
	strv_free(self->v);
	self->h.kvm = false;

	set_machine(self, "microvm");
	self->p.vcpus = 2;
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v) TH_LOG("%s", self->err.msg);
	EXPECT_LE(0, find_pair(self->v, "-smp", "2"));
}

/*
 * With husk's kernel (its "husk" note), a 1-vCPU VM stays one vCPU under
 * TCG and its virtio barriers are port writes; a VM translated for
 * parallel vCPUs anyway, or KVM, does not need them.
 */
TEST_F(argv, tcg_one_vcpu_serial_with_mb_port)
{
	self->h.mb_port = true;
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v) TH_LOG("%s", self->err.msg);
	EXPECT_LE(0, find_pair(self->v, "-smp", "1"));
	EXPECT_LE(0, find_pair(self->v, "-accel", "tcg,tb-size=20"));
	EXPECT_NE(NULL, strstr(value_of(self->v, "-append"),
			       " virtio_ring.mb_port=1"));
	strv_free(self->v);

	self->h.kvm = true;
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v) TH_LOG("%s", self->err.msg);
	EXPECT_EQ(NULL, strstr(value_of(self->v, "-append"), "mb_port"));
	strv_free(self->v);
	self->h.kvm = false;

	set_machine(self, "q35");
	self->p.max_vcpus = 2;
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v) TH_LOG("%s", self->err.msg);
	EXPECT_LE(0, find_pair(self->v, "-smp",
			       "2,maxcpus=2,sockets=2,cores=1,threads=1"));
	EXPECT_EQ(NULL, strstr(value_of(self->v, "-append"), "mb_port"));
	strv_free(self->v);

	set_machine(self, "microvm");
	self->p.max_vcpus = 0;
	self->p.vcpus = 2;
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v) TH_LOG("%s", self->err.msg);
	EXPECT_LE(0, find_pair(self->v, "-smp", "2"));
	EXPECT_EQ(NULL, strstr(value_of(self->v, "-append"), "mb_port"));
}

TEST_F(argv, kvm_vcpus_memory)
{
	self->h.kvm = true;
	self->h.sandbox = false;
	self->cfg.default_vcpus = 4;
	self->cfg.default_memory = 1024;
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v);
	/* KVM has no translation cache: tcg_tb_size is not used. */
	EXPECT_LE(0, find_pair(self->v, "-accel", "kvm"));
	EXPECT_LE(0, find_pair(self->v, "-cpu", "host,pmu=off"));
	EXPECT_LE(0, find_pair(self->v, "-smp", "4"));
	EXPECT_LE(0, find_pair(self->v, "-m", "1024M"));
	EXPECT_EQ(-1, find_arg(self->v, "-sandbox"));
	/* kvmclock needs no TSC hint. */
	EXPECT_STREQ("console=ttyS0 quiet panic=-1 rcupdate.rcu_expedited=1 "
		     "percpu_alloc=page",
		     value_of(self->v, "-append"));
}

/*
 * TCG's APIC timer rate goes to the guest even when the host's TSC rate is
 * unknown; KVM's guests have the TSC deadline timer and get neither.
 */
TEST_F(argv, lapic_timer_khz_only_under_tcg)
{
	char *c;

	self->h.tsc_khz = 0;
	c = qemu_kernel_cmdline(&self->cfg, &self->h);
	EXPECT_STREQ("console=ttyS0 quiet panic=-1 rcupdate.rcu_expedited=1 "
		     "percpu_alloc=page lapic_timer_khz=1000000 noreplace-smp",
		     c);
	free(c);
	self->h.kvm = true;
	c = qemu_kernel_cmdline(&self->cfg, &self->h);
	EXPECT_EQ(NULL, strstr(c, "lapic_timer_khz"));
	/* Nor the kept LOCK prefixes: the UP patching is quick there. */
	EXPECT_EQ(NULL, strstr(c, "noreplace-smp"));
	free(c);
	/* Cloud Hypervisor runs on KVM only. */
	c = clh_kernel_cmdline(&self->cfg);
	EXPECT_EQ(NULL, strstr(c, "lapic_timer_khz"));
	free(c);
}

TEST_F(argv, console_fd_and_vsock)
{
	self->h.console_fd = 3;
	self->h.vsock_fd = 4;
	self->h.vsock_cid = 1234;
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v);
	EXPECT_LE(0, find_pair(self->v, "-chardev",
			       "file,id=console0,path=/dev/fd/3,append=on"));
	EXPECT_LE(0, find_pair(self->v, "-device",
			       "vhost-vsock-device,id=vsock0,guest-cid=1234,"
			       "vhostfd=4"));
	EXPECT_EQ(-1, find_pair(self->v, "-device",
				"virtio-serial-pci,id=serial0,max_ports=2"));
	/* No virtio-serial: microvm needs no PCI. */
	EXPECT_LE(0,
		  find_pair(self->v, "-machine", "microvm,x-option-roms=off"));
	strv_free(self->v);
	set_machine(self, "q35");
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v);
	EXPECT_LE(
		0,
		find_pair(
			self->v, "-device",
			"vhost-vsock-pci,id=vsock0,guest-cid=1234,vhostfd=4"));
}

TEST_F(argv, nics_by_fd_with_their_macs)
{
	struct vm_nic nics[2] = {
		{ .fd = 7, .mac = { 0x0a, 0x58, 0x0a, 0x63, 0x00, 0x05 } },
		{ .fd = 8, .mac = { 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01 } },
	};

	/* No NIC unless asked: -nodefaults leaves none. */
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v);
	EXPECT_EQ(0, count_arg(self->v, "-netdev"));
	strv_free(self->v);

	self->p.nics = nics;
	self->p.n_nics = 2;
	self->h.nic_fd0 = 5;
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v);
	EXPECT_EQ(2, count_arg(self->v, "-netdev"));
	EXPECT_LE(0,
		  find_pair(self->v, "-netdev", "tap,id=net0,fd=5,vhost=off"));
	EXPECT_LE(0,
		  find_pair(self->v, "-netdev", "tap,id=net1,fd=6,vhost=off"));
	EXPECT_LE(
		0,
		find_pair(
			self->v, "-device",
			"virtio-net-device,netdev=net0,mac=0a:58:0a:63:00:05"));
	EXPECT_LE(
		0,
		find_pair(
			self->v, "-device",
			"virtio-net-device,netdev=net1,mac=de:ad:be:ef:00:01"));
	strv_free(self->v);

	/* q35: PCI devices; vhost only where /dev/vhost-net works. */
	set_machine(self, "q35");
	self->p.n_nics = 1;
	self->h.vhost_net = true;
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v);
	EXPECT_EQ(1, count_arg(self->v, "-netdev"));
	EXPECT_LE(0,
		  find_pair(self->v, "-netdev", "tap,id=net0,fd=5,vhost=on"));
	/* No iPXE ROM to load (or for SeaBIOS to run): romfile=. */
	EXPECT_LE(0, find_pair(self->v, "-device",
			       "virtio-net-pci,netdev=net0,mac=0a:58:0a:63:00:"
			       "05,romfile="));
}

TEST_F(argv, virtio_fs_and_none)
{
	self->cfg.shared_fs = SHARED_FS_VIRTIO_FS;
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v);
	EXPECT_LE(0, find_pair(self->v, "-machine",
			       "microvm,x-option-roms=off,pcie=on,"
			       "memory-backend=mem0"));
	/* Guest RAM is a shared memfd the daemon maps, sized like -m. */
	EXPECT_LE(0,
		  find_pair(self->v, "-object",
			    "memory-backend-memfd,id=mem0,size=256M,share=on"));
	EXPECT_LE(0, find_pair(self->v, "-m", "256M"));
	/* libvhost-user refuses legacy virtio-mmio. */
	EXPECT_LE(0, find_pair(self->v, "-global",
			       "virtio-mmio.force-legacy=false"));
	EXPECT_LE(0,
		  find_pair(self->v, "-chardev",
			    "socket,id=vfs0,path=/run/husk/sb1/vhost-fs.sock"));
	EXPECT_LE(0, find_pair(self->v, "-device",
			       "vhost-user-fs-device,chardev=vfs0,tag="
			       "kataShared,queue-size=1024"));
	EXPECT_EQ(-1, find_arg(self->v, "-fsdev"));
	strv_free(self->v);

	/* q35: PCI device, the backend on the machine, no -global. */
	set_machine(self, "q35");
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v);
	EXPECT_LE(0, find_pair(self->v, "-machine",
			       "q35,smm=off,sata=off,smbus=off,"
			       "memory-backend=mem0"));
	EXPECT_LE(0,
		  find_pair(self->v, "-object",
			    "memory-backend-memfd,id=mem0,size=256M,share=on"));
	EXPECT_EQ(-1, find_arg(self->v, "-global"));
	EXPECT_LE(0, find_pair(self->v, "-device",
			       "vhost-user-fs-pci,chardev=vfs0,tag=kataShared,"
			       "queue-size=1024"));
	strv_free(self->v);

	/* 9p on microvm: no memfd, no -global, the machine once. */
	set_machine(self, "microvm");
	self->cfg.shared_fs = SHARED_FS_9P;
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v);
	EXPECT_STREQ("-accel", self->v[find_pair(self->v, "-machine",
						 "microvm,x-option-roms=off,"
						 "pcie=on") +
				       2]);
	EXPECT_EQ(-1, find_arg(self->v, "-global"));
	EXPECT_EQ(-1, find_arg(self->v, "-object"));
	EXPECT_LE(0, find_arg(self->v, "-fsdev"));
	strv_free(self->v);

	self->cfg.shared_fs = SHARED_FS_NONE;
	self->p.shared_dir = NULL;
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v);
	EXPECT_EQ(-1, find_arg(self->v, "-fsdev"));
	EXPECT_EQ(-1, find_arg(self->v, "-object"));
}

/* Debian 12's C daemon: "-o" options only (unknown ones are fatal). */
TEST(virtiofsd_argv_c)
{
	struct husk_config cfg;
	char *extra[] = { "-o", "flock", NULL };
	char **v;

	config_defaults(&cfg);
	cfg.virtio_fs_extra_args = extra;
	v = virtiofsd_build_argv(&cfg, VIRTIOFSD_C, 3, "/run/p/shared");
	ASSERT_NE(NULL, v);
	EXPECT_STREQ("/usr/lib/qemu/virtiofsd", v[0]);
	/* The shim's listening socket, not a path the daemon binds. */
	EXPECT_STREQ("--fd=3", v[1]);
	EXPECT_EQ(-1, find_arg(v, "--socket-path"));
	EXPECT_LE(0, find_pair(v, "-o", "source=/run/p/shared"));
	EXPECT_LE(0, find_pair(v, "-o", "sandbox=namespace"));
	EXPECT_LE(0, find_pair(v, "-o", "cache=auto"));
	EXPECT_LE(0, find_pair(v, "-o", "xattr"));
	EXPECT_LE(0, find_pair(v, "-o", "announce_submounts"));
	EXPECT_LE(0, find_arg(v, "--thread-pool-size=1"));
	/* Nothing of the Rust daemon's, and no way out of the sandbox. */
	for (char **a = v; *a; a++) {
		EXPECT_EQ(NULL, strstr(*a, "--shared-dir")) TH_LOG("%s", *a);
		EXPECT_EQ(NULL, strstr(*a, "--cache")) TH_LOG("%s", *a);
		EXPECT_EQ(NULL, strstr(*a, "none")) TH_LOG("%s", *a);
	}
	/* Extra args last, verbatim. */
	{
		size_t n = 0;

		while (v[n])
			n++;
		ASSERT_LE(2U, n);
		EXPECT_STREQ("-o", v[n - 2]);
		EXPECT_STREQ("flock", v[n - 1]);
	}
	strv_free(v);
	cfg.virtio_fs_extra_args = NULL;
	free(cfg.virtio_fs_cache);
	cfg.virtio_fs_cache = xstrdup("none");
	v = virtiofsd_build_argv(&cfg, VIRTIOFSD_C, 3, "/d");
	EXPECT_LE(0, find_pair(v, "-o", "cache=none"));
	strv_free(v);
	/* The Rust daemon's spelling when that is what is installed. */
	v = virtiofsd_build_argv(&cfg, VIRTIOFSD_RUST, 4, "/d");
	EXPECT_LE(0, find_arg(v, "--fd=4"));
	EXPECT_LE(0, find_arg(v, "--shared-dir=/d"));
	EXPECT_LE(0, find_arg(v, "--cache=never"));
	EXPECT_LE(0, find_arg(v, "--sandbox=namespace"));
	EXPECT_EQ(-1, find_arg(v, "-o"));
	strv_free(v);
	config_free(&cfg);
}

/* No test reads or writes the machine's probe cache (/run/husk-probe-*). */
__attribute__((constructor)) static void no_machine_cache(void)
{
	setenv("HUSK_PROBE_CACHE", "", 1);
}

/* The daemon installed here (Debian 12) is the C one. */
TEST(virtiofsd_flavour_here)
{
	enum virtiofsd_flavour fl;
	char version[128];
	struct herr err;

	if (access("/usr/lib/qemu/virtiofsd", X_OK) < 0)
		SKIP(return, "no /usr/lib/qemu/virtiofsd");
	ASSERT_EQ(0, virtiofsd_flavour("/usr/lib/qemu/virtiofsd", &fl, version,
				       sizeof(version), &err))
	TH_LOG("%s", err.msg);
	EXPECT_EQ(VIRTIOFSD_C, (int)fl) TH_LOG("%s", version);
	EXPECT_NE(NULL, strstr(version, "virtiofsd version"));
}

static bool alive(pid_t pid)
{
	char path[64], st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	/* "pid (comm) S ...": a zombie is gone for our purposes. */
	if (fscanf(f, "%*d (%*[^)]) %c", &st) != 1)
		st = 0;
	fclose(f);
	return st && st != 'Z';
}

/*
 * The real daemon with a client standing in for QEMU: the sandboxed child
 * appears once a client connects and is found; the monitor's death shows
 * on the pidfd the pod watches; virtiofsd_stop() leaves no process,
 * socket or log.  (With a real QEMU connected the child was measured to
 * outlive a SIGKILLed monitor; with this idle client it may not, so that
 * is not asserted here.)
 */
TEST(virtiofsd_child_found_and_stop_ends_both)
{
	char dir[] = "/tmp/husk-vfsd-XXXXXX", src[64], sock[96];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct virtiofsd *d = NULL;
	struct husk_config cfg;
	struct herr err;
	pid_t mon, child;
	int c;

	if (geteuid() != 0)
		SKIP(return, "needs root (virtiofsd's namespace sandbox)");
	if (access("/usr/lib/qemu/virtiofsd", X_OK) < 0)
		SKIP(return, "no /usr/lib/qemu/virtiofsd");
	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/src", dir);
	ASSERT_EQ(0, mkdir(src, 0755));
	config_defaults(&cfg);
	ASSERT_EQ(0, virtiofsd_start(&cfg, dir, src, &d, &err))
	TH_LOG("%s", err.msg);
	mon = virtiofsd_pid(d);
	snprintf(sock, sizeof(sock), "%s/" VM_FS_SOCK, dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_EQ(0, connect(c, (struct sockaddr *)&sa, sizeof(sa)));
	/* Pending until the daemon accepts it: then no longer an error. */
	for (int i = 0; i < 500 && virtiofsd_check_accepted(d, &err); i++)
		usleep(10 * 1000);
	EXPECT_EQ(0, virtiofsd_check_accepted(d, &err)) TH_LOG("%s", err.msg);
	virtiofsd_connected(d);
	child = virtiofsd_child_pid(d);
	ASSERT_LT(0, child);
	EXPECT_NE(mon, child);
	EXPECT_TRUE(alive(child));
	EXPECT_EQ(0, hv_pidfd_wait(virtiofsd_pidfd(d), 0));
	kill(mon, SIGKILL);
	/* The monitor's pidfd is what the pod watches. */
	EXPECT_EQ(1, hv_pidfd_wait(virtiofsd_pidfd(d), 2000));
	virtiofsd_stop(d);
	usleep(100 * 1000);
	EXPECT_FALSE(alive(child));
	EXPECT_EQ(-1, access(sock, F_OK));
	close(c);
	rmdir(src);
	EXPECT_EQ(0, rmdir(dir))
	TH_LOG("run dir not empty: %s", strerror(errno));
	config_free(&cfg);
}

/* Missing binary and bad source: errors naming virtiofsd, nothing left. */
TEST(virtiofsd_start_failures)
{
	char dir[] = "/tmp/husk-vfsd-XXXXXX", src[64];
	struct virtiofsd *d = NULL;
	struct husk_config cfg;
	struct herr err;
	DIR *dh;
	int n = 0;

	ASSERT_NE(NULL, mkdtemp(dir));
	config_defaults(&cfg);
	free(cfg.virtio_fs_daemon);
	cfg.virtio_fs_daemon = xstrdup("/nonexistent/virtiofsd");
	EXPECT_EQ(-1, virtiofsd_start(&cfg, dir, dir, &d, &err));
	EXPECT_NE(NULL,
		  strstr(err.msg,
			 "virtiofsd: virtio_fs_daemon /nonexistent/virtiofsd"))
	TH_LOG("%s", err.msg);
	if (access("/usr/lib/qemu/virtiofsd", X_OK) == 0) {
		free(cfg.virtio_fs_daemon);
		cfg.virtio_fs_daemon = xstrdup("/usr/lib/qemu/virtiofsd");
		snprintf(src, sizeof(src), "%s/gone", dir);
		/* Not waited for: it exits on its own, its log says why. */
		ASSERT_EQ(0, virtiofsd_start(&cfg, dir, src, &d, &err))
		TH_LOG("%s", err.msg);
		EXPECT_EQ(1, hv_pidfd_wait(virtiofsd_pidfd(d), 5000));
		EXPECT_TRUE(virtiofsd_failed(d));
		virtiofsd_error(d, &err);
		EXPECT_NE(NULL, strstr(err.msg, "virtiofsd (pid "))
		TH_LOG("%s", err.msg);
		EXPECT_NE(NULL, strstr(err.msg, "failed to stat source"))
		TH_LOG("%s", err.msg);
		virtiofsd_stop(d);
		d = NULL;
	}
	/* One that never accepts QEMU's connection is named, then stopped. */
	{
		char stand_in[96], sock[96];
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		FILE *f;
		int c;

		snprintf(stand_in, sizeof(stand_in), "%s.hang", dir);
		f = fopen(stand_in, "w");
		ASSERT_NE(NULL, f);
		fprintf(f, "#!/bin/sh\n[ \"$1\" = --version ] && "
			   "{ echo 'virtiofsd version 7.2.0 (stand-in)'; "
			   "exit 0; }\necho stand-in: hanging >&2\n"
			   "exec sleep 30\n");
		fclose(f);
		ASSERT_EQ(0, chmod(stand_in, 0755));
		free(cfg.virtio_fs_daemon);
		cfg.virtio_fs_daemon = xstrdup(stand_in);
		ASSERT_EQ(0, virtiofsd_start(&cfg, dir, dir, &d, &err))
		TH_LOG("%s", err.msg);
		/* No connection yet: nothing waits for it. */
		EXPECT_EQ(0, virtiofsd_check_accepted(d, &err));
		snprintf(sock, sizeof(sock), "%s/" VM_FS_SOCK, dir);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
		c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ASSERT_EQ(0, connect(c, (struct sockaddr *)&sa, sizeof(sa)));
		usleep(300 * 1000);
		EXPECT_EQ(-1, virtiofsd_check_accepted(d, &err));
		EXPECT_NE(NULL,
			  strstr(err.msg, "did not accept QEMU's connection"))
		TH_LOG("%s", err.msg);
		EXPECT_NE(NULL, strstr(err.msg, "stand-in: hanging"))
		TH_LOG("%s", err.msg);
		virtiofsd_stop(d);
		d = NULL;
		close(c);
		unlink(stand_in);
	}
	/* No socket, no log. */
	dh = opendir(dir);
	ASSERT_NE(NULL, dh);
	for (struct dirent *e; (e = readdir(dh));)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(dh);
	EXPECT_EQ(0, n);
	rmdir(dir);
	config_free(&cfg);
}

TEST_F(argv, commas_are_escaped)
{
	self->p.run_dir = "/run/a,b";
	self->p.shared_dir = "/s,x";
	self->p.sandbox_id = "id,guest=evil";
	self->v = qemu_build_argv(&self->p, &self->h, &self->err);
	ASSERT_NE(NULL, self->v);
	EXPECT_LE(0, find_pair(self->v, "-name", "sandbox-id,,guest=evil"));
	EXPECT_LE(0, find_pair(self->v, "-qmp",
			       "unix:/run/a,,b/qmp.sock,server=on,wait=off"));
	EXPECT_LE(0, find_pair(self->v, "-fsdev",
			       "local,id=fs0,path=/"
			       "s,,x,security_model=none,multidevs=remap"));
}

/* ---- TSC ------------------------------------------------------------- */

/* QEMU's environment: ours, GLib's slices as malloc unless we chose. */
TEST(qemu_env_slices_as_malloc)
{
	char *base[] = { "PATH=/bin", "HOME=/", NULL };
	char *own[] = { "G_SLICE=debug-blocks", "PATH=/bin", NULL };
	char **e = qemu_env(base);

	EXPECT_STREQ("PATH=/bin", e[0]);
	EXPECT_STREQ("HOME=/", e[1]);
	EXPECT_STREQ("G_SLICE=always-malloc", e[2]);
	EXPECT_EQ(NULL, e[3]);
	strv_free(e);
	e = qemu_env(own);
	EXPECT_STREQ("G_SLICE=debug-blocks", e[0]);
	EXPECT_STREQ("PATH=/bin", e[1]);
	EXPECT_EQ(NULL, e[2]);
	strv_free(e);
}

TEST(tsc_parse)
{
	EXPECT_EQ(2596122UL,
		  tsc_khz_parse("processor\t: 0\nvendor_id\t: AuthenticAMD\n"
				"cpu MHz\t\t: 2596.122\ncache size\t: 512 KB\n"
				"processor\t: 1\ncpu MHz\t\t: 1000.000\n"));
	EXPECT_EQ(3000000UL, tsc_khz_parse("cpu MHz : 3000\n"));
	EXPECT_EQ(2596122UL, tsc_khz_parse("cpu MHz\t: 2596.1229\n"));
	EXPECT_EQ(2500UL, tsc_khz_parse("cpu MHz: 2.5"));
	EXPECT_EQ(0UL, tsc_khz_parse("processor : 0\n"));
	EXPECT_EQ(0UL, tsc_khz_parse("cpu MHz\t: unknown\n"));
	EXPECT_EQ(0UL, tsc_khz_parse("cpu MHz 2596\n"));
	EXPECT_EQ(0UL, tsc_khz_parse(""));
	/* Whatever the host says, it is a number or 0. */
	(void)host_tsc_khz();
}

/* ---- children -------------------------------------------------------- */

FIXTURE(tmp)
{
	char dir[64];
	char path[160];
};

FIXTURE_SETUP(tmp)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/husk-hv-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	/* Probes must not read or write the machine's cache. */
	setenv("HUSK_PROBE_CACHE", "", 1);
	log_init(2, LOG_ERROR);
}

FIXTURE_TEARDOWN(tmp)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		TH_LOG("could not remove %s", self->dir);
}

/* A file @name in the temp dir, @head then @body; its path in self->path. */
static const char *tmp_file(FIXTURE_DATA(tmp) * self, const char *name,
			    mode_t mode, const char *head, const char *body)
{
	int fd;

	snprintf(self->path, sizeof(self->path), "%s/%s", self->dir, name);
	fd = open(self->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || write_all(fd, head, strlen(head)) < 0 ||
	    write_all(fd, body, strlen(body)) < 0)
		abort();
	close(fd);
	return self->path;
}

/* An executable script in the temp dir. */
static const char *script(FIXTURE_DATA(tmp) * self, const char *name,
			  const char *body)
{
	return tmp_file(self, name, 0755, "#!/bin/sh\n", body);
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 ? -1 : (long)st.st_size;
}

/* virtiofsd_flavour() in a new process (a new shim): 0 if C flavour. */
static int flavour_in_child(const char *path, const char *want_version)
{
	enum virtiofsd_flavour fl;
	char version[128];
	struct herr err;
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(virtiofsd_flavour(path, &fl, version, sizeof(version),
					&err) == 0 &&
				      fl == VIRTIOFSD_C &&
				      !strcmp(version, want_version)
			      ? 0
			      : 1);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

/*
 * Every pod is a new shim: the daemon's --version is asked once per boot
 * and binary, then read from the cache file; a changed binary is asked
 * again.
 */
TEST_F(tmp, virtiofsd_flavour_cached_across_processes)
{
	char prefix[128], count[160], body[512];
	const char *fake;

	snprintf(prefix, sizeof(prefix), "%s/probe", self->dir);
	setenv("HUSK_PROBE_CACHE", prefix, 1);
	snprintf(count, sizeof(count), "%s/asked", self->dir);
	snprintf(body, sizeof(body),
		 "echo x >>%s\necho 'virtiofsd version 9.9.9'\n", count);
	fake = script(self, "vfsd", body);

	EXPECT_EQ(0, flavour_in_child(fake, "virtiofsd version 9.9.9"));
	EXPECT_EQ(2, file_size(count));
	EXPECT_EQ(0, flavour_in_child(fake, "virtiofsd version 9.9.9"));
	EXPECT_EQ(2, file_size(count)) TH_LOG("asked again despite the cache");

	/* A new binary (another size) is asked. */
	snprintf(body, sizeof(body),
		 "echo x >>%s\necho 'virtiofsd version 9.9.10'\n", count);
	fake = script(self, "vfsd", body);
	EXPECT_EQ(0, flavour_in_child(fake, "virtiofsd version 9.9.10"));
	EXPECT_EQ(4, file_size(count));
	EXPECT_EQ(0, flavour_in_child(fake, "virtiofsd version 9.9.10"));
	EXPECT_EQ(4, file_size(count));
	setenv("HUSK_PROBE_CACHE", "", 1);
}

/* An ELF64 x86-64 file: a PT_LOAD, then a PT_NOTE over @notes. */
static const char *elf_with_notes(FIXTURE_DATA(tmp) * self, const char *name,
				  const unsigned char *notes, size_t n)
{
	unsigned char f[512] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
	unsigned char *ph = f + 64;
	int fd;

	f[16] = 2;
	f[18] = 62;
	f[32] = 64; /* e_phoff */
	f[54] = 56; /* e_phentsize */
	f[56] = 2; /* e_phnum */
	ph[0] = 1; /* PT_LOAD */
	ph[56] = 4; /* PT_NOTE */
	ph[56 + 8] = 176; /* p_offset */
	ph[56 + 32] = (unsigned char)n; /* p_filesz */
	memcpy(f + 176, notes, n);
	snprintf(self->path, sizeof(self->path), "%s/%s", self->dir, name);
	fd = open(self->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, f, 176 + n) < 0)
		abort();
	close(fd);
	return self->path;
}

TEST_F(tmp, kernel_notes)
{
	/* The PVH entry ("Xen" 18), then husk's mb_port note ("husk" 1). */
	static const unsigned char notes[] = {
		4, 0, 0, 0, 8, 0, 0, 0, 18, 0, 0, 0, 'X', 'e', 'n', 0,
		0, 0, 0, 1, 0, 0, 0, 0,
		5, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 'h', 'u', 's', 'k',
		0, 0, 0, 0, 1, 0, 0, 0,
	};
	/* A note whose name runs past the segment. */
	static const unsigned char bad[] = {
		0xff, 0xff, 0xff, 0x7f, 4, 0, 0, 0, 1, 0, 0, 0, 'h', 'u', 's', 'k',
	};
	const char *k = elf_with_notes(self, "vmlinux", notes, sizeof(notes));

	EXPECT_TRUE(kernel_has_note(k, "Xen", 18));
	EXPECT_TRUE(kernel_has_note(k, "husk", KERNEL_NOTE_HUSK_MB_PORT));
	EXPECT_FALSE(kernel_has_note(k, "husk", 2));
	EXPECT_FALSE(kernel_has_note(k, "hus", 1));
	/* Only the first note: no husk note. */
	k = elf_with_notes(self, "old", notes, 24);
	EXPECT_TRUE(kernel_has_note(k, "Xen", 18));
	EXPECT_FALSE(kernel_has_note(k, "husk", KERNEL_NOTE_HUSK_MB_PORT));
	k = elf_with_notes(self, "bad", bad, sizeof(bad));
	EXPECT_FALSE(kernel_has_note(k, "husk", 1));
	/* Not an ELF (a bzImage starts with its boot sector), absent. */
	k = tmp_file(self, "bzImage", 0644, "MZ", "\x01\x02");
	EXPECT_FALSE(kernel_has_note(k, "Xen", 18));
	EXPECT_FALSE(kernel_has_note("/nonexistent/vmlinux", "Xen", 18));
}

/* @pid ends with 0 within 5 s (reaped); then @out_path's text. */
static void reap_and_read(struct __test_metadata *_metadata, pid_t pid,
			  int pidfd, const char *out_path, char *text,
			  size_t cap)
{
	int status, fd;

	EXPECT_EQ(1, hv_pidfd_wait(pidfd, 5000));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	close(pidfd);
	fd = open(out_path, O_RDONLY | O_CLOEXEC);
	ASSERT_LT(0, read(fd, text, cap - 1));
	close(fd);
}

TEST_F(tmp, spawn_passes_only_the_given_fds)
{
	char out_path[160], text[256] = "";
	int out, pidfd = -1, extra;
	const char *sh =
		script(self, "fds.sh", "ls /proc/self/fd; echo err >&2\n");
	char *argv[] = { (char *)sh, NULL };
	pid_t pid;

	snprintf(out_path, sizeof(out_path), "%s/out", self->dir);
	out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT_LE(0, out);
	/* Not CLOEXEC: it must still not leak into the child. */
	extra = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, extra);
	pid = hv_spawn(argv, &out, 1, out, &pidfd, NULL);
	ASSERT_LT(0, pid);
	close(extra);
	close(out);
	reap_and_read(_metadata, pid, pidfd, out_path, text, sizeof(text));
	/* 0 1 2, the one passed as 3, and ls's own directory fd. */
	EXPECT_STREQ("0\n1\n2\n3\n4\nerr\n", text);
}

/* The child gets the environment it is given, not the caller's. */
TEST_F(tmp, spawn_env_is_the_given_one)
{
	char out_path[160], text[128] = "";
	int out, pidfd = -1;
	const char *sh = script(self, "env.sh",
				"echo \"${G_SLICE-unset} ${HOME-unset}\"\n");
	char *argv[] = { (char *)sh, NULL };
	char *envp[] = { "G_SLICE=always-malloc", NULL };
	pid_t pid;

	snprintf(out_path, sizeof(out_path), "%s/out", self->dir);
	out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT_LE(0, out);
	setenv("HOME", "/root", 1);
	pid = hv_spawn_env(argv, envp, NULL, 0, out, &pidfd, NULL);
	ASSERT_LT(0, pid);
	close(out);
	reap_and_read(_metadata, pid, pidfd, out_path, text, sizeof(text));
	EXPECT_STREQ("always-malloc unset\n", text);
}

TEST_F(tmp, pidfd_wait_times_out_without_reaping)
{
	char *argv[] = { "/bin/sleep", "5", NULL };
	int pidfd = -1, status;
	long long t0 = now_ms();
	pid_t pid = hv_spawn(argv, NULL, 0, -1, &pidfd, NULL);

	ASSERT_LT(0, pid);
	EXPECT_EQ(0, hv_pidfd_wait(pidfd, 100));
	EXPECT_GE(now_ms() - t0, 100);
	kill(pid, SIGKILL);
	EXPECT_EQ(1, hv_pidfd_wait(pidfd, 5000));
	/* Still ours to reap. */
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	close(pidfd);
}

TEST_F(tmp, file_tail_is_one_line)
{
	char out[64];

	tmp_file(self, "log", 0644, "", "first\nsecond\r\n\x1b[0mthird\n\n");
	hv_file_tail(self->path, 200, out, sizeof(out));
	EXPECT_STREQ("first | second | ?[0mthird", out);
	hv_file_tail(self->path, 12, out, sizeof(out));
	EXPECT_STREQ("?[0mthird", out);
	hv_file_tail(self->path, 200, out, 8);
	EXPECT_STREQ("first", out);
	hv_file_tail("/nonexistent", 200, out, sizeof(out));
	EXPECT_STREQ("", out);
}

/* The warnings hv_warn_stopped_alone() writes for each wait status. */
static void stopped_alone_log(FIXTURE_DATA(tmp) * self, int status, char *text,
			      size_t cap)
{
	char log_path[160];
	int fd;
	ssize_t n;

	snprintf(log_path, sizeof(log_path), "%s/warn", self->dir);
	fd = open(log_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		abort();
	log_init(fd, LOG_WARN);
	hv_warn_stopped_alone("s1", "qemu", status, self->path);
	log_init(2, LOG_ERROR);
	n = pread(fd, text, cap - 1, 0);
	text[n > 0 ? n : 0] = '\0';
	close(fd);
}

TEST_F(tmp, stopped_alone_warns_only_about_news)
{
	char text[1024];

	tmp_file(self, "qemu.log", 0644, "", "qemu: guest went away\n");
	/* A clean exit, our own SIGKILL, a status not known: quiet. */
	stopped_alone_log(self, 0, text, sizeof(text));
	EXPECT_STREQ("", text);
	stopped_alone_log(self, SIGKILL, text, sizeof(text));
	EXPECT_STREQ("", text);
	stopped_alone_log(self, -1, text, sizeof(text));
	EXPECT_STREQ("", text);
	/* An exit status or another signal: the cause and the log's tail. */
	stopped_alone_log(self, 3 << 8, text, sizeof(text));
	EXPECT_NE(NULL, strstr(text, "level=warning"));
	EXPECT_NE(NULL, strstr(text, "sandbox s1: the VM had stopped on its "
				     "own: qemu exited with status 3: "
				     "qemu: guest went away"));
	stopped_alone_log(self, SIGSEGV, text, sizeof(text));
	EXPECT_NE(NULL, strstr(text, "qemu was killed by signal 11"));
}

TEST_F(tmp, probe_with_fake_qemus)
{
	struct herr why;
	long long ms = -1, t0;

	/* The test guest's exit: isa-debug-exit, code (0x2a << 1) | 1. */
	EXPECT_TRUE(hv_probe_guest(script(self, "good", "exit 85\n"), "kvm",
				   &ms, &why));
	EXPECT_LE(0, ms);
	EXPECT_FALSE(hv_probe_guest(script(self, "bad",
					   "echo 'Could not access KVM kernel "
					   "module' >&2; exit 1\n"),
				    "kvm", &ms, &why));
	EXPECT_STREQ("test guest under kvm: qemu exited with status 1: Could "
		     "not access KVM kernel module",
		     why.msg);
	/* Guests that never progress: bounded by the probe's timeout. */
	t0 = now_ms();
	EXPECT_FALSE(hv_probe_guest(script(self, "hang", "exec sleep 60\n"),
				    "kvm", &ms, &why));
	EXPECT_LT(now_ms() - t0, 6000);
	EXPECT_NE(NULL, strstr(why.msg, "did not finish within 3000 ms"))
	TH_LOG("%s", why.msg);
	EXPECT_FALSE(hv_probe_guest("/nonexistent/qemu", "tcg", &ms, &why));
	EXPECT_STREQ("cannot run /nonexistent/qemu", why.msg);
	/* The sandbox probe is the TCG guest with -sandbox. */
	EXPECT_TRUE(qemu_sandbox_usable(
		script(self, "sb",
		       "case \"$*\" in *-sandbox*) exit 85;; esac; exit 1\n"),
		&why));
}

/* The real KVM probe: whatever the answer, quickly and with a reason. */
TEST_F(tmp, kvm_usable_is_bounded)
{
	struct herr why = { 0 };
	long long t0 = now_ms();
	bool ok;

	if (access("/usr/bin/qemu-system-x86_64", X_OK))
		SKIP(return, "no qemu-system-x86_64");
	ok = kvm_usable("/usr/bin/qemu-system-x86_64", &why);
	EXPECT_LT(now_ms() - t0, 6000);
	if (!ok)
		EXPECT_NE(0, why.msg[0]);
	TH_LOG("kvm usable: %d (%s)", ok, ok ? "" : why.msg);
	/* Cached: the second answer is immediate and the same. */
	t0 = now_ms();
	EXPECT_EQ(ok, kvm_usable("/usr/bin/qemu-system-x86_64", NULL));
	EXPECT_LT(now_ms() - t0, 50);
}

/* ---- the probe cache: one answer per binary, shared by every shim ---- */

/*
 * A fake QEMU @name whose -sandbox test guest finishes (or, @works false,
 * fails), counting its runs in <dir>/n-@name after waiting for <dir>/go
 * when @wait_go; its path in @out.
 */
static void fake_qemu(FIXTURE_DATA(tmp) * self, const char *name, bool works,
		      bool wait_go, char *out, size_t cap)
{
	char body[512];

	snprintf(body, sizeof(body),
		 "%secho x >>%s/n-%s\n"
		 "case \"$*\" in *-sandbox*) exit %d;; esac; exit 1\n",
		 wait_go ? "while [ ! -e \"$(dirname \"$0\")/go\" ]; do "
			   "sleep 0.01; done\n"
			 : "",
		 self->dir, name, works ? 85 : 1);
	snprintf(out, cap, "%s", script(self, name, body));
}

/* How many times fake QEMU @name ran. */
static long runs(FIXTURE_DATA(tmp) * self, const char *name)
{
	char path[200];
	long n;

	snprintf(path, sizeof(path), "%s/n-%s", self->dir, name);
	n = file_size(path);
	return n < 0 ? 0 : n / 2;
}

/* qemu_sandbox_usable() in a new process, as a new shim: 0 when usable. */
static pid_t sandbox_child_start(const char *qemu)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(qemu_sandbox_usable(qemu, NULL) ? 0 : 1);
	return pid;
}

static int sandbox_in_child(const char *qemu)
{
	pid_t pid = sandbox_child_start(qemu);
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int file_lines(const char *path)
{
	char buf[1 << 16];
	ssize_t n = read_file_str(path, buf, sizeof(buf));
	int lines = 0;

	for (ssize_t i = 0; i < n; i++)
		lines += buf[i] == '\n';
	return n < 0 ? -1 : lines;
}

/*
 * Two QEMUs in turn (two runtime classes, or a test alternating
 * wrappers): each is probed once, whichever shim asks; a changed binary
 * is probed again, the other keeps its answer; a failure is kept too.
 */
TEST_F(tmp, probe_cache_one_answer_per_binary)
{
	char prefix[128], a[160], b[160], c[160], file[160], body[512];
	struct herr why;

	snprintf(prefix, sizeof(prefix), "%s/probe", self->dir);
	setenv("HUSK_PROBE_CACHE", prefix, 1);
	fake_qemu(self, "qa", true, false, a, sizeof(a));
	fake_qemu(self, "qb", true, false, b, sizeof(b));
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(0, sandbox_in_child(a));
		EXPECT_EQ(0, sandbox_in_child(b));
	}
	EXPECT_EQ(1, runs(self, "qa"));
	EXPECT_EQ(1, runs(self, "qb"));
	snprintf(file, sizeof(file), "%s-sandbox", prefix);
	EXPECT_EQ(2, file_lines(file));
	/* One process asking about both: no probe either. */
	for (int i = 0; i < 2; i++) {
		EXPECT_TRUE(qemu_sandbox_usable(a, NULL));
		EXPECT_TRUE(qemu_sandbox_usable(b, NULL));
	}
	EXPECT_EQ(1, runs(self, "qa"));
	EXPECT_EQ(1, runs(self, "qb"));

	/* A new binary at the same path (another size): probed again. */
	snprintf(body, sizeof(body),
		 "echo x >>%s/n-qa\n# a new build\n"
		 "case \"$*\" in *-sandbox*) exit 85;; esac; exit 1\n",
		 self->dir);
	script(self, "qa", body);
	EXPECT_EQ(0, sandbox_in_child(a));
	EXPECT_EQ(2, runs(self, "qa"));
	EXPECT_EQ(0, sandbox_in_child(b));
	EXPECT_EQ(1, runs(self, "qb"));
	EXPECT_TRUE(qemu_sandbox_usable(a, NULL));
	EXPECT_EQ(2, runs(self, "qa"))
	TH_LOG("this process kept the old answer");
	/* The same bytes written again in place (same size, same inode). */
	usleep(20 * 1000);
	script(self, "qa", body);
	EXPECT_EQ(0, sandbox_in_child(a));
	EXPECT_EQ(3, runs(self, "qa"));
	EXPECT_EQ(2, file_lines(file)) TH_LOG("the old line of qa stayed");

	/* A QEMU whose -sandbox fails: the reason is kept, not re-probed. */
	fake_qemu(self, "qc", false, false, c, sizeof(c));
	EXPECT_EQ(1, sandbox_in_child(c));
	EXPECT_EQ(1, sandbox_in_child(c));
	EXPECT_EQ(1, runs(self, "qc"));
	EXPECT_FALSE(qemu_sandbox_usable(c, &why));
	EXPECT_NE(NULL, strstr(why.msg, "cached for this boot in"))
	TH_LOG("%s", why.msg);
	EXPECT_NE(NULL, strstr(why.msg, "qemu exited with status 1"));
	EXPECT_EQ(0, sandbox_in_child(a));
	EXPECT_EQ(0, sandbox_in_child(b));
	EXPECT_EQ(3, runs(self, "qa"));
	EXPECT_EQ(1, runs(self, "qb"));
	setenv("HUSK_PROBE_CACHE", "", 1);
}

/* The file keeps the newest HV_CACHE_ENTRIES binaries, no more. */
TEST_F(tmp, probe_cache_is_bounded)
{
	char prefix[128], file[160], name[16], q[HV_CACHE_ENTRIES + 2][160];
	const int n = HV_CACHE_ENTRIES + 2;

	snprintf(prefix, sizeof(prefix), "%s/probe", self->dir);
	setenv("HUSK_PROBE_CACHE", prefix, 1);
	snprintf(file, sizeof(file), "%s-sandbox", prefix);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "q%d", i);
		fake_qemu(self, name, true, false, q[i], sizeof(q[i]));
		EXPECT_EQ(0, sandbox_in_child(q[i]));
	}
	EXPECT_EQ(HV_CACHE_ENTRIES, file_lines(file));
	/* The newest are answered from the file, the two oldest are not. */
	for (int i = n - 1; i >= 0; i--) {
		snprintf(name, sizeof(name), "q%d", i);
		EXPECT_EQ(0, sandbox_in_child(q[i]));
		EXPECT_EQ(i < 2 ? 2 : 1, runs(self, name)) TH_LOG("q%d", i);
	}
	EXPECT_EQ(HV_CACHE_ENTRIES, file_lines(file));
	setenv("HUSK_PROBE_CACHE", "", 1);
}

/*
 * Shims that start together and probe different QEMUs at once: every
 * answer is in the file afterwards (no writer's line lost to another's
 * rename), and none is probed again.
 */
TEST_F(tmp, probe_cache_concurrent_shims)
{
	char prefix[128], file[160], name[16], go[160], q[6][160];
	pid_t pid[6];
	int status, fd;

	snprintf(prefix, sizeof(prefix), "%s/probe", self->dir);
	setenv("HUSK_PROBE_CACHE", prefix, 1);
	snprintf(file, sizeof(file), "%s-sandbox", prefix);
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "q%d", i);
		fake_qemu(self, name, true, true, q[i], sizeof(q[i]));
	}
	for (int i = 0; i < 6; i++)
		pid[i] = sandbox_child_start(q[i]);
	/* All six wait inside their probe: release them together. */
	usleep(300 * 1000);
	snprintf(go, sizeof(go), "%s/go", self->dir);
	fd = open(go, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ASSERT_LE(0, fd);
	close(fd);
	for (int i = 0; i < 6; i++) {
		ASSERT_LT(0, pid[i]);
		ASSERT_EQ(pid[i], waitpid(pid[i], &status, 0));
		EXPECT_EQ(0, status);
	}
	EXPECT_EQ(6, file_lines(file));
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "q%d", i);
		EXPECT_EQ(0, sandbox_in_child(q[i]));
		EXPECT_EQ(1, runs(self, name)) TH_LOG("q%d probed again", i);
	}
	setenv("HUSK_PROBE_CACHE", "", 1);
}

/*
 * The read-modify-write is under <file>.lock: a shim that finished its
 * probe while another writes waits for it and keeps the other's line; a
 * lock held too long costs the cache, never the shim's start.
 */
TEST_F(tmp, probe_cache_writers_take_turns)
{
	char prefix[128], file[160], lock[170], tmp[180], a[160], b[160];
	char key[HV_CACHE_KEY_MAX], line[512], text[64];
	long long t0;
	pid_t pid;
	int lfd, fd, status;
	bool ok;

	snprintf(prefix, sizeof(prefix), "%s/probe", self->dir);
	setenv("HUSK_PROBE_CACHE", prefix, 1);
	snprintf(file, sizeof(file), "%s-sandbox", prefix);
	snprintf(lock, sizeof(lock), "%s.lock", file);
	fake_qemu(self, "qa", true, false, a, sizeof(a));
	fake_qemu(self, "qb", true, false, b, sizeof(b));

	/* Another writer holds the lock while qa's shim probes. */
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, flock(lfd, LOCK_EX));
	pid = sandbox_child_start(a);
	ASSERT_LT(0, pid);
	usleep(400 * 1000);
	EXPECT_EQ(1, runs(self, "qa"));
	EXPECT_EQ(-1, file_lines(file)) TH_LOG("written under another's lock");
	/* ... and writes qb's answer, as hv_cache_store() does. */
	ASSERT_TRUE(hv_cache_key(b, key, sizeof(key)));
	snprintf(line, sizeof(line), "%s\t1\t%s\tfrom the other\n", key, b);
	snprintf(tmp, sizeof(tmp), "%s.x", file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_all(fd, line, strlen(line)));
	close(fd);
	ASSERT_EQ(0, rename(tmp, file));
	ASSERT_EQ(0, flock(lfd, LOCK_UN));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	/* Both lines, newest first: nothing lost. */
	EXPECT_EQ(2, file_lines(file));
	EXPECT_EQ(1, hv_cache_lookup("sandbox", b, &ok, text, sizeof(text)));
	EXPECT_STREQ("from the other", text);
	EXPECT_EQ(1, hv_cache_lookup("sandbox", a, &ok, text, sizeof(text)));
	EXPECT_TRUE(ok);

	/* A lock never released: qb is probed, answered, not written. */
	ASSERT_EQ(0, unlink(file));
	ASSERT_EQ(0, flock(lfd, LOCK_EX));
	t0 = now_ms();
	EXPECT_EQ(0, sandbox_in_child(b));
	EXPECT_LT(now_ms() - t0, 5000);
	EXPECT_EQ(1, runs(self, "qb")) TH_LOG("its line was not used");
	EXPECT_EQ(-1, file_lines(file));
	close(lfd);
	setenv("HUSK_PROBE_CACHE", "", 1);
}

/* An empty file @dir/@name, made with its directories. */
static void touch_in(FIXTURE_DATA(tmp) * self, const char *name, mode_t mode)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s/%s')\"", self->dir,
		 name);
	if (system(cmd))
		abort();
	tmp_file(self, name, mode, "", "");
}

/*
 * The firmware: qboot beside QEMU (the data dir of its real binary, found
 * through a symlink), else in QEMU's built-in data dir (a wrapper script's
 * QEMU), else none; never on microvm unless configured; a configured one
 * must exist, named with its key when it does not.
 */
TEST_F(tmp, firmware_qboot_present_absent_explicit)
{
	struct husk_config cfg;
	struct herr err;
	char qemu[160], link[160], want[192], data[160], empty[160];
	char *fw;

	touch_in(self, "opt/bin/qemu-system-x86_64", 0755);
	snprintf(qemu, sizeof(qemu), "%s/opt/bin/qemu-system-x86_64",
		 self->dir);
	snprintf(link, sizeof(link), "%s/qemu-link", self->dir);
	ASSERT_EQ(0, symlink(qemu, link));
	snprintf(empty, sizeof(empty), "%s/empty", self->dir);
	ASSERT_EQ(0, mkdir(empty, 0755));
	touch_in(self, "data/qboot.rom", 0644);
	snprintf(data, sizeof(data), "%s/data", self->dir);

	/* Absent beside QEMU and in the data dir: QEMU's default. */
	EXPECT_EQ(NULL, qemu_find_qboot(qemu, empty));
	EXPECT_EQ(NULL, qemu_find_qboot(qemu, NULL));
	/* A wrapper script's QEMU finds it in its data dir. */
	fw = qemu_find_qboot(qemu, data);
	snprintf(want, sizeof(want), "%s/data/qboot.rom", self->dir);
	EXPECT_STREQ(want, fw);
	free(fw);
	/* Beside QEMU wins, through the symlink, as a clean path. */
	touch_in(self, "opt/share/qemu/qboot.rom", 0644);
	snprintf(want, sizeof(want), "%s/opt/share/qemu/qboot.rom", self->dir);
	fw = qemu_find_qboot(link, data);
	EXPECT_STREQ(want, fw);
	free(fw);
	EXPECT_EQ(NULL, qemu_find_qboot("/nonexistent/qemu", empty));

	config_defaults(&cfg);
	free(cfg.hypervisor_path);
	cfg.hypervisor_path = xstrdup(qemu);
	/* microvm: its own firmware (bios-microvm.bin is qboot). */
	ASSERT_EQ(0, qemu_firmware(&cfg, &fw, &err));
	EXPECT_EQ(NULL, fw);
	free(cfg.machine_type);
	cfg.machine_type = xstrdup("q35");
	ASSERT_EQ(0, qemu_firmware(&cfg, &fw, &err)) TH_LOG("%s", err.msg);
	EXPECT_STREQ(want, fw);
	free(fw);
	free(cfg.machine_type);
	cfg.machine_type = xstrdup("pc");
	ASSERT_EQ(0, qemu_firmware(&cfg, &fw, &err));
	EXPECT_STREQ(want, fw);
	free(fw);

	/* A guest without ACPI: qboot would leave its PCI BARs to a guess. */
	free(cfg.kernel_params);
	cfg.kernel_params = xstrdup("quiet acpi=off");
	fw = (char *)"untouched";
	ASSERT_EQ(0, qemu_firmware(&cfg, &fw, &err));
	EXPECT_EQ(NULL, fw);
	free(cfg.kernel_params);
	cfg.kernel_params = xstrdup("xacpi=off acpi=offx");
	ASSERT_EQ(0, qemu_firmware(&cfg, &fw, &err));
	EXPECT_STREQ(want, fw);
	free(fw);

	/* Configured: that file, on every machine. */
	cfg.firmware = path_join(data, "qboot.rom");
	ASSERT_EQ(0, qemu_firmware(&cfg, &fw, &err)) TH_LOG("%s", err.msg);
	EXPECT_STREQ(cfg.firmware, fw);
	free(fw);
	free(cfg.machine_type);
	cfg.machine_type = xstrdup("microvm");
	ASSERT_EQ(0, qemu_firmware(&cfg, &fw, &err));
	EXPECT_STREQ(cfg.firmware, fw);
	free(fw);

	/* Configured but missing: an error with the key and the path. */
	free(cfg.firmware);
	cfg.firmware = xstrdup("/nonexistent/bios-256k.bin");
	fw = (char *)"untouched";
	ASSERT_EQ(-1, qemu_firmware(&cfg, &fw, &err));
	EXPECT_EQ(NULL, fw);
	EXPECT_STREQ("firmware /nonexistent/bios-256k.bin: No such file or "
		     "directory",
		     err.msg);
	/* A directory is no firmware either. */
	free(cfg.firmware);
	cfg.firmware = xstrdup(empty);
	ASSERT_EQ(-1, qemu_firmware(&cfg, &fw, &err));
	EXPECT_NE(NULL, strstr(err.msg, "not a regular file"))
	TH_LOG("%s", err.msg);
	config_free(&cfg);
}

static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

TEST_F(tmp, vm_start_failures_leave_nothing)
{
	struct husk_config cfg;
	struct vm_params p = { 0 };
	struct vm *vm = NULL;
	struct herr err;
	char run[128], kernel[128], initrd[128];
	int fd;

	snprintf(run, sizeof(run), "%s/run", self->dir);
	ASSERT_EQ(0, mkdir(run, 0700));
	snprintf(kernel, sizeof(kernel), "%s/vmlinux", self->dir);
	snprintf(initrd, sizeof(initrd), "%s/initrd", self->dir);
	fd = open(kernel, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ASSERT_LE(0, fd);
	close(fd);
	config_defaults(&cfg);
	free(cfg.kernel);
	free(cfg.initrd);
	free(cfg.accel);
	cfg.kernel = xstrdup(kernel);
	cfg.initrd = xstrdup(initrd);
	cfg.accel = xstrdup("tcg");
	cfg.shared_fs = SHARED_FS_NONE;
	p.cfg = &cfg;
	p.sandbox_id = "t";
	p.run_dir = run;
	p.console_fd = -1;

	/* A missing initrd is named before anything starts. */
	ASSERT_EQ(-1, vm_start(&p, &vm, &err));
	EXPECT_NE(NULL, strstr(err.msg, initrd)) TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, "No such file or directory"));
	EXPECT_EQ(0, dir_entries(run));

	/* QEMU that refuses its arguments: its message is quoted. */
	fd = open(initrd, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ASSERT_LE(0, fd);
	close(fd);

	/* A configured firmware that is not there: named, nothing runs. */
	cfg.firmware = xstrdup("/nonexistent/qboot.rom");
	ASSERT_EQ(-1, vm_start(&p, &vm, &err));
	EXPECT_STREQ("firmware /nonexistent/qboot.rom: No such file or "
		     "directory",
		     err.msg);
	EXPECT_EQ(0, dir_entries(run));
	free(cfg.firmware);
	cfg.firmware = NULL;

	free(cfg.hypervisor_path);
	cfg.hypervisor_path =
		xstrdup(script(self, "qemu",
			       "echo \"qemu-system-x86_64: -initrd $0: could "
			       "not load initrd\" >&2\n"
			       "exit 1\n"));
	ASSERT_EQ(-1, vm_start(&p, &vm, &err));
	EXPECT_NE(NULL,
		  strstr(err.msg, "VM failed to start: qemu exited with status "
				  "1: qemu-system-x86_64: -initrd"))
	TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, "could not load initrd"));
	EXPECT_EQ(0, dir_entries(run));
	EXPECT_EQ(-1, waitpid(-1, NULL, WNOHANG));
	EXPECT_EQ(ECHILD, errno);

	/* QEMU that never opens its QMP socket: killed at the deadline. */
	free(cfg.hypervisor_path);
	cfg.hypervisor_path =
		xstrdup(script(self, "qemu2",
			       "case \"$*\" in *-sandbox*) exit 1;; esac\n"
			       "echo started >&2; exec sleep 60\n"));
	ASSERT_EQ(-1, vm_start(&p, &vm, &err));
	EXPECT_NE(NULL, strstr(err.msg, "no QMP socket within 10 s: started"))
	TH_LOG("%s", err.msg);
	EXPECT_EQ(0, dir_entries(run));
	EXPECT_EQ(-1, waitpid(-1, NULL, WNOHANG));
	config_free(&cfg);
}

/*
 * A QMP peer that speaks for QEMU (python3): it refuses every DIMM,
 * accepts a vCPU but (being no guest) never sends its ACPI _OST, and
 * logs each command to qmp.log.
 */
static const char fake_qmp_qemu[] =
	"case \"$*\" in *-sandbox*) exit 1;; esac\n"
	"exec /usr/bin/python3 - \"$@\" <<'EOF'\n"
	"import json, os, socket, sys\n"
	"a = sys.argv[sys.argv.index('-qmp') + 1]\n"
	"path = a[len('unix:'):].split(',')[0]\n"
	"log = open(os.path.join(os.path.dirname(os.path.dirname(path)),"
	" 'qmp.log'), 'w', buffering=1)\n"
	"s = socket.socket(socket.AF_UNIX)\n"
	"s.bind(path)\n"
	"s.listen(1)\n"
	"c, _ = s.accept()\n"
	"f = c.makefile('rw', buffering=1)\n"
	"f.write('{\"QMP\": {\"version\": {}}}\\n')\n"
	"for line in f:\n"
	"    cmd = json.loads(line)\n"
	"    log.write(line)\n"
	"    args = cmd.get('arguments', {})\n"
	"    if args.get('driver') == 'pc-dimm':\n"
	"        f.write('{\"error\": {\"class\": \"GenericError\", '\n"
	"                '\"desc\": \"fake: no room for the DIMM\"}}\\n')\n"
	"    else:\n"
	"        f.write('{\"return\": {}}\\n')\n"
	"EOF\n";

/* QEMU refuses a hotplug, a guest never takes one: clear errors, and
 * nothing QEMU refused is left (the DIMM's memory backend is deleted). */
TEST_F(tmp, resize_faults)
{
	struct husk_config cfg;
	struct vm_params p = { 0 };
	struct vm *vm = NULL;
	struct herr err;
	char run[128], kernel[128], qlog[160], cmds[4096];
	unsigned int mem, cpus;
	int fd;

	if (access("/usr/bin/python3", X_OK))
		SKIP(return, "no /usr/bin/python3 for the fake QMP peer");
	snprintf(run, sizeof(run), "%s/run", self->dir);
	ASSERT_EQ(0, mkdir(run, 0700));
	snprintf(kernel, sizeof(kernel), "%s/vmlinux", self->dir);
	fd = open(kernel, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ASSERT_LE(0, fd);
	close(fd);
	config_defaults(&cfg);
	free(cfg.kernel);
	free(cfg.initrd);
	free(cfg.accel);
	free(cfg.machine_type);
	cfg.kernel = xstrdup(kernel);
	cfg.initrd = xstrdup(kernel);
	cfg.accel = xstrdup("tcg");
	cfg.machine_type = xstrdup("q35");
	cfg.shared_fs = SHARED_FS_NONE;
	free(cfg.hypervisor_path);
	cfg.hypervisor_path = xstrdup(script(self, "qemu", fake_qmp_qemu));
	p.cfg = &cfg;
	p.sandbox_id = "t";
	p.run_dir = run;
	p.console_fd = -1;
	p.max_mem_mib = 2048;
	p.max_vcpus = 4;
	ASSERT_EQ(0, vm_start(&p, &vm, &err)) TH_LOG("%s", err.msg);
	EXPECT_TRUE(vm_can_hotplug(vm));

	/* Above what QEMU was started with: refused before asking it. */
	EXPECT_EQ(-1, vm_resize(vm, 4096, 1, 2000, &err));
	EXPECT_NE(NULL, strstr(err.msg, "above what it was started to grow "
					"to (2048 MiB, 4 vCPUs)"))
	TH_LOG("%s", err.msg);

	/* QEMU refuses the DIMM: its message, the backend deleted. */
	EXPECT_EQ(-1, vm_resize(vm, 512, 1, 5000, &err));
	EXPECT_NE(NULL, strstr(err.msg, "VM t: add 256 MiB of memory: qemu "
					"refused a QMP command"))
	TH_LOG("%s", err.msg);
	EXPECT_NE(NULL, strstr(err.msg, "fake: no room for the DIMM"));
	vm_size(vm, &mem, &cpus);
	EXPECT_EQ(256U, mem);
	EXPECT_EQ(1U, cpus);

	/* Under TCG the vCPUs are there, offline: none is hot-added. */
	EXPECT_EQ(0, vm_resize(vm, 256, 3, 1500, &err)) TH_LOG("%s", err.msg);
	vm_size(vm, &mem, &cpus);
	EXPECT_EQ(3U, cpus);

	snprintf(qlog, sizeof(qlog), "%s/qmp.log", self->dir);
	ASSERT_LT(0, read_file_str(qlog, cmds, sizeof(cmds)));
	EXPECT_NE(NULL, strstr(cmds, "\"qom-type\":\"memory-backend-memfd\","
				     "\"id\":\"hmem0\",\"size\":268435456"));
	EXPECT_NE(NULL, strstr(cmds, "\"execute\":\"object-del\",\"arguments"
				     "\":{\"id\":\"hmem0\"}"))
	TH_LOG("%s", cmds);
	EXPECT_EQ(NULL, strstr(cmds, "x86_64-cpu")) TH_LOG("%s", cmds);
	vm_stop(vm, false, 0, &err);
	vm_free(vm);
	EXPECT_EQ(0, dir_entries(run));

	/* With KVM a vCPU the guest never takes: an error at the deadline. */
	free(cfg.accel);
	cfg.accel = xstrdup("kvm");
	ASSERT_EQ(0, vm_start(&p, &vm, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(-1, vm_resize(vm, 256, 2, 1500, &err));
	EXPECT_NE(NULL, strstr(err.msg, "add vCPU 1: the guest did not take "
					"cpu1 in time (no ACPI _OST answer)"))
	TH_LOG("%s", err.msg);
	ASSERT_LT(0, read_file_str(qlog, cmds, sizeof(cmds)));
	EXPECT_NE(NULL, strstr(cmds, "\"driver\":\"host-x86_64-cpu\",\"id\":"
				     "\"cpu1\",\"socket-id\":1"))
	TH_LOG("%s", cmds);
	vm_stop(vm, false, 0, &err);
	vm_free(vm);
	EXPECT_EQ(0, dir_entries(run));
	config_free(&cfg);
}

TEST_HARNESS_MAIN
