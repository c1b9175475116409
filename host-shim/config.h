/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shim's configuration: /usr/share/defaults/husk/configuration.toml,
 * overridden by /etc/husk/configuration.toml, plus drop-ins from
 * config.d/ next to the chosen file (sorted by name).  Key names follow
 * Kata's where they mean the same thing.  Parsed by a strict parser for the
 * TOML subset used (tables, strings, integers, booleans, string arrays);
 * anything else is an error naming file, line and key.
 */
#ifndef HUSK_SHIM_CONFIG_H
#define HUSK_SHIM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

enum shared_fs {
	SHARED_FS_9P,
	SHARED_FS_VIRTIO_FS,
	SHARED_FS_NONE,
};

struct husk_config {
	/* [hypervisor.qemu] (or [hypervisor.clh]) */
	char *hypervisor; /* "qemu" or "clh": which table was used */
	char *hypervisor_path; /* path */
	char *kernel; /* kernel */
	char *initrd; /* initrd (either initrd or image) */
	char *image; /* image: DAX rootfs on nvdimm */
	char *machine_type; /* machine_type: "microvm", "q35", "pc" */
	char *kernel_params; /* kernel_params, appended */
	unsigned int default_vcpus; /* default_vcpus */
	unsigned int default_memory; /* default_memory, MiB */
	enum shared_fs shared_fs; /* shared_fs: "virtio-9p", "virtio-fs", "none" */
	char *virtio_fs_daemon; /* virtio_fs_daemon */
	unsigned int msize_9p; /* msize_9p */
	bool enable_debug; /* enable_debug (hypervisor and agent) */
	char *accel; /* husk: "auto" (probe KVM), "kvm", "tcg" */
	/* [agent.husk] (Kata: [agent.kata]) */
	unsigned int dial_timeout; /* dial_timeout, seconds */
	bool agent_debug; /* enable_debug in [agent.*] */
	/* [runtime] */
	bool runtime_debug; /* enable_debug in [runtime] */
	/* Where each value came from, for "husk env". */
	char *sources; /* newline-separated list of files read */
};

/* Default search path; HUSK_CONF_FILE or @explicit_path override it. */
int config_load(const char *explicit_path, struct husk_config *cfg,
		struct herr *err);

/* Parse one file's text into @cfg on top of what is there (for drop-ins). */
int config_parse(const char *text, size_t len, const char *filename,
		 struct husk_config *cfg, struct herr *err);

void config_defaults(struct husk_config *cfg);
void config_free(struct husk_config *cfg);

#endif
