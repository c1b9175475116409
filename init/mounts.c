// SPDX-License-Identifier: Apache-2.0
/*
 * The filesystems every guest needs.  The kernel mounts nothing for an
 * initramfs, and no DEVTMPFS_MOUNT is relied on, so all of them are
 * mounted here: what the agent needs to serve (/proc, /sys, /dev, /run)
 * at once, what only containers use (devpts, /dev/shm, cgroup2) in
 * init_late(), after the host's first health check.  A filesystem that is
 * already there (a root image booted with devtmpfs mounted, a second run
 * under a test harness) is left alone.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include "init.h"
#include "log.h"

struct early_mount {
	const char *src, *dir, *type;
	unsigned long flags;
	const char *data;
	bool optional; /* the agent can serve without it: warn, go on */
	bool late; /* containers need it, the health check does not */
};

static const struct early_mount early_mounts[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
	  false, false },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
	  false, false },
	{ "dev", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", false, false },
	{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", false,
	  false },
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	  "newinstance,ptmxmode=0666,mode=0620,gid=5", false, true },
	{ "shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", false,
	  true },
	/* nsdelegate: containers with a cgroup namespace stay inside it. */
	{ "cgroup2", "/sys/fs/cgroup", "cgroup2",
	  MS_NOSUID | MS_NODEV | MS_NOEXEC, "nsdelegate", true, true },
};

/* Is @dir a mount point already? (its device differs from its parent's) */
static bool mounted(const char *dir)
{
	char parent[64];
	struct stat a, b;

	snprintf(parent, sizeof(parent), "%s/..", dir);
	return !stat(dir, &a) && !stat(parent, &b) && a.st_dev != b.st_dev;
}

/*
 * pivot_root(2) refuses to move away from the initramfs root (it has no
 * parent mount), and every container needs it.  So PID 1 first moves
 * itself onto a bind mount of that root, the way switch_root moves onto
 * a disk: the same files, but a root with a parent.
 */
static int leave_initramfs(struct herr *err)
{
	static const char tmp[] = "/.husk-root";
	struct statfs sfs;

	if (statfs("/", &sfs) < 0)
		return herr_errno(err, errno, "statfs /");
	if (sfs.f_type != RAMFS_MAGIC && sfs.f_type != TMPFS_MAGIC)
		return 0; /* a disk root is a mount with a parent already */
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return herr_errno(err, errno, "mkdir %s", tmp);
	if (mount("/", tmp, NULL, MS_BIND, NULL) < 0)
		return herr_errno(err, errno, "bind / on %s", tmp);
	if (chdir(tmp) < 0 || mount(tmp, "/", NULL, MS_MOVE, NULL) < 0 ||
	    chroot(".") < 0 || chdir("/") < 0)
		return herr_errno(err, errno, "move the initramfs root");
	rmdir(tmp);
	return 0;
}

static int mount_all(bool late, struct herr *err)
{
	for (size_t i = 0; i < sizeof(early_mounts) / sizeof(early_mounts[0]);
	     i++) {
		const struct early_mount *m = &early_mounts[i];

		if (m->late != late)
			continue;
		/* On a read-only root the directories are in the image. */
		if (mkdir(m->dir, 0755) < 0 && errno != EEXIST)
			goto fail;
		if (mounted(m->dir))
			continue;
		if (mount(m->src, m->dir, m->type, m->flags, m->data) < 0)
			goto fail;
		continue;
fail:
		if (!m->optional)
			return herr_errno(err, errno, "mount %s on %s", m->type,
					  m->dir);
		log_warn("mount %s on %s: %s: containers cannot use it",
			 m->type, m->dir, strerror(errno));
	}
	return 0;
}

int init_mounts(struct herr *err)
{
	if (leave_initramfs(err) < 0)
		return -1;
	init_step("root");
	return mount_all(false, err);
}

int init_mounts_late(struct herr *err)
{
	if (mount_all(true, err) < 0)
		return -1;
	/* Programs open /dev/ptmx; the instance that matters is ours. */
	if (unlink("/dev/ptmx") < 0 && errno != ENOENT)
		return herr_errno(err, errno, "unlink /dev/ptmx");
	if (symlink("pts/ptmx", "/dev/ptmx") < 0)
		return herr_errno(err, errno, "symlink /dev/ptmx");
	return 0;
}
