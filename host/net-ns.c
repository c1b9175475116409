// SPDX-License-Identifier: Apache-2.0
/*
 * Entering a pod's network namespace by path.  A thread of its own does
 * the setns(): network namespaces are per thread, so the shim's event loop
 * and the rest of the process stay in the host's namespace whatever
 * happens in there, and there is nothing to switch back (a forked helper
 * would need the results and fds sent back over a socket).  Netlink
 * sockets and tap fds opened on that thread stay bound to the pod's
 * namespace after it exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"
#include "util.h"

struct ns_job {
	int fd;
	const char *path;
	int (*fn)(void *arg, struct herr *err);
	void *arg;
	struct herr *err;
	int rc;
};

static void *ns_thread(void *data)
{
	struct ns_job *job = data;

	if (setns(job->fd, CLONE_NEWNET) < 0) {
		job->rc = herr_errno(job->err, errno,
				     "enter network namespace %s", job->path);
		return NULL;
	}
	job->rc = job->fn(job->arg, job->err);
	return NULL;
}

/* Open @path and check that it is a network namespace. */
static int ns_open(const char *path, struct herr *err)
{
	int fd, type;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return herr_errno(err, errno, "network namespace %s", path);
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET) {
		close(fd);
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"network namespace %s: not a network namespace",
				path);
	}
	return fd;
}

int net_ns_exists(const char *ns_path)
{
	int fd = ns_open(ns_path, NULL);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

int net_ns_run(const char *ns_path, int (*fn)(void *arg, struct herr *err),
	       void *arg, struct herr *err)
{
	struct ns_job job = {
		.path = ns_path, .fn = fn, .arg = arg, .err = err, .rc = -1
	};
	pthread_t t;
	int rc;

	job.fd = ns_open(ns_path, err);
	if (job.fd < 0)
		return -1;
	rc = pthread_create(&t, NULL, ns_thread, &job);
	if (rc) {
		close(job.fd);
		return herr_errno(err, rc, "network namespace %s: thread",
				  ns_path);
	}
	pthread_join(t, NULL);
	close(job.fd);
	return job.rc;
}

int net_ns_is_own(const char *ns_path, struct herr *err)
{
	struct stat a, b;
	_cleanup_close_ int fd = -1;

	fd = ns_open(ns_path, err);
	if (fd < 0)
		return -1;
	if (fstat(fd, &a) < 0)
		return herr_errno(err, errno, "network namespace %s", ns_path);
	if (stat("/proc/thread-self/ns/net", &b) < 0)
		return herr_errno(err, errno, "own network namespace");
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}
