// SPDX-License-Identifier: Apache-2.0
/*
 * husk check [--config FILE]: can this host run husk, and if not, why.
 * One line per item, "ok", "warn" or "FAIL" and the reason; exits 1 when
 * anything FAILs (husk cannot run), 0 otherwise.  KVM is judged by running
 * a test guest under it with a timeout, never by /dev/kvm existing.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv.h"
#include "sizing.h"
#include "util.h"
#include "virtiofsd.h"

int check_main(int argc, char **argv);

struct report {
	int fails, warns;
};

__attribute__((format(printf, 4, 5))) static void item(struct report *r,
						       const char *level,
						       const char *what,
						       const char *fmt, ...)
{
	va_list ap;

	if (!strcmp(level, "FAIL"))
		r->fails++;
	else if (!strcmp(level, "warn"))
		r->warns++;
	printf("%-5s %-13s ", level, what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Up to @len bytes at @off; the count read, or -1. */
static ssize_t read_at(const char *path, void *buf, size_t len, off_t off)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	do
		n = pread(fd, buf, len, off);
	while (n < 0 && errno == EINTR);
	return n;
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Which shared filesystem this host will use, and why. */
static void check_shared_fs(struct report *r, const struct husk_config *cfg)
{
	const char *why = cfg->shared_fs_why ? cfg->shared_fs_why : "";
	enum virtiofsd_flavour fl;
	char version[128];
	struct herr err;

	if (cfg->shared_fs != SHARED_FS_VIRTIO_FS) {
		item(r, "ok", "shared_fs", "%s: %s%s",
		     config_shared_fs_name(cfg->shared_fs), why,
		     cfg->shared_fs_explicit
			     ? ""
			     : " (install qemu-system-common for virtio-fs)");
		return;
	}
	if (virtiofsd_flavour(cfg->virtio_fs_daemon, &fl, version,
			      sizeof(version), &err) < 0) {
		item(r, "FAIL", "shared_fs", "virtio-fs: %s", err.msg);
		return;
	}
	item(r, "ok", "shared_fs",
	     "virtio-fs via %s (%s: %s, sandbox=namespace, seccomp); %s",
	     cfg->virtio_fs_daemon,
	     fl == VIRTIOFSD_C ? "QEMU's C virtiofsd" : "the Rust virtiofsd",
	     version, why);
}

/* What the machine type does with the containers' limits (sizing.h). */
static void check_machine(struct report *r, const struct husk_config *cfg)
{
	bool microvm = !strcmp(cfg->machine_type, "microvm");

	if (microvm)
		item(r, "ok", "machine",
		     "microvm: the VM is sized at boot from its first "
		     "container's limits (at most %u MiB, %u vCPUs); no "
		     "hotplug, later containers do not grow it (machine_type "
		     "q35 can)",
		     sizing_max_memory(cfg), sizing_max_vcpus(cfg));
	else
		item(r, "ok", "machine",
		     "%s: the VM is sized at boot and grown by hotplug "
		     "(pc-dimm memory, vCPUs) for later containers and "
		     "Updates, up to %u MiB, %u vCPUs",
		     cfg->machine_type, sizing_max_memory(cfg),
		     sizing_max_vcpus(cfg));
}

/* What -bios the VM gets (hv-qemu.c's choice, said with its reason). */
static void check_firmware(struct report *r, const struct husk_config *cfg)
{
	_cleanup_free_ char *fw = NULL;
	struct herr err;

	if (qemu_firmware(cfg, &fw, &err) < 0)
		item(r, "FAIL", "firmware", "%s", err.msg);
	else if (cfg->firmware)
		item(r, "ok", "firmware", "%s (configured)", fw);
	else if (fw)
		item(r, "ok", "firmware", "%s (qboot, found beside QEMU)", fw);
	else if (!strcmp(cfg->machine_type, "microvm"))
		item(r, "ok", "firmware", "microvm's own (qboot)");
	else
		item(r, "warn", "firmware",
		     "no qboot.rom beside QEMU or in " QEMU_DATADIR
		     ": %s boots SeaBIOS, slower (Debian: qemu-system-data)",
		     cfg->machine_type);
}

static void check_kernel(struct report *r, const struct husk_config *cfg)
{
	unsigned char h[1024];
	bool microvm = !strcmp(cfg->machine_type, "microvm");
	ssize_t n = read_at(cfg->kernel, h, sizeof(h), 0);

	if (n < 0) {
		item(r, "FAIL", "kernel", "%s: %s", cfg->kernel,
		     strerror(errno));
		return;
	}
	if (n >= 64 && !memcmp(h,
			       "\x7f"
			       "ELF",
			       4)) {
		if (h[4] != 2 || le16(h + 18) != 62) {
			item(r, "FAIL", "kernel", "%s: ELF, but not x86-64",
			     cfg->kernel);
			return;
		}
		/* XEN_ELFNOTE_PHYS32_ENTRY */
		if (!kernel_has_note(cfg->kernel, "Xen", 18)) {
			item(r, "FAIL", "kernel",
			     "%s: vmlinux without a PVH ELF note: QEMU cannot "
			     "boot it (build with CONFIG_PVH=y, or use the "
			     "bzImage)",
			     cfg->kernel);
			return;
		}
		item(r, "ok", "kernel", "%s (vmlinux, PVH entry%s)",
		     cfg->kernel,
		     kernel_has_note(cfg->kernel, "husk",
				     KERNEL_NOTE_HUSK_MB_PORT)
			     ? "; virtio_ring.mb_port: one vCPU under TCG "
			       "stays one"
			     : "");
		return;
	}
	if (n >= 0x206 && le16(h + 0x1fe) == 0xaa55 &&
	    !memcmp(h + 0x202, "HdrS", 4)) {
		item(r, "ok", "kernel", "%s (bzImage%s)", cfg->kernel,
		     microvm ? "; a PVH vmlinux boots faster on microvm" : "");
		return;
	}
	item(r, "FAIL", "kernel", "%s: neither a vmlinux (ELF) nor a bzImage",
	     cfg->kernel);
}

static void check_initrd(struct report *r, const char *path)
{
	static const struct {
		const char *magic;
		size_t len;
		const char *name;
	} kinds[] = {
		{ "\x1f\x8b", 2, "gzip" },
		{ "\x28\xb5\x2f\xfd", 4, "zstd" },
		{ "\x02\x21\x4c\x18", 4, "lz4" },
		{ "\xfd"
		  "7zXZ",
		  6, "xz" },
		{ "BZh", 3, "bzip2" },
		{ "070701", 6, "cpio" },
		{ "070702", 6, "cpio" },
	};
	unsigned char h[8];
	ssize_t n = read_at(path, h, sizeof(h), 0);

	if (n < 0) {
		item(r, "FAIL", "initrd", "%s: %s", path, strerror(errno));
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if ((size_t)n >= kinds[i].len &&
		    !memcmp(h, kinds[i].magic, kinds[i].len)) {
			item(r, "ok", "initrd", "%s (%s)", path, kinds[i].name);
			return;
		}
	item(r, "FAIL", "initrd", "%s: not a cpio archive, plain or compressed",
	     path);
}

/* rootfs-builder's layout: MBR, fsdax info block at 4 KiB, 2 MiB sized. */
static void check_image(struct report *r, const struct husk_config *cfg)
{
	unsigned char mbr[512], pfn[16];
	struct stat st;

	if (stat(cfg->image, &st) < 0) {
		item(r, "FAIL", "image", "%s: %s", cfg->image, strerror(errno));
		return;
	}
	if (read_at(cfg->image, mbr, sizeof(mbr), 0) != sizeof(mbr) ||
	    le16(mbr + 510) != 0xaa55) {
		item(r, "FAIL", "image", "%s: no partition table", cfg->image);
		return;
	}
	if (read_at(cfg->image, pfn, sizeof(pfn), 4096) != sizeof(pfn) ||
	    memcmp(pfn, "NVDIMM_PFN_INFO", 16)) {
		item(r, "FAIL", "image",
		     "%s: no fsdax info block at 4 KiB: no DAX in the guest "
		     "(build it with rootfs-builder/mkimage.sh)",
		     cfg->image);
		return;
	}
	if (st.st_size % (2 << 20)) {
		item(r, "FAIL", "image",
		     "%s: size %lld is not a multiple of 2 MiB (the guest "
		     "needs an aligned namespace)",
		     cfg->image, (long long)st.st_size);
		return;
	}
	item(r, "ok", "image", "%s (DAX image, %lld MiB, on nvdimm)",
	     cfg->image, (long long)(st.st_size >> 20));
}

static void check_accel(struct report *r, const struct husk_config *cfg)
{
	bool want_kvm = !strcmp(cfg->accel, "kvm");
	bool want_tcg = !strcmp(cfg->accel, "tcg");
	long long kvm_ms = 0, tcg_ms = 0;
	struct herr why;
	bool kvm, tcg;

	kvm = hv_probe_guest(cfg->hypervisor_path, "kvm", &kvm_ms, &why);
	if (kvm)
		item(r, "ok", "kvm", "a test guest ran under KVM in %lld ms",
		     kvm_ms);
	else
		item(r,
		     want_kvm	? "FAIL"
		     : want_tcg ? "ok"
				: "warn",
		     "kvm", "not usable: %s", why.msg);
	tcg = hv_probe_guest(cfg->hypervisor_path, "tcg", &tcg_ms, &why);
	if (tcg)
		item(r, "ok", "tcg", "a test guest ran under TCG in %lld ms",
		     tcg_ms);
	else
		item(r, want_tcg || (!kvm && !want_kvm) ? "FAIL" : "warn",
		     "tcg", "not usable: %s", why.msg);
	if (want_kvm && kvm)
		item(r, "ok", "accel", "KVM (accel = \"kvm\")");
	else if (want_tcg && tcg)
		item(r, "ok", "accel", "TCG (accel = \"tcg\")");
	else if (!want_kvm && !want_tcg && kvm)
		item(r, "ok", "accel", "KVM (accel = \"auto\")");
	else if (!want_kvm && !want_tcg && tcg)
		item(r, "warn", "accel",
		     "TCG will be used: guests run, several times slower than "
		     "under KVM");
}

/*
 * Cloud Hypervisor: installed, its version, and KVM (it has no software
 * fallback), judged by the same test guest, run with QEMU when QEMU is
 * there; the agent is reached over hybrid vsock, so vhost-vsock does not
 * matter.
 */
static void check_clh(struct report *r, const struct husk_config *cfg)
{
	const char *version;
	long long ms = 0;
	struct herr why;

	if (access(cfg->hypervisor_path, X_OK) < 0) {
		item(r, "FAIL", "hypervisor", "cloud-hypervisor %s: %s",
		     cfg->hypervisor_path, strerror(errno));
	} else {
		/* qemu_version() runs "PATH --version": the same for both. */
		version = qemu_version(cfg->hypervisor_path, &why);
		if (version)
			item(r, "ok", "hypervisor", "%s (%s)",
			     cfg->hypervisor_path, version);
		else
			item(r, "FAIL", "hypervisor", "%s", why.msg);
	}
	if (access(CONFIG_QEMU_PATH, X_OK) < 0) {
		if (access("/dev/kvm", R_OK | W_OK) < 0)
			item(r, "FAIL", "kvm",
			     "Cloud Hypervisor needs KVM: /dev/kvm: %s",
			     strerror(errno));
		else
			item(r, "warn", "kvm",
			     "/dev/kvm opens, but no %s to run a test guest "
			     "with: not proven",
			     CONFIG_QEMU_PATH);
	} else if (hv_probe_guest(CONFIG_QEMU_PATH, "kvm", &ms, &why)) {
		item(r, "ok", "kvm", "a test guest ran under KVM in %lld ms",
		     ms);
	} else {
		item(r, "FAIL", "kvm",
		     "Cloud Hypervisor needs KVM, and it is not usable: %s",
		     why.msg);
	}
	item(r, "ok", "agent",
	     "hybrid vsock (" VM_CLH_VSOCK " in the pod's directory, port %d)",
	     VM_AGENT_PORT);
}

static void check_sources(struct report *r, const struct husk_config *cfg)
{
	const char *s = cfg->sources;

	if (!*s) {
		item(r, "warn", "configuration",
		     "no file found (%s/%s, %s/%s): built-in defaults",
		     HUSK_CONF_SHARE_DIR, HUSK_CONF_NAME, HUSK_CONF_ETC_DIR,
		     HUSK_CONF_NAME);
		return;
	}
	while (*s) {
		size_t n = strcspn(s, "\n");

		item(r, "ok", "configuration", "%.*s", (int)n, s);
		s += n + (s[n] == '\n');
	}
}

int check_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *config = NULL;
	struct husk_config cfg;
	struct report r = { 0 };
	struct herr err;
	const char *version;
	int c;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			printf("usage: husk check [--config FILE]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (config_load(config, &cfg, &err) < 0) {
		item(&r, "FAIL", "configuration", "%s", err.msg);
		printf("husk cannot run on this host: fix the configuration "
		       "first\n");
		config_free(&cfg);
		return 1;
	}
	check_sources(&r, &cfg);
	if (config_is_clh(&cfg)) {
		check_clh(&r, &cfg);
	} else if (strcmp(cfg.hypervisor, "qemu")) {
		item(&r, "FAIL", "hypervisor",
		     "%s: this build drives only qemu", cfg.hypervisor);
	} else if (access(cfg.hypervisor_path, X_OK) < 0) {
		item(&r, "FAIL", "hypervisor", "%s: %s", cfg.hypervisor_path,
		     strerror(errno));
	} else {
		version = qemu_version(cfg.hypervisor_path, &err);
		if (version)
			item(&r, "ok", "hypervisor", "%s (%s)",
			     cfg.hypervisor_path, version);
		else
			item(&r, "FAIL", "hypervisor", "%s", err.msg);
		check_accel(&r, &cfg);
		if (qemu_sandbox_usable(cfg.hypervisor_path, &err))
			item(&r, "ok", "sandbox",
			     "QEMU runs with -sandbox (seccomp)");
		else
			item(&r, "warn", "sandbox",
			     "QEMU cannot use -sandbox, it will run without: "
			     "%s",
			     err.msg);
	}
	/* QEMU's agent channel and machine (check_clh() has its own). */
	if (!config_is_clh(&cfg)) {
		if (vhost_vsock_usable(&err))
			item(&r, "ok", "vhost-vsock",
			     "/dev/vhost-vsock: the agent will be reached over "
			     "vsock");
		else
			item(&r, "warn", "vhost-vsock",
			     "%s: the agent will be reached over "
			     "virtio-serial",
			     err.msg);
		check_machine(&r, &cfg);
		check_firmware(&r, &cfg);
	}
	check_kernel(&r, &cfg);
	if (cfg.initrd)
		check_initrd(&r, cfg.initrd);
	if (cfg.image)
		check_image(&r, &cfg);
	check_shared_fs(&r, &cfg);
	if (r.fails)
		printf("husk cannot run on this host: %d problem%s\n", r.fails,
		       r.fails == 1 ? "" : "s");
	else
		printf("husk can run on this host%s\n",
		       r.warns ? " (see the warnings)" : "");
	config_free(&cfg);
	return r.fails ? 1 : 0;
}
