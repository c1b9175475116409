/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Storage handlers for CreateSandbox and CreateContainer: drivers local,
 * ephemeral, 9p, virtio-fs, blk (by device path or PCI path), mmioblk,
 * nvdimm, overlayfs and bind.  Mounts are reference-counted by mount_point,
 * so a storage shared by several containers is unmounted with the last one.
 */
#ifndef HUSK_AGENT_STORAGE_H
#define HUSK_AGENT_STORAGE_H

#include "agent.pb-c.h"
#include "err.h"

/*
 * Mount (or take another reference on) @s.  Unknown driver, missing source
 * or mount point, bad options: INVALID_ARGUMENT naming the field.
 * @timeout_ms bounds waiting for a device to appear (hotplug).
 */
int storage_add(const Grpc__Storage *s, long long timeout_ms, struct herr *err);

/* Drop one reference to the storage at @mount_point; unmount at zero. */
int storage_put(const char *mount_point, struct herr *err);

/* Unmount every storage (DestroySandbox), whatever the counts. */
void storage_put_all(void);

/* Storage drivers this agent knows (for GetGuestDetails). */
extern const char *const storage_driver_names[];
extern const size_t storage_driver_count;

/*
 * Parse mount(8)-style options ("ro", "nosuid", "mode=0755") into mount
 * flags and the data string the filesystem gets (malloc'd, NULL when there
 * is none).  Also used for the OCI spec's mounts.  An entry may hold a
 * comma-separated list.  Propagation options (rprivate, shared ...) go to
 * *@propagation (0 if none); pass NULL to ignore them.
 */
int mount_options_parse(char *const *opts, size_t n, unsigned long *flags,
			unsigned long *propagation, char **data,
			struct herr *err);

/*
 * Resolve a guest PCI path ("02/01": slot 02 on the root bus, then slot 01
 * behind that bridge) to the virtio-blk disk's node ("/dev/vda", malloc'd),
 * waiting up to @timeout_ms for it to appear (hotplug).  DEADLINE_EXCEEDED
 * when it does not.  Also for the blk Device handler.
 */
int storage_pci_blk_dev(const char *pci_path, long long timeout_ms, char **dev,
			struct herr *err);

/* Tests: look under @sysfs and @dev instead of /sys and /dev (NULL: reset). */
void storage_set_roots(const char *sysfs, const char *dev);

/*
 * Host mode (--virtio-fs TAG=DIR): a virtio-fs storage whose source is
 * @tag is a bind mount of @dir, what a virtio-fs device exporting @dir
 * would show (the stand-in VMM of tests/vm/ has no device to mount).
 */
void storage_set_virtiofs_dir(const char *tag, const char *dir);

#endif
