// SPDX-License-Identifier: Apache-2.0
/*
 * The container's filesystem as the guest sees it: containerd's rootfs
 * mounts (an overlay, usually) go on <bundle>/rootfs, which is bound into
 * the pod's shared directory as <cid>/rootfs; each host file or directory a
 * bind mount names is bound next to it as <cid>-m<n>-<name>.  The shared
 * directory is what the hypervisor exports (9p or virtio-fs, tag
 * kataShared).  The caller keeps all of it in a private mount namespace
 * (the shim does), so it disappears with that process and its VM even if
 * nothing unmounts it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "path.h"
#include "pod.h"
#include "util.h"

#define MOUNT_DATA_MAX 4096

static const struct {
	const char *name;
	unsigned long set, clear;
} mount_flags[] = {
	{ "ro", MS_RDONLY, 0 },
	{ "rw", 0, MS_RDONLY },
	{ "nosuid", MS_NOSUID, 0 },
	{ "suid", 0, MS_NOSUID },
	{ "nodev", MS_NODEV, 0 },
	{ "dev", 0, MS_NODEV },
	{ "noexec", MS_NOEXEC, 0 },
	{ "exec", 0, MS_NOEXEC },
	{ "sync", MS_SYNCHRONOUS, 0 },
	{ "async", 0, MS_SYNCHRONOUS },
	{ "dirsync", MS_DIRSYNC, 0 },
	{ "noatime", MS_NOATIME, 0 },
	{ "nodiratime", MS_NODIRATIME, 0 },
	{ "relatime", MS_RELATIME, 0 },
	{ "strictatime", MS_STRICTATIME, 0 },
	{ "bind", MS_BIND, 0 },
	{ "rbind", MS_BIND | MS_REC, 0 },
	{ "defaults", 0, 0 },
};

/* Split mount(8)-style options into flags and the data string. */
static int parse_options(char *const *opts, size_t n, unsigned long *flags,
			 char *data, struct herr *err)
{
	size_t len = 0;

	*flags = 0;
	data[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t k, olen = strlen(opts[i]);

		for (k = 0; k < ARRAY_SIZE(mount_flags); k++)
			if (!strcmp(opts[i], mount_flags[k].name))
				break;
		if (k < ARRAY_SIZE(mount_flags)) {
			*flags |= mount_flags[k].set;
			*flags &= ~mount_flags[k].clear;
			continue;
		}
		if (len + olen + 2 > MOUNT_DATA_MAX)
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"mount options longer than %d bytes",
					MOUNT_DATA_MAX);
		if (len)
			data[len++] = ',';
		memcpy(data + len, opts[i], olen + 1);
		len += olen;
	}
	return 0;
}

static int mount_layers(struct pod_container *c, const char *target,
			struct herr *err)
{
	for (size_t i = 0; i < c->n_rootfs; i++) {
		const Containerd__Types__Mount *m = c->rootfs[i];
		char data[MOUNT_DATA_MAX];
		unsigned long flags;

		if (parse_options(m->options, m->n_options, &flags, data, err) <
		    0)
			return herr_prefix(err, "rootfs[%zu] (%s)", i, m->type);
		if (mount(m->source, target, m->type, flags,
			  data[0] ? data : NULL) < 0)
			return herr_errno(err, errno,
					  "mount rootfs[%zu] (%s %s) on %s", i,
					  m->type, m->source, target);
		c->rootfs_mounted = true;
	}
	return 0;
}

static int bind_path(const char *src, const char *dst, bool readonly,
		     struct herr *err)
{
	if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
		return herr_errno(err, errno, "bind %s on %s", src, dst);
	if (readonly && mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY,
			      NULL) < 0) {
		herr_errno(err, errno, "make %s read-only", dst);
		umount2(dst, MNT_DETACH);
		return -1;
	}
	return 0;
}

static int share_one(struct pod_container *c, const struct spec_share *sh,
		     struct herr *err)
{
	_cleanup_free_ char *dst = path_join(c->pod->shared_dir, sh->name);
	struct stat st;

	if (stat(sh->host_path, &st) < 0)
		return herr_errno(err, errno, "bind mount source %s",
				  sh->host_path);
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(dst, 0755) < 0 && errno != EEXIST)
			return herr_errno(err, errno, "mkdir %s", dst);
	} else {
		int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		if (fd < 0)
			return herr_errno(err, errno, "create %s", dst);
		close(fd);
	}
	return bind_path(sh->host_path, dst, sh->readonly, err);
}

int rootfs_shared_dir_prepare(struct pod *pod, struct herr *err)
{
	if (pod->shared_dir_mounted)
		return 0;
	if (mkdir(pod->shared_dir, 0700) < 0 && errno != EEXIST)
		return herr_errno(err, errno, "mkdir %s", pod->shared_dir);
	/*
	 * A shared mount of its own, made while it is still empty: what is
	 * mounted under it later (rootfs, volumes) then propagates into
	 * virtiofsd's mount namespace, a slave copy of this one.  Without
	 * it the daemon would only see what existed when it started.
	 */
	if (mount(pod->shared_dir, pod->shared_dir, NULL, MS_BIND, NULL) < 0)
		return herr_errno(err, errno, "bind %s on itself",
				  pod->shared_dir);
	if (mount(NULL, pod->shared_dir, NULL, MS_SHARED, NULL) < 0) {
		herr_errno(err, errno, "make %s a shared mount",
			   pod->shared_dir);
		umount2(pod->shared_dir, MNT_DETACH);
		return -1;
	}
	pod->shared_dir_mounted = true;
	return 0;
}

void rootfs_shared_dir_release(struct pod *pod)
{
	if (pod->shared_dir_mounted && umount2(pod->shared_dir, MNT_DETACH) < 0)
		log_warn("unmount %s: %s", pod->shared_dir, strerror(errno));
	pod->shared_dir_mounted = false;
	rmdir(pod->shared_dir);
}

int rootfs_setup(struct pod_container *c, struct herr *err)
{
	_cleanup_free_ char *target = path_join(c->bundle, "rootfs");
	_cleanup_free_ char *cdir = path_join(c->pod->shared_dir, c->id);
	_cleanup_free_ char *shared = path_join(cdir, "rootfs");
	_cleanup_free_ char *src = NULL;

	if (rootfs_shared_dir_prepare(c->pod, err) < 0)
		return -1;
	if (c->n_rootfs) {
		if (mkdir(target, 0711) < 0 && errno != EEXIST)
			return herr_errno(err, errno, "mkdir %s", target);
		if (mount_layers(c, target, err) < 0)
			return -1;
		src = xstrdup(target);
	} else {
		/* No mounts (CRI-O): root.path is ready, maybe relative. */
		const char *rp = c->spec.root_path;

		if (!rp || !*rp)
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"no rootfs mounts and no root.path in "
					"config.json");
		src = rp[0] == '/' ? xstrdup(rp) : path_join(c->bundle, rp);
	}
	if (mkdir_p(shared, 0755) < 0)
		return herr_errno(err, errno, "mkdir %s", shared);
	if (bind_path(src, shared, false, err) < 0)
		return -1;
	c->rootfs_shared = true;
	for (size_t i = 0; i < c->spec.n_shares; i++) {
		if (share_one(c, &c->spec.shares[i], err) < 0)
			return herr_prefix(err, "share %s",
					   c->spec.shares[i].host_path);
		c->n_shares_bound = i + 1;
	}
	return 0;
}

/* Unmount (lazily if the hypervisor still holds files there) and remove. */
static void unmount_and_remove(const char *path, bool is_mount)
{
	struct stat st;

	if (is_mount && umount2(path, 0) < 0 && errno != EINVAL &&
	    errno != ENOENT && umount2(path, MNT_DETACH) < 0)
		log_warn("unmount %s: %s", path, strerror(errno));
	if (lstat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode) ? rmdir(path) : unlink(path))
		log_debug("remove %s: %s", path, strerror(errno));
}

void rootfs_teardown(struct pod_container *c)
{
	_cleanup_free_ char *target = path_join(c->bundle, "rootfs");
	_cleanup_free_ char *cdir = path_join(c->pod->shared_dir, c->id);
	_cleanup_free_ char *shared = path_join(cdir, "rootfs");

	for (size_t i = c->n_shares_bound; i-- > 0;) {
		_cleanup_free_ char *dst =
			path_join(c->pod->shared_dir, c->spec.shares[i].name);

		unmount_and_remove(dst, true);
	}
	c->n_shares_bound = 0;
	if (c->rootfs_shared)
		unmount_and_remove(shared, true);
	c->rootfs_shared = false;
	rmdir(shared);
	rmdir(cdir);
	if (c->rootfs_mounted) {
		/* <bundle>/rootfs itself belongs to containerd: keep it. */
		for (size_t i = 0; i < c->n_rootfs; i++)
			if (umount2(target, 0) < 0 &&
			    umount2(target, MNT_DETACH) < 0)
				log_warn("unmount %s: %s", target,
					 strerror(errno));
	}
	c->rootfs_mounted = false;
}
