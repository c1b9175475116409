// SPDX-License-Identifier: Apache-2.0
/*
 * A container's cgroup on the unified (v2) hierarchy, or on the per-
 * controller v1 hierarchies when /sys/fs/cgroup is not cgroup2: finding
 * the hierarchies, creating and removing the cgroup's directories, and
 * moving a process in.  Limits, freezing, statistics and OOM events are
 * in the other agent/cgroup-*.c files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "log.h"
#include "util.h"

/* v1 hierarchies a container joins, each under <root>/<name>. */
static const char *const v1_ctrls[] = {
	"memory", "cpu",   "cpuacct", "cpuset",
	"pids",	  "blkio", "freezer", "hugetlb",
};
_Static_assert(ARRAY_SIZE(v1_ctrls) == CG_V1_CTRLS,
	       "struct cgroup has a dir per v1 controller");

/*
 * v2 controllers enabled for the children of every ancestor.  hugetlb is
 * enabled only when a limit asks for it (it is the one controller a hybrid
 * host's cgroup2 has, and nothing else needs it).
 */
static const char *const v2_ctrls[] = { "cpu", "cpuset", "io", "memory",
					"pids" };

/* rmdir while the last processes leave is bounded. */
static const long long rmdir_timeout_ms = 1000;

static const char *cg_root = "/sys/fs/cgroup";

void cgroup_set_root(const char *dir)
{
	cg_root = dir;
}

bool cgroup_is_v2(const struct cgroup *cg)
{
	return cg->v2;
}

static int normalize_path(const char *in, char **out, struct herr *err)
{
	size_t len = in ? strlen(in) : 0;
	char *p, *o;

	if (!len)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"cgroup path: empty");
	/* Room for the root and the longest file name below it. */
	if (len > PATH_MAX - strlen(cg_root) - 64)
		return herr_set(err, GRPC_INVALID_ARGUMENT, ENAMETOOLONG,
				"cgroup path \"%.64s...\"", in);
	o = p = xmalloc(len + 2);
	for (const char *s = in; *s;) {
		const char *e = strchrnul(s, '/');
		size_t n = (size_t)(e - s);

		if (n == 2 && !strncmp(s, "..", 2)) {
			free(p);
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"cgroup path \"%s\": \"..\" is not allowed",
				in);
		}
		if (n && !(n == 1 && *s == '.')) {
			*o++ = '/';
			memcpy(o, s, n);
			o += n;
		}
		s = *e ? e + 1 : e;
	}
	*o = '\0';
	if (!*p) {
		free(p);
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"cgroup path \"%s\": the root cgroup cannot be "
				"a container's",
				in);
	}
	*out = p;
	return 0;
}

/* Enable @ctrls (those available) for the children of @dir. */
static int v2_enable(const struct cgroup *cg, const char *dir,
		     const char *const *ctrls, size_t n, struct herr *err)
{
	_cleanup_free_ char *avail = NULL, *on = NULL;
	char cmd[32];

	if (cg_read(cg, dir, "cgroup.controllers", false, &avail, err) ||
	    cg_read(cg, dir, "cgroup.subtree_control", false, &on, err))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!word_in(avail, ctrls[i]) || word_in(on, ctrls[i]))
			continue;
		snprintf(cmd, sizeof(cmd), "+%s", ctrls[i]);
		if (cg_write(cg, dir, "cgroup.subtree_control", cmd, err))
			return -1;
	}
	return 0;
}

/* Enable @ctrls on every level above the cgroup's own directory. */
int cg_v2_enable_path(const struct cgroup *cg, const char *const *ctrls,
		      size_t n, struct herr *err)
{
	char dir[PATH_MAX];
	size_t root_len = strlen(cg_root);

	snprintf(dir, sizeof(dir), "%s%s", cg_root, cg->path);
	/* Walk down from the root: each parent before its child. */
	for (char *s = dir + root_len; s; s = strchr(s + 1, '/')) {
		char c = *s;

		*s = '\0';
		if (v2_enable(cg, dir, ctrls, n, err))
			return -1;
		*s = c;
	}
	return 0;
}

/* A new v1 cpuset is empty, and no task may join it until filled in. */
static int copy_cpuset(const struct cgroup *cg, const char *parent,
		       const char *child, struct herr *err)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *cur = NULL, *up = NULL;

		if (cg_read(cg, child, files[i], false, &cur, err))
			return -1;
		if (strspn(cur, " \n") != strlen(cur))
			continue;
		if (cg_read(cg, parent, files[i], false, &up, err) ||
		    cg_write(cg, child, files[i], up, err))
			return -1;
	}
	return 0;
}

/* mkdir -p of the cgroup's path below @base (a hierarchy's root). */
static int make_dirs(struct cgroup *cg, struct cg_dir *d, const char *base,
		     struct herr *err)
{
	char cur[PATH_MAX], parent[PATH_MAX];
	size_t len = strlen(base);

	memcpy(cur, base, len + 1);
	for (const char *s = cg->path; *s;) {
		const char *e = strchrnul(s + 1, '/');

		memcpy(parent, cur, len + 1);
		memcpy(cur + len, s, (size_t)(e - s));
		len += (size_t)(e - s);
		cur[len] = '\0';
		s = e;
		/* v2: the parent hands its controllers down first. */
		if (!d->ctrl &&
		    v2_enable(cg, parent, v2_ctrls, ARRAY_SIZE(v2_ctrls), err))
			return -1;
		if (mkdir(cur, 0755) == 0)
			d->created++;
		else if (errno != EEXIST)
			return herr_errno(err, errno, "cgroup %s: mkdir %s",
					  cg->path, cur);
		if (d->ctrl && !strcmp(d->ctrl, "cpuset") &&
		    copy_cpuset(cg, parent, cur, err))
			return -1;
	}
	d->dir = xstrdup(cur);
	return 0;
}

/*
 * rmdir @dir after the cgroups the container made below it (a cgroup
 * namespace lets it), deepest first.  0, or -1 with errno from @dir.
 */
static int rmdir_tree(const char *dir, int depth)
{
	char sub[PATH_MAX];
	DIR *d;

	if (!rmdir(dir) || errno == ENOENT)
		return 0;
	if ((errno != EBUSY && errno != ENOTEMPTY) || depth >= CG_MAX_DEPTH)
		return -1;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while (cg_next_subdir(d, dir, sub))
		rmdir_tree(sub, depth + 1);
	closedir(d);
	if (!rmdir(dir) || errno == ENOENT)
		return 0;
	return -1;
}

/* rmdir the cgroup, then the parents it created, as far as they are empty. */
static int remove_dirs(const struct cgroup *cg, struct cg_dir *d,
		       struct herr *err)
{
	long long deadline = now_ms() + rmdir_timeout_ms;
	char dir[PATH_MAX];
	long delay = 1;

	if (!d->dir)
		return 0;
	/* EBUSY: tasks that are exiting still hold the cgroup a moment. */
	while (rmdir_tree(d->dir, 0)) {
		if (errno != EBUSY || now_ms() >= deadline)
			return herr_errno(err, errno, "cgroup %s: rmdir %s",
					  cg->path, d->dir);
		cg_sleep_ms(delay);
		delay = delay < 16 ? delay * 2 : delay;
	}
	snprintf(dir, sizeof(dir), "%s", d->dir);
	for (int i = 1; i < d->created; i++) {
		char *slash = strrchr(dir, '/');

		if (!slash)
			break;
		*slash = '\0';
		/* Others may share a parent: non-empty is no error. */
		if (rmdir(dir))
			break;
	}
	d->created = 0;
	return 0;
}

/* The v1 hierarchies mounted under the root, one entry per controller. */
static int find_v1(struct cgroup *cg, struct herr *err)
{
	dev_t devs[ARRAY_SIZE(v1_ctrls)];

	for (size_t i = 0; i < ARRAY_SIZE(v1_ctrls); i++) {
		struct cg_dir *d = &cg->dirs[cg->ndirs];
		char base[PATH_MAX];
		struct statfs sfs;
		struct stat st;

		snprintf(base, sizeof(base), "%s/%s", cg_root, v1_ctrls[i]);
		if (statfs(base, &sfs) || sfs.f_type != CGROUP_SUPER_MAGIC ||
		    stat(base, &st))
			continue;
		d->ctrl = v1_ctrls[i];
		/* "cpu" and "cpuacct" are often links to one hierarchy. */
		for (size_t j = 0; j < cg->ndirs; j++)
			if (devs[j] == st.st_dev)
				d->alias = true;
		devs[cg->ndirs++] = st.st_dev;
	}
	if (!cg->ndirs)
		return herr_set(err, GRPC_FAILED_PRECONDITION, 0,
				"cgroup %s: neither cgroup2 nor cgroup v1 "
				"controllers under %s",
				cg->path, cg_root);
	return 0;
}

int cgroup_create(const char *path, struct cgroup **out, struct herr *err)
{
	struct cgroup *cg;
	struct statfs sfs;

	*out = NULL;
	cg = xcalloc(1, sizeof(*cg));
	cg->oom_fd = -1;
	if (normalize_path(path, &cg->path, err))
		goto fail;
	if (statfs(cg_root, &sfs)) {
		herr_errno(err, errno, "cgroup %s: statfs %s", cg->path,
			   cg_root);
		goto fail;
	}
	/*
	 * cgroup2, or a plain tree laid out like one (its root lists
	 * cgroup.controllers): the unit tests drive the v2 writes that way.
	 */
	if (sfs.f_type == CGROUP2_SUPER_MAGIC ||
	    cg_has(cg_root, "cgroup.controllers")) {
		cg->v2 = true;
		cg->ndirs = 1;
		if (make_dirs(cg, &cg->dirs[0], cg_root, err))
			goto fail;
	} else {
		if (find_v1(cg, err))
			goto fail;
		for (size_t i = 0; i < cg->ndirs; i++) {
			struct cg_dir *d = &cg->dirs[i];
			char base[PATH_MAX];

			snprintf(base, sizeof(base), "%s/%s", cg_root, d->ctrl);
			if (make_dirs(cg, d, base, err))
				goto fail;
		}
	}
	*out = cg;
	return 0;
fail:
	/* Undo what was made, keeping the first error. */
	for (size_t i = cg->ndirs; i-- > 0;)
		if (!cg->dirs[i].alias)
			remove_dirs(cg, &cg->dirs[i], NULL);
	cgroup_free(cg);
	return -1;
}

int cgroup_destroy(struct cgroup *cg, struct herr *err)
{
	int rc = 0;

	if (!cg)
		return 0;
	for (size_t i = cg->ndirs; i-- > 0;) {
		if (cg->dirs[i].alias)
			continue;
		/* Try every hierarchy; report the first failure. */
		if (remove_dirs(cg, &cg->dirs[i], rc ? NULL : err))
			rc = -1;
	}
	/* On failure @cg stays usable: the caller may retry or free it. */
	if (!rc)
		cgroup_free(cg);
	return rc;
}

void cgroup_free(struct cgroup *cg)
{
	if (!cg)
		return;
	if (cg->oom_fd >= 0)
		close(cg->oom_fd);
	for (size_t i = 0; i < cg->ndirs; i++)
		free(cg->dirs[i].dir);
	free(cg->path);
	free(cg);
}

/* The directory of v1 controller @ctrl (any name on v2), or NULL. */
const char *cg_ctrl_dir(const struct cgroup *cg, const char *ctrl)
{
	if (cg->v2)
		return cg->dirs[0].dir;
	for (size_t i = 0; i < cg->ndirs; i++)
		if (!strcmp(cg->dirs[i].ctrl, ctrl))
			return cg->dirs[i].dir;
	return NULL;
}

int cg_need_dir(const struct cgroup *cg, const char *ctrl, const char *field,
		const char **dir, struct herr *err)
{
	*dir = cg_ctrl_dir(cg, ctrl);
	if (!*dir)
		return herr_set(err, GRPC_FAILED_PRECONDITION, 0,
				"cgroup %s: %s: the %s controller is not "
				"mounted under %s",
				cg->path, field, ctrl, cg_root);
	return 0;
}

int cgroup_open_dir(const struct cgroup *cg)
{
	_cleanup_free_ char *events = NULL;
	uint64_t frozen = 0;

	if (!cg->v2 || !cg->dirs[0].dir ||
	    cg_read(cg, cg->dirs[0].dir, "cgroup.events", false, &events,
		    NULL) ||
	    (cg_kv_get(events, "frozen", &frozen) && frozen))
		return -1;
	return open(cg->dirs[0].dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
}

int cgroup_add_pid(struct cgroup *cg, pid_t pid, struct herr *err)
{
	char val[24];

	snprintf(val, sizeof(val), "%d", (int)pid);
	for (size_t i = 0; i < cg->ndirs; i++) {
		if (cg->dirs[i].alias)
			continue;
		if (cg_write(cg, cg->dirs[i].dir, "cgroup.procs", val, err))
			return -1;
	}
	return 0;
}
