// SPDX-License-Identifier: Apache-2.0
/*
 * A container's cgroup on the unified (v2) hierarchy, or on the per-
 * controller v1 hierarchies when /sys/fs/cgroup is not cgroup2.  Every file
 * is opened by its full path, so errors can name it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"
#include "util.h"

/* v1 hierarchies a container joins, each under <root>/<name>. */
static const char *const v1_ctrls[] = {
	"memory", "cpu",   "cpuacct", "cpuset",
	"pids",	  "blkio", "freezer", "hugetlb",
};

/*
 * v2 controllers enabled for the children of every ancestor.  hugetlb is
 * enabled only when a limit asks for it (it is the one controller a hybrid
 * host's cgroup2 has, and nothing else needs it).
 */
static const char *const v2_ctrls[] = { "cpu", "cpuset", "io", "memory",
					"pids" };

/* Freezing, and rmdir while the last processes leave, are bounded. */
static const long long freeze_timeout_ms = 2000;
static const long long rmdir_timeout_ms = 1000;
/* How deep below its own cgroup a container's cgroups are followed. */
static const int max_depth = 16;

static const char *cg_root = "/sys/fs/cgroup";

struct cg_dir {
	const char *ctrl; /* v1 controller, NULL on v2 */
	char *dir; /* absolute directory of this cgroup */
	int created; /* trailing path levels this cgroup created */
	bool alias; /* same hierarchy as an earlier entry (cpu,cpuacct) */
};

struct cgroup {
	char *path; /* "/a/b", relative to each hierarchy */
	bool v2;
	size_t ndirs;
	struct cg_dir dirs[ARRAY_SIZE(v1_ctrls)];
	int oom_fd; /* v2 memory.events, v1 eventfd; -1 until asked */
	uint64_t oom_events; /* v1: OOM notifications read so far */
};

void cgroup_set_root(const char *dir)
{
	cg_root = dir;
}

bool cgroup_is_v2(const struct cgroup *cg)
{
	return cg->v2;
}

/* ---- file access ---- */

static int file_path(char *buf, const struct cgroup *cg, const char *dir,
		     const char *file, struct herr *err)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", dir, file);

	if (n < 0 || n >= PATH_MAX)
		return herr_set(err, GRPC_INVALID_ARGUMENT, ENAMETOOLONG,
				"cgroup %s: %s/%s", cg->path, dir, file);
	return 0;
}

static bool cg_has(const char *dir, const char *file)
{
	char p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s/%s", dir, file) >= (int)sizeof(p))
		return false;
	return access(p, F_OK) == 0;
}

/*
 * Cgroup files take one value per write(2): never split it.  O_TRUNC is
 * what a shell's ">" does too; cgroupfs ignores it, plain files need it.
 */
static int cg_write(const struct cgroup *cg, const char *dir, const char *file,
		    const char *val, struct herr *err)
{
	char p[PATH_MAX];
	size_t len = strlen(val);
	ssize_t n;
	int fd;

	if (file_path(p, cg, dir, file, err))
		return -1;
	fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return herr_errno(err, errno, "cgroup %s: open %s", cg->path,
				  p);
	do
		n = write(fd, val, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 || (size_t)n != len) {
		int e = n < 0 ? errno : EIO;

		close(fd);
		return herr_errno(err, e, "cgroup %s: write \"%s\" to %s",
				  cg->path, val, p);
	}
	close(fd);
	return 0;
}

static int cg_printf(const struct cgroup *cg, const char *dir, const char *file,
		     struct herr *err, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int cg_printf(const struct cgroup *cg, const char *dir, const char *file,
		     struct herr *err, const char *fmt, ...)
{
	char val[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	return cg_write(cg, dir, file, val, err);
}

static int read_fd(int fd, char **out)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);

	if (!buf)
		return -1;
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len - 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (cap - len - 1 == 0) {
			char *p = realloc(buf, cap * 2);

			if (!p) {
				free(buf);
				errno = ENOMEM;
				return -1;
			}
			buf = p;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/*
 * Read a whole file.  With @optional, a missing file is not an error:
 * returns 1 and leaves *out NULL.
 */
static int cg_read(const struct cgroup *cg, const char *dir, const char *file,
		   bool optional, char **out, struct herr *err)
{
	char p[PATH_MAX];
	int fd, e;

	*out = NULL;
	if (file_path(p, cg, dir, file, err))
		return -1;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (optional && errno == ENOENT)
			return 1;
		return herr_errno(err, errno, "cgroup %s: open %s", cg->path,
				  p);
	}
	if (read_fd(fd, out)) {
		e = errno;
		close(fd);
		return herr_errno(err, e, "cgroup %s: read %s", cg->path, p);
	}
	close(fd);
	return 0;
}

/* A number, or "max" as UINT64_MAX. */
static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!strncmp(s, "max", 3)) {
		*v = UINT64_MAX;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	return 0;
}

/* Read a file holding one number ("max" counts as UINT64_MAX). */
static int cg_read_u64(const struct cgroup *cg, const char *dir,
		       const char *file, bool optional, uint64_t *v,
		       struct herr *err)
{
	_cleanup_free_ char *buf = NULL;
	int rc = cg_read(cg, dir, file, optional, &buf, err);

	*v = 0;
	if (rc)
		return rc;
	if (parse_u64(buf, v))
		return herr_set(err, GRPC_INTERNAL, 0,
				"cgroup %s: %s/%s: not a number: \"%.32s\"",
				cg->path, dir, file, buf);
	return 0;
}

/* Value of "key N" in a flat-keyed file (memory.stat, cpu.stat, ...). */
static bool kv_get(const char *buf, const char *key, uint64_t *v)
{
	size_t klen = strlen(key);

	for (const char *l = buf; *l;) {
		if (!strncmp(l, key, klen) && l[klen] == ' ')
			return parse_u64(l + klen + 1, v) == 0;
		l = strchrnul(l, '\n');
		if (*l)
			l++;
	}
	return false;
}

/* Is @word one of the space-separated words of @list? */
static bool word_in(const char *list, const char *word)
{
	size_t wlen = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += wlen) {
		bool start = p == list || p[-1] == ' ' || p[-1] == '\n';
		char end = p[wlen];

		if (start && (end == '\0' || end == ' ' || end == '\n'))
			return true;
	}
	return false;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- creation and removal ---- */

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
		return herr_set(
			err, GRPC_INVALID_ARGUMENT, 0,
			"cgroup path \"%s\": the root cgroup cannot be a container's",
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
static int v2_enable_path(const struct cgroup *cg, const char *const *ctrls,
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
	struct dirent *e;
	DIR *d;

	if (!rmdir(dir) || errno == ENOENT)
		return 0;
	if ((errno != EBUSY && errno != ENOTEMPTY) || depth >= max_depth)
		return -1;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d))) {
		char sub[PATH_MAX];

		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") ||
		    !strcmp(e->d_name, ".."))
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name) <
		    (int)sizeof(sub))
			rmdir_tree(sub, depth + 1);
	}
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
		sleep_ms(delay);
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
		return herr_set(
			err, GRPC_FAILED_PRECONDITION, 0,
			"cgroup %s: neither cgroup2 nor cgroup v1 controllers under %s",
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
static const char *ctrl_dir(const struct cgroup *cg, const char *ctrl)
{
	if (cg->v2)
		return cg->dirs[0].dir;
	for (size_t i = 0; i < cg->ndirs; i++)
		if (!strcmp(cg->dirs[i].ctrl, ctrl))
			return cg->dirs[i].dir;
	return NULL;
}

static int need_dir(const struct cgroup *cg, const char *ctrl,
		    const char *field, const char **dir, struct herr *err)
{
	*dir = ctrl_dir(cg, ctrl);
	if (!*dir)
		return herr_set(
			err, GRPC_FAILED_PRECONDITION, 0,
			"cgroup %s: %s: the %s controller is not mounted under %s",
			cg->path, field, ctrl, cg_root);
	return 0;
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

/* ---- limits ---- */

static int check_limit(int64_t v, const char *field, struct herr *err)
{
	if (v < -1)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"linux.resources.%s: invalid value %" PRId64
				" (a positive number, or -1 for no limit)",
				field, v);
	return 0;
}

static int check_weight(uint32_t w, const char *field, struct herr *err)
{
	if (w && (w < 10 || w > 1000))
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"linux.resources.%s: %u out of range (10-1000)",
				field, w);
	return 0;
}

static int check_dev(int64_t major, int64_t minor, const char *field, size_t i,
		     struct herr *err)
{
	if (major < 0 || minor < 0 || major > 0xfff || minor > 0xfffff)
		return herr_set(
			err, GRPC_INVALID_ARGUMENT, 0,
			"linux.resources.blockIO.%s[%zu]: invalid device %" PRId64
			":%" PRId64,
			field, i, major, minor);
	return 0;
}

/* A list like "0-3,8,10-11", as cpuset.cpus and cpuset.mems take. */
static int check_list(const char *s, const char *field, struct herr *err)
{
	const char *p = s;

	while (*p) {
		unsigned long a, b;
		char *end;

		if (*p < '0' || *p > '9')
			goto bad;
		a = strtoul(p, &end, 10);
		b = a;
		p = end;
		if (*p == '-') {
			if (p[1] < '0' || p[1] > '9')
				goto bad;
			b = strtoul(p + 1, &end, 10);
			p = end;
		}
		if (a > b || b >= 1U << 16)
			goto bad;
		if (*p == ',' && p[1])
			p++;
		else if (*p)
			goto bad;
	}
	return 0;
bad:
	return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
			"linux.resources.cpu.%s: invalid list \"%s\"", field,
			s);
}

/* "2MB", "1GB", "64KB": the size in the hugetlb file names. */
static int check_pagesize(const char *s, size_t i, struct herr *err)
{
	size_t n = strspn(s, "0123456789");

	if (!n || n > 8 || !s[n] || !strchr("KMG", s[n]) ||
	    strcmp(s + n + 1, "B"))
		return herr_set(
			err, GRPC_INVALID_ARGUMENT, 0,
			"linux.resources.hugepageLimits[%zu].pageSize: invalid size \"%s\"",
			i, s);
	return 0;
}

static int check_throttle(Grpc__LinuxThrottleDevice **devs, size_t n,
			  const char *field, struct herr *err)
{
	for (size_t i = 0; i < n; i++)
		if (check_dev(devs[i]->major, devs[i]->minor, field, i, err))
			return -1;
	return 0;
}

int cgroup_resources_check(const Grpc__LinuxResources *res, struct herr *err)
{
	const Grpc__LinuxMemory *m = res ? res->memory : NULL;
	const Grpc__LinuxCPU *c = res ? res->cpu : NULL;
	const Grpc__LinuxBlockIO *b = res ? res->blockio : NULL;

	if (!res)
		return 0;
	if (m) {
		if (check_limit(m->limit, "memory.limit", err) ||
		    check_limit(m->reservation, "memory.reservation", err) ||
		    check_limit(m->swap, "memory.swap", err))
			return -1;
		/* swap is memory plus swap, as in cgroup v1. */
		if (m->limit > 0 && m->swap > 0 && m->swap < m->limit)
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"linux.resources.memory.swap: %" PRId64
					" is below memory.limit %" PRId64,
					m->swap, m->limit);
		if (m->swappiness > 100)
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"linux.resources.memory.swappiness: %" PRIu64
				" out of range (0-100)",
				m->swappiness);
	}
	if (c) {
		if (check_limit(c->quota, "cpu.quota", err) ||
		    check_limit(c->realtimeruntime, "cpu.realtimeRuntime",
				err) ||
		    check_list(c->cpus, "cpus", err) ||
		    check_list(c->mems, "mems", err))
			return -1;
	}
	if (res->pids && check_limit(res->pids->limit, "pids.limit", err))
		return -1;
	if (b) {
		if (check_weight(b->weight, "blockIO.weight", err) ||
		    check_weight(b->leafweight, "blockIO.leafWeight", err))
			return -1;
		for (size_t i = 0; i < b->n_weightdevice; i++) {
			const Grpc__LinuxWeightDevice *w = b->weightdevice[i];
			char field[64];

			snprintf(field, sizeof(field),
				 "blockIO.weightDevice[%zu].weight", i);
			if (check_dev(w->major, w->minor, "weightDevice", i,
				      err) ||
			    check_weight(w->weight, field, err))
				return -1;
		}
		if (check_throttle(b->throttlereadbpsdevice,
				   b->n_throttlereadbpsdevice,
				   "throttleReadBpsDevice", err) ||
		    check_throttle(b->throttlewritebpsdevice,
				   b->n_throttlewritebpsdevice,
				   "throttleWriteBpsDevice", err) ||
		    check_throttle(b->throttlereadiopsdevice,
				   b->n_throttlereadiopsdevice,
				   "throttleReadIOPSDevice", err) ||
		    check_throttle(b->throttlewriteiopsdevice,
				   b->n_throttlewriteiopsdevice,
				   "throttleWriteIOPSDevice", err))
			return -1;
	}
	for (size_t i = 0; i < res->n_hugepagelimits; i++)
		if (check_pagesize(res->hugepagelimits[i]->pagesize, i, err))
			return -1;
	return 0;
}

/* "-1" or "max" for -1 (no limit), else the number. */
static const char *limit_str(char *buf, size_t size, int64_t v, bool v2)
{
	if (v == -1)
		return v2 ? "max" : "-1";
	snprintf(buf, size, "%" PRId64, v);
	return buf;
}

/*
 * memsw (memory + swap) may never be below the memory limit, so which one
 * is written first depends on whether the limits grow or shrink.
 */
static int v1_memory_limits(const struct cgroup *cg, const char *dir,
			    const Grpc__LinuxMemory *m, struct herr *err)
{
	char lbuf[24], sbuf[24];
	const char *lim = limit_str(lbuf, sizeof(lbuf), m->limit, false);
	const char *swap = limit_str(sbuf, sizeof(sbuf), m->swap, false);
	const char *memsw = "memory.memsw.limit_in_bytes";

	if (m->swap && !cg_has(dir, memsw)) {
		/* No swap accounting: nothing to enforce beyond the limit. */
		if (m->swap != -1 && m->swap != m->limit)
			return herr_set(
				err, GRPC_FAILED_PRECONDITION, 0,
				"cgroup %s: linux.resources.memory.swap: %s/%s missing (swap accounting disabled)",
				cg->path, dir, memsw);
		log_debug("cgroup %s: no swap accounting, swap limit skipped",
			  cg->path);
	} else if (m->swap) {
		struct herr first;

		if (!m->limit)
			return cg_write(cg, dir, memsw, swap, err);
		if (!cg_write(cg, dir, "memory.limit_in_bytes", lim, &first))
			return cg_write(cg, dir, memsw, swap, err);
		/* Growing: memsw first, then the limit below it. */
		if (cg_write(cg, dir, memsw, swap, err))
			return -1;
	}
	if (m->limit)
		return cg_write(cg, dir, "memory.limit_in_bytes", lim, err);
	return 0;
}

/* cgroup v2 has a separate swap limit: OCI's memory+swap minus memory. */
static int v2_swap(const struct cgroup *cg, const char *dir,
		   const Grpc__LinuxMemory *m, struct herr *err)
{
	const char *file = "memory.swap.max";
	char val[24];

	if (m->swap == -1) {
		snprintf(val, sizeof(val), "max");
	} else if (m->limit == -1) {
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"linux.resources.memory.swap: %" PRId64
				" with no memory limit",
				m->swap);
	} else if (m->limit <= 0) {
		return herr_set(
			err, GRPC_INVALID_ARGUMENT, 0,
			"linux.resources.memory.swap: needs memory.limit on cgroup v2");
	} else {
		snprintf(val, sizeof(val), "%" PRId64, m->swap - m->limit);
	}
	if (!cg_has(dir, file)) {
		if (m->swap == -1 || m->swap == m->limit)
			return 0;
		return herr_set(
			err, GRPC_FAILED_PRECONDITION, 0,
			"cgroup %s: linux.resources.memory.swap: %s/%s missing (no swap accounting)",
			cg->path, dir, file);
	}
	return cg_write(cg, dir, file, val, err);
}

static int apply_memory(const struct cgroup *cg, const Grpc__LinuxMemory *m,
			struct herr *err)
{
	const char *dir;
	char buf[24];

	if (need_dir(cg, "memory", "linux.resources.memory", &dir, err))
		return -1;
	if (m->kernel || m->kerneltcp)
		log_debug(
			"cgroup %s: kernel memory limits are obsolete, skipped",
			cg->path);
	if (!cg->v2) {
		if (v1_memory_limits(cg, dir, m, err))
			return -1;
		if (m->reservation &&
		    cg_write(cg, dir, "memory.soft_limit_in_bytes",
			     limit_str(buf, sizeof(buf), m->reservation, false),
			     err))
			return -1;
		if (m->swappiness && cg_printf(cg, dir, "memory.swappiness",
					       err, "%" PRIu64, m->swappiness))
			return -1;
		if (m->disableoomkiller &&
		    cg_write(cg, dir, "memory.oom_control", "1", err))
			return -1;
		return 0;
	}
	if (m->limit &&
	    cg_write(cg, dir, "memory.max",
		     limit_str(buf, sizeof(buf), m->limit, true), err))
		return -1;
	if (m->swap && v2_swap(cg, dir, m, err))
		return -1;
	if (m->reservation &&
	    cg_write(cg, dir, "memory.low",
		     limit_str(buf, sizeof(buf), m->reservation, true), err))
		return -1;
	if (m->swappiness || m->disableoomkiller)
		log_debug(
			"cgroup %s: swappiness and disableOOMKiller do not exist on cgroup v2, skipped",
			cg->path);
	return 0;
}

/* cpu.shares (2..262144, default 1024) to cpu.weight (1..10000, 100). */
static uint64_t shares_to_weight(uint64_t shares)
{
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

static int v2_cpu_max(const struct cgroup *cg, const char *dir,
		      const Grpc__LinuxCPU *c, struct herr *err)
{
	_cleanup_free_ char *cur = NULL;
	char quota[24] = "max";
	uint64_t period = c->period;

	/* A half-given pair keeps the other half as it is. */
	if (!c->quota || !c->period) {
		if (cg_read(cg, dir, "cpu.max", false, &cur, err))
			return -1;
		if (!c->quota)
			sscanf(cur, "%23s", quota);
		if (!period && sscanf(cur, "%*s %" SCNu64, &period) != 1)
			period = 100000;
	}
	if (c->quota > 0)
		snprintf(quota, sizeof(quota), "%" PRId64, c->quota);
	else if (c->quota == -1)
		snprintf(quota, sizeof(quota), "max");
	return cg_printf(cg, dir, "cpu.max", err, "%s %" PRIu64, quota, period);
}

static int apply_cpu(const struct cgroup *cg, const Grpc__LinuxCPU *c,
		     struct herr *err)
{
	bool cpu = c->shares || c->quota || c->period || c->realtimeruntime ||
		   c->realtimeperiod;
	const char *dir = NULL, *set = NULL;
	char buf[24];

	if (cpu && need_dir(cg, "cpu", "linux.resources.cpu", &dir, err))
		return -1;
	if ((*c->cpus || *c->mems) &&
	    need_dir(cg, "cpuset", "linux.resources.cpu.cpus", &set, err))
		return -1;
	if (cg->v2) {
		if (c->realtimeruntime || c->realtimeperiod)
			return herr_set(
				err, GRPC_INVALID_ARGUMENT, 0,
				"linux.resources.cpu.realtimeRuntime: not supported on cgroup v2");
		if (c->shares &&
		    cg_printf(cg, dir, "cpu.weight", err, "%" PRIu64,
			      shares_to_weight(c->shares)))
			return -1;
		if ((c->quota || c->period) && v2_cpu_max(cg, dir, c, err))
			return -1;
	} else if (cpu) {
		if (c->shares && cg_printf(cg, dir, "cpu.shares", err,
					   "%" PRIu64, c->shares))
			return -1;
		if (c->period && cg_printf(cg, dir, "cpu.cfs_period_us", err,
					   "%" PRIu64, c->period))
			return -1;
		if (c->quota &&
		    cg_write(cg, dir, "cpu.cfs_quota_us",
			     limit_str(buf, sizeof(buf), c->quota, false), err))
			return -1;
		if (c->realtimeperiod &&
		    cg_printf(cg, dir, "cpu.rt_period_us", err, "%" PRIu64,
			      c->realtimeperiod))
			return -1;
		if (c->realtimeruntime &&
		    cg_write(cg, dir, "cpu.rt_runtime_us",
			     limit_str(buf, sizeof(buf), c->realtimeruntime,
				       false),
			     err))
			return -1;
	}
	if (*c->cpus && cg_write(cg, set, "cpuset.cpus", c->cpus, err))
		return -1;
	if (*c->mems && cg_write(cg, set, "cpuset.mems", c->mems, err))
		return -1;
	return 0;
}

/* blkio weight (10..1000) to io.weight (1..10000, default 100). */
static uint64_t blkio_to_io_weight(uint32_t w)
{
	return 1 + ((uint64_t)w - 10) * 9999 / 990;
}

static int apply_weights(const struct cgroup *cg, const char *dir,
			 const Grpc__LinuxBlockIO *b, struct herr *err)
{
	/* Kernels with only BFQ name the files after it; same range. */
	const char *wfile, *wdfile;
	bool bfq;

	if (cg->v2) {
		bfq = cg_has(dir, "io.bfq.weight");
		wfile = wdfile = bfq ? "io.bfq.weight" : "io.weight";
	} else {
		bfq = !cg_has(dir, "blkio.weight");
		wfile = bfq ? "blkio.bfq.weight" : "blkio.weight";
		wdfile =
			bfq ? "blkio.bfq.weight_device" : "blkio.weight_device";
	}
	if (b->weight) {
		int rc;

		if (cg->v2 && !bfq)
			rc = cg_printf(cg, dir, wfile, err, "default %" PRIu64,
				       blkio_to_io_weight(b->weight));
		else
			rc = cg_printf(cg, dir, wfile, err, "%u", b->weight);
		if (rc)
			return -1;
	}
	if (b->leafweight) {
		if (!cg->v2 && cg_has(dir, "blkio.leaf_weight")) {
			if (cg_printf(cg, dir, "blkio.leaf_weight", err, "%u",
				      b->leafweight))
				return -1;
		} else {
			log_debug(
				"cgroup %s: blockIO.leafWeight unsupported here, skipped",
				cg->path);
		}
	}
	for (size_t i = 0; i < b->n_weightdevice; i++) {
		const Grpc__LinuxWeightDevice *w = b->weightdevice[i];
		uint64_t v = w->weight;

		if (!w->weight)
			continue;
		if (cg->v2 && !bfq)
			v = blkio_to_io_weight(w->weight);
		if (cg_printf(cg, dir, wdfile, err,
			      "%" PRId64 ":%" PRId64 " %" PRIu64, w->major,
			      w->minor, v))
			return -1;
	}
	return 0;
}

static int apply_throttle(const struct cgroup *cg, const char *dir,
			  Grpc__LinuxThrottleDevice **devs, size_t n,
			  const char *v1_file, const char *v2_key,
			  struct herr *err)
{
	for (size_t i = 0; i < n; i++) {
		const Grpc__LinuxThrottleDevice *t = devs[i];
		int rc;

		if (!cg->v2)
			rc = cg_printf(cg, dir, v1_file, err,
				       "%" PRId64 ":%" PRId64 " %" PRIu64,
				       t->major, t->minor, t->rate);
		else if (!t->rate) /* 0 lifts the limit, as on v1 */
			rc = cg_printf(cg, dir, "io.max", err,
				       "%" PRId64 ":%" PRId64 " %s=max",
				       t->major, t->minor, v2_key);
		else
			rc = cg_printf(cg, dir, "io.max", err,
				       "%" PRId64 ":%" PRId64 " %s=%" PRIu64,
				       t->major, t->minor, v2_key, t->rate);
		if (rc)
			return -1;
	}
	return 0;
}

static int apply_blkio(const struct cgroup *cg, const Grpc__LinuxBlockIO *b,
		       struct herr *err)
{
	const char *dir;

	if (need_dir(cg, "blkio", "linux.resources.blockIO", &dir, err) ||
	    apply_weights(cg, dir, b, err))
		return -1;
	if (apply_throttle(cg, dir, b->throttlereadbpsdevice,
			   b->n_throttlereadbpsdevice,
			   "blkio.throttle.read_bps_device", "rbps", err) ||
	    apply_throttle(cg, dir, b->throttlewritebpsdevice,
			   b->n_throttlewritebpsdevice,
			   "blkio.throttle.write_bps_device", "wbps", err) ||
	    apply_throttle(cg, dir, b->throttlereadiopsdevice,
			   b->n_throttlereadiopsdevice,
			   "blkio.throttle.read_iops_device", "riops", err) ||
	    apply_throttle(cg, dir, b->throttlewriteiopsdevice,
			   b->n_throttlewriteiopsdevice,
			   "blkio.throttle.write_iops_device", "wiops", err))
		return -1;
	return 0;
}

static int apply_hugetlb(const struct cgroup *cg,
			 const Grpc__LinuxResources *res, struct herr *err)
{
	static const char *const hugetlb[] = { "hugetlb" };
	const char *dir;

	if (need_dir(cg, "hugetlb", "linux.resources.hugepageLimits", &dir,
		     err))
		return -1;
	if (cg->v2 && v2_enable_path(cg, hugetlb, 1, err))
		return -1;
	for (size_t i = 0; i < res->n_hugepagelimits; i++) {
		const Grpc__LinuxHugepageLimit *h = res->hugepagelimits[i];
		char file[64];

		snprintf(file, sizeof(file),
			 cg->v2 ? "hugetlb.%s.max"
				: "hugetlb.%s.limit_in_bytes",
			 h->pagesize);
		if (cg_printf(cg, dir, file, err, "%" PRIu64, h->limit))
			return -1;
	}
	return 0;
}

int cgroup_apply(struct cgroup *cg, const Grpc__LinuxResources *res,
		 struct herr *err)
{
	if (!res)
		return 0;
	if (cgroup_resources_check(res, err))
		return -1;
	if (res->n_devices || res->network)
		log_debug(
			"cgroup %s: device and network rules are not applied in the guest",
			cg->path);
	if (res->memory && apply_memory(cg, res->memory, err))
		return -1;
	if (res->cpu && apply_cpu(cg, res->cpu, err))
		return -1;
	if (res->pids && res->pids->limit) {
		const char *dir;
		char buf[24];

		if (need_dir(cg, "pids", "linux.resources.pids", &dir, err) ||
		    cg_write(
			    cg, dir, "pids.max",
			    limit_str(buf, sizeof(buf), res->pids->limit, true),
			    err))
			return -1;
	}
	if (res->blockio && apply_blkio(cg, res->blockio, err))
		return -1;
	if (res->n_hugepagelimits && apply_hugetlb(cg, res, err))
		return -1;
	return 0;
}

/* ---- freezing, processes ---- */

/* Wait until cgroup.events says "frozen @want", bounded. */
static int v2_wait_frozen(const struct cgroup *cg, const char *dir, bool want,
			  struct herr *err)
{
	long long deadline = now_ms() + freeze_timeout_ms;
	_cleanup_close_ int fd = -1;
	char p[PATH_MAX], buf[256];

	if (file_path(p, cg, dir, "cgroup.events", err))
		return -1;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return herr_errno(err, errno, "cgroup %s: open %s", cg->path,
				  p);
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		struct pollfd pfd = { .fd = fd, .events = POLLPRI };
		long long left;
		uint64_t v;

		if (n < 0)
			return herr_errno(err, errno, "cgroup %s: read %s",
					  cg->path, p);
		buf[n] = '\0';
		if (kv_get(buf, "frozen", &v) && (v != 0) == want)
			return 0;
		left = deadline - now_ms();
		if (left <= 0)
			return herr_set(err, GRPC_DEADLINE_EXCEEDED, 0,
					"cgroup %s: %s: not %s after %lld ms",
					cg->path, p, want ? "frozen" : "thawed",
					freeze_timeout_ms);
		/* The file signals POLLPRI on change; poll a bit anyway. */
		poll(&pfd, 1, left < 10 ? (int)left : 10);
	}
}

static int v1_freeze(const struct cgroup *cg, const char *dir, bool frozen,
		     struct herr *err)
{
	const char *want = frozen ? "FROZEN" : "THAWED";
	long long deadline = now_ms() + freeze_timeout_ms;
	long delay = 1;

	for (;;) {
		_cleanup_free_ char *state = NULL;

		/*
		 * Writing again nudges tasks that slipped past the first
		 * pass; the state reads FREEZING until all are caught.
		 */
		if (cg_write(cg, dir, "freezer.state", want, err) ||
		    cg_read(cg, dir, "freezer.state", false, &state, err))
			return -1;
		if (!strncmp(state, want, strlen(want)))
			return 0;
		if (now_ms() >= deadline)
			break;
		sleep_ms(delay);
		delay = delay < 10 ? delay * 2 : delay;
	}
	if (frozen)
		cg_write(cg, dir, "freezer.state", "THAWED", NULL);
	return herr_set(err, GRPC_DEADLINE_EXCEEDED, 0,
			"cgroup %s: %s/freezer.state: not %s after %lld ms",
			cg->path, dir, want, freeze_timeout_ms);
}

int cgroup_freeze(struct cgroup *cg, bool frozen, struct herr *err)
{
	const char *dir;

	if (need_dir(cg, "freezer", frozen ? "freeze" : "thaw", &dir, err))
		return -1;
	if (!cg->v2)
		return v1_freeze(cg, dir, frozen, err);
	if (cg_write(cg, dir, "cgroup.freeze", frozen ? "1" : "0", err))
		return -1;
	if (v2_wait_frozen(cg, dir, frozen, err)) {
		if (frozen)
			cg_write(cg, dir, "cgroup.freeze", "0", NULL);
		return -1;
	}
	return 0;
}

struct pid_list {
	pid_t *pids;
	size_t n, cap;
};

/* The pids in @dir and in the cgroups below it. */
static int collect_pids(const struct cgroup *cg, const char *dir, int depth,
			struct pid_list *l, struct herr *err)
{
	_cleanup_free_ char *buf = NULL;
	struct dirent *e;
	DIR *d;
	int rc;

	/* A nested cgroup may go away while we look. */
	rc = cg_read(cg, dir, "cgroup.procs", depth > 0, &buf, err);
	if (rc)
		return rc < 0 ? -1 : 0;
	for (char *p = buf, *end; *p; p = end) {
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 64;
			pid_t *np = realloc(l->pids, cap * sizeof(*np));

			if (!np)
				return herr_errno(err, ENOMEM,
						  "cgroup %s: pid list",
						  cg->path);
			l->pids = np;
			l->cap = cap;
		}
		l->pids[l->n++] = (pid_t)v;
		while (*end == '\n')
			end++;
	}
	if (depth >= max_depth)
		return 0;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT
			       ? 0
			       : herr_errno(err, errno, "cgroup %s: opendir %s",
					    cg->path, dir);
	rc = 0;
	while (!rc && (e = readdir(d))) {
		char sub[PATH_MAX];

		if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") ||
		    !strcmp(e->d_name, ".."))
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name) <
		    (int)sizeof(sub))
			rc = collect_pids(cg, sub, depth + 1, l, err);
	}
	closedir(d);
	return rc;
}

int cgroup_pids(struct cgroup *cg, pid_t **pids, size_t *n, struct herr *err)
{
	const char *dir = ctrl_dir(cg, "freezer");
	struct pid_list l = { 0 };

	*pids = NULL;
	*n = 0;
	/* Every hierarchy holds the same tasks; prefer the freezer's. */
	if (!dir)
		dir = cg->dirs[0].dir;
	if (collect_pids(cg, dir, 0, &l, err)) {
		free(l.pids);
		return -1;
	}
	*pids = l.pids;
	*n = l.n;
	return 0;
}

/* ---- statistics ---- */

static void *msg_new(const ProtobufCMessageDescriptor *desc)
{
	void *m = xcalloc(1, desc->sizeof_message);

	protobuf_c_message_init(desc, m);
	return m;
}

static size_t count_lines(const char *buf)
{
	size_t n = 0;

	for (const char *p = buf; *p; p++)
		n += *p == '\n';
	return n + 1;
}

static int cpu_stats(const struct cgroup *cg, Grpc__CgroupStats *out,
		     struct herr *err)
{
	_cleanup_free_ char *stat = NULL, *acct = NULL, *percpu = NULL;
	const char *dir = ctrl_dir(cg, "cpuacct");
	const char *cpudir = ctrl_dir(cg, "cpu");
	Grpc__CpuStats *cs;
	Grpc__CpuUsage *u;
	Grpc__ThrottlingData *t;
	uint64_t v;

	if (!dir && !cpudir)
		return 0;
	cs = out->cpu_stats = msg_new(&grpc__cpu_stats__descriptor);
	u = cs->cpu_usage = msg_new(&grpc__cpu_usage__descriptor);
	t = cs->throttling_data = msg_new(&grpc__throttling_data__descriptor);
	if (cg->v2) {
		/* cpu.stat exists even without the cpu controller. */
		if (cg_read(cg, dir, "cpu.stat", false, &stat, err))
			return -1;
		if (kv_get(stat, "usage_usec", &v))
			u->total_usage = v * 1000;
		if (kv_get(stat, "user_usec", &v))
			u->usage_in_usermode = v * 1000;
		if (kv_get(stat, "system_usec", &v))
			u->usage_in_kernelmode = v * 1000;
		if (kv_get(stat, "nr_periods", &v))
			t->periods = v;
		if (kv_get(stat, "nr_throttled", &v))
			t->throttled_periods = v;
		if (kv_get(stat, "throttled_usec", &v))
			t->throttled_time = v * 1000;
		return 0;
	}
	if (dir) {
		long hz = sysconf(_SC_CLK_TCK);
		uint64_t tick_ns =
			hz > 0 ? 1000000000ULL / (uint64_t)hz : 10000000ULL;

		if (cg_read_u64(cg, dir, "cpuacct.usage", false,
				&u->total_usage, err) ||
		    cg_read(cg, dir, "cpuacct.stat", false, &acct, err) ||
		    cg_read(cg, dir, "cpuacct.usage_percpu", true, &percpu,
			    err) < 0)
			return -1;
		/* cpuacct.stat counts in USER_HZ ticks. */
		if (kv_get(acct, "user", &v))
			u->usage_in_usermode = v * tick_ns;
		if (kv_get(acct, "system", &v))
			u->usage_in_kernelmode = v * tick_ns;
		if (percpu) {
			size_t cap = 1;

			for (const char *p = percpu; *p; p++)
				cap += *p == ' ';
			u->percpu_usage = xcalloc(cap, sizeof(uint64_t));
			for (char *p = percpu, *end; u->n_percpu_usage < cap;
			     p = end) {
				v = strtoull(p, &end, 10);
				if (end == p)
					break;
				u->percpu_usage[u->n_percpu_usage++] = v;
			}
		}
	}
	if (cpudir) {
		if (cg_read(cg, cpudir, "cpu.stat", true, &stat, err) < 0)
			return -1;
		if (stat && kv_get(stat, "nr_periods", &v))
			t->periods = v;
		if (stat && kv_get(stat, "nr_throttled", &v))
			t->throttled_periods = v;
		if (stat && kv_get(stat, "throttled_time", &v))
			t->throttled_time = v;
	}
	return 0;
}

/* usage/max/limit/failcnt from v1 files "<prefix>usage_in_bytes" etc. */
static int v1_memory_data(const struct cgroup *cg, const char *dir,
			  const char *prefix, Grpc__MemoryData **out,
			  struct herr *err)
{
	static const char *const names[] = { "usage_in_bytes",
					     "max_usage_in_bytes",
					     "limit_in_bytes", "failcnt" };
	uint64_t v[ARRAY_SIZE(names)];
	Grpc__MemoryData *d;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char file[64];
		int rc;

		snprintf(file, sizeof(file), "%s%s", prefix, names[i]);
		rc = cg_read_u64(cg, dir, file, true, &v[i], err);
		if (rc < 0)
			return -1;
		/* Swap or kernel accounting may be off: no data then. */
		if (rc > 0)
			return 0;
	}
	d = *out = msg_new(&grpc__memory_data__descriptor);
	d->usage = v[0];
	d->max_usage = v[1];
	d->limit = v[2];
	d->failcnt = v[3];
	return 0;
}

/*
 * cgroup v2: usage from <prefix>.current, peak, max; failcnt is how often
 * the limit was hit ("max" in <prefix>.events).
 */
static int v2_memory_data(const struct cgroup *cg, const char *dir,
			  const char *prefix, Grpc__MemoryData **out,
			  struct herr *err)
{
	_cleanup_free_ char *events = NULL;
	char file[64];
	uint64_t cur;
	Grpc__MemoryData *d;
	int rc;

	snprintf(file, sizeof(file), "%s.current", prefix);
	rc = cg_read_u64(cg, dir, file, true, &cur, err);
	if (rc)
		return rc < 0 ? -1 : 0;
	d = *out = msg_new(&grpc__memory_data__descriptor);
	d->usage = cur;
	snprintf(file, sizeof(file), "%s.peak", prefix);
	if (cg_read_u64(cg, dir, file, true, &d->max_usage, err) < 0)
		return -1;
	snprintf(file, sizeof(file), "%s.max", prefix);
	if (cg_read_u64(cg, dir, file, true, &d->limit, err) < 0)
		return -1;
	snprintf(file, sizeof(file), "%s.events", prefix);
	if (cg_read(cg, dir, file, true, &events, err) < 0)
		return -1;
	if (events)
		kv_get(events, "max", &d->failcnt);
	return 0;
}

static int memory_stats(const struct cgroup *cg, Grpc__CgroupStats *out,
			struct herr *err)
{
	_cleanup_free_ char *stat = NULL;
	const char *dir = ctrl_dir(cg, "memory");
	Grpc__MemoryStats *ms;
	uint64_t v;
	int rc;

	if (!dir)
		return 0;
	/* On v2 the files exist only with the controller enabled. */
	rc = cg_read(cg, dir, "memory.stat", true, &stat, err);
	if (rc)
		return rc < 0 ? -1 : 0;
	ms = out->memory_stats = msg_new(&grpc__memory_stats__descriptor);
	ms->stats = xcalloc(count_lines(stat), sizeof(*ms->stats));
	for (char *l = stat, *next; *l; l = next) {
		char *sp = strchr(l, ' ');
		Grpc__MemoryStats__StatsEntry *e;

		next = strchrnul(l, '\n');
		if (*next)
			*next++ = '\0';
		if (!sp)
			continue;
		*sp = '\0';
		e = msg_new(&grpc__memory_stats__stats_entry__descriptor);
		e->key = xstrdup(l);
		parse_u64(sp + 1, &e->value);
		ms->stats[ms->n_stats++] = e;
	}
	if (cg->v2) {
		ms->use_hierarchy = true;
		for (size_t i = 0; i < ms->n_stats; i++)
			if (!strcmp(ms->stats[i]->key, "file"))
				ms->cache = ms->stats[i]->value;
		if (v2_memory_data(cg, dir, "memory", &ms->usage, err) ||
		    v2_memory_data(cg, dir, "memory.swap", &ms->swap_usage,
				   err))
			return -1;
		return 0;
	}
	for (size_t i = 0; i < ms->n_stats; i++)
		if (!strcmp(ms->stats[i]->key, "cache"))
			ms->cache = ms->stats[i]->value;
	if (cg_read_u64(cg, dir, "memory.use_hierarchy", true, &v, err) < 0)
		return -1;
	ms->use_hierarchy = v != 0;
	if (v1_memory_data(cg, dir, "memory.", &ms->usage, err) ||
	    v1_memory_data(cg, dir, "memory.memsw.", &ms->swap_usage, err) ||
	    v1_memory_data(cg, dir, "memory.kmem.", &ms->kernel_usage, err))
		return -1;
	return 0;
}

static int pids_stats(const struct cgroup *cg, Grpc__CgroupStats *out,
		      struct herr *err)
{
	const char *dir = ctrl_dir(cg, "pids");
	uint64_t cur, max;
	int rc;

	if (!dir)
		return 0;
	rc = cg_read_u64(cg, dir, "pids.current", true, &cur, err);
	if (rc)
		return rc < 0 ? -1 : 0;
	if (cg_read_u64(cg, dir, "pids.max", true, &max, err) < 0)
		return -1;
	out->pids_stats = msg_new(&grpc__pids_stats__descriptor);
	out->pids_stats->current = cur;
	/* No limit reads as 0, as runc and the Kata agent report it. */
	out->pids_stats->limit = max == UINT64_MAX ? 0 : max;
	return 0;
}

static Grpc__BlkioStatsEntry *blkio_entry(uint64_t major, uint64_t minor,
					  const char *op, uint64_t value)
{
	Grpc__BlkioStatsEntry *e =
		msg_new(&grpc__blkio_stats_entry__descriptor);

	e->major = major;
	e->minor = minor;
	e->op = xstrdup(op);
	e->value = value;
	return e;
}

/* v1 "8:0 Read 4096" lines; the "Total" lines carry no device. */
static void v1_blkio_list(char *buf, Grpc__BlkioStatsEntry ***list, size_t *n)
{
	*list = xcalloc(count_lines(buf), sizeof(**list));
	for (char *l = buf, *next; *l; l = next) {
		unsigned int maj, min;
		char op[16];
		uint64_t v;

		next = strchrnul(l, '\n');
		if (*next)
			*next++ = '\0';
		if (sscanf(l, "%u:%u %15s %" SCNu64, &maj, &min, op, &v) == 4)
			(*list)[(*n)++] = blkio_entry(maj, min, op, v);
	}
}

/* v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0". */
static void v2_blkio(char *buf, Grpc__BlkioStats *bs)
{
	static const struct {
		const char *key, *op;
		bool ios;
	} keys[] = {
		{ "rbytes", "Read", false },	{ "wbytes", "Write", false },
		{ "dbytes", "Discard", false }, { "rios", "Read", true },
		{ "wios", "Write", true },	{ "dios", "Discard", true },
	};
	/* Three of each kind per device line. */
	size_t cap = count_lines(buf) * 3;

	bs->io_service_bytes_recursive = xcalloc(cap, sizeof(void *));
	bs->io_serviced_recursive = xcalloc(cap, sizeof(void *));
	for (char *l = buf, *next; *l; l = next) {
		unsigned int maj, min;
		int off;

		next = strchrnul(l, '\n');
		if (*next)
			*next++ = '\0';
		if (sscanf(l, "%u:%u%n", &maj, &min, &off) != 2)
			continue;
		for (char *tok = strtok(l + off, " "); tok;
		     tok = strtok(NULL, " ")) {
			char *eq = strchr(tok, '=');
			uint64_t v;

			if (!eq || parse_u64(eq + 1, &v))
				continue;
			*eq = '\0';
			for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
				if (strcmp(tok, keys[k].key))
					continue;
				if (bs->n_io_serviced_recursive == cap ||
				    bs->n_io_service_bytes_recursive == cap)
					return;
				if (keys[k].ios)
					bs->io_serviced_recursive
						[bs->n_io_serviced_recursive++] =
						blkio_entry(maj, min,
							    keys[k].op, v);
				else
					bs->io_service_bytes_recursive
						[bs->n_io_service_bytes_recursive++] =
						blkio_entry(maj, min,
							    keys[k].op, v);
			}
		}
	}
}

static int blkio_stats(const struct cgroup *cg, Grpc__CgroupStats *out,
		       struct herr *err)
{
	_cleanup_free_ char *bytes = NULL, *ios = NULL;
	const char *dir = ctrl_dir(cg, "blkio");
	Grpc__BlkioStats *bs;
	int rc;

	if (!dir)
		return 0;
	if (cg->v2) {
		rc = cg_read(cg, dir, "io.stat", true, &bytes, err);
		if (rc)
			return rc < 0 ? -1 : 0;
		bs = out->blkio_stats = msg_new(&grpc__blkio_stats__descriptor);
		v2_blkio(bytes, bs);
		return 0;
	}
	/* Older kernels have no _recursive variants. */
	rc = cg_read(cg, dir, "blkio.throttle.io_service_bytes_recursive", true,
		     &bytes, err);
	if (rc > 0)
		rc = cg_read(cg, dir, "blkio.throttle.io_service_bytes", false,
			     &bytes, err);
	if (rc < 0)
		return -1;
	rc = cg_read(cg, dir, "blkio.throttle.io_serviced_recursive", true,
		     &ios, err);
	if (rc > 0)
		rc = cg_read(cg, dir, "blkio.throttle.io_serviced", false, &ios,
			     err);
	if (rc < 0)
		return -1;
	bs = out->blkio_stats = msg_new(&grpc__blkio_stats__descriptor);
	v1_blkio_list(bytes, &bs->io_service_bytes_recursive,
		      &bs->n_io_service_bytes_recursive);
	v1_blkio_list(ios, &bs->io_serviced_recursive,
		      &bs->n_io_serviced_recursive);
	return 0;
}

int cgroup_stats(struct cgroup *cg, Grpc__CgroupStats *out, struct herr *err)
{
	if (cpu_stats(cg, out, err) || memory_stats(cg, out, err) ||
	    pids_stats(cg, out, err) || blkio_stats(cg, out, err)) {
		cgroup_stats_free(out);
		return -1;
	}
	return 0;
}

void cgroup_stats_free(Grpc__CgroupStats *st)
{
	/* Built with malloc, which is what the default allocator frees. */
	if (st->cpu_stats)
		protobuf_c_message_free_unpacked(&st->cpu_stats->base, NULL);
	if (st->memory_stats)
		protobuf_c_message_free_unpacked(&st->memory_stats->base, NULL);
	if (st->pids_stats)
		protobuf_c_message_free_unpacked(&st->pids_stats->base, NULL);
	if (st->blkio_stats)
		protobuf_c_message_free_unpacked(&st->blkio_stats->base, NULL);
	for (size_t i = 0; i < st->n_hugetlb_stats; i++)
		protobuf_c_message_free_unpacked(&st->hugetlb_stats[i]->base,
						 NULL);
	free(st->hugetlb_stats);
	st->cpu_stats = NULL;
	st->memory_stats = NULL;
	st->pids_stats = NULL;
	st->blkio_stats = NULL;
	st->hugetlb_stats = NULL;
	st->n_hugetlb_stats = 0;
}

/* ---- OOM ---- */

/* Open the fd the cgroup itself keeps for OOM events (once). */
static int open_oom_fd(struct cgroup *cg, const char *dir, struct herr *err)
{
	_cleanup_close_ int efd = -1, cfd = -1;
	char p[PATH_MAX], val[32];

	if (cg->v2) {
		/* memory.events signals POLLPRI whenever a count changes. */
		if (file_path(p, cg, dir, "memory.events", err))
			return -1;
		cg->oom_fd = open(p, O_RDONLY | O_CLOEXEC);
		if (cg->oom_fd < 0)
			return herr_errno(err, errno, "cgroup %s: open %s",
					  cg->path, p);
		return 0;
	}
	/*
	 * v1: an eventfd registered for memory.oom_control through
	 * cgroup.event_control; the kernel keeps what it needs of the
	 * control file, so only the eventfd stays open.
	 */
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return herr_errno(err, errno, "cgroup %s: eventfd", cg->path);
	if (file_path(p, cg, dir, "memory.oom_control", err))
		return -1;
	cfd = open(p, O_RDONLY | O_CLOEXEC);
	if (cfd < 0)
		return herr_errno(err, errno, "cgroup %s: open %s", cg->path,
				  p);
	snprintf(val, sizeof(val), "%d %d", efd, cfd);
	if (cg_write(cg, dir, "cgroup.event_control", val, err))
		return -1;
	cg->oom_fd = steal_fd(&efd);
	return 0;
}

int cgroup_oom_fd(struct cgroup *cg, unsigned int *events, struct herr *err)
{
	const char *dir;
	int fd;

	if (need_dir(cg, "memory", "OOM events", &dir, err))
		return -1;
	*events = cg->v2 ? EPOLLPRI : EPOLLIN;
	if (cg->oom_fd < 0 && open_oom_fd(cg, dir, err))
		return -1;
	/*
	 * The caller gets a duplicate to watch and close.  Both share one
	 * open file, so cgroup_oom_kills() reading the cgroup's own copy
	 * re-arms the caller's watch, and neither close hurts the other.
	 */
	fd = fcntl(cg->oom_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return herr_errno(err, errno, "cgroup %s: dup OOM fd",
				  cg->path);
	return fd;
}

long cgroup_oom_kills(struct cgroup *cg)
{
	_cleanup_free_ char *buf = NULL;
	const char *dir = ctrl_dir(cg, "memory");
	uint64_t v;

	if (!dir)
		return -1;
	if (cg->v2) {
		char events[512];
		ssize_t n = -1;

		/* Reading through the watched fd re-arms its POLLPRI. */
		if (cg->oom_fd >= 0) {
			n = pread(cg->oom_fd, events, sizeof(events) - 1, 0);
			if (n >= 0) {
				events[n] = '\0';
				return kv_get(events, "oom_kill", &v) ? (long)v
								      : 0;
			}
		}
		if (cg_read(cg, dir, "memory.events", false, &buf, NULL))
			return -1;
		return kv_get(buf, "oom_kill", &v) ? (long)v : 0;
	}
	/* Drain the eventfd so a level-triggered watch goes quiet. */
	if (cg->oom_fd >= 0 && read(cg->oom_fd, &v, sizeof(v)) == sizeof(v))
		cg->oom_events += v;
	if (cg_read(cg, dir, "memory.oom_control", false, &buf, NULL))
		return -1;
	/* Kernels before 4.13 have no oom_kill line: count notifications. */
	if (kv_get(buf, "oom_kill", &v))
		return (long)v;
	return (long)cg->oom_events;
}
