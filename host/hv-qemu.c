// SPDX-License-Identifier: Apache-2.0
/*
 * The QEMU driver: one QEMU child per pod, its argv built from the
 * configuration (no shell), started paused (-S) so that QMP is connected
 * before the guest runs and no event is missed, then resumed.
 *
 *   machine   microvm (default: fastest boot) or q35/pc (needed for the
 *             nvdimm that carries a DAX rootfs image; microvm has none)
 *   firmware  the configured one, else on q35/pc qboot where QEMU keeps
 *             it (qemu_firmware), else QEMU's default (SeaBIOS)
 *   accel     KVM when a test guest really runs under it (hv-probe.c),
 *             else TCG with a warning; -cpu host only with KVM; under
 *             TCG a 1-vCPU VM's virtio barriers are port writes with
 *             husk's kernel, else it has a second vCPU (never started)
 *             so that they are kept (tcg_needs_second_cpu),
 *             and a q35/pc VM that may grow has every vCPU from the
 *             start, offline until onlined (tcg_vcpus_precreated)
 *   agent     virtio-serial port agent.channel.0 on <run_dir>/agent.sock
 *             (PCI, also on microvm), or vhost-vsock (port 1024) where
 *             /dev/vhost-vsock exists
 *   shared    9p "kataShared" from the shared dir, or virtio-fs through
 *             virtiofsd on <run_dir>/vhost-fs.sock (needs shared memory)
 *   console   ttyS0 to the caller's fd, else <run_dir>/console.log
 *   QMP       <run_dir>/qmp.sock: resume, VSERPORT_CHANGE, quit
 *   memory    TCG's code cache capped (tcg_tb_size), and a virtio-balloon
 *             that only reports freed guest pages back to the host
 *
 * QEMU's own messages go to <run_dir>/hypervisor.log and are quoted in
 * every error, so "could not load initrd" reaches the operator.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/vhost.h>
#include <linux/vm_sockets.h>

#include "hv.h"
#include "kconfig.h"
#include "log.h"
#include "path.h"
#include "util.h"
#include "virtiofsd.h"

#define QMP_TIMEOUT_MS 10000
/* QMP's socket bound but not yet listening: retried this often, at most
 * this many times, before the caller's next try. */
#define QMP_REFUSED_WAIT_US 200
#define QMP_REFUSED_TRIES 10
#define QEMU_KILL_WAIT_MS 5000
#define AGENT_PORT_ID "channel0"
/* How long one vm_agent_poll() of a Cloud Hypervisor VM may take. */
#define CLH_POLL_MS 100
#define AGENT_PORT_NAME "agent.channel.0"
#define SHARED_TAG "kataShared"
#define QEMU_SANDBOX "on,obsolete=deny,spawn=deny,resourcecontrol=deny"
/* Memory slots: the nvdimm and the DIMMs hotplug adds (Kata uses 10). */
#define MEM_SLOTS 8

enum channel { CH_SERIAL, CH_VSOCK };

/* Where vm_spawn()'s QMP start is (vm_agent_poll() drives it). */
enum qmp_step {
	QMP_READY, /* greeted, capabilities, cont: the guest runs */
	QMP_CONNECT,
	QMP_GREETING,
	QMP_CAPS,
	QMP_CONT,
};

struct vm {
	char *id;
	char *run_dir;
	char *agent_sock, *qmp_sock, *fs_sock, *console_log, *qemu_log;
	bool console_ours; /* console.log is ours to read and remove */
	enum channel channel;
	int vsock_fd; /* holds the guest CID while open */
	unsigned int cid;
	pid_t pid;
	int pidfd;
	struct virtiofsd *fsd; /* shared_fs virtio-fs, or NULL */
	int qmp_fd;
	/* Until QMP is connected: the run directory watched for its socket
	 * (inotify, watch descriptor), and whether the last try found it not
	 * listening yet. */
	int qmp_watch, qmp_wd;
	bool qmp_refused;
	char qmp_buf[8192];
	size_t qmp_len;
	bool port_open; /* VSERPORT_CHANGE open=true seen */
	bool qmp_eof; /* QMP closed: QEMU is exiting (vm_agent_poll) */
	enum qmp_step qmp_step; /* vm_spawn()'s QMP start, not yet done */
	bool exited; /* the owner reaped it (vm_exited) */
	int wait_status;
	bool stopped;
	char desc[160];
	/* hypervisor "clh": every call goes to hv-clh-vm.c. */
	struct clh_vm *clh;
	/* Size and hotplug (vm_resize): what the guest has now and the most
	 * QEMU was told it may get; DIMMs and vCPUs added so far. */
	bool hotplug, kvm, shared_mem;
	/* Under TCG: the vCPUs to grow to are there, offline in the guest. */
	bool vcpus_precreated;
	unsigned int mem_mib, max_mem_mib, vcpus, max_vcpus;
	unsigned int n_dimms;
	char ost_dev[32]; /* last ACPI_DEVICE_OST: device and status */
	int ost_status;
};

/* ---- argv building -------------------------------------------------- */

struct strv {
	char **v;
	size_t n, cap;
};

static void sv_add(struct strv *sv, const char *s)
{
	if (sv->n + 2 > sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 64;
		sv->v = realloc(sv->v, sv->cap * sizeof(*sv->v));
		if (!sv->v)
			abort();
	}
	sv->v[sv->n++] = xstrdup(s);
	sv->v[sv->n] = NULL;
}

__attribute__((format(printf, 2, 3))) static void sv_addf(struct strv *sv,
							  const char *fmt, ...)
{
	char *s;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	sv_add(sv, s);
	free(s);
}

/* QEMU option values separate on ','; a literal comma is written ",,". */
static char *opt_escape(const char *s)
{
	size_t n = 0;
	char *out, *o;

	for (const char *p = s; *p; p++)
		n += *p == ',' ? 2 : 1;
	out = o = xmalloc(n + 1);
	for (const char *p = s; *p; p++) {
		*o++ = *p;
		if (*p == ',')
			*o++ = ',';
	}
	*o = '\0';
	return out;
}

static bool is_microvm(const struct husk_config *cfg)
{
	return !cfg->machine_type || !strcmp(cfg->machine_type, "microvm");
}

/* Devices are virtio-mmio on microvm, PCI elsewhere. */
static const char *virtio_dev(const struct husk_config *cfg, const char *base)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%s-%s", base,
		 is_microvm(cfg) ? "device" : "pci");
	return buf;
}

/*
 * @online: the vCPUs the guest brings up at boot, 0 for all; @mb_port:
 * virtio's full barriers as port writes (tcg_one_vcpu).
 */
static char *kernel_cmdline(const struct husk_config *cfg,
			    const struct qemu_host *h, unsigned int online,
			    bool mb_port)
{
	struct strv sv = { 0 };
	size_t len = 0;
	char *out, *o;

	sv_add(&sv, "console=ttyS0");
	if (!cfg->enable_debug)
		sv_add(&sv, "quiet");
	/* A panicking guest reboots, and -no-reboot turns that into an exit. */
	sv_add(&sv, "panic=-1");
	/*
	 * A normal RCU grace period waits for timer ticks, and a container's
	 * setup waits for some (its mount namespace, the fork of its
	 * process): on a busy host, expedited ones made them 25-30 ms faster
	 * under TCG; quiet, no difference was measured.
	 */
	sv_add(&sv, "rcupdate.rcu_expedited=1");
	/*
	 * Every percpu chunk after the first carries a memcg array of 8
	 * bytes per 4 bytes of its unit, vzalloc'ed: the embedded first
	 * chunk's 1 MiB units (a 2 MiB atom) made it 2 MiB of guest RAM
	 * touched as soon as a container's cgroups filled the first chunk;
	 * page-sized units make it 300 KiB.
	 */
	sv_add(&sv, "percpu_alloc=page");
	/*
	 * TCG's local APIC timer counts QEMU's virtual clock in nanoseconds
	 * (1 GHz) and it offers neither CPUID 0x15 nor the TSC deadline
	 * timer, so the guest would busy-wait 100 ms to measure it. Our
	 * kernel's patch takes the rate from here (kernel/patches/).
	 */
	if (!h->kvm)
		sv_add(&sv, "lapic_timer_khz=1000000");
	/*
	 * A guest that boots one CPU rewrites every LOCK prefix of its
	 * kernel to a plain prefix, one text_poke each, each with a switch
	 * to a temporary mm: under TCG 60-65 ms of the boot (a TCG plugin's
	 * trace), and a grown q35 VM would write them all back.
	 */
	if (!h->kvm)
		sv_add(&sv, "noreplace-smp");
	/*
	 * Under TCG, the TSC's rate from the host: microvm has no HPET/PM
	 * timer (calibration can hang), and on q35/pc calibrating against
	 * the PIT failed under load and fell back to the HPET (40 ms).
	 * There, with a vCPU to hot-add, the guest also took the
	 * (AMD-vendor) TSC as unsynchronized and read its clock from the
	 * HPET, an emulated MMIO; TCG's TSC is one host clock for all vCPUs.
	 */
	if (!h->kvm && h->tsc_khz) {
		sv_addf(&sv, "tsc_early_khz=%lu", h->tsc_khz);
		if (!is_microvm(cfg))
			sv_add(&sv, "tsc=reliable");
	}
	/*
	 * q35/pc have the legacy PIC and PIT, and the guest waits for 5
	 * timer ticks through the IO-APIC before trusting them: 20-23 ms
	 * of every boot under TCG (microvm has no PIC: never checked; KVM
	 * guests skip it themselves).
	 */
	if (!h->kvm && !is_microvm(cfg))
		sv_add(&sv, "no_timer_check");
	/* No journal in the image, so no data= (rootfs-builder/README.md). */
	if (cfg->image)
		sv_add(&sv,
		       "root=/dev/pmem0p1 rootflags=dax ro rootfstype=ext4");
	/* One vCPU translated serially (tcg_one_vcpu): virtio's barriers. */
	if (mb_port)
		sv_add(&sv, "virtio_ring.mb_port=1");
	if (cfg->agent_debug || cfg->enable_debug)
		sv_add(&sv, "agent.log=debug");
	/* The others stay present and offline until onlined (x86). */
	if (online)
		sv_addf(&sv, "maxcpus=%u", online);
	/* The operator's parameters come last so that they win. */
	if (cfg->kernel_params && *cfg->kernel_params)
		sv_add(&sv, cfg->kernel_params);
	for (size_t i = 0; i < sv.n; i++)
		len += strlen(sv.v[i]) + 1;
	out = o = xmalloc(len + 1);
	for (size_t i = 0; i < sv.n; i++)
		o += sprintf(o, "%s%s", i ? " " : "", sv.v[i]);
	*o = '\0';
	strv_free(sv.v);
	return out;
}

/*
 * qboot, where QEMU finds its own data files.  On q35/pc it boots the
 * kernel straight from fw_cfg with QEMU's ACPI tables (the nvdimm's NFIT,
 * the hotplug methods): no POST, no option ROMs, 180 ms less than SeaBIOS
 * to a trivial init's power-off under TCG.
 */
static char *qboot_in(const char *dir)
{
	_cleanup_free_ char *path = path_join(dir, "qboot.rom");

	if (access(path, R_OK) < 0)
		return NULL;
	return realpath(path, NULL);
}

char *qemu_find_qboot(const char *qemu_path, const char *datadir)
{
	_cleanup_free_ char *exe = realpath(qemu_path, NULL);
	_cleanup_free_ char *dir = NULL;
	char *slash = exe ? strrchr(exe, '/') : NULL;
	char *found = NULL;

	if (slash) {
		*slash = '\0';
		dir = path_join(exe, "../share/qemu");
		found = qboot_in(dir);
	}
	if (!found && datadir)
		found = qboot_in(datadir);
	return found;
}

int qemu_firmware(const struct husk_config *cfg, char **out, struct herr *err)
{
	*out = NULL;
	if (cfg->firmware) {
		if (hv_check_file("firmware", cfg->firmware, R_OK, err) < 0)
			return -1;
		*out = xstrdup(cfg->firmware);
		return 0;
	}
	/*
	 * qboot assigns no PCI BARs: Linux does, inside the windows of
	 * QEMU's ACPI tables.  With acpi=off it guessed, put a 64-bit BAR
	 * where DIMMs go, and lost the device when one was plugged
	 * (tests/e2e/resize.sh); SeaBIOS places them itself.
	 */
	if (is_microvm(cfg) || word_in(cfg->kernel_params, "acpi=off"))
		return 0;
	/* Absent, QEMU's default (SeaBIOS) boots it too, only slower. */
	*out = qemu_find_qboot(cfg->hypervisor_path, QEMU_DATADIR);
	return 0;
}

char *qemu_kernel_cmdline(const struct husk_config *cfg,
			  const struct qemu_host *h)
{
	return kernel_cmdline(cfg, h, 0, false);
}

/* The boot size: sizing.h's, else the configuration's defaults. */
static unsigned int boot_mem_mib(const struct vm_params *p)
{
	if (p->mem_mib)
		return p->mem_mib;
	return p->cfg->default_memory ? p->cfg->default_memory : 256;
}

static unsigned int boot_vcpus(const struct vm_params *p)
{
	if (p->vcpus)
		return p->vcpus;
	return p->cfg->default_vcpus ? p->cfg->default_vcpus : 1;
}

/*
 * Under TCG a q35/pc VM that may grow gets every vCPU it may have at start
 * (-smp MAX,maxcpus=MAX), the guest brings up the boot number of them
 * (maxcpus=N) and growing onlines more (vm_resize, the agent's
 * OnlineCPUMem): no vCPU is created later.  QEMU 7.2 then runs a thread
 * per vCPU (MTTCG) translating for parallel vCPUs, the guest's memory
 * barriers kept (tcg_needs_second_cpu).  A vCPU hot-added to MTTCG
 * aborted QEMU 7.2: each vCPU thread takes its first region of the code
 * cache when it is created, a running one may have taken them all by
 * then (tcg_region_initial_alloc__locked: assertion failed, seen in
 * resize.sh).  With KVM, vCPUs are hot-added (ACPI).
 */
static bool tcg_vcpus_precreated(const struct vm_params *p,
				 const struct qemu_host *h)
{
	return !h->kvm && !is_microvm(p->cfg) && p->max_vcpus > boot_vcpus(p);
}

/*
 * QEMU 7.2's count of code cache regions under MTTCG (tcg/region.c,
 * tcg_n_regions): 2 MiB ones, at least one and at most 8 per vCPU thread.
 */
static unsigned int tcg_regions(unsigned int tb_mib, unsigned int threads)
{
	unsigned int n = tb_mib / 2;

	if (threads <= 1)
		return 1;
	if (n <= threads)
		return threads;
	return n < threads * 8 ? n : threads * 8;
}

/*
 * The smallest cache that leaves @want MiB to the running vCPUs when each
 * of @offline idle vCPU threads holds one region it never writes (its
 * pages are never touched: they cost no host memory).  The regions are
 * tb / n, page-aligned down; their 4 KiB guard pages are not counted.
 */
static unsigned int tcg_tb_beside_offline(unsigned int want,
					  unsigned int threads,
					  unsigned int offline)
{
	unsigned int tb;

	for (tb = want; tb < 2048; tb++) {
		unsigned long long kib = (unsigned long long)tb << 10;
		unsigned long long region =
			kib / tcg_regions(tb, threads) / 4 * 4;

		if (kib - offline * region >= (unsigned long long)want << 10)
			break;
	}
	return tb;
}

/*
 * TCG's cache: with a thread per vCPU each translates into its own
 * regions of it, so tcg_tb_size per vCPU (20 MiB by default: 16 flushed
 * twice in a microvm start, 90 ms slower).  A q35/pc VM that may grow
 * gets 11/10 of a share at least (22 MiB by default): its boot translates
 * more code (ACPI, PCI, the nvdimm: 37.6 MB to a container's start
 * against microvm's 32.6), and a DAX start flushed the cache 4 times at
 * 12 MiB (info jit), twice at 20 (100 ms slower than 22), once at 22 and
 * at 24 (22 no slower); and a region for each vCPU that starts offline.
 */
static unsigned int tcg_tb_mib(const struct vm_params *p,
			       const struct qemu_host *h)
{
	unsigned int n = boot_vcpus(p), share = p->cfg->tcg_tb_size;

	if (tcg_vcpus_precreated(p, h))
		return tcg_tb_beside_offline(n < 2 ? share * 11 / 10 : share * n,
					     p->max_vcpus, p->max_vcpus - n);
	return share * n;
}

/* Room for memory hotplug (MiB above the boot size): q35 and pc only. */
static unsigned int hotplug_mem_mib(const struct vm_params *p)
{
	unsigned int mib = boot_mem_mib(p);

	if (is_microvm(p->cfg) || p->max_mem_mib <= mib)
		return 0;
	return p->max_mem_mib - mib;
}

/*
 * -m: DIMMs (hotplug) and the nvdimm need slots and room above RAM; the
 * image's room is rounded up to 1 GiB as QEMU aligns the device area.
 */
static void add_memory(struct strv *sv, const struct vm_params *p,
		       const struct qemu_host *h)
{
	unsigned long long mib = boot_mem_mib(p);
	unsigned long long room = hotplug_mem_mib(p);

	if (p->cfg->image)
		room += ((h->image_size + (1ULL << 30) - 1) >> 30 << 10) + 1024;
	if (room)
		sv_addf(sv, "%lluM,slots=%d,maxmem=%lluM", mib, MEM_SLOTS,
			mib + room);
	else
		sv_addf(sv, "%lluM", mib);
}

/*
 * Under TCG, QEMU 7.2 translates a VM whose maxcpus is 1 for one vCPU
 * thread: it drops the guest's memory barriers (tcg_gen_mb) and turns its
 * locked instructions into plain loads and stores.  But the guest's
 * virtqueues are also read by other host threads (virtiofsd, QEMU's main
 * loop), and Linux's smp_mb() between publishing an index and reading the
 * other side's then orders nothing: now and then a kick or an interrupt
 * is lost and a request waits for ever (a CreateContainer with no reply;
 * tests/e2e/mb-order.sh shows the reordering).  Upstream fixed it in 8.1
 * (c914d46d0a "tcg: Do not elide memory barriers for !CF_PARALLEL in
 * system mode").
 *
 * husk's kernel (its "husk" note, kernel/patches/) can make virtio's full
 * barriers port writes instead (virtio_ring.mb_port=1): QEMU takes its
 * global lock for port I/O, a full barrier on the host.  Then the VM
 * keeps one vCPU, translated serially: 31.5 ms faster to a container's
 * exit (paired median of 24 interleaved rounds, both with
 * noreplace-smp).  Another kernel gets a second possible vCPU, never
 * started, which makes QEMU translate for parallel vCPUs, barriers and
 * atomics included.  One thread for all vCPUs (thread=single) would never
 * be: not used.
 */
static bool tcg_one_vcpu(const struct vm_params *p, const struct qemu_host *h)
{
	return !h->kvm && !tcg_vcpus_precreated(p, h) && boot_vcpus(p) == 1;
}

static bool tcg_needs_second_cpu(const struct vm_params *p,
				 const struct qemu_host *h)
{
	return tcg_one_vcpu(p, h) && !h->mb_port;
}

/*
 * -smp: with KVM, vCPUs to hot-add are possible but absent until QMP adds
 * them; under TCG they are all there, offline (tcg_vcpus_precreated).
 */
static void add_smp(struct strv *sv, const struct vm_params *p,
		    const struct qemu_host *h)
{
	unsigned int n = boot_vcpus(p), m = p->max_vcpus;

	/*
	 * One core per socket: vCPU k is socket-id k (vm_resize).  Under TCG
	 * all are there from the start (tcg_vcpus_precreated).
	 */
	if (!is_microvm(p->cfg) && m > n)
		sv_addf(sv, "%u,maxcpus=%u,sockets=%u,cores=1,threads=1",
			tcg_vcpus_precreated(p, h) ? m : n, m, m);
	else if (tcg_needs_second_cpu(p, h))
		sv_addf(sv, "%u,maxcpus=2", n);
	else
		sv_addf(sv, "%u", n);
}

/*
 * One tap netdev per pod interface, by inherited fd (the shim made the
 * taps in the pod's namespace), and a virtio-net with the interface's own
 * MAC so the CNI's bridge keeps the neighbour entries it learnt.
 */
static void add_nics(struct strv *sv, const struct vm_params *p,
		     const struct qemu_host *h)
{
	for (size_t i = 0; i < p->n_nics; i++) {
		const unsigned char *m = p->nics[i].mac;

		sv_add(sv, "-netdev");
		sv_addf(sv, "tap,id=net%zu,fd=%d,vhost=%s", i,
			h->nic_fd0 + (int)i, h->vhost_net ? "on" : "off");
		/*
		 * romfile=: no iPXE ROM (efi-virtio.rom) read into each
		 * VM's memory for a PXE boot that never happens, nor run
		 * by SeaBIOS at every boot.  virtio-mmio has no ROM.
		 */
		sv_add(sv, "-device");
		sv_addf(sv,
			"%s,netdev=net%zu,mac=%02x:%02x:%02x:%02x:%02x:%02x%s",
			virtio_dev(p->cfg, "virtio-net"), i, m[0], m[1], m[2],
			m[3], m[4], m[5],
			is_microvm(p->cfg) ? "" : ",romfile=");
	}
}

char **qemu_build_argv(const struct vm_params *p, const struct qemu_host *h,
		       struct herr *err)
{
	const struct husk_config *cfg = p->cfg;
	struct strv sv = { 0 };
	bool microvm = is_microvm(cfg);
	bool vfs = cfg->shared_fs == SHARED_FS_VIRTIO_FS;
	_cleanup_free_ char *run = opt_escape(p->run_dir);
	_cleanup_free_ char *id =
		opt_escape(p->sandbox_id ? p->sandbox_id : "vm");
	char *cmdline;

	if (cfg->image && microvm) {
		herr_set(err, GRPC_INVALID_ARGUMENT, 0,
			 "image %s needs machine_type q35 or pc (microvm has "
			 "no nvdimm)",
			 cfg->image);
		return NULL;
	}
	if (cfg->shared_fs != SHARED_FS_NONE && !p->shared_dir) {
		herr_set(err, GRPC_INVALID_ARGUMENT, 0,
			 "shared_fs %s needs a shared directory",
			 config_shared_fs_name(cfg->shared_fs));
		return NULL;
	}
	sv_add(&sv, cfg->hypervisor_path);
	sv_add(&sv, "-name");
	sv_addf(&sv, "sandbox-%s", id);
	sv_add(&sv, "-machine");
	/*
	 * pcie=on: the agent's virtio-serial goes on PCI even on microvm.
	 * On virtio-mmio QEMU 7.2 offers every queue at 1024 entries, and
	 * the guest fills both receive queues (control and the agent's
	 * port) with a page per entry: 8 MiB of an idle pod's RAM.
	 * virtio-serial-pci's queues have 128 entries.
	 */
	if (microvm)
		sv_addf(&sv, "microvm,x-option-roms=off%s%s",
			h->vsock_fd < 0 ? ",pcie=on" : "",
			vfs ? ",memory-backend=mem0" : "");
	else
		/*
		 * q35 without SMM, the AHCI controller and the SMBus: the
		 * firmware has no SMM to set up (SeaBIOS would), and the
		 * guest two PCI functions fewer to probe (no driver in our
		 * kernel uses them).
		 */
		sv_addf(&sv, "%s%s%s%s", cfg->machine_type,
			strcmp(cfg->machine_type, "q35")
				? ""
				: ",smm=off,sata=off,smbus=off",
			cfg->image ? ",nvdimm=on" : "",
			vfs ? ",memory-backend=mem0" : "");
	if (h->firmware) {
		sv_add(&sv, "-bios");
		sv_add(&sv, h->firmware);
	}
	/*
	 * libvhost-user (virtiofsd) refuses legacy virtio: without this
	 * the daemon aborts and the guest hangs.  Every virtio-mmio device
	 * becomes modern, which the guest kernel handles.
	 */
	if (microvm && vfs) {
		sv_add(&sv, "-global");
		sv_add(&sv, "virtio-mmio.force-legacy=false");
	}
	sv_add(&sv, "-accel");
	if (h->kvm)
		sv_add(&sv, "kvm");
	else {
		/* QEMU's 1 GiB default keeps all the code it ever made. */
		char tb[32] = "";

		if (cfg->tcg_tb_size)
			snprintf(tb, sizeof(tb), ",tb-size=%u",
				 tcg_tb_mib(p, h));
		sv_addf(&sv, "tcg%s", tb);
	}
	if (h->kvm) {
		sv_add(&sv, "-cpu");
		sv_add(&sv, "host,pmu=off");
	}
	sv_add(&sv, "-m");
	add_memory(&sv, p, h);
	sv_add(&sv, "-smp");
	add_smp(&sv, p, h);
	sv_add(&sv, "-nodefaults");
	sv_add(&sv, "-no-user-config");
	sv_add(&sv, "-nographic");
	sv_add(&sv, "-no-reboot");
	if (h->sandbox) {
		sv_add(&sv, "-sandbox");
		sv_add(&sv, QEMU_SANDBOX);
	}
	/* Paused until QMP is connected: no early event can be missed. */
	sv_add(&sv, "-S");
	sv_add(&sv, "-qmp");
	sv_addf(&sv, "unix:%s/" VM_QMP_SOCK ",server=on,wait=off", run);

	sv_add(&sv, "-chardev");
	if (h->console_fd >= 0)
		/* append=on: never truncate what the fd points at. */
		sv_addf(&sv, "file,id=console0,path=/dev/fd/%d,append=on",
			h->console_fd);
	else
		sv_addf(&sv, "file,id=console0,path=%s/" VM_CONSOLE_LOG, run);
	sv_add(&sv, "-serial");
	sv_add(&sv, "chardev:console0");

	sv_add(&sv, "-kernel");
	sv_add(&sv, cfg->kernel);
	if (cfg->image) {
		_cleanup_free_ char *img = opt_escape(cfg->image);

		/* Read-only and shared: one page cache copy for every VM. */
		sv_add(&sv, "-object");
		sv_addf(&sv,
			"memory-backend-file,id=nvmem0,mem-path=%s,size=%llu,"
			"readonly=on,share=on",
			img, h->image_size);
		sv_add(&sv, "-device");
		sv_add(&sv, "nvdimm,id=nv0,memdev=nvmem0,unarmed=on");
	} else if (cfg->initrd) {
		sv_add(&sv, "-initrd");
		sv_add(&sv, cfg->initrd);
	}
	cmdline = kernel_cmdline(cfg, h,
				 tcg_vcpus_precreated(p, h) ? boot_vcpus(p) : 0,
				 tcg_one_vcpu(p, h) && h->mb_port);
	sv_add(&sv, "-append");
	sv_add(&sv, cmdline);
	free(cmdline);

	if (h->vsock_fd >= 0) {
		sv_add(&sv, "-device");
		sv_addf(&sv, "%s,id=vsock0,guest-cid=%u,vhostfd=%d",
			virtio_dev(cfg, "vhost-vsock"), h->vsock_cid,
			h->vsock_fd);
	} else {
		/*
		 * Two ports (0 is reserved for a console, 1 is the agent's),
		 * not 31: the guest makes two virtqueues per port.  On PCI
		 * on every machine (microvm's pcie=on above).
		 */
		sv_add(&sv, "-device");
		sv_add(&sv, "virtio-serial-pci,id=serial0,max_ports=2");
		sv_add(&sv, "-chardev");
		sv_addf(&sv,
			"socket,id=agent0,path=%s/" VM_AGENT_SOCK
			",server=on,wait=off",
			run);
		sv_add(&sv, "-device");
		sv_add(&sv, "virtserialport,bus=serial0.0,chardev=agent0,"
			    "id=" AGENT_PORT_ID ",name=" AGENT_PORT_NAME);
	}

	if (cfg->shared_fs == SHARED_FS_9P) {
		_cleanup_free_ char *shared = opt_escape(p->shared_dir);

		sv_add(&sv, "-fsdev");
		sv_addf(&sv,
			"local,id=fs0,path=%s,security_model=none,multidevs="
			"remap",
			shared);
		sv_add(&sv, "-device");
		sv_addf(&sv, "%s,fsdev=fs0,mount_tag=" SHARED_TAG,
			virtio_dev(cfg, "virtio-9p"));
	} else if (vfs) {
		/*
		 * vhost-user needs guest RAM that virtiofsd can map: a
		 * shared memfd (nothing on disk; it goes with QEMU), the
		 * size of the base RAM (-m without the nvdimm's room).
		 */
		sv_add(&sv, "-object");
		sv_addf(&sv, "memory-backend-memfd,id=mem0,size=%uM,share=on",
			boot_mem_mib(p));
		sv_add(&sv, "-chardev");
		sv_addf(&sv, "socket,id=vfs0,path=%s/" VM_FS_SOCK, run);
		sv_add(&sv, "-device");
		sv_addf(&sv,
			"%s,chardev=vfs0,tag=" SHARED_TAG ",queue-size=1024",
			virtio_dev(cfg, "vhost-user-fs"));
	}
	if (cfg->reclaim_guest_freed_memory) {
		/*
		 * Free page reporting: blocks the guest frees (32 KiB and up,
		 * init/reporting.c) go back to the host a few seconds later;
		 * never inflated.
		 */
		sv_add(&sv, "-device");
		sv_addf(&sv, "%s,id=balloon0,free-page-reporting=on",
			virtio_dev(cfg, "virtio-balloon"));
	}
	add_nics(&sv, p, h);
	return sv.v;
}

/*
 * GLib's slice allocator as plain malloc (its own switch; from GLib 2.76
 * on it is malloc anyway): QEMU 7.2's tree of TCG's translated blocks is
 * made of slices, and the per-thread magazines kept freed ones, about
 * 1.2 MiB of an idle pod's heap.  An operator's own G_SLICE is kept.
 */
char **qemu_env(char *const base[])
{
	struct strv sv = { 0 };
	bool set = false;

	for (size_t i = 0; base && base[i]; i++) {
		set = set || !strncmp(base[i], "G_SLICE=", 8);
		sv_add(&sv, base[i]);
	}
	if (!set)
		sv_add(&sv, "G_SLICE=always-malloc");
	return sv.v;
}

/* ---- small helpers -------------------------------------------------- */

/* Status of an exited child without reaping it; -1 if not known. */
static int peek_status(const struct vm *vm)
{
	if (vm->exited)
		return vm->wait_status;
	return hv_pidfd_peek(vm->pidfd);
}

/*
 * Why the VM is gone or stuck, with the evidence: QEMU's last message
 * and the last console lines when they are ours to read.
 */
static int vm_error(struct vm *vm, struct herr *err, int code, const char *what,
		    bool exited)
{
	char st[96] = "", qlog[HV_TAIL_BYTES + 64], con[HV_TAIL_BYTES + 64];

	if (exited)
		hv_describe_exit("qemu", peek_status(vm), st, sizeof(st));
	hv_file_tail(vm->qemu_log, 240, qlog, sizeof(qlog));
	con[0] = '\0';
	if (vm->console_ours)
		hv_file_tail(vm->console_log, 240, con, sizeof(con));
	return herr_set(err, code, 0, "%s%s%s%s%s%s%s", what, *st ? ": " : "",
			st, *qlog ? ": " : "", qlog, *con ? "; console: " : "",
			con);
}

/* ---- QMP ------------------------------------------------------------ */

/*
 * One message per line from QEMU.  We only look for a few fixed shapes,
 * so spaces are dropped and the line searched for them.
 */
static void squeeze(char *s)
{
	char *o = s;

	for (; *s; s++)
		if (*s != ' ' && *s != '\r')
			*o++ = *s;
	*o = '\0';
}

/* The guest's answer to a hot-add (ACPI _OST): device id and status. */
static void qmp_note_ost(struct vm *vm, const char *line)
{
	const char *d = strstr(line, "\"device\":\"");
	const char *st = strstr(line, "\"status\":");
	size_t n;

	if (!d || !st)
		return;
	d += strlen("\"device\":\"");
	n = strcspn(d, "\"");
	if (n >= sizeof(vm->ost_dev))
		return;
	memcpy(vm->ost_dev, d, n);
	vm->ost_dev[n] = '\0';
	vm->ost_status = atoi(st + strlen("\"status\":"));
	log_debug("VM %s: ACPI _OST %s status %d", vm->id, vm->ost_dev,
		  vm->ost_status);
}

static void qmp_note_event(struct vm *vm, const char *line)
{
	if (strstr(line, "\"event\":\"ACPI_DEVICE_OST\"")) {
		qmp_note_ost(vm, line);
		return;
	}
	if (!strstr(line, "\"event\":\"VSERPORT_CHANGE\"") ||
	    !strstr(line, "\"id\":\"" AGENT_PORT_ID "\""))
		return;
	vm->port_open = strstr(line, "\"open\":true") != NULL;
	log_debug("VM %s: agent port %s", vm->id,
		  vm->port_open ? "opened" : "closed");
}

/* Wait for QMP bytes: 1 read some, 0 deadline, -1 QEMU gone (@err). */
static int qmp_fill(struct vm *vm, long long deadline, struct herr *err)
{
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = vm->qmp_fd, .events = POLLIN },
			{ .fd = vm->pidfd, .events = POLLIN },
		};
		long long left = deadline - now_ms();
		ssize_t r;
		int n;

		if (left <= 0)
			return 0;
		n = poll(pfd, 2, left > 1000 ? 1000 : (int)left);
		if (n < 0 && errno != EINTR)
			return herr_errno(err, errno, "poll QMP");
		if (n <= 0)
			continue;
		if (pfd[0].revents) {
			if (vm->qmp_len == sizeof(vm->qmp_buf))
				vm->qmp_len = 0; /* an absurd line: drop it */
			r = read(vm->qmp_fd, vm->qmp_buf + vm->qmp_len,
				 sizeof(vm->qmp_buf) - vm->qmp_len);
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r > 0) {
				vm->qmp_len += (size_t)r;
				return 1;
			}
			/* EOF: QEMU is going away; let the pidfd say so. */
			hv_pidfd_wait(vm->pidfd, 2000);
		}
		return vm_error(vm, err, GRPC_UNAVAILABLE, "VM failed to start",
				true);
	}
}

/* QEMU's error reply, its "desc" quoted with its spaces. */
static int qmp_refused(const char *line, struct herr *err)
{
	const char *d = strstr(line, "\"desc\":");

	if (d)
		d = strchr(d + strlen("\"desc\":"), '"');
	if (!d)
		return herr_set(err, GRPC_INTERNAL, 0,
				"qemu refused a QMP command: %.200s", line);
	d++;
	return herr_set(err, GRPC_INTERNAL, 0,
			"qemu refused a QMP command: %.*s",
			(int)strcspn(d, "\""), d);
}

/*
 * Read QMP until a line for which @want returns true (a reply), an error
 * reply, the deadline, or QEMU's exit.  Events on the way are noted.
 * Returns 1 wanted line seen, 0 timeout, -1 error (with @err).
 */
static int qmp_read_until(struct vm *vm,
			  bool (*want)(struct vm *, const char *),
			  long long deadline, struct herr *err)
{
	char line[sizeof(vm->qmp_buf)];
	char *nl;
	int rc;

	for (;;) {
		while ((nl = memchr(vm->qmp_buf, '\n', vm->qmp_len))) {
			size_t n = (size_t)(nl - vm->qmp_buf);

			memcpy(line, vm->qmp_buf, n);
			line[n] = '\0';
			memmove(vm->qmp_buf, nl + 1, vm->qmp_len - n - 1);
			vm->qmp_len -= n + 1;
			if (!strncmp(line, "{\"error\":", 9))
				return qmp_refused(line, err);
			squeeze(line);
			qmp_note_event(vm, line);
			if (want(vm, line))
				return 1;
		}
		/* The state may already be there (an event seen earlier). */
		if (want(vm, ""))
			return 1;
		rc = qmp_fill(vm, deadline, err);
		if (rc <= 0)
			return rc;
	}
}

static bool want_greeting(struct vm *vm, const char *line)
{
	return !strncmp(line, "{\"QMP\":", 7);
}

static bool want_return(struct vm *vm, const char *line)
{
	return !strncmp(line, "{\"return\":", 10);
}

static bool want_port(struct vm *vm, const char *line)
{
	return vm->port_open;
}

static int qmp_command(struct vm *vm, const char *json, long long deadline,
		       struct herr *err)
{
	int rc;

	if (write_all(vm->qmp_fd, json, strlen(json)) < 0)
		return herr_errno(err, errno, "write to QMP");
	rc = qmp_read_until(vm, want_return, deadline, err);
	if (rc == 0)
		return herr_set(err, GRPC_DEADLINE_EXCEEDED, 0,
				"QMP: no answer to %.60s", json);
	return rc < 0 ? -1 : 0;
}

static int unix_connect(const char *path, int *fd_out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	*fd_out = fd;
	return 0;
}

/* Connect QMP, negotiate, resume the guest. */
static int qmp_start(struct vm *vm, struct herr *err)
{
	long long deadline = now_ms() + QMP_TIMEOUT_MS;
	int rc;

	for (;;) {
		if (!unix_connect(vm->qmp_sock, &vm->qmp_fd))
			break;
		if (errno != ENOENT && errno != ECONNREFUSED)
			return herr_errno(err, errno, "connect %s",
					  vm->qmp_sock);
		if (hv_pidfd_wait(vm->pidfd, 10) > 0)
			return vm_error(vm, err, GRPC_UNAVAILABLE,
					"VM failed to start", true);
		if (now_ms() > deadline)
			return vm_error(
				vm, err, GRPC_DEADLINE_EXCEEDED,
				"VM failed to start: no QMP socket within 10 s",
				false);
	}
	rc = qmp_read_until(vm, want_greeting, deadline, err);
	if (rc == 0)
		return vm_error(vm, err, GRPC_DEADLINE_EXCEEDED,
				"VM failed to start: no QMP greeting", false);
	if (rc < 0)
		return -1;
	if (qmp_command(vm, "{\"execute\":\"qmp_capabilities\"}\n", deadline,
			err) < 0 ||
	    qmp_command(vm, "{\"execute\":\"cont\"}\n", deadline, err) < 0)
		return -1;
	return 0;
}

/* ---- vsock ---------------------------------------------------------- */

/* Claim a guest CID; the fd must stay open for as long as the VM runs. */
static int vsock_claim(unsigned int *cid, struct herr *err)
{
	int fd = open("/dev/vhost-vsock", O_RDWR | O_CLOEXEC);
	unsigned int span = 1u << 20, start;

	if (fd < 0)
		return herr_errno(err, errno, "open /dev/vhost-vsock");
	start = 3 + ((unsigned int)getpid() * 2654435761u ^
		     (unsigned int)now_ms()) %
			    span;
	for (unsigned int i = 0; i < 4096; i++) {
		__u64 c = 3 + (start - 3 + i) % span;

		if (!ioctl(fd, VHOST_VSOCK_SET_GUEST_CID, &c)) {
			*cid = (unsigned int)c;
			return fd;
		}
		if (errno != EADDRINUSE) {
			int e = errno;

			close(fd);
			return herr_errno(err, e, "VHOST_VSOCK_SET_GUEST_CID");
		}
	}
	close(fd);
	return herr_set(err, GRPC_RESOURCE_EXHAUSTED, 0,
			"vhost-vsock: no free guest CID");
}

/* ---- lifecycle ------------------------------------------------------ */

static void remove_files(struct vm *vm)
{
	hv_unlink_quiet(vm->agent_sock);
	hv_unlink_quiet(vm->qmp_sock);
	hv_unlink_quiet(vm->fs_sock);
	if (vm->console_ours)
		hv_unlink_quiet(vm->console_log);
	hv_unlink_quiet(vm->qemu_log);
}

static struct vm *vm_new(const struct vm_params *p)
{
	struct vm *vm = xcalloc(1, sizeof(*vm));

	vm->id = xstrdup(p->sandbox_id ? p->sandbox_id : "vm");
	vm->run_dir = xstrdup(p->run_dir);
	vm->agent_sock = path_join(p->run_dir, VM_AGENT_SOCK);
	vm->qmp_sock = path_join(p->run_dir, VM_QMP_SOCK);
	vm->fs_sock = path_join(p->run_dir, VM_FS_SOCK);
	vm->console_log = path_join(p->run_dir, VM_CONSOLE_LOG);
	vm->qemu_log = path_join(p->run_dir, VM_QEMU_LOG);
	vm->console_ours = p->console_fd < 0;
	vm->vsock_fd = vm->pidfd = vm->qmp_fd = vm->qmp_watch = vm->qmp_wd = -1;
	return vm;
}

static void qmp_unwatch(struct vm *vm)
{
	if (vm->qmp_watch >= 0)
		close(vm->qmp_watch);
	vm->qmp_watch = -1;
}

static void vm_release(struct vm *vm)
{
	qmp_unwatch(vm);
	if (vm->qmp_fd >= 0)
		close(vm->qmp_fd);
	vm->qmp_fd = -1;
	/*
	 * QEMU and virtiofsd together, then wait for them: waiting for the
	 * daemon to notice QEMU's end first only adds the two in a row.
	 */
	if (vm->pidfd >= 0)
		hv_pidfd_kill(vm->pidfd, SIGKILL);
	virtiofsd_kill(vm->fsd);
	hv_kill_and_reap(&vm->pidfd, &vm->pid, QEMU_KILL_WAIT_MS);
	virtiofsd_stop(vm->fsd);
	vm->fsd = NULL;
	if (vm->vsock_fd >= 0)
		close(vm->vsock_fd);
	vm->vsock_fd = -1;
	remove_files(vm);
}

static void vm_destroy(struct vm *vm)
{
	free(vm->id);
	free(vm->run_dir);
	free(vm->agent_sock);
	free(vm->qmp_sock);
	free(vm->fs_sock);
	free(vm->console_log);
	free(vm->qemu_log);
	free(vm);
}

static bool choose_kvm(const struct husk_config *cfg)
{
	struct herr why;

	if (cfg->accel && !strcmp(cfg->accel, "kvm"))
		return true;
	if (cfg->accel && !strcmp(cfg->accel, "tcg"))
		return false;
	if (kvm_usable(cfg->hypervisor_path, &why))
		return true;
	/* The reason may quote QEMU: keep it inside the escaped message. */
	log_warn("KVM is not usable, falling back to TCG (software emulation, "
		 "much slower): %s",
		 why.msg);
	return false;
}

/* vm_start() (@wait: QMP's start done before returning) or vm_spawn(). */
static int vm_launch(const struct vm_params *p, struct vm **out, bool wait,
		     struct herr *err)
{
	const struct husk_config *cfg = p->cfg;
	struct qemu_host h = { .vsock_fd = -1, .console_fd = -1 };
	_cleanup_free_ char *firmware = NULL;
	_cleanup_close_ int log = -1;
	int fds[3 + VM_NICS_MAX], n_fds = 0;
	struct herr why;
	struct stat st;
	struct vm *vm;
	char **argv, **env;

	if (config_is_clh(cfg)) {
		vm = xcalloc(1, sizeof(*vm));
		if (clh_start(p, &vm->clh, err) < 0) {
			free(vm);
			return -1;
		}
		/* Sized at boot only (no hotplug through its API here). */
		vm->mem_mib = boot_mem_mib(p);
		vm->vcpus = boot_vcpus(p);
		*out = vm;
		return 0;
	}
	if (!IS_ENABLED(CONFIG_HV_QEMU))
		return herr_set(
			err, GRPC_UNIMPLEMENTED, 0,
			"built without the QEMU driver (CONFIG_HV_QEMU)");
	if (config_validate(cfg, err) < 0)
		return -1;
	if (cfg->hypervisor && strcmp(cfg->hypervisor, "qemu"))
		return herr_set(err, GRPC_UNIMPLEMENTED, 0,
				"hypervisor %s is not supported (qemu, clh)",
				cfg->hypervisor);
	/* Fail fast and by name, before QEMU says it less clearly. */
	if (hv_check_file("hypervisor", cfg->hypervisor_path, X_OK, err) < 0 ||
	    hv_check_file("kernel", cfg->kernel, R_OK, err) < 0 ||
	    (cfg->initrd &&
	     hv_check_file("initrd", cfg->initrd, R_OK, err) < 0) ||
	    (cfg->image && hv_check_file("image", cfg->image, R_OK, err) < 0))
		return -1;
	if (cfg->image) {
		if (stat(cfg->image, &st) < 0)
			return herr_errno(err, errno, "image %s", cfg->image);
		h.image_size = (unsigned long long)st.st_size;
	}
	if (cfg->shared_fs != SHARED_FS_NONE) {
		if (!p->shared_dir)
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"shared_fs %s needs a shared directory",
					config_shared_fs_name(cfg->shared_fs));
		if (stat(p->shared_dir, &st) < 0)
			return herr_errno(err, errno, "shared directory %s",
					  p->shared_dir);
		if (!S_ISDIR(st.st_mode))
			return herr_errno(err, ENOTDIR, "shared directory %s",
					  p->shared_dir);
	}

	if (qemu_firmware(cfg, &firmware, err) < 0)
		return -1;
	h.firmware = firmware;

	vm = vm_new(p);
	h.kvm = choose_kvm(cfg);
	h.sandbox = qemu_sandbox_usable(cfg->hypervisor_path, &why);
	if (!h.sandbox)
		log_warn("QEMU runs without -sandbox: %s", why.msg);
	h.tsc_khz = host_tsc_khz();
	h.mb_port =
		kernel_has_note(cfg->kernel, "husk", KERNEL_NOTE_HUSK_MB_PORT);
	if (p->console_fd >= 0) {
		fds[n_fds] = p->console_fd;
		h.console_fd = 3 + n_fds++;
	}
	vm->channel = CH_SERIAL;
	if (vhost_vsock_usable(NULL)) {
		vm->vsock_fd = vsock_claim(&vm->cid, &why);
		if (vm->vsock_fd >= 0) {
			vm->channel = CH_VSOCK;
			fds[n_fds] = vm->vsock_fd;
			h.vsock_fd = 3 + n_fds++;
			h.vsock_cid = vm->cid;
		} else {
			log_warn("vhost-vsock present but unusable, using "
				 "virtio-serial: %s",
				 why.msg);
		}
	}
	if (p->n_nics > VM_NICS_MAX) {
		herr_set(err, GRPC_INVALID_ARGUMENT, 0,
			 "%zu network interfaces: at most %d", p->n_nics,
			 VM_NICS_MAX);
		goto fail;
	}
	h.nic_fd0 = 3 + n_fds;
	for (size_t i = 0; i < p->n_nics; i++)
		fds[n_fds++] = p->nics[i].fd;
	h.vhost_net = p->n_nics && access("/dev/vhost-net", R_OK | W_OK) == 0;
	/* Leftovers of a crashed shim would make QEMU's bind() fail. */
	remove_files(vm);
	/*
	 * The guest waits (-S) for QMP's cont, so QMP is dialled the moment
	 * QEMU binds its socket: the run directory is watched for it (no
	 * watch: vm_agent_poll() is retried on a timer instead).
	 */
	if (!wait) {
		vm->qmp_watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (vm->qmp_watch >= 0)
			vm->qmp_wd = inotify_add_watch(vm->qmp_watch,
						       p->run_dir, IN_CREATE);
		if (vm->qmp_watch >= 0 && vm->qmp_wd < 0)
			qmp_unwatch(vm);
	}
	log = open(vm->qemu_log,
		   O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC |
			   O_NOCTTY,
		   0600);
	if (log < 0) {
		herr_errno(err, errno, "create %s", vm->qemu_log);
		goto fail;
	}
	if (cfg->shared_fs == SHARED_FS_VIRTIO_FS &&
	    virtiofsd_start(cfg, p->run_dir, p->shared_dir, &vm->fsd, err) < 0)
		goto fail;
	argv = qemu_build_argv(p, &h, err);
	if (!argv)
		goto fail;
	if (log_get_level() >= LOG_DEBUG) {
		char line[2048];
		size_t o = 0;

		for (char **a = argv; *a && o < sizeof(line) - 2; a++)
			o += (size_t)snprintf(line + o, sizeof(line) - o,
					      "%s%s", o ? " " : "", *a);
		log_debug("sandbox %s: starting %s", vm->id, line);
	}
	env = qemu_env(environ);
	vm->pid = hv_spawn_env(argv, env, fds, (size_t)n_fds, log, &vm->pidfd,
			       err);
	strv_free(env);
	strv_free(argv);
	if (vm->pid < 0) {
		vm->pid = 0;
		goto fail;
	}
	if (!wait) {
		vm->qmp_step = QMP_CONNECT;
	} else if (qmp_start(vm, err) < 0) {
		/*
		 * QEMU may have stopped because the daemon did; a daemon
		 * that exited 0 only saw QEMU go (QEMU's error stands).
		 */
		if (virtiofsd_failed(vm->fsd)) {
			virtiofsd_error(vm->fsd, err);
			herr_prefix(err, "VM failed to start");
		}
		goto fail;
	} else {
		/* QEMU connected during its start: the sandboxed child
		 * exists. */
		virtiofsd_connected(vm->fsd);
	}
	vm->kvm = h.kvm;
	vm->shared_mem = cfg->shared_fs == SHARED_FS_VIRTIO_FS;
	vm->mem_mib = boot_mem_mib(p);
	vm->vcpus = boot_vcpus(p);
	vm->max_mem_mib = vm->mem_mib + hotplug_mem_mib(p);
	vm->max_vcpus = !is_microvm(cfg) && p->max_vcpus > vm->vcpus
				? p->max_vcpus
				: vm->vcpus;
	vm->hotplug = !is_microvm(cfg);
	vm->vcpus_precreated = tcg_vcpus_precreated(p, &h);
	snprintf(vm->desc, sizeof(vm->desc),
		 "qemu %s %s %u vCPU %u MiB %s %s %s%s%s%s",
		 cfg->machine_type ? cfg->machine_type : "microvm",
		 h.kvm ? "kvm" : "tcg", boot_vcpus(p), boot_mem_mib(p),
		 cfg->image ? "nvdimm-image" : "initrd",
		 vm->channel == CH_VSOCK ? "vsock" : "virtio-serial",
		 config_shared_fs_name(cfg->shared_fs),
		 h.sandbox ? " sandbox" : "", firmware ? " bios " : "",
		 firmware ? path_base(firmware) : "");
	*out = vm;
	return 0;
fail:
	vm_release(vm);
	vm_destroy(vm);
	return -1;
}

int vm_start(const struct vm_params *p, struct vm **out, struct herr *err)
{
	return vm_launch(p, out, true, err);
}

int vm_spawn(const struct vm_params *p, struct vm **out, struct herr *err)
{
	return vm_launch(p, out, false, err);
}

static int connect_vsock(struct vm *vm, long long deadline, struct herr *err)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK,
				  .svm_cid = vm->cid,
				  .svm_port = VM_AGENT_PORT };

	for (;;) {
		int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return herr_errno(err, errno, "vsock socket");
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		close(fd);
		if (hv_pidfd_wait(vm->pidfd, 20) > 0)
			return vm_error(vm, err, GRPC_UNAVAILABLE,
					"VM exited before the agent answered",
					true);
		if (now_ms() >= deadline)
			return vm_error(vm, err, GRPC_DEADLINE_EXCEEDED,
					"agent not listening on vsock port "
					"1024 in time (the VM is running)",
					false);
	}
}

int vm_connect_agent(struct vm *vm, long long timeout_ms, struct herr *err)
{
	long long deadline = now_ms() + timeout_ms;
	int fd, rc;

	if (vm->clh)
		return clh_connect_agent(vm->clh, timeout_ms, err);
	if (vm->stopped || vm->pidfd < 0)
		return herr_set(err, GRPC_FAILED_PRECONDITION, 0,
				"VM %s is stopped", vm->id);
	if (vm->exited || hv_pidfd_wait(vm->pidfd, 0) > 0)
		return vm_error(vm, err, GRPC_UNAVAILABLE,
				"VM exited before the agent answered", true);
	if (vm->channel == CH_VSOCK)
		return connect_vsock(vm, deadline, err);
	if (!vm->port_open) {
		rc = qmp_read_until(vm, want_port, deadline, err);
		if (rc < 0) {
			/* QEMU went away while we waited: say so plainly. */
			if (hv_pidfd_wait(vm->pidfd, 0) > 0)
				return vm_error(vm, err, GRPC_UNAVAILABLE,
						"VM exited before the agent "
						"opened its channel",
						true);
			return -1;
		}
		if (rc == 0) {
			char what[160];

			snprintf(what, sizeof(what),
				 "agent did not open its channel "
				 "(virtio-serial " AGENT_PORT_NAME
				 ") within %lld ms; the VM is running",
				 timeout_ms);
			return vm_error(vm, err, GRPC_DEADLINE_EXCEEDED, what,
					false);
		}
	}
	if (unix_connect(vm->agent_sock, &fd) < 0)
		return herr_errno(err, errno, "connect %s", vm->agent_sock);
	return fd;
}

/* Read what QMP holds without waiting: 1 read some, 0 none, -1 gone. */
static int qmp_read_ready(struct vm *vm, struct herr *err)
{
	ssize_t r;

	if (vm->qmp_len == sizeof(vm->qmp_buf))
		vm->qmp_len = 0; /* an absurd line: drop it */
	r = recv(vm->qmp_fd, vm->qmp_buf + vm->qmp_len,
		 sizeof(vm->qmp_buf) - vm->qmp_len, MSG_DONTWAIT);
	if (r > 0) {
		vm->qmp_len += (size_t)r;
		return 1;
	}
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	/* QEMU is going away: its exit status, a moment later, says why. */
	if (hv_pidfd_wait(vm->pidfd, 0) == 0) {
		vm->qmp_eof = true;
		return 0;
	}
	return vm_error(vm, err, GRPC_UNAVAILABLE,
			"VM exited before the agent opened its channel", true);
}

/*
 * qmp_start() one step at a time, never waiting: 1 the guest runs, 0 not
 * yet (QMP's socket not there yet, or QEMU's answer not in), -1 error.
 */
static int qmp_start_step(struct vm *vm, struct herr *err)
{
	static const char caps[] = "{\"execute\":\"qmp_capabilities\"}\n";
	static const char cont[] = "{\"execute\":\"cont\"}\n";
	int rc;

	if (vm->qmp_step == QMP_CONNECT) {
		char ev[4096];

		/* Only a wake-up: whatever was created, try the socket. */
		while (vm->qmp_watch >= 0 &&
		       read(vm->qmp_watch, ev, sizeof(ev)) > 0)
			;
		rc = unix_connect(vm->qmp_sock, &vm->qmp_fd);
		/*
		 * Bound but not listening yet: QEMU's listen() follows its
		 * bind() at once, but no event will say so; the watch woke
		 * us in between.  A few short tries, then the caller's timer.
		 */
		for (int i = 0; rc < 0 && errno == ECONNREFUSED &&
				vm->qmp_watch >= 0 && i < QMP_REFUSED_TRIES;
		     i++) {
			usleep(QMP_REFUSED_WAIT_US);
			rc = unix_connect(vm->qmp_sock, &vm->qmp_fd);
		}
		if (rc < 0) {
			vm->qmp_refused = errno == ECONNREFUSED;
			if (errno == ENOENT || errno == ECONNREFUSED)
				return 0;
			return herr_errno(err, errno, "connect %s",
					  vm->qmp_sock);
		}
		/*
		 * The watch is removed now but its fd stays open until the VM
		 * goes (the caller may still have it in its event loop): an
		 * inotify fd closed with a watch on it waits for the kernel to
		 * free the watch (an SRCU grace period, up to 14 ms measured
		 * here), which every teardown paid.  Removed, it is freed in
		 * the background and the close is quick.
		 */
		if (vm->qmp_wd >= 0)
			inotify_rm_watch(vm->qmp_watch, vm->qmp_wd);
		vm->qmp_wd = -1;
		vm->qmp_step = QMP_GREETING;
	}
	for (;;) {
		rc = qmp_read_until(vm,
				    vm->qmp_step == QMP_GREETING ? want_greeting
								 : want_return,
				    0, err);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			rc = qmp_read_ready(vm, err);
			if (rc <= 0)
				return rc;
			continue;
		}
		switch (vm->qmp_step) {
		case QMP_GREETING:
			vm->qmp_step = QMP_CAPS;
			if (write_all(vm->qmp_fd, caps, sizeof(caps) - 1) < 0)
				return herr_errno(err, errno, "write to QMP");
			break;
		case QMP_CAPS:
			vm->qmp_step = QMP_CONT;
			if (write_all(vm->qmp_fd, cont, sizeof(cont) - 1) < 0)
				return herr_errno(err, errno, "write to QMP");
			break;
		default:
			vm->qmp_step = QMP_READY;
			/* QEMU connected before QMP: virtiofsd's child exists.
			 */
			virtiofsd_connected(vm->fsd);
			return 1;
		}
	}
}

int vm_agent_wait_fd(const struct vm *vm)
{
	if (vm->clh)
		return -1;
	if (vm->qmp_step == QMP_CONNECT)
		return vm->qmp_refused ? -1 : vm->qmp_watch;
	if (vm->qmp_eof)
		return -1;
	return vm->qmp_step != QMP_READY ||
			       (vm->channel == CH_SERIAL && !vm->port_open)
		       ? vm->qmp_fd
		       : -1;
}

/* A short try of Cloud Hypervisor's agent channel (hybrid vsock). */
static int clh_agent_poll(struct vm *vm, struct herr *err)
{
	int fd = clh_connect_agent(vm->clh, CLH_POLL_MS, err);

	/* Nothing listens yet: the guest is still booting. */
	if (fd < 0 && err->code == GRPC_DEADLINE_EXCEEDED)
		return -EAGAIN;
	return fd;
}

int vm_agent_poll(struct vm *vm, struct herr *err)
{
	int fd, rc;

	if (vm->clh)
		return clh_agent_poll(vm, err);
	if (vm->stopped || vm->pidfd < 0)
		return herr_set(err, GRPC_FAILED_PRECONDITION, 0,
				"VM %s is stopped", vm->id);
	if (vm->exited || hv_pidfd_wait(vm->pidfd, 0) > 0)
		return vm_error(vm, err, GRPC_UNAVAILABLE,
				"VM exited before the agent answered", true);
	if (vm->qmp_step != QMP_READY) {
		rc = qmp_start_step(vm, err);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			herr_set(err, GRPC_UNAVAILABLE, 0,
				 "QEMU did not finish its start (QMP)");
			return -EAGAIN;
		}
	}
	if (vm->channel == CH_VSOCK) {
		/*
		 * A running guest answers at once (no listener: a reset); a
		 * guest whose vsock is not up yet would hold connect() for
		 * the default 2 s: a short try, repeated by the caller.
		 */
		struct sockaddr_vm sa = { .svm_family = AF_VSOCK,
					  .svm_cid = vm->cid,
					  .svm_port = VM_AGENT_PORT };
		struct timeval tv = { .tv_usec = 20000 };

		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return herr_errno(err, errno, "vsock socket");
		setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv,
			   sizeof(tv));
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		herr_errno(err, errno,
			   "agent not listening on vsock port %d (cid %u)",
			   VM_AGENT_PORT, vm->cid);
		close(fd);
		return -EAGAIN;
	}
	/* Only what QMP already said: a deadline in the past never waits. */
	while (!vm->port_open && !vm->qmp_eof) {
		rc = qmp_read_until(vm, want_port, 0, err);
		if (rc < 0)
			return -1;
		if (rc > 0)
			break;
		rc = qmp_read_ready(vm, err);
		if (rc < 0)
			return -1;
		if (rc == 0)
			break;
	}
	if (!vm->port_open) {
		herr_set(err, GRPC_UNAVAILABLE, 0,
			 "the agent did not open its channel "
			 "(virtio-serial " AGENT_PORT_NAME ")");
		return -EAGAIN;
	}
	if (unix_connect(vm->agent_sock, &fd) < 0)
		return herr_errno(err, errno, "connect %s", vm->agent_sock);
	return fd;
}

pid_t vm_pid(const struct vm *vm)
{
	if (vm->clh)
		return clh_pid(vm->clh);
	return vm->pid;
}

void vm_exited(struct vm *vm, int wait_status)
{
	if (vm->clh) {
		clh_exited(vm->clh, wait_status);
		return;
	}
	vm->exited = true;
	vm->wait_status = wait_status;
}

bool vm_running(const struct vm *vm)
{
	if (vm->clh)
		return clh_running(vm->clh);
	return !vm->stopped && !vm->exited && vm->pidfd >= 0 &&
	       hv_pidfd_wait(vm->pidfd, 0) == 0;
}

int vm_stop(struct vm *vm, bool graceful, long long timeout_ms,
	    struct herr *err)
{
	if (vm->stopped)
		return 0;
	if (vm->clh)
		return clh_stop(vm->clh, graceful, timeout_ms, err);
	vm->stopped = true;
	if (vm->pidfd >= 0 && graceful && hv_pidfd_wait(vm->pidfd, 0) == 0) {
		long long deadline = now_ms() + timeout_ms;

		/* After DestroySandbox the guest powers itself off. */
		if (hv_pidfd_wait(vm->pidfd, timeout_ms / 2) == 0 &&
		    vm->qmp_fd >= 0) {
			struct herr ignored;

			qmp_command(vm, "{\"execute\":\"quit\"}\n",
				    now_ms() + 500, &ignored);
			hv_pidfd_wait(vm->pidfd, deadline - now_ms());
		}
	}
	hv_warn_stopped_alone(vm->id, "qemu", peek_status(vm), vm->qemu_log);
	vm_release(vm);
	return 0;
}

int vm_stop_destroyed(struct vm *vm, long long timeout_ms, struct herr *err)
{
	if (vm->clh)
		return clh_stop(vm->clh, true, timeout_ms, err);
	return vm_stop(vm, false, 0, err);
}

void vm_free(struct vm *vm)
{
	if (!vm)
		return;
	if (vm->clh) {
		clh_free(vm->clh);
		free(vm);
		return;
	}
	if (!vm->stopped)
		vm_stop(vm, false, 0, NULL);
	vm_destroy(vm);
}

int vm_fs_pidfd(const struct vm *vm)
{
	if (vm->clh)
		return clh_fs_pidfd(vm->clh);
	return virtiofsd_pidfd(vm->fsd);
}

pid_t vm_fs_pid(const struct vm *vm)
{
	pid_t child;

	if (vm->clh)
		return clh_fs_pid(vm->clh);
	child = virtiofsd_child_pid(vm->fsd);
	return child ? child : virtiofsd_pid(vm->fsd);
}

int vm_fs_error(struct vm *vm, struct herr *err)
{
	if (vm->clh)
		return clh_fs_error(vm->clh, err);
	if (!vm->fsd)
		return herr_set(err, GRPC_UNAVAILABLE, 0, "no virtiofsd");
	return virtiofsd_error(vm->fsd, err);
}

int vm_fs_check_started(struct vm *vm, struct herr *err)
{
	/* Cloud Hypervisor dials the daemon synchronously in its start. */
	if (vm->clh)
		return 0;
	return virtiofsd_check_accepted(vm->fsd, err);
}

bool vm_child_reaped(struct vm *vm, pid_t pid, int wait_status)
{
	if (vm && vm->clh)
		return clh_child_reaped(vm->clh, pid, wait_status);
	return vm && virtiofsd_reaped(vm->fsd, pid, wait_status);
}

const char *vm_describe(const struct vm *vm)
{
	if (vm->clh)
		return clh_describe(vm->clh);
	return vm->desc;
}

/* ---- hotplug (q35, pc) ---------------------------------------------- */

/*
 * Memory as pc-dimm DIMMs (ACPI memory hotplug: no guest driver beyond
 * what hotplug.config has; onlined by the kernel, MEMORY_HOTPLUG_DEFAULT_
 * ONLINE), each backed by its own memfd, shared when virtiofsd must map it;
 * vCPUs by device_add of the next socket, or under TCG none: they are
 * there from the start, offline (tcg_vcpus_precreated), and the agent
 * onlines them.  Each addition waits for the
 * guest's ACPI _OST answer (QMP ACPI_DEVICE_OST), so a guest that never
 * takes the device is an error, not a silent half-grown VM.  QMP is
 * synchronous here: the caller's loop waits (each step is short unless
 * the guest does not answer, which the deadline bounds).
 */

bool vm_can_hotplug(const struct vm *vm)
{
	return vm->hotplug;
}

void vm_size(const struct vm *vm, unsigned int *mem_mib, unsigned int *vcpus)
{
	*mem_mib = vm->mem_mib;
	*vcpus = vm->vcpus;
}

static bool want_ost(struct vm *vm, const char *line)
{
	(void)line;
	return vm->ost_dev[0] != '\0';
}

/* Wait for the guest's _OST for @dev: 0 taken, -1 with @err. */
static int wait_ost(struct vm *vm, const char *dev, long long deadline,
		    struct herr *err)
{
	for (;;) {
		int rc = qmp_read_until(vm, want_ost, deadline, err);

		if (rc < 0)
			return -1;
		if (rc == 0)
			return herr_set(err, GRPC_DEADLINE_EXCEEDED, 0,
					"the guest did not take %s in time "
					"(no ACPI _OST answer)",
					dev);
		if (!strcmp(vm->ost_dev, dev))
			break;
		vm->ost_dev[0] = '\0'; /* another device's: keep waiting */
	}
	vm->ost_dev[0] = '\0';
	if (vm->ost_status != 0)
		return herr_set(err, GRPC_INTERNAL, 0,
				"the guest refused %s (ACPI _OST status %d)",
				dev, vm->ost_status);
	return 0;
}

static int qmp_commandf(struct vm *vm, long long deadline, struct herr *err,
			const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int qmp_commandf(struct vm *vm, long long deadline, struct herr *err,
			const char *fmt, ...)
{
	_cleanup_free_ char *json = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&json, fmt, ap);
	va_end(ap);
	if (rc < 0)
		abort();
	return qmp_command(vm, json, deadline, err);
}

static int add_dimm(struct vm *vm, unsigned int mib, long long deadline,
		    struct herr *err)
{
	unsigned int n = vm->n_dimms;
	char dev[32];
	struct herr ignored;

	snprintf(dev, sizeof(dev), "dimm%u", n);
	if (qmp_commandf(vm, deadline, err,
			 "{\"execute\":\"object-add\",\"arguments\":{"
			 "\"qom-type\":\"memory-backend-memfd\",\"id\":"
			 "\"hmem%u\",\"size\":%llu,\"share\":%s}}\n",
			 n, (unsigned long long)mib << 20,
			 vm->shared_mem ? "true" : "false") < 0)
		return herr_prefix(err, "add %u MiB of memory", mib);
	vm->ost_dev[0] = '\0';
	if (qmp_commandf(vm, deadline, err,
			 "{\"execute\":\"device_add\",\"arguments\":{"
			 "\"driver\":\"pc-dimm\",\"id\":\"%s\",\"memdev\":"
			 "\"hmem%u\"}}\n",
			 dev, n) < 0) {
		/* Nothing half-done: the backend goes with the DIMM. */
		qmp_commandf(vm, now_ms() + 2000, &ignored,
			     "{\"execute\":\"object-del\",\"arguments\":{"
			     "\"id\":\"hmem%u\"}}\n",
			     n);
		return herr_prefix(err, "add %u MiB of memory", mib);
	}
	/* From here on the DIMM is in the VM, taken or not. */
	vm->n_dimms++;
	vm->mem_mib += mib;
	if (wait_ost(vm, dev, deadline, err) < 0)
		return herr_prefix(err, "add %u MiB of memory", mib);
	return 0;
}

static int add_vcpu(struct vm *vm, long long deadline, struct herr *err)
{
	unsigned int k = vm->vcpus;
	char dev[32];

	snprintf(dev, sizeof(dev), "cpu%u", k);
	vm->ost_dev[0] = '\0';
	if (qmp_commandf(vm, deadline, err,
			 "{\"execute\":\"device_add\",\"arguments\":{"
			 "\"driver\":\"%s-x86_64-cpu\",\"id\":\"%s\","
			 "\"socket-id\":%u,\"core-id\":0,\"thread-id\":0}}\n",
			 vm->kvm ? "host" : "qemu64", dev, k) < 0)
		return herr_prefix(err, "add vCPU %u", k);
	vm->vcpus++;
	if (wait_ost(vm, dev, deadline, err) < 0)
		return herr_prefix(err, "add vCPU %u", k);
	return 0;
}

int vm_resize(struct vm *vm, unsigned int mem_mib, unsigned int vcpus,
	      long long timeout_ms, struct herr *err)
{
	long long deadline = now_ms() + timeout_ms;

	if (!vm->hotplug)
		return herr_set(err, GRPC_FAILED_PRECONDITION, 0,
				"VM %s: machine type microvm cannot hotplug "
				"(set machine_type = \"q35\")",
				vm->id);
	if (!vm_running(vm) || vm->qmp_fd < 0)
		return herr_set(err, GRPC_UNAVAILABLE, 0,
				"VM %s is not running", vm->id);
	if (mem_mib > vm->max_mem_mib || vcpus > vm->max_vcpus)
		return herr_set(err, GRPC_RESOURCE_EXHAUSTED, 0,
				"VM %s: %u MiB and %u vCPUs are above what it "
				"was started to grow to (%u MiB, %u vCPUs)",
				vm->id, mem_mib, vcpus, vm->max_mem_mib,
				vm->max_vcpus);
	if (mem_mib > vm->mem_mib) {
		if (vm->n_dimms >= MEM_SLOTS - 1)
			return herr_set(err, GRPC_RESOURCE_EXHAUSTED, 0,
					"VM %s: no memory slot left (%d)",
					vm->id, MEM_SLOTS);
		if (add_dimm(vm, mem_mib - vm->mem_mib, deadline, err) < 0)
			return herr_prefix(err, "VM %s", vm->id);
	}
	if (vm->vcpus_precreated && vcpus > vm->vcpus)
		vm->vcpus = vcpus;
	while (vm->vcpus < vcpus)
		if (add_vcpu(vm, deadline, err) < 0)
			return herr_prefix(err, "VM %s", vm->id);
	return 0;
}
