// SPDX-License-Identifier: Apache-2.0
/*
 * OOM kills in a cgroup: an fd for the event loop (v2 memory.events, or
 * a v1 eventfd on memory.oom_control) and the count of kills so far.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "util.h"

/* Open the fd the cgroup itself keeps for OOM events (once). */
static int open_oom_fd(struct cgroup *cg, const char *dir, struct herr *err)
{
	_cleanup_close_ int efd = -1, cfd = -1;
	char p[PATH_MAX], val[32];

	if (cg->v2) {
		/* memory.events signals POLLPRI whenever a count changes. */
		if (cg_file_path(p, cg, dir, "memory.events", err))
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
	if (cg_file_path(p, cg, dir, "memory.oom_control", err))
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

	if (cg_need_dir(cg, "memory", "OOM events", &dir, err))
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
	const char *dir = cg_ctrl_dir(cg, "memory");
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
				return cg_kv_get(events, "oom_kill", &v)
					       ? (long)v
					       : 0;
			}
		}
		if (cg_read(cg, dir, "memory.events", false, &buf, NULL))
			return -1;
		return cg_kv_get(buf, "oom_kill", &v) ? (long)v : 0;
	}
	/* Drain the eventfd so a level-triggered watch goes quiet. */
	if (cg->oom_fd >= 0 && read(cg->oom_fd, &v, sizeof(v)) == sizeof(v))
		cg->oom_events += v;
	if (cg_read(cg, dir, "memory.oom_control", false, &buf, NULL))
		return -1;
	/* Kernels before 4.13 have no oom_kill line: count notifications. */
	if (cg_kv_get(buf, "oom_kill", &v))
		return (long)v;
	return (long)cg->oom_events;
}
