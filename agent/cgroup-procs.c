// SPDX-License-Identifier: Apache-2.0
/*
 * The processes in a cgroup: freezing and thawing them (v2 cgroup.freeze
 * or the v1 freezer, bounded waits), and listing them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "util.h"

/* Freezing and thawing are bounded. */
static const long long freeze_timeout_ms = 2000;

/* Wait until cgroup.events says "frozen @want", bounded. */
static int v2_wait_frozen(const struct cgroup *cg, const char *dir, bool want,
			  struct herr *err)
{
	long long deadline = now_ms() + freeze_timeout_ms;
	_cleanup_close_ int fd = -1;
	char p[PATH_MAX], buf[256];

	if (cg_file_path(p, cg, dir, "cgroup.events", err))
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
		if (cg_kv_get(buf, "frozen", &v) && (v != 0) == want)
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
		cg_sleep_ms(delay);
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

	if (cg_need_dir(cg, "freezer", frozen ? "freeze" : "thaw", &dir, err))
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
	char sub[PATH_MAX];
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
	if (depth >= CG_MAX_DEPTH)
		return 0;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT
			       ? 0
			       : herr_errno(err, errno, "cgroup %s: opendir %s",
					    cg->path, dir);
	rc = 0;
	while (!rc && cg_next_subdir(d, dir, sub))
		rc = collect_pids(cg, sub, depth + 1, l, err);
	closedir(d);
	return rc;
}

int cgroup_pids(struct cgroup *cg, pid_t **pids, size_t *n, struct herr *err)
{
	const char *dir = cg_ctrl_dir(cg, "freezer");
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
