// SPDX-License-Identifier: Apache-2.0
/*
 * Storage handlers: each driver turns a Grpc__Storage into a mount (or, for
 * "local", a directory).  A table keyed by the cleaned-up mount point keeps
 * the reference counts, so a storage that several containers name is
 * mounted once and unmounted with the last of them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "storage.h"
#include "path.h"
#include "util.h"

/* How often to look again for a device that is being hot-plugged. */
#define POLL_MS 10
/* PCI paths are short: root bus, a few bridges, the device. */
#define PCI_PATH_MAX 8
/* fsGroup walks stop this deep rather than exhaust file descriptors. */
#define FS_GROUP_MAX_DEPTH 128

struct storage_ent {
	char *mount_point;
	int refs;
	bool mounted; /* false for "local": nothing to unmount */
	bool shared; /* stays mounted at zero refs until storage_put_all() */
};

static struct storage_ent *ents;
static size_t n_ents, cap_ents;

static char *sysfs_root_override, *dev_root_override;

/* One storage_add() on its way through a driver. */
struct storage_req {
	const Grpc__Storage *s;
	const char *mp; /* cleaned-up mount point */
	long long timeout_ms;
	bool mounted; /* set once there is something to unmount */
};

/* The readahead window of the virtio-fs share, in KiB. */
#define VIRTIOFS_READAHEAD_KB "2048"

static char *virtiofs_tag, *virtiofs_dir;

void storage_set_virtiofs_dir(const char *tag, const char *dir)
{
	free(virtiofs_tag);
	free(virtiofs_dir);
	virtiofs_tag = tag ? xstrdup(tag) : NULL;
	virtiofs_dir = dir ? xstrdup(dir) : NULL;
}

void storage_set_roots(const char *sysfs, const char *dev)
{
	free(sysfs_root_override);
	free(dev_root_override);
	sysfs_root_override = sysfs ? xstrdup(sysfs) : NULL;
	dev_root_override = dev ? xstrdup(dev) : NULL;
}

static const char *sysfs_root(void)
{
	return sysfs_root_override ? sysfs_root_override : "/sys";
}

static const char *dev_root(void)
{
	return dev_root_override ? dev_root_override : "/dev";
}

/* ---- small helpers ---- */

static void sleep_ms(long long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Sleep one poll interval unless @deadline has passed; false if it has. */
static bool poll_wait(long long deadline)
{
	long long left = deadline - now_ms();

	if (left <= 0)
		return false;
	sleep_ms(left < POLL_MS ? left : POLL_MS);
	return true;
}

/* Strict unsigned number in @base, no larger than @max. */
static int parse_ulong(const char *s, int base, unsigned long max,
		       unsigned long *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	*v = strtoul(s, &end, base);
	if (errno || *end || *v > max)
		return -1;
	return 0;
}

/* The value of "key=value" among @opts, or NULL. */
static const char *opt_value(char *const *opts, size_t n, const char *key)
{
	size_t i, len = strlen(key);

	for (i = 0; i < n; i++)
		if (opts[i] && !strncmp(opts[i], key, len) &&
		    opts[i][len] == '=')
			return opts[i] + len + 1;
	return NULL;
}

/*
 * "fsgid=N" is for the agent, not the filesystem: take it out of @opts
 * (the copy of the pointer array goes in *@rest) and return the group in
 * *@gid, or -1 when there is none.
 */
static int fsgid_split(char *const *opts, size_t n, char ***rest,
		       size_t *n_rest, long *gid, struct herr *err)
{
	unsigned long v;
	size_t i;

	*rest = xcalloc(n + 1, sizeof(**rest));
	*n_rest = 0;
	*gid = -1;
	for (i = 0; i < n; i++) {
		if (opts[i] && !strncmp(opts[i], "fsgid=", 6)) {
			if (parse_ulong(opts[i] + 6, 10, 0x7fffffffUL, &v) < 0)
				return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
						"option \"%s\": not a group id",
						opts[i]);
			*gid = (long)v;
			continue;
		}
		(*rest)[(*n_rest)++] = opts[i];
	}
	return 0;
}

/* Group ownership plus the set-group-id bit, so new files get the group. */
static int dir_set_group(const char *path, long gid, struct herr *err)
{
	struct stat st;

	if (chown(path, (uid_t)-1, (gid_t)gid) < 0)
		return herr_errno(err, errno, "chown :%ld", gid);
	if (stat(path, &st) < 0)
		return herr_errno(err, errno, "stat");
	if (chmod(path, (st.st_mode & 07777) | S_ISGID) < 0)
		return herr_errno(err, errno, "chmod g+s");
	return 0;
}

/* ---- mounting ---- */

static int do_unmount(const char *mp)
{
	if (umount2(mp, 0) == 0)
		return 0;
	if (errno == EINVAL || errno == ENOENT)
		return 0; /* not mounted any more */
	if (errno != EBUSY)
		return -errno;
	/* Still in use: detach now, the kernel finishes on the last close. */
	if (umount2(mp, MNT_DETACH) == 0)
		return 0;
	return -errno;
}

/*
 * Mount @source at the mount point (created as a directory unless it
 * exists) with @opts parsed into flags and data.  @extra adds flags the
 * driver implies (MS_BIND).
 */
static int do_mount(struct storage_req *r, const char *source,
		    const char *fstype, char *const *opts, size_t n,
		    unsigned long extra, struct herr *err)
{
	_cleanup_free_ char *data = NULL;
	unsigned long flags, prop;
	const unsigned long bind_ro =
		MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	struct stat st;
	int e;

	if (mount_options_parse(opts, n, &flags, &prop, &data, err) < 0)
		return -1;
	flags |= extra;
	if (lstat(r->mp, &st) < 0) {
		e = errno == ENOENT ? mkdir_p(r->mp, 0755) : -errno;
		if (e < 0)
			return herr_errno(err, -e, "create mount point");
	}
	if (mount(source, r->mp, fstype, flags, data) < 0)
		return herr_errno(err, errno, "mount %s (%s%s%s)", source,
				  fstype ? fstype : "bind", data ? ", " : "",
				  data ? data : "");
	r->mounted = true;
	/* A bind mount ignores these flags until it is remounted. */
	if ((flags & MS_BIND) && (flags & bind_ro) &&
	    mount(NULL, r->mp, NULL, MS_REMOUNT | MS_BIND | (flags & bind_ro),
		  NULL) < 0)
		return herr_errno(err, errno, "remount bind with %s",
				  flags & MS_RDONLY ? "ro"
						    : "nosuid/nodev/noexec");
	if (prop && mount(NULL, r->mp, NULL, prop, NULL) < 0)
		return herr_errno(err, errno, "set propagation");
	return 0;
}

static int need_source(struct storage_req *r, struct herr *err)
{
	if (!r->s->source || !*r->s->source)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"driver %s: source is empty", r->s->driver);
	return 0;
}

static int need_fstype(struct storage_req *r, struct herr *err)
{
	if (!r->s->fstype || !*r->s->fstype)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"driver %s: fstype is empty", r->s->driver);
	return 0;
}

/* Wait for a device node that hotplug will create. */
static int wait_path(const char *path, long long timeout_ms, struct herr *err)
{
	long long deadline = now_ms() + timeout_ms;

	do {
		if (access(path, F_OK) == 0)
			return 0;
		if (errno != ENOENT)
			return herr_errno(err, errno, "device %s", path);
	} while (poll_wait(deadline));
	return herr_set(err, GRPC_DEADLINE_EXCEEDED, 0,
			"device %s did not appear within %lld ms", path,
			timeout_ms);
}

/* ---- guest PCI paths ---- */

static int hex2(const char *s)
{
	int i, v = 0;

	for (i = 0; i < 2; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			v = v * 16 + s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			v = v * 16 + s[i] - 'a' + 10;
		else if (s[i] >= 'A' && s[i] <= 'F')
			v = v * 16 + s[i] - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* snprintf() for paths: -ENAMETOOLONG rather than a cut-off path. */
static int __attribute__((format(printf, 3, 4)))
path_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* "bb/dd/...": two hex digits per slot, slots 00-1f. */
static int pci_path_parse(const char *s, unsigned int *slots, size_t *n)
{
	int v;

	*n = 0;
	while (*s) {
		v = hex2(s);
		if (v < 0 || v > 0x1f || *n == PCI_PATH_MAX)
			return -1;
		slots[(*n)++] = (unsigned int)v;
		s += 2;
		if (*s == '/' && s[1])
			s++;
		else if (*s)
			return -1;
	}
	return *n ? 0 : -1;
}

/* The first entry of @dir not starting with '.', into @name. */
static int first_entry(const char *dir, char *name, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = -ENOENT;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= len)
			continue;
		strcpy(name, de->d_name);
		r = 0;
		break;
	}
	closedir(d);
	return r;
}

/*
 * The sysfs directory of the device at @slots: slot 0 on the root bus
 * 0000:00, each later slot on the secondary bus of the bridge before it
 * (the one entry of the bridge's pci_bus/).  -ENOENT while missing.
 */
static int pci_dev_dir(const unsigned int *slots, size_t n, char *dir,
		       size_t len)
{
	char bus[64] = "0000:00", sub[PATH_MAX];
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		if (path_fmt(dir, len, "%s/bus/pci/devices/%s:%02x.0",
			     sysfs_root(), bus, slots[i]) < 0 ||
		    access(dir, F_OK) < 0)
			return -ENOENT;
		if (i + 1 == n)
			break;
		r = path_fmt(sub, sizeof(sub), "%s/pci_bus", dir);
		if (r == 0)
			r = first_entry(sub, bus, sizeof(bus));
		if (r < 0)
			return r;
	}
	return 0;
}

/* The disk of a virtio-blk PCI device: <dev>/virtio<N>/block/<name>. */
static int pci_blk_name(const char *devdir, char *name, size_t len)
{
	char sub[PATH_MAX], virtio[64];
	DIR *d = opendir(devdir);
	struct dirent *de;
	int r = -ENOENT;

	if (!d)
		return -errno;
	while (r < 0 && (de = readdir(d))) {
		if (strncmp(de->d_name, "virtio", 6) ||
		    strlen(de->d_name) >= sizeof(virtio))
			continue;
		strcpy(virtio, de->d_name);
		r = path_fmt(sub, sizeof(sub), "%s/%s/block", devdir, virtio);
		if (r == 0)
			r = first_entry(sub, name, len);
	}
	closedir(d);
	return r;
}

static void pci_rescan(void)
{
	char path[PATH_MAX];
	int fd;

	if (path_fmt(path, sizeof(path), "%s/bus/pci/rescan", sysfs_root()) < 0)
		return;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write_all(fd, "1", 1) < 0)
		log_debug("pci rescan: %s", strerror(errno));
	close(fd);
}

int storage_pci_blk_dev(const char *pci_path, long long timeout_ms, char **dev,
			struct herr *err)
{
	unsigned int slots[PCI_PATH_MAX];
	char dir[PATH_MAX], name[NAME_MAX + 1], path[PATH_MAX];
	long long deadline = now_ms() + timeout_ms;
	bool rescanned = false;
	size_t n;

	if (pci_path_parse(pci_path, slots, &n) < 0)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"PCI path \"%s\": expected hex slots \"bb/dd\"",
				pci_path);
	for (;;) {
		if (pci_dev_dir(slots, n, dir, sizeof(dir)) == 0 &&
		    pci_blk_name(dir, name, sizeof(name)) == 0) {
			if (path_fmt(path, sizeof(path), "%s/%s", dev_root(),
				     name) == 0 &&
			    access(path, F_OK) == 0) {
				*dev = xstrdup(path);
				return 0;
			}
		}
		/* Without ACPI hotplug the guest finds the disk on a rescan. */
		if (!rescanned) {
			pci_rescan();
			rescanned = true;
		}
		if (!poll_wait(deadline))
			break;
	}
	return herr_set(err, GRPC_DEADLINE_EXCEEDED, 0,
			"PCI path %s: no block device appeared within %lld ms",
			pci_path, timeout_ms);
}

/* ---- drivers ---- */

/* A directory, not a mount: emptyDir on the guest's own disk. */
static int drv_local(struct storage_req *r, struct herr *err)
{
	const Grpc__Storage *s = r->s;
	const char *mode_s = opt_value(s->options, s->n_options, "mode");
	const char *gid_s = opt_value(s->options, s->n_options, "fsgid");
	unsigned long mode = 0, gid = 0;
	struct stat st;
	int e;

	if (mode_s && parse_ulong(mode_s, 8, 07777, &mode) < 0)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"option \"mode=%s\": not an octal mode",
				mode_s);
	if (gid_s && parse_ulong(gid_s, 10, 0x7fffffffUL, &gid) < 0)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"option \"fsgid=%s\": not a group id", gid_s);
	e = mkdir_p(r->mp, 0755);
	if (e < 0)
		return herr_errno(err, -e, "mkdir");
	if (gid_s && chown(r->mp, (uid_t)-1, (gid_t)gid) < 0)
		return herr_errno(err, errno, "chown :%lu", gid);
	if (!mode_s && !gid_s)
		return 0;
	if (!mode_s) {
		if (stat(r->mp, &st) < 0)
			return herr_errno(err, errno, "stat");
		mode = st.st_mode & 07777;
	}
	if (chmod(r->mp, (mode_t)mode | (gid_s ? S_ISGID : 0)) < 0)
		return herr_errno(err, errno, "chmod %lo", mode);
	return 0;
}

static int drv_ephemeral(struct storage_req *r, struct herr *err)
{
	const Grpc__Storage *s = r->s;
	const char *fstype = *s->fstype ? s->fstype : "tmpfs";
	_cleanup_free_ char **opts = NULL;
	size_t n;
	long gid;

	if (!strcmp(fstype, "hugetlbfs"))
		return herr_set(err, GRPC_UNIMPLEMENTED, 0,
				"ephemeral hugetlbfs storage is not supported");
	if (strcmp(fstype, "tmpfs"))
		return herr_set(
			err, GRPC_INVALID_ARGUMENT, 0,
			"ephemeral fstype \"%s\" is not supported (tmpfs only)",
			fstype);
	if (fsgid_split(s->options, s->n_options, &opts, &n, &gid, err) < 0)
		return -1;
	if (do_mount(r, *s->source ? s->source : "tmpfs", "tmpfs", opts, n, 0,
		     err) < 0)
		return -1;
	if (gid >= 0 && dir_set_group(r->mp, gid, err) < 0)
		return -1;
	return 0;
}

static int drv_9p(struct storage_req *r, struct herr *err)
{
	const Grpc__Storage *s = r->s;

	if (need_source(r, err) < 0)
		return -1;
	return do_mount(r, s->source, *s->fstype ? s->fstype : "9p", s->options,
			s->n_options, 0, err);
}

/*
 * A container's first exec reads its binary through virtio-fs one
 * readahead window at a time, each window a FUSE request the process
 * waits for (busybox: 15 requests of up to 128 KiB, the kernel's
 * default).  A larger window reads it in a few requests sent at once.
 * Best effort: the mount works the same without it.
 */
static void virtiofs_readahead(const char *mp)
{
	char path[64];
	struct stat st;
	int fd;

	if (stat(mp, &st) < 0)
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb",
		 major(st.st_dev), minor(st.st_dev));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 ||
	    write(fd, VIRTIOFS_READAHEAD_KB, strlen(VIRTIOFS_READAHEAD_KB)) < 0)
		log_warn("virtio-fs on %s: set %s: %s", mp, path,
			 strerror(errno));
	if (fd >= 0)
		close(fd);
}

static int drv_virtiofs(struct storage_req *r, struct herr *err)
{
	const Grpc__Storage *s = r->s;

	if (need_source(r, err) < 0)
		return -1;
	/* Recursive: mounts the host adds under the dir show through. */
	if (virtiofs_tag && !strcmp(s->source, virtiofs_tag))
		return do_mount(r, virtiofs_dir, NULL, NULL, 0,
				MS_BIND | MS_REC, err);
	if (do_mount(r, s->source, *s->fstype ? s->fstype : "virtiofs",
		     s->options, s->n_options, 0, err) < 0)
		return -1;
	virtiofs_readahead(r->mp);
	return 0;
}

/* A block device given by its node: wait for it, then mount it. */
static int mount_dev_node(struct storage_req *r, struct herr *err)
{
	const Grpc__Storage *s = r->s;

	if (need_source(r, err) < 0 || need_fstype(r, err) < 0)
		return -1;
	if (s->source[0] != '/')
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"driver %s: source \"%s\" is not a device path",
				s->driver, s->source);
	if (wait_path(s->source, r->timeout_ms, err) < 0)
		return -1;
	return do_mount(r, s->source, s->fstype, s->options, s->n_options, 0,
			err);
}

/* virtio-blk-pci: a guest PCI path, or a device path the runtime knew. */
static int drv_blk(struct storage_req *r, struct herr *err)
{
	const Grpc__Storage *s = r->s;
	_cleanup_free_ char *dev = NULL;

	if (need_source(r, err) < 0 || need_fstype(r, err) < 0)
		return -1;
	if (s->source[0] == '/')
		return mount_dev_node(r, err);
	if (storage_pci_blk_dev(s->source, r->timeout_ms, &dev, err) < 0)
		return -1;
	return do_mount(r, dev, s->fstype, s->options, s->n_options, 0, err);
}

static int drv_overlay(struct storage_req *r, struct herr *err)
{
	const Grpc__Storage *s = r->s;
	const char *keys[] = { "upperdir", "workdir" };
	const char *dir;
	size_t i;
	int e;

	if (!opt_value(s->options, s->n_options, "lowerdir"))
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"overlayfs: option lowerdir= is missing");
	/* The writable layer's directories may not exist yet. */
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		dir = opt_value(s->options, s->n_options, keys[i]);
		if (!dir)
			continue;
		e = dir[0] == '/' ? mkdir_p(dir, 0755) : 0;
		if (e < 0)
			return herr_errno(err, -e, "overlayfs: mkdir %s", dir);
	}
	return do_mount(r, *s->source ? s->source : "overlay", "overlay",
			s->options, s->n_options, 0, err);
}

/*
 * Bind @source at the mount point, a file for a file.  "watchable-bind"
 * lands here too: the runtime uses it for configmaps and secrets on the
 * shared fs, and a bind shows their updates (though without inotify).
 */
static int drv_bind(struct storage_req *r, struct herr *err)
{
	const Grpc__Storage *s = r->s;
	_cleanup_free_ char *parent = NULL;
	struct stat st;
	char *slash;
	int fd, e;

	if (need_source(r, err) < 0)
		return -1;
	if (stat(s->source, &st) < 0)
		return herr_errno(err, errno, "bind source %s", s->source);
	if (!S_ISDIR(st.st_mode) && access(r->mp, F_OK) < 0) {
		parent = xstrdup(r->mp);
		slash = strrchr(parent, '/');
		if (slash && slash != parent) {
			*slash = '\0';
			e = mkdir_p(parent, 0755);
			if (e < 0)
				return herr_errno(err, -e, "mkdir %s", parent);
		}
		fd = open(r->mp, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return herr_errno(err, errno, "create mount point");
		close(fd);
	}
	return do_mount(r, s->source, NULL, s->options, s->n_options,
			MS_BIND | MS_REC, err);
}

struct storage_driver {
	const char *name;
	int (*add)(struct storage_req *r, struct herr *err);
};

static const struct storage_driver drivers[] = {
	{ "local", drv_local },
	{ "ephemeral", drv_ephemeral },
	{ "9p", drv_9p },
	{ "virtio-fs", drv_virtiofs },
	{ "blk", drv_blk },
	{ "mmioblk", mount_dev_node },
	{ "nvdimm", mount_dev_node },
	{ "overlayfs", drv_overlay },
	{ "bind", drv_bind },
	{ "watchable-bind", drv_bind },
};

const char *const storage_driver_names[] = {
	"local",   "ephemeral", "9p",	     "virtio-fs", "blk",
	"mmioblk", "nvdimm",	"overlayfs", "bind",	  "watchable-bind",
};
const size_t storage_driver_count = ARRAY_SIZE(storage_driver_names);

_Static_assert(ARRAY_SIZE(storage_driver_names) == ARRAY_SIZE(drivers),
	       "every driver is listed in storage_driver_names");

static const struct storage_driver *driver_find(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(drivers); i++)
		if (!strcmp(drivers[i].name, name))
			return &drivers[i];
	return NULL;
}

/* ---- fsGroup ---- */

/*
 * Give the tree at @fd (a directory, consumed) to group @gid with group
 * read (and write unless @ro) permission, directories also g+x and
 * set-group-id, the way kubelet applies a pod's fsGroup.  Stays on one
 * filesystem and never follows symlinks.
 */
static int fs_group_walk(int fd, dev_t dev, gid_t gid, mode_t add, int depth,
			 struct herr *err)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int dfd, child, r = 0;

	if (depth > FS_GROUP_MAX_DEPTH) {
		close(fd);
		return herr_set(err, GRPC_FAILED_PRECONDITION, 0,
				"directories nested deeper than %d",
				FS_GROUP_MAX_DEPTH);
	}
	if (fchown(fd, (uid_t)-1, gid) < 0 || fstat(fd, &st) < 0 ||
	    fchmod(fd, (st.st_mode & 07777) | add | S_IXGRP | S_ISGID) < 0) {
		r = herr_errno(err, errno, "chgrp directory");
		close(fd);
		return r;
	}
	d = fdopendir(fd);
	if (!d) {
		r = herr_errno(err, errno, "read directory");
		close(fd);
		return r;
	}
	dfd = dirfd(d);
	while (r == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = herr_errno(err, errno, "stat %s", de->d_name);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (st.st_dev != dev)
				continue;
			child = openat(dfd, de->d_name,
				       O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					       O_CLOEXEC);
			if (child < 0) {
				r = herr_errno(err, errno, "open %s",
					       de->d_name);
				break;
			}
			r = fs_group_walk(child, dev, gid, add, depth + 1, err);
			if (r < 0)
				herr_prefix(err, "%s", de->d_name);
			continue;
		}
		if (fchownat(dfd, de->d_name, (uid_t)-1, gid,
			     AT_SYMLINK_NOFOLLOW) < 0) {
			r = herr_errno(err, errno, "chgrp %s", de->d_name);
			break;
		}
		if (S_ISREG(st.st_mode) &&
		    fchmodat(dfd, de->d_name, (st.st_mode & 07777) | add, 0) <
			    0)
			r = herr_errno(err, errno, "chmod %s", de->d_name);
	}
	closedir(d);
	return r;
}

static int fs_group_apply(const Grpc__Storage *s, const char *mp,
			  struct herr *err)
{
	const Grpc__FSGroup *g = s->fs_group;
	unsigned long flags = 0;
	_cleanup_free_ char *data = NULL;
	mode_t add;
	struct stat st;
	int fd;

	if (mount_options_parse(s->options, s->n_options, &flags, NULL, &data,
				err) < 0)
		return -1;
	/* Nothing can change on a read-only volume. */
	if (flags & MS_RDONLY)
		return 0;
	add = S_IRGRP | S_IWGRP;
	if (stat(mp, &st) < 0)
		return herr_errno(err, errno, "fsGroup %u: stat", g->group_id);
	if (g->group_change_policy ==
		    TYPES__FSGROUP_CHANGE_POLICY__OnRootMismatch &&
	    st.st_gid == g->group_id &&
	    (st.st_mode & (add | S_IXGRP | S_ISGID)) ==
		    (add | S_IXGRP | S_ISGID))
		return 0;
	fd = open(mp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return herr_errno(err, errno, "fsGroup %u: open", g->group_id);
	if (fs_group_walk(fd, st.st_dev, g->group_id, add, 0, err) < 0)
		return herr_prefix(err, "fsGroup %u", g->group_id);
	return 0;
}

/* ---- the reference table ---- */

static struct storage_ent *ent_find(const char *mp)
{
	size_t i;

	for (i = 0; i < n_ents; i++)
		if (!strcmp(ents[i].mount_point, mp))
			return &ents[i];
	return NULL;
}

static void ent_add(char *mp, bool mounted, bool shared)
{
	if (n_ents == cap_ents) {
		cap_ents = cap_ents ? cap_ents * 2 : 8;
		ents = realloc(ents, cap_ents * sizeof(*ents));
		if (!ents)
			abort();
	}
	ents[n_ents++] = (struct storage_ent){
		.mount_point = mp,
		.refs = 1,
		.mounted = mounted,
		.shared = shared,
	};
}

static void ent_remove(struct storage_ent *e)
{
	size_t i = (size_t)(e - ents);

	free(e->mount_point);
	memmove(&ents[i], &ents[i + 1], (n_ents - i - 1) * sizeof(*ents));
	n_ents--;
}

int storage_add(const Grpc__Storage *s, long long timeout_ms, struct herr *err)
{
	_cleanup_free_ char *mp = NULL;
	const struct storage_driver *drv;
	struct storage_req r = { 0 };
	struct storage_ent *e;
	int ret, u;

	if (!s)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"storage: none given");
	if (!s->mount_point || !*s->mount_point)
		return herr_set(
			err, GRPC_INVALID_ARGUMENT, 0,
			"storage (driver %s, source %s): mount_point is empty",
			s->driver, s->source);
	mp = path_clean(s->mount_point);
	if (!mp)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"storage %s: mount_point must be an absolute "
				"path without \"..\"",
				s->mount_point);
	drv = driver_find(s->driver ? s->driver : "");
	if (!drv)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"storage driver \"%s\" is not supported",
				s->driver ? s->driver : "");

	e = ent_find(mp);
	if (e) {
		e->refs++;
		return 0;
	}
	r.s = s;
	r.mp = mp;
	r.timeout_ms = timeout_ms;
	ret = drv->add(&r, err);
	if (ret == 0 && s->fs_group)
		ret = fs_group_apply(s, mp, err);
	if (ret < 0) {
		herr_prefix(err, "storage %s", mp);
		/* A half-done storage is not left mounted. */
		if (r.mounted) {
			u = do_unmount(mp);
			if (u < 0)
				log_warn(
					"storage %s: unmount after failure: %s",
					mp, strerror(-u));
		}
	} else {
		ent_add(steal_pointer(&mp), r.mounted, s->shared);
	}
	return ret;
}

int storage_put(const char *mount_point, struct herr *err)
{
	_cleanup_free_ char *mp = NULL;
	struct storage_ent *e;
	int r = 0;

	mp = mount_point ? path_clean(mount_point) : NULL;
	if (!mp)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"storage %s: mount point must be an absolute "
				"path without \"..\"",
				mount_point ? mount_point : "");
	e = ent_find(mp);
	if (!e || e->refs == 0) {
		return herr_set(err, GRPC_NOT_FOUND, 0,
				"storage %s: not in use", mp);
	}
	if (--e->refs > 0 || e->shared) {
		return 0;
	}
	if (e->mounted)
		r = do_unmount(mp);
	if (r < 0)
		/* Kept, with no references: storage_put_all() tries again. */
		herr_errno(err, -r, "storage %s: unmount", mp);
	else
		ent_remove(e);
	return r < 0 ? -1 : 0;
}

void storage_put_all(void)
{
	size_t i;
	int r;

	/* Newest first: later storages may be mounted inside earlier ones. */
	for (i = n_ents; i-- > 0;) {
		if (ents[i].mounted) {
			r = do_unmount(ents[i].mount_point);
			if (r < 0)
				log_warn("storage %s: unmount: %s",
					 ents[i].mount_point, strerror(-r));
		}
		free(ents[i].mount_point);
	}
	free(ents);
	ents = NULL;
	n_ents = cap_ents = 0;
}
