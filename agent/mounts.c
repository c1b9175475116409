// SPDX-License-Identifier: Apache-2.0
/*
 * The container's filesystem, set up in the container child (its own mount
 * namespace): rootfs propagation, the spec's mounts (bind with propagation,
 * tmpfs, proc, sysfs, devpts, mqueue, cgroup, anything else by type),
 * devices, pivot_root, then masked and read-only paths and a read-only
 * root.  Destinations are resolved inside the rootfs, following symlinks
 * the way the container would, so a symlink cannot point a mount outside.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "agent.h"
#include "path.h"
#include "storage.h"
#include "util.h"

#define MAX_LINKS 40

/*
 * Join @unsafe onto @root, resolving ".." and symlinks as if @root were
 * "/".  Components that do not exist are kept as they are.
 */
static int path_in_root(const char *root, const char *unsafe, char *out,
			size_t size)
{
	char cur[PATH_MAX] = "", todo[PATH_MAX], tmp[PATH_MAX];
	int links = 0;

	if (snprintf(todo, sizeof(todo), "%s", unsafe) >= (int)sizeof(todo))
		return -ENAMETOOLONG;
	while (todo[0]) {
		char *comp = todo, *rest;
		char full[PATH_MAX], target[PATH_MAX];
		struct stat st;
		ssize_t n;

		while (*comp == '/')
			comp++;
		rest = strchrnul(comp, '/');
		if (*rest)
			*rest++ = '\0';
		if (!*comp || !strcmp(comp, ".")) {
			memmove(todo, rest, strlen(rest) + 1);
			continue;
		}
		if (!strcmp(comp, "..")) {
			char *slash = strrchr(cur, '/');

			if (slash)
				*slash = '\0';
			memmove(todo, rest, strlen(rest) + 1);
			continue;
		}
		if (snprintf(full, sizeof(full), "%s%s/%s", root, cur, comp) >=
		    (int)sizeof(full))
			return -ENAMETOOLONG;
		if (lstat(full, &st) == 0 && S_ISLNK(st.st_mode)) {
			if (++links > MAX_LINKS)
				return -ELOOP;
			n = readlink(full, target, sizeof(target) - 1);
			if (n < 0)
				return -errno;
			target[n] = '\0';
			if (target[0] == '/')
				cur[0] = '\0';
			if (snprintf(tmp, sizeof(tmp), "%s/%s", target, rest) >=
			    (int)sizeof(tmp))
				return -ENAMETOOLONG;
			memcpy(todo, tmp, sizeof(todo));
			continue;
		}
		if (strlen(cur) + strlen(comp) + 2 > sizeof(cur))
			return -ENAMETOOLONG;
		strcat(cur, "/");
		strcat(cur, comp);
		memmove(todo, rest, strlen(rest) + 1);
	}
	if (snprintf(out, size, "%s%s", root, cur[0] ? cur : "/") >=
	    (int)size)
		return -ENAMETOOLONG;
	return 0;
}

static bool is_bind(const Grpc__Mount *m, bool *recursive)
{
	bool bind = !strcmp(m->type, "bind");

	*recursive = false;
	for (size_t i = 0; i < m->n_options; i++) {
		if (!strcmp(m->options[i], "rbind"))
			bind = *recursive = true;
		else if (!strcmp(m->options[i], "bind"))
			bind = true;
	}
	return bind;
}

/* Options without bind/rbind, which mount_options_parse does not know. */
static int parse_opts(const Grpc__Mount *m, unsigned long *flags,
		      unsigned long *prop, char **data, struct herr *err)
{
	_cleanup_free_ char **opts = xcalloc(m->n_options + 1, sizeof(char *));
	size_t n = 0;

	for (size_t i = 0; i < m->n_options; i++)
		if (strcmp(m->options[i], "bind") &&
		    strcmp(m->options[i], "rbind"))
			opts[n++] = m->options[i];
	return mount_options_parse(opts, n, flags, prop, data, err);
}

int mount_validate(const Grpc__Mount *m, size_t i, struct herr *err)
{
	unsigned long flags = 0, prop = 0;
	char *data = NULL;
	bool rec;

	if (!m->destination || m->destination[0] != '/')
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"oci.mounts[%zu].destination \"%s\": must be an absolute path",
				i, m->destination ? m->destination : "");
	if (!strcmp(m->destination, "/"))
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"oci.mounts[%zu].destination: cannot mount over /",
				i);
	if (strlen(m->destination) >= 1024)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"oci.mounts[%zu].destination: too long", i);
	if (is_bind(m, &rec) && (!m->source || m->source[0] != '/'))
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"oci.mounts[%zu].source \"%s\": a bind mount needs an absolute source",
				i, m->source ? m->source : "");
	if (!is_bind(m, &rec) && (!m->type || !*m->type))
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"oci.mounts[%zu].type: missing", i);
	if (parse_opts(m, &flags, &prop, &data, err) < 0)
		return herr_prefix(err, "oci.mounts[%zu].options", i);
	free(data);
	return 0;
}

static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;

	if (statvfs(path, &sv) < 0)
		return 0;
	if (sv.f_flag & ST_NOSUID)
		f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV)
		f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sv.f_flag & ST_RDONLY)
		f |= MS_RDONLY;
	return f;
}

/* cgroup v1 hierarchies as a tmpfs of per-controller mounts. */
static int mount_cgroup_v1(const char *dst, unsigned long flags,
			   struct herr *err)
{
	char line[512];
	FILE *f;

	if (mount("tmpfs", dst, "tmpfs", flags & ~MS_RDONLY, "mode=755") < 0)
		return herr_errno(err, errno, "mount tmpfs on %s", dst);
	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return herr_errno(err, errno, "open /proc/self/cgroup");
	while (fgets(line, sizeof(line), f)) {
		char *ctrl = strchr(line, ':'), *end, *name, path[PATH_MAX];

		if (!ctrl)
			continue;
		ctrl++;
		end = strchr(ctrl, ':');
		if (!end || end == ctrl)
			continue; /* the v2 line "0::/..." */
		*end = '\0';
		name = !strncmp(ctrl, "name=", 5) ? ctrl + 5 : ctrl;
		if (snprintf(path, sizeof(path), "%s/%s", dst, name) >=
		    (int)sizeof(path))
			continue;
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			continue;
		/* Best effort: a hierarchy we may not mount is left out. */
		if (mount("cgroup", path, "cgroup", flags, ctrl) < 0)
			rmdir(path);
	}
	fclose(f);
	if ((flags & MS_RDONLY) &&
	    mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY |
					   (flags & ~MS_RDONLY),
		  NULL) < 0)
		return herr_errno(err, errno, "remount %s read-only", dst);
	return 0;
}

/*
 * cgroup2.  A new cgroup2 mount made from the initial cgroup namespace sets
 * the hierarchy's root options (nsdelegate, memory_recursiveprot, ...) to
 * its own: without them, it turns nsdelegate off for the whole guest.  A
 * container in the agent's cgroup namespace would see the agent's tree
 * anyway, so it gets a bind of the agent's mount, which configures
 * nothing.  In a namespace of its own a new mount shows that namespace's
 * root, and there the kernel leaves the root options alone.
 */
static int mount_cgroup2(const char *dst, unsigned long flags, bool own_ns,
			 struct herr *err)
{
	static const char agent_cg[] = "/sys/fs/cgroup";

	if (own_ns) {
		if (mount("cgroup2", dst, "cgroup2", flags, NULL) < 0)
			return herr_errno(err, errno, "mount cgroup2 on %s",
					  dst);
		return 0;
	}
	if (mount(agent_cg, dst, NULL, MS_BIND, NULL) < 0)
		return herr_errno(err, errno, "bind %s on %s", agent_cg, dst);
	flags &= ~MS_REC;
	if (flags &&
	    mount(NULL, dst, NULL,
		  MS_REMOUNT | MS_BIND | locked_flags(dst) | flags, NULL) < 0)
		return herr_errno(err, errno, "remount cgroup2 on %s", dst);
	return 0;
}

static int mount_cgroup(const char *dst, unsigned long flags, bool own_ns,
			struct herr *err)
{
	char buf[256];

	if (read_file_str("/sys/fs/cgroup/cgroup.controllers", buf,
			  sizeof(buf)) > 1)
		return mount_cgroup2(dst, flags, own_ns, err);
	return mount_cgroup_v1(dst, flags, err);
}

static int make_dest(const char *dst, bool file, struct herr *err)
{
	struct stat st;
	char parent[PATH_MAX];
	char *slash;

	if (stat(dst, &st) == 0)
		return 0;
	snprintf(parent, sizeof(parent), "%s", dst);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		if (mkdir_p(parent, 0755) < 0)
			return herr_errno(err, errno, "mkdir %s", parent);
	}
	if (file) {
		int fd = open(dst, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);

		if (fd < 0)
			return herr_errno(err, errno, "create %s", dst);
		close(fd);
		return 0;
	}
	if (mkdir(dst, 0755) < 0 && errno != EEXIST)
		return herr_errno(err, errno, "mkdir %s", dst);
	return 0;
}

static int do_mount(const char *root, const Grpc__Mount *m, bool own_cgroupns,
		    struct herr *err)
{
	_cleanup_free_ char *data = NULL;
	unsigned long flags = 0, prop = 0;
	char dst[PATH_MAX];
	bool rec, bind = is_bind(m, &rec);
	struct stat st;
	int r;

	if (parse_opts(m, &flags, &prop, &data, err) < 0)
		return -1;
	r = path_in_root(root, m->destination, dst, sizeof(dst));
	if (r < 0)
		return herr_errno(err, -r, "resolve %s", m->destination);
	if (bind) {
		if (stat(m->source, &st) < 0)
			return herr_errno(err, errno, "bind source %s",
					  m->source);
		if (make_dest(dst, !S_ISDIR(st.st_mode), err) < 0)
			return -1;
		if (mount(m->source, dst, NULL, MS_BIND | (rec ? MS_REC : 0),
			  NULL) < 0)
			return herr_errno(err, errno, "bind %s on %s",
					  m->source, m->destination);
		/* Per-mount flags take a second, remounting call. */
		if (flags & ~(MS_BIND | MS_REC) &&
		    mount(NULL, dst, NULL,
			  MS_REMOUNT | MS_BIND | locked_flags(dst) |
				  (flags & ~MS_REC),
			  NULL) < 0)
			return herr_errno(err, errno, "remount %s",
					  m->destination);
	} else {
		if (make_dest(dst, false, err) < 0)
			return -1;
		if (!strcmp(m->type, "cgroup") || !strcmp(m->type, "cgroup2")) {
			if (mount_cgroup(dst, flags, own_cgroupns, err) < 0)
				return -1;
		} else if (mount(m->source && *m->source ? m->source : m->type,
				 dst, m->type, flags, data) < 0) {
			return herr_errno(err, errno, "mount %s on %s",
					  m->type, m->destination);
		}
	}
	if (prop && mount(NULL, dst, NULL, prop, NULL) < 0)
		return herr_errno(err, errno, "set propagation of %s",
				  m->destination);
	return 0;
}

static const struct {
	const char *path;
	unsigned int major, minor;
} default_devs[] = {
	{ "/dev/null", 1, 3 },	  { "/dev/zero", 1, 5 },
	{ "/dev/full", 1, 7 },	  { "/dev/random", 1, 8 },
	{ "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
};

static int make_device(const char *root, const char *path, mode_t type,
		       unsigned int major, unsigned int minor, mode_t perm,
		       uid_t uid, gid_t gid, struct herr *err)
{
	char dst[PATH_MAX];
	int r = path_in_root(root, path, dst, sizeof(dst));

	if (r < 0)
		return herr_errno(err, -r, "resolve %s", path);
	unlink(dst);
	if (mknod(dst, type | perm, makedev(major, minor)) < 0) {
		/* Without CAP_MKNOD: bind the agent's node instead. */
		if (errno != EPERM || make_dest(dst, true, err) < 0 ||
		    mount(path, dst, NULL, MS_BIND, NULL) < 0)
			return herr_errno(err, errno, "create device %s", path);
		return 0;
	}
	if (chmod(dst, perm) < 0 || chown(dst, uid, gid) < 0)
		return herr_errno(err, errno, "chown device %s", path);
	return 0;
}

static bool has_mount(const Grpc__Spec *spec, const char *dest)
{
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (!strcmp(spec->mounts[i]->destination, dest))
			return true;
	return false;
}

static int setup_dev(const char *root, const Grpc__Spec *spec,
		     struct herr *err)
{
	const Grpc__Linux *l = spec->linux;
	static const char *const links[][2] = {
		{ "/proc/self/fd", "/dev/fd" },
		{ "/proc/self/fd/0", "/dev/stdin" },
		{ "/proc/self/fd/1", "/dev/stdout" },
		{ "/proc/self/fd/2", "/dev/stderr" },
	};
	char dst[PATH_MAX + 32];

	if (has_mount(spec, "/dev")) {
		for (size_t i = 0; i < ARRAY_SIZE(default_devs); i++)
			if (make_device(root, default_devs[i].path, S_IFCHR,
					default_devs[i].major,
					default_devs[i].minor, 0666, 0, 0,
					err) < 0)
				return -1;
		for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
			snprintf(dst, sizeof(dst), "%s%s", root, links[i][1]);
			if (symlink(links[i][0], dst) < 0 && errno != EEXIST)
				return herr_errno(err, errno, "symlink %s",
						  links[i][1]);
		}
		if (has_mount(spec, "/dev/pts")) {
			snprintf(dst, sizeof(dst), "%s/dev/ptmx", root);
			unlink(dst);
			if (symlink("pts/ptmx", dst) < 0)
				return herr_errno(err, errno,
						  "symlink /dev/ptmx");
		}
	}
	for (size_t i = 0; i < l->n_devices; i++) {
		const Grpc__LinuxDevice *d = l->devices[i];
		mode_t type = d->type[0] == 'b' ? S_IFBLK :
			      d->type[0] == 'p' ? S_IFIFO :
						  S_IFCHR;

		if (make_device(root, d->path, type, d->major, d->minor,
				d->filemode ? d->filemode & 07777 : 0666,
				d->uid, d->gid, err) < 0)
			return herr_prefix(err, "oci.linux.devices[%zu]", i);
	}
	return 0;
}

static unsigned long propagation_flags(const char *name)
{
	static const struct {
		const char *name;
		unsigned long flags;
	} map[] = {
		{ "shared", MS_SHARED },
		{ "rshared", MS_SHARED | MS_REC },
		{ "slave", MS_SLAVE },
		{ "rslave", MS_SLAVE | MS_REC },
		{ "private", MS_PRIVATE },
		{ "rprivate", MS_PRIVATE | MS_REC },
		{ "unbindable", MS_UNBINDABLE },
		{ "runbindable", MS_UNBINDABLE | MS_REC },
	};

	for (size_t i = 0; name && i < ARRAY_SIZE(map); i++)
		if (!strcmp(name, map[i].name))
			return map[i].flags;
	return MS_SLAVE | MS_REC; /* nothing leaks back to the agent */
}

/* Is @mp @path or one of its ancestors, by whole components? */
static bool path_under(const char *path, const char *mp)
{
	size_t n = strlen(mp);

	if (!strcmp(mp, "/"))
		return true;
	return !strncmp(path, mp, n) && (path[n] == '/' || !path[n]);
}

/*
 * The mount that holds @path (the deepest mount point above it; the last
 * one listed when mounts are stacked) and whether it is shared.
 */
static int mount_of(const char *path, char *mp, size_t size, bool *shared,
		    struct herr *err)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0, best = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return herr_errno(err, errno, "open /proc/self/mountinfo");
	mp[0] = '\0';
	while (getline(&line, &cap, f) > 0) {
		char *save, *fld, *point = NULL;
		bool is_shared = false;
		int i = 0;

		/* id parent dev root POINT opts [optional...] - fstype ... */
		for (fld = strtok_r(line, " \n", &save); fld;
		     fld = strtok_r(NULL, " \n", &save), i++) {
			if (i == 4)
				point = fld;
			else if (i >= 6 && !strcmp(fld, "-"))
				break;
			else if (i >= 6 && !strncmp(fld, "shared:", 7))
				is_shared = true;
		}
		if (!point)
			continue;
		path_unescape_octal(point);
		if (!path_under(path, point) || strlen(point) < best ||
		    strlen(point) >= size)
			continue;
		best = strlen(point);
		strcpy(mp, point);
		*shared = is_shared;
	}
	fclose(f);
	if (!mp[0])
		return herr_set(err, GRPC_INTERNAL, ENOENT,
				"no mount holds %s in /proc/self/mountinfo",
				path);
	return 0;
}

/*
 * pivot_root(2) refuses a new root whose parent mount is shared (as it is
 * when rootfsPropagation is shared or rshared, or the volumes' sources
 * are shared): make that one mount private, as runc does, so the rootfs
 * bind below is private too and nothing the container mounts leaks out
 * through it.
 */
static int rootfs_parent_private(const char *root, struct herr *err)
{
	char mp[PATH_MAX];
	bool shared = false;

	if (mount_of(root, mp, sizeof(mp), &shared, err) < 0)
		return -1;
	if (shared && mount(NULL, mp, NULL, MS_PRIVATE, NULL) < 0)
		return herr_errno(err, errno, "make %s private", mp);
	return 0;
}

static int do_pivot_root(const char *root, struct herr *err)
{
	_cleanup_close_ int oldroot = -1, newroot = -1;

	oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	newroot = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (oldroot < 0 || newroot < 0)
		return herr_errno(err, errno, "open rootfs %s", root);
	if (fchdir(newroot) < 0)
		return herr_errno(err, errno, "chdir %s", root);
	/* Stack the old root under the new one, then detach it. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return herr_errno(err, errno, "pivot_root %s", root);
	if (fchdir(oldroot) < 0)
		return herr_errno(err, errno, "chdir old root");
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return herr_errno(err, errno, "make old root a slave");
	if (umount2(".", MNT_DETACH) < 0)
		return herr_errno(err, errno, "detach old root");
	if (chdir("/") < 0)
		return herr_errno(err, errno, "chdir /");
	return 0;
}

int mounts_setup_rootfs(const Grpc__Spec *spec, const char *cid,
			bool own_cgroupns, struct herr *err)
{
	const char *root = spec->root->path;
	const char *name = spec->linux->rootfspropagation;
	unsigned long prop = propagation_flags(name);
	char rootbuf[PATH_MAX];

	if (!realpath(root, rootbuf))
		return herr_errno(err, errno, "rootfs %s", root);
	if (mount(NULL, "/", NULL, prop, NULL) < 0)
		return herr_errno(err, errno, "set rootfs propagation");
	/*
	 * A recursive slave, private or unbindable (the default rslave)
	 * left no mount shared: the mountinfo scan, slow under TCG, would
	 * find nothing to do.
	 */
	if ((!(prop & MS_REC) || (prop & MS_SHARED)) &&
	    rootfs_parent_private(rootbuf, err) < 0)
		return herr_prefix(err, "rootfs %s", rootbuf);
	/* pivot_root needs the rootfs to be a mount point. */
	if (mount(rootbuf, rootbuf, NULL, MS_BIND | MS_REC, NULL) < 0)
		return herr_errno(err, errno, "bind rootfs %s", rootbuf);
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (do_mount(rootbuf, spec->mounts[i], own_cgroupns, err) < 0)
			return herr_prefix(err, "oci.mounts[%zu] %s", i,
					   spec->mounts[i]->destination);
	if (setup_dev(rootbuf, spec, err) < 0)
		return -1;
	if (do_pivot_root(rootbuf, err) < 0)
		return -1;
	/*
	 * The spec's propagation again, now on the container's own root:
	 * before pivot_root it could not be shared.  Private it already is.
	 */
	if (name && *name && !(prop & MS_PRIVATE) &&
	    mount(NULL, "/", NULL, prop, NULL) < 0)
		return herr_errno(err, errno, "set rootfs propagation %s",
				  name);
	return 0;
}

static int mask_path(const char *path, struct herr *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno == ENOENT ? 0 :
					 herr_errno(err, errno, "masked path %s",
						    path);
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0") < 0)
			return herr_errno(err, errno, "mask %s", path);
	} else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) {
		return herr_errno(err, errno, "mask %s", path);
	}
	return 0;
}

static int readonly_path(const char *path, struct herr *err)
{
	if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		return errno == ENOENT ? 0 :
					 herr_errno(err, errno,
						    "readonly path %s", path);
	if (mount(NULL, path, NULL,
		  MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(path),
		  NULL) < 0)
		return herr_errno(err, errno, "remount %s read-only", path);
	return 0;
}

int mounts_finish(const Grpc__Spec *spec, struct herr *err)
{
	const Grpc__Linux *l = spec->linux;

	for (size_t i = 0; i < l->n_readonlypaths; i++)
		if (readonly_path(l->readonlypaths[i], err) < 0)
			return -1;
	for (size_t i = 0; i < l->n_maskedpaths; i++)
		if (mask_path(l->maskedpaths[i], err) < 0)
			return -1;
	if (spec->root->readonly &&
	    mount(NULL, "/", NULL,
		  MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags("/"),
		  NULL) < 0)
		return herr_errno(err, errno, "remount / read-only");
	return 0;
}
