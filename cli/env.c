// SPDX-License-Identifier: Apache-2.0
/*
 * husk env [--config FILE]: the effective configuration (every file merged,
 * in TOML with Kata's key names), the versions, what the host offers, and
 * the QEMU command line and kernel parameters a VM would get, so an
 * operator can see exactly what the shim will run.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "hv.h"
#include "sizing.h"
#include "util.h"
#include "virtiofsd.h"

int env_main(int argc, char **argv);

static void put_quoted(const char *v)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)(v ? v : ""); *p;
	     p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void put_str(const char *key, const char *v)
{
	printf("%s = ", key);
	put_quoted(v);
	putchar('\n');
}

static void put_bool(const char *key, bool v)
{
	printf("%s = %s\n", key, v ? "true" : "false");
}

/*
 * The guest kernel's release: a bzImage points at its version string from
 * the setup header; a vmlinux holds the "Linux version " banner somewhere.
 */
static void guest_kernel_release(const char *path, char *out, size_t cap)
{
	static const char banner[] = "Linux version ";
	const size_t chunk = 1 << 20, keep = sizeof(banner) + 64;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = NULL;
	unsigned char h[0x210];
	off_t off = 0;
	size_t have = 0;

	out[0] = '\0';
	if (fd < 0)
		return;
	if (pread(fd, h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
	    !memcmp(h + 0x202, "HdrS", 4)) {
		unsigned int v = h[0x20e] | h[0x20f] << 8;
		char s[65] = "";

		if (v && pread(fd, s, sizeof(s) - 1, 0x200 + v) > 0)
			snprintf(out, cap, "%.*s", (int)strcspn(s, " "), s);
		return;
	}
	buf = xmalloc(chunk + keep + 1);
	while (off < (64 << 20)) {
		ssize_t n = pread(fd, buf + have, chunk, off);
		char *hit;

		if (n <= 0)
			return;
		have += (size_t)n;
		off += n;
		buf[have] = '\0';
		hit = memmem(buf, have, banner, sizeof(banner) - 1);
		if (hit && hit + sizeof(banner) + 32 < buf + have) {
			hit += sizeof(banner) - 1;
			snprintf(out, cap, "%.*s", (int)strcspn(hit, " "), hit);
			return;
		}
		/* Keep the tail: the banner may straddle two chunks. */
		if (have > keep) {
			memmove(buf, buf + have - keep, keep);
			have = keep;
		}
	}
}

static void print_vm(const struct husk_config *cfg, bool kvm, bool sandbox,
		     bool vsock)
{
	struct qemu_host h = { .kvm = kvm,
			       .sandbox = sandbox,
			       .tsc_khz = host_tsc_khz(),
			       .mb_port = kernel_has_note(
				       cfg->kernel, "husk",
				       KERNEL_NOTE_HUSK_MB_PORT),
			       .vsock_fd = vsock ? 4 : -1,
			       .vsock_cid = 3,
			       .console_fd = -1 };
	/* A pod of the default size, with the room to grow a pod gets. */
	struct vm_params p = { .cfg = cfg,
			       .sandbox_id = "<sandbox>",
			       .run_dir = "<run_dir>",
			       .shared_dir = "<shared_dir>",
			       .console_fd = -1,
			       .max_mem_mib = sizing_max_memory(cfg),
			       .max_vcpus = sizing_max_vcpus(cfg) };
	_cleanup_free_ char *firmware = NULL;
	struct herr err;
	char release[65];
	char **argv;

	printf("\n# What a VM gets (paths in <> are per sandbox).\n[vm]\n");
	put_str("accel", kvm ? "kvm" : "tcg");
	put_str("agent_channel", vsock ? "vsock" : "virtio-serial");
	if (qemu_firmware(cfg, &firmware, &err) < 0) {
		put_str("firmware_error", err.msg);
	} else {
		/* "": QEMU's own (SeaBIOS; microvm's is qboot). */
		put_str("firmware", firmware);
		h.firmware = firmware;
	}
	guest_kernel_release(cfg->kernel, release, sizeof(release));
	put_str("guest_kernel", *release ? release : "unknown");
	if (cfg->image) {
		struct stat st;

		h.image_size = stat(cfg->image, &st)
				       ? 0
				       : (unsigned long long)st.st_size;
	}
	argv = qemu_build_argv(&p, &h, &err);
	if (!argv) {
		_cleanup_free_ char *cmdline = qemu_kernel_cmdline(cfg, &h);

		put_str("kernel_cmdline", cmdline);
		put_str("qemu_error", err.msg);
		return;
	}
	/* The VM's own -append: with the maxcpus= a VM that may grow gets. */
	for (char **a = argv; *a && a[1]; a++)
		if (!strcmp(*a, "-append"))
			put_str("kernel_cmdline", a[1]);
	printf("qemu_command = [\n");
	for (char **a = argv; *a; a++) {
		printf("  ");
		put_quoted(*a);
		printf(",\n");
	}
	printf("]\n");
	strv_free(argv);
	if (cfg->shared_fs == SHARED_FS_VIRTIO_FS) {
		enum virtiofsd_flavour fl;

		if (virtiofsd_flavour(cfg->virtio_fs_daemon, &fl, NULL, 0,
				      &err) < 0) {
			put_str("virtiofsd_error", err.msg);
			return;
		}
		/* The shim listens on the socket and hands it over as fd 3. */
		argv = virtiofsd_build_argv(cfg, fl, 3, "<shared_dir>");
		put_str("virtiofsd_socket", "<run_dir>/" VM_FS_SOCK " (fd 3)");
		printf("virtiofsd_command = [\n");
		for (char **a = argv; *a; a++) {
			printf("  ");
			put_quoted(*a);
			printf(",\n");
		}
		printf("]\n");
		strv_free(argv);
	}
}

#if IS_ENABLED_CONFIG_HV_CLOUD_HYPERVISOR
/* Cloud Hypervisor: its command line and the VmConfig vm.create sends. */
static void print_vm_clh(const struct husk_config *cfg)
{
	struct vm_params p = { .cfg = cfg,
			       .sandbox_id = "<sandbox>",
			       .run_dir = "<run_dir>",
			       .shared_dir = "<shared_dir>",
			       .console_fd = -1 };
	char *cmdline = clh_kernel_cmdline(cfg), *json;
	char release[65];

	printf("\n# What a VM gets (paths in <> are per sandbox).\n[vm]\n");
	put_str("driver", "clh");
	put_str("accel", "kvm");
	put_str("agent_channel", "hybrid-vsock");
	guest_kernel_release(cfg->kernel, release, sizeof(release));
	put_str("guest_kernel", *release ? release : "unknown");
	put_str("kernel_cmdline", cmdline);
	printf("clh_command = [\n  ");
	put_quoted(cfg->hypervisor_path);
	printf(",\n  \"--api-socket\",\n  \"path=<run_dir>/" VM_CLH_API_SOCK
	       "\",\n]\n");
	json = clh_vm_config(&p, cmdline, "<run_dir>/" VM_CLH_VSOCK,
			     "/dev/fd/3");
	put_str("vm_create", json);
	free(json);
	free(cmdline);
}
#else
static void print_vm_clh(const struct husk_config *cfg)
{
	put_str("vm_error", "built without CONFIG_HV_CLOUD_HYPERVISOR");
}
#endif

int env_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *config = NULL, *version;
	struct husk_config cfg;
	struct utsname un;
	struct herr err, why;
	bool kvm, sandbox, vsock;
	int c;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			printf("usage: husk env [--config FILE]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (config_load(config, &cfg, &err) < 0) {
		fprintf(stderr, "husk env: %s\n", err.msg);
		config_free(&cfg);
		return 1;
	}
	printf("[husk]\n");
	put_str("version", HUSK_VERSION);
	printf("\n");
	config_dump(&cfg, stdout);

	printf("\n[host]\n");
	if (!uname(&un))
		put_str("kernel", un.release);
	version = qemu_version(cfg.hypervisor_path, &err);
	if (config_is_clh(&cfg)) {
		put_str("clh_version", version ? version : err.msg);
		/* The KVM probe is a QEMU guest, wherever QEMU is. */
		kvm = kvm_usable(CONFIG_QEMU_PATH, &why);
		put_bool("kvm", kvm);
		if (!kvm)
			put_str("kvm_reason", why.msg);
		print_vm_clh(&cfg);
		config_free(&cfg);
		return 0;
	}
	put_str("qemu_version", version ? version : err.msg);
	kvm = kvm_usable(cfg.hypervisor_path, &why);
	put_bool("kvm", kvm);
	if (!kvm)
		put_str("kvm_reason", why.msg);
	vsock = vhost_vsock_usable(&why);
	put_bool("vhost_vsock", vsock);
	sandbox = qemu_sandbox_usable(cfg.hypervisor_path, &why);
	put_bool("qemu_sandbox", sandbox);
	printf("tsc_khz = %lu\n", host_tsc_khz());

	if (!strcmp(cfg.accel, "kvm"))
		kvm = true;
	else if (!strcmp(cfg.accel, "tcg"))
		kvm = false;
	print_vm(&cfg, kvm, sandbox, vsock);
	config_free(&cfg);
	return 0;
}
