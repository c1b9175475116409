// SPDX-License-Identifier: Apache-2.0
/*
 * virtiofsd's lifecycle for one pod (see virtiofsd.h).  Measured with
 * Debian 12's /usr/lib/qemu/virtiofsd: it blocks in accept() on its
 * socket, and only after QEMU connects forks into its sandbox; it exits by
 * itself when QEMU disconnects.  The shim binds and listens on the socket
 * itself and hands it over (--fd): QEMU may dial it at once, so QEMU's
 * start overlaps the daemon's (waiting for the daemon's own socket cost
 * its whole start, 10-30 ms, on every pod's critical path).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hv.h"
#include "log.h"
#include "unix-sock.h"
#include "util.h"
#include "virtiofsd.h"

#define VERSION_TIMEOUT_MS 3000
#define CHILD_WAIT_MS 2000
#define KILL_WAIT_MS 5000
#define TAIL_BYTES 300

struct virtiofsd {
	char *sock, *log;
	int listen_fd; /* ours, until QEMU's connection is accepted, or -1 */
	pid_t pid; /* the monitor (the process we spawned) */
	int pidfd;
	pid_t child_pid; /* the sandboxed daemon, or 0 */
	int child_pidfd;
	bool reaped; /* the owner reaped the monitor */
	int status;
};

/* ---- argv ----------------------------------------------------------- */

static void sv_add(char ***v, size_t *n, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	*v = realloc(*v, (*n + 2) * sizeof(**v));
	if (!*v)
		abort();
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

char **virtiofsd_build_argv(const struct husk_config *cfg,
			    enum virtiofsd_flavour fl, int listen_fd,
			    const char *source)
{
	const char *cache =
		cfg->virtio_fs_cache ? cfg->virtio_fs_cache : "auto";
	char **v = NULL;
	size_t n = 0;

	sv_add(&v, &n, "%s", cfg->virtio_fs_daemon);
	/* Both daemons take a listening socket instead of a path. */
	sv_add(&v, &n, "--fd=%d", listen_fd);
	if (fl == VIRTIOFSD_C) {
		/* The C daemon: unknown options are fatal, no sandbox=none. */
		sv_add(&v, &n, "-o");
		sv_add(&v, &n, "source=%s", source);
		sv_add(&v, &n, "-o");
		sv_add(&v, &n, "sandbox=namespace");
		sv_add(&v, &n, "-o");
		sv_add(&v, &n, "cache=%s", cache);
		/* Overlay, ACLs and file capabilities on the share. */
		sv_add(&v, &n, "-o");
		sv_add(&v, &n, "xattr");
		/* Host mounts under a volume reach the guest as submounts. */
		sv_add(&v, &n, "-o");
		sv_add(&v, &n, "announce_submounts");
	} else {
		sv_add(&v, &n, "--shared-dir=%s", source);
		sv_add(&v, &n, "--sandbox=namespace");
		sv_add(&v, &n, "--cache=%s",
		       strcmp(cache, "none") ? cache : "never");
		sv_add(&v, &n, "--xattr");
		sv_add(&v, &n, "--announce-submounts");
	}
	sv_add(&v, &n, "--thread-pool-size=1");
	for (char **a = cfg->virtio_fs_extra_args; a && *a; a++)
		sv_add(&v, &n, "%s", *a);
	return v;
}

/* ---- which daemon ---------------------------------------------------- */

int virtiofsd_flavour(const char *path, enum virtiofsd_flavour *fl,
		      char *version, size_t cap, struct herr *err)
{
	static char cached_path[256], cached_version[128];
	static enum virtiofsd_flavour cached;
	char *argv[] = { (char *)path, "--version", NULL };
	char buf[512] = "";
	_cleanup_close_ int out = -1;
	int pidfd = -1, rc;
	ssize_t n;
	pid_t pid;

	if (*cached_path && !strcmp(cached_path, path))
		goto done;
	/* Every pod is a new shim: ask the daemon once per boot, not each. */
	if (hv_cache_get("virtiofsd", path, buf, sizeof(buf)) && *buf)
		goto found;
	out = memfd_create("virtiofsd-version", MFD_CLOEXEC);
	if (out < 0)
		return herr_errno(err, errno, "memfd_create");
	pid = hv_spawn(argv, NULL, 0, out, &pidfd, err);
	if (pid < 0)
		return herr_prefix(err, "virtiofsd");
	rc = hv_pidfd_wait(pidfd, VERSION_TIMEOUT_MS);
	if (rc <= 0)
		hv_pidfd_kill(pidfd, SIGKILL);
	hv_pidfd_reap(pidfd);
	close(pidfd);
	n = pread(out, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (rc <= 0 || !*buf)
		return herr_set(err, GRPC_UNAVAILABLE, 0,
				"virtiofsd %s --version: %s", path,
				rc <= 0 ? "no answer" : "no output");
	hv_cache_put("virtiofsd", path, buf);
found:
	/* C: "virtiofsd version 7.2.22 (...)"; Rust: "virtiofsd 1.10.1". */
	cached = strstr(buf, "virtiofsd version ") ? VIRTIOFSD_C
						   : VIRTIOFSD_RUST;
	snprintf(cached_version, sizeof(cached_version), "%s", buf);
	snprintf(cached_path, sizeof(cached_path), "%s", path);
done:
	*fl = cached;
	if (version)
		snprintf(version, cap, "%s", cached_version);
	return 0;
}

/* ---- lifecycle ------------------------------------------------------- */

static void unlink_quiet(const char *path)
{
	if (path && unlink(path) < 0 && errno != ENOENT)
		log_warn("remove %s: %s", path, strerror(errno));
}

static void close_listener(struct virtiofsd *d)
{
	if (d->listen_fd >= 0)
		close(d->listen_fd);
	d->listen_fd = -1;
}

static void free_daemon(struct virtiofsd *d)
{
	close_listener(d);
	free(d->sock);
	free(d->log);
	free(d);
}

/* The monitor's status without reaping it; -1 when not known. */
static int peek_status(struct virtiofsd *d)
{
	if (d->reaped)
		return d->status;
	return hv_pidfd_peek(d->pidfd);
}

bool virtiofsd_failed(struct virtiofsd *d)
{
	int st;

	if (!d || hv_pidfd_wait(d->pidfd, 0) <= 0)
		return false;
	st = peek_status(d);
	return st != 0;
}

int virtiofsd_error(struct virtiofsd *d, struct herr *err)
{
	int st = peek_status(d);
	char how[64], tail[TAIL_BYTES + 64];

	if (st < 0)
		snprintf(how, sizeof(how), "exited");
	else if (WIFSIGNALED(st))
		snprintf(how, sizeof(how), "was killed by signal %d (%s)",
			 WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(how, sizeof(how), "exited with status %d",
			 WEXITSTATUS(st));
	hv_file_tail(d->log, TAIL_BYTES, tail, sizeof(tail));
	return herr_set(err, GRPC_UNAVAILABLE, 0,
			"virtiofsd (pid %d) %s; its log %s: %s", (int)d->pid,
			how, d->log, *tail ? tail : "(empty)");
}

int virtiofsd_start(const struct husk_config *cfg, const char *run_dir,
		    const char *source, struct virtiofsd **out,
		    struct herr *err)
{
	const char *path = cfg->virtio_fs_daemon;
	enum virtiofsd_flavour fl;
	_cleanup_close_ int log = -1;
	struct virtiofsd *d;
	struct stat st;
	char **argv;

	if (!path || !*path)
		return herr_set(
			err, GRPC_INVALID_ARGUMENT, 0,
			"shared_fs virtio-fs: no virtio_fs_daemon configured");
	if (stat(path, &st) < 0 || access(path, X_OK) < 0)
		return herr_errno(
			err, errno,
			"virtiofsd: virtio_fs_daemon %s (install "
			"qemu-system-common, or set shared_fs = \"virtio-9p\")",
			path);
	if (virtiofsd_flavour(path, &fl, NULL, 0, err) < 0)
		return -1;
	d = xcalloc(1, sizeof(*d));
	d->pidfd = d->child_pidfd = d->listen_fd = -1;
	if (asprintf(&d->sock, "%s/" VM_FS_SOCK, run_dir) < 0 ||
	    asprintf(&d->log, "%s/" VIRTIOFSD_LOG, run_dir) < 0)
		abort();
	/* Replace: a crashed shim's socket would make the bind fail. */
	d->listen_fd =
		unix_listen(d->sock, SOCK_STREAM, 1,
			    UNIX_LISTEN_REPLACE | UNIX_LISTEN_PRIVATE, err);
	if (d->listen_fd < 0) {
		herr_prefix(err, "virtiofsd");
		free_daemon(d);
		return -1;
	}
	log = open(d->log,
		   O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC |
			   O_NOCTTY,
		   0600);
	if (log < 0) {
		herr_errno(err, errno, "virtiofsd: create %s", d->log);
		goto fail;
	}
	/* hv_spawn() puts the first fd it is given on 3. */
	argv = virtiofsd_build_argv(cfg, fl, 3, source);
	d->pid = hv_spawn(argv, &d->listen_fd, 1, log, &d->pidfd, err);
	strv_free(argv);
	if (d->pid < 0) {
		d->pid = 0;
		herr_prefix(err, "virtiofsd");
		goto fail;
	}
	log_debug("virtiofsd pid %d serving %s on %s", (int)d->pid, source,
		  d->sock);
	*out = d;
	return 0;
fail:
	unlink_quiet(d->sock);
	unlink_quiet(d->log);
	free_daemon(d);
	return -1;
}

int virtiofsd_check_accepted(struct virtiofsd *d, struct herr *err)
{
	struct pollfd pfd;
	char tail[TAIL_BYTES + 64];

	if (!d || d->listen_fd < 0)
		return 0;
	/* A listening socket polls readable while a connection waits. */
	pfd = (struct pollfd){ .fd = d->listen_fd, .events = POLLIN };
	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	hv_file_tail(d->log, TAIL_BYTES, tail, sizeof(tail));
	return herr_set(err, GRPC_DEADLINE_EXCEEDED, 0,
			"virtiofsd (pid %d): did not accept QEMU's connection "
			"on %s within %d ms; its log %s: %s",
			(int)d->pid, d->sock, VIRTIOFSD_START_TIMEOUT_MS,
			d->log, *tail ? tail : "(empty)");
}

/* The monitor's children, from /proc: the sandboxed daemon. */
static pid_t find_child(pid_t pid)
{
	char path[64], buf[64] = "";
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
		 (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (pid_t)atoi(buf);
}

void virtiofsd_connected(struct virtiofsd *d)
{
	long long deadline = now_ms() + CHILD_WAIT_MS;
	pid_t c;

	if (!d)
		return;
	/* QEMU is up, so the daemon answered it: our copy is done with. */
	close_listener(d);
	if (d->child_pidfd >= 0)
		return;
	/* It forks right after QEMU's connect: give it a moment. */
	while (!(c = find_child(d->pid))) {
		if (now_ms() > deadline || hv_pidfd_wait(d->pidfd, 5) > 0) {
			log_warn("virtiofsd pid %d: no sandboxed child found",
				 (int)d->pid);
			return;
		}
	}
	d->child_pidfd = (int)syscall(SYS_pidfd_open, c, 0);
	if (d->child_pidfd < 0) {
		log_warn("virtiofsd child %d: pidfd_open: %s", (int)c,
			 strerror(errno));
		return;
	}
	/* Still the monitor's? (pid reuse between the read and the open) */
	if (find_child(d->pid) != c) {
		close(d->child_pidfd);
		d->child_pidfd = -1;
		return;
	}
	d->child_pid = c;
	log_debug("virtiofsd pid %d: sandboxed child %d", (int)d->pid, (int)c);
}

int virtiofsd_pidfd(const struct virtiofsd *d)
{
	return d ? d->pidfd : -1;
}

pid_t virtiofsd_pid(const struct virtiofsd *d)
{
	return d ? d->pid : 0;
}

pid_t virtiofsd_child_pid(const struct virtiofsd *d)
{
	return d ? d->child_pid : 0;
}

bool virtiofsd_reaped(struct virtiofsd *d, pid_t pid, int status)
{
	if (!d || !pid)
		return false;
	if (pid == d->pid) {
		d->reaped = true;
		d->status = status;
		return true;
	}
	/* The child, reparented to a subreaper owner after the monitor. */
	return pid == d->child_pid;
}

void virtiofsd_kill(struct virtiofsd *d)
{
	if (!d)
		return;
	/* Child first: it outlives a killed monitor while QEMU is there. */
	if (d->child_pidfd >= 0)
		hv_pidfd_kill(d->child_pidfd, SIGKILL);
	if (d->pidfd >= 0)
		hv_pidfd_kill(d->pidfd, SIGKILL);
}

void virtiofsd_stop(struct virtiofsd *d)
{
	if (!d)
		return;
	virtiofsd_kill(d);
	if (d->child_pidfd >= 0) {
		hv_pidfd_wait(d->child_pidfd, KILL_WAIT_MS);
		close(d->child_pidfd);
		d->child_pidfd = -1;
	}
	if (d->pidfd >= 0) {
		hv_pidfd_wait(d->pidfd, KILL_WAIT_MS);
		hv_pidfd_reap(d->pidfd);
		close(d->pidfd);
		d->pidfd = -1;
	}
	unlink_quiet(d->sock);
	unlink_quiet(d->log);
	free_daemon(d);
}
