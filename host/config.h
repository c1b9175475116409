/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host configuration, read by the shim and the husk utility:
 * /usr/share/defaults/husk/configuration.toml, overridden by
 * /etc/husk/configuration.toml, plus drop-ins from config.d/ next to the
 * chosen file (sorted by name).  Key names follow
 * Kata's where they mean the same thing.  Parsed by a strict parser for the
 * TOML subset used (tables, strings, integers, booleans, string arrays);
 * anything else is an error naming file, line and key.
 */
#ifndef HUSK_HOST_CONFIG_H
#define HUSK_HOST_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "version.h"

enum shared_fs {
	SHARED_FS_9P,
	SHARED_FS_VIRTIO_FS,
	SHARED_FS_NONE,
};

struct husk_config {
	/* [hypervisor.qemu] or [hypervisor.clh] (Cloud Hypervisor) */
	char *hypervisor; /* "qemu" or "clh": which table was used */
	char *hypervisor_path; /* path */
	char *kernel; /* kernel */
	char *initrd; /* initrd (either initrd or image) */
	char *image; /* image: DAX rootfs on nvdimm */
	/* firmware: -bios FILE; NULL: qboot on q35/pc if QEMU ships it */
	char *firmware;
	char *machine_type; /* machine_type: "microvm", "q35", "pc" */
	char *kernel_params; /* kernel_params, appended */
	unsigned int default_vcpus; /* default_vcpus */
	unsigned int default_memory; /* default_memory, MiB */
	/* Caps on what a pod's containers may grow the VM to (sizing.h);
	 * 0: the host's memory / online CPUs. */
	unsigned int default_maxvcpus; /* default_maxvcpus */
	unsigned int default_maxmemory; /* default_maxmemory, MiB */
	/* shared_fs: "virtio-9p", "virtio-fs", "none" */
	enum shared_fs shared_fs;
	/* Set by a file; otherwise config_load() chooses (see below). */
	bool shared_fs_explicit;
	/* Why this shared_fs: for "husk check" (config_load() sets it). */
	char *shared_fs_why;
	char *virtio_fs_daemon; /* virtio_fs_daemon */
	char *virtio_fs_cache; /* virtio_fs_cache: "auto", "always", "none" */
	unsigned int virtio_fs_cache_size; /* virtio_fs_cache_size, MiB (DAX) */
	char **virtio_fs_extra_args; /* virtio_fs_extra_args, NULL-ended */
	unsigned int msize_9p; /* msize_9p */
	bool enable_debug; /* enable_debug (hypervisor and agent) */
	char *accel; /* husk: "auto" (probe KVM), "kvm", "tcg" */
	/* tcg_tb_size: TCG translation cache, MiB (0: QEMU's 1 GiB) */
	unsigned int tcg_tb_size;
	/* reclaim_guest_freed_memory: virtio-balloon free page reporting */
	bool reclaim_guest_freed_memory;
	/* [agent.husk] (Kata: [agent.kata]) */
	unsigned int dial_timeout; /* dial_timeout, seconds */
	bool agent_debug; /* enable_debug in [agent.*] */
	/* [runtime] */
	bool runtime_debug; /* enable_debug in [runtime] */
	/* internetworking_model: "tcfilter" (default), "macvtap", "none"
	 * (how a pod's interfaces reach its VM: host/net.h) */
	char *internetworking_model;
	/* Where each value came from, for "husk env". */
	char *sources; /* newline-separated list of files read */
};

/* Where each hypervisor is when its table sets no path (Kata's too). */
#define CONFIG_QEMU_PATH "/usr/bin/qemu-system-x86_64"
#define CONFIG_CLH_PATH "/usr/bin/cloud-hypervisor"

/* Cloud Hypervisor has no 9p device: its shared directory is virtio-fs. */
#define CONFIG_CLH_NO_9P                                      \
	"Cloud Hypervisor has no virtio-9p: use shared_fs = " \
	"\"virtio-fs\" (with virtiofsd) or \"none\""

static inline bool config_is_clh(const struct husk_config *cfg)
{
	return cfg->hypervisor && !strcmp(cfg->hypervisor, "clh");
}

/* Where config_load() looks (mk/host.mk passes make's PREFIX). */
#ifndef HUSK_PREFIX
#define HUSK_PREFIX "/usr"
#endif
#define HUSK_CONF_SHARE_DIR HUSK_PREFIX "/share/defaults/husk"
#define HUSK_CONF_ETC_DIR "/etc/husk"
#define HUSK_CONF_NAME "configuration.toml"

/*
 * Default search path; HUSK_CONF_FILE or @explicit_path override it.
 * @cfg is overwritten: built-in defaults first, then each file on top,
 * then config_validate().
 */
int config_load(const char *explicit_path, struct husk_config *cfg,
		struct herr *err);

/*
 * The layered search config_load() does, with its roots as parameters (so
 * tests can point them at temp dirs): defaults < @share_dir/NAME <
 * @etc_dir/NAME < config.d/ drop-ins of both dirs, sorted by file name, a
 * drop-in in @etc_dir hiding the one of the same name in @share_dir.
 * A missing file or directory is skipped; an unreadable one is an error.
 */
int config_load_dirs(const char *share_dir, const char *etc_dir,
		     struct husk_config *cfg, struct herr *err);

/* Read one file (and the config.d/ next to it) on top of @cfg. */
int config_load_file(const char *path, struct husk_config *cfg,
		     struct herr *err);

/*
 * Consistency of the merged result: a kernel, exactly one of initrd and
 * image, an image only on a machine with nvdimm (q35, pc).
 */
int config_validate(const struct husk_config *cfg, struct herr *err);

/*
 * Settle shared_fs once the files are read: an explicit choice stays (an
 * explicit virtio-fs without an executable virtio_fs_daemon is an error
 * naming the path); otherwise virtio-fs when the daemon is executable,
 * else virtio-9p.  Records the reason in shared_fs_why.  config_load()
 * and config_load_dirs() call it.
 */
int config_resolve_shared_fs(struct husk_config *cfg, struct herr *err);

/* QEMU 7.2's vhost-user-fs has no DAX window: why cache_size is refused. */
#define CONFIG_NO_DAX                                                   \
	"QEMU 7.2's vhost-user-fs has no DAX window (cache-size); set " \
	"virtio_fs_cache_size = 0"

/* Parse one file's text into @cfg on top of what is there (for drop-ins). */
int config_parse(const char *text, size_t len, const char *filename,
		 struct husk_config *cfg, struct herr *err);

void config_defaults(struct husk_config *cfg);
void config_free(struct husk_config *cfg);

/* "virtio-9p", "virtio-fs" or "none". */
const char *config_shared_fs_name(enum shared_fs fs);

/* The effective configuration as TOML, Kata's key names (husk env). */
void config_dump(const struct husk_config *cfg, FILE *f);

#endif
