// SPDX-License-Identifier: Apache-2.0
/*
 * The shim daemon: serves containerd.task.v2.Task on the socket "start"
 * handed over as fd 3, logs to the bundle's "log" FIFO, reaps children as
 * a subreaper (the hypervisor among them), and keeps every mount in a
 * mount namespace of its own so nothing outlives it.  It exits after
 * Shutdown once the pod has no containers and every event is delivered,
 * or on SIGTERM after tearing the VM down.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "containerd/events/task.pb-c.h"
#include "delete.h"
#include "events.h"
#include "hv.h"
#include "log.h"
#include "service.h"
#include "shim.h"
#include "start.h"
#include "unix-sock.h"
#include "util.h"

/* How long queued events may delay the exit after Shutdown. */
#define SHUTDOWN_FLUSH_MS 5000

uint32_t shim_task_pid(const struct shim *s)
{
	return s->pod && s->pod->vm_pid > 0 ? (uint32_t)s->pod->vm_pid : 0;
}

void shim_maybe_exit(struct shim *s)
{
	if (s->shutdown && !s->shutdown_deadline)
		s->shutdown_deadline = now_ms() + SHUTDOWN_FLUSH_MS;
}

int shim_load_config(struct shim *s, struct herr *err)
{
	if (s->cfg_loaded)
		return 0;
	if (config_load(s->cfg_path, &s->cfg, err) < 0) {
		config_free(&s->cfg);
		return -1;
	}
	s->cfg_loaded = true;
	if (s->cfg.runtime_debug || s->flags.debug)
		log_set_level(LOG_DEBUG);
	return 0;
}

/* The agent saw an OOM kill in one of the pod's containers. */
static void on_oom(struct pod *pod, const char *container_id, void *data)
{
	Containerd__Events__TaskOOM oom = CONTAINERD__EVENTS__TASK_OOM__INIT;
	struct shim *s = data;

	oom.container_id = (char *)container_id;
	events_publish(s->events, "/tasks/oom", &oom.base);
}

/* How the pod reports to the shim (host/pod.h). */
static const struct pod_ops shim_pod_ops = {
	.oom = on_oom,
	.process_started = shim_process_started,
	.process_waited = shim_process_waited,
	.process_exited = shim_process_exited,
	.process_lost = shim_process_lost,
	.process_removed = shim_process_removed,
	.process_free = shim_process_free,
};

/* When "start" ran (start.c), for the pod's start timeline. */
static void take_start_time(struct pod *pod)
{
	const char *v = getenv(SHIM_START_ENV);
	char *end;
	long long ms;

	if (!v)
		return;
	ms = strtoll(v, &end, 10);
	if (!*end && ms > 0 && ms <= now_ms())
		pod_timeline_set(pod, POD_T_START, ms);
	/* Not for the hypervisor and helpers this shim starts. */
	unsetenv(SHIM_START_ENV);
}

static void open_log(void)
{
	int fd = open("log", O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	/*
	 * containerd reads this FIFO into its own log.  Non-blocking: a line
	 * is dropped rather than the shim stalled when nobody reads.
	 */
	if (fd < 0)
		return;
	dup2(fd, 2);
	close(fd);
}

static int private_mounts(struct herr *err)
{
	if (unshare(CLONE_NEWNS) < 0)
		return herr_errno(err, errno, "unshare mount namespace");
	/* See the host's mounts, never show ours to it. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return herr_errno(err, errno, "make / a slave mount");
	return 0;
}

static int mkdir_parents(const char *path)
{
	_cleanup_free_ char *copy = xstrdup(path);

	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0711) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(copy, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

static void reap(struct shim *s)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);

		if (pid <= 0)
			return;
		if (!pod_child_reaped(s->pod, pid, st))
			log_debug("reaped pid %d", (int)pid);
	}
}

static void terminate(struct shim *s)
{
	struct pod *pod = s->pod;
	struct herr why;

	log_warn("terminating: killing the VM and releasing every container");
	herr_set(&why, GRPC_UNAVAILABLE, 0, "the shim was told to terminate");
	if (pod->state != POD_NEW)
		pod_fail(pod, &why);
	while (pod->containers) {
		struct pod_container *c = pod->containers;

		pod_container_ref(c);
		pod_container_release_host(c);
		pod_remove_container(pod, c);
		pod_container_unref(c);
	}
	pod_teardown(pod, NULL, NULL);
	s->shutdown = true;
	s->shutdown_deadline = now_ms() + 500;
}

static void on_signalfd(struct evloop *loop, int fd, uint32_t events,
			void *data)
{
	struct shim *s = data;
	struct signalfd_siginfo si;

	(void)loop;
	(void)events;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap(s);
		else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			terminate(s);
	}
}

static int setup_signals(struct shim *s, struct herr *err)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return herr_errno(err, errno, "sigprocmask");
	s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sigfd < 0)
		return herr_errno(err, errno, "signalfd");
	if (evloop_add(s->loop, s->sigfd, EPOLLIN, on_signalfd, s) < 0)
		return herr_set(err, GRPC_INTERNAL, 0, "watch signalfd");
	return 0;
}

/* -socket PATH (not used by containerd 1.6, handy by hand) or fd 3. */
static int listener(const struct shim_flags *f, struct herr *err)
{
	int fd;

	if (!*f->socket) {
		struct stat st;

		if (fstat(3, &st) < 0 || !S_ISSOCK(st.st_mode))
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"no listening socket on fd 3 (run with "
					"'start', or give -socket)");
		fcntl(3, F_SETFD, FD_CLOEXEC);
		return 3;
	}
	fd = unix_listen(shim_socket_path(f->socket), SOCK_STREAM, 64,
			 UNIX_LISTEN_REPLACE | UNIX_LISTEN_PRIVATE, err);
	if (fd < 0)
		herr_prefix(err, "-socket %s", f->socket);
	return fd;
}

/* The path the listening socket is bound to (what "start" computed). */
static char *bound_path(int fd)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);

	memset(&sa, 0, sizeof(sa));
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0 ||
	    sa.sun_family != AF_UNIX || !sa.sun_path[0])
		return NULL;
	return strndup(sa.sun_path, sizeof(sa.sun_path));
}

static bool may_exit(struct shim *s)
{
	if (!s->shutdown || s->pod->n_containers ||
	    s->pod->state == POD_STOPPING)
		return false;
	return events_idle(s->events) || now_ms() >= s->shutdown_deadline;
}

static void cleanup_files(struct shim *s)
{
	_cleanup_free_ char *pidfile = NULL;
	char *slash;

	if (s->address)
		unlink(s->address);
	if (asprintf(&pidfile, "%s/shim.pid", s->run_dir) < 0)
		abort();
	unlink(pidfile);
	if (remove_tree(s->run_dir) < 0)
		log_warn("remove %s: %s", s->run_dir, strerror(errno));
	/* <root>/<ns> goes too when this was its last sandbox. */
	slash = strrchr(s->run_dir, '/');
	if (slash) {
		*slash = '\0';
		rmdir(s->run_dir);
	}
}

static void shim_free(struct shim *s)
{
	ttrpc_server_free(s->srv);
	pod_free(s->pod);
	events_free(s->events);
	if (s->cfg_loaded)
		config_free(&s->cfg);
	free(s->cfg_path);
	free(s->address);
	free(s->run_dir);
	if (s->sigfd >= 0)
		close(s->sigfd);
	evloop_free(s->loop);
}

int shim_serve(const struct shim_flags *f)
{
	struct shim s = { .flags = *f, .sigfd = -1 };
	char pid[32];
	struct herr err;
	int lfd, r = 0;

	/* containerd may leak descriptors into its shims. */
	close_range(4, ~0U, 0);
	open_log();
	log_init(2, CONFIG_DEFAULT_LOG_LEVEL);
	if (f->debug)
		log_set_level(LOG_DEBUG);
	if (!*f->id || !*f->namespace_) {
		log_error("the shim needs -id and -namespace");
		return 1;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	s.loop = evloop_new();
	if (!s.loop || setup_signals(&s, &err) < 0 || private_mounts(&err) < 0)
		goto fail;
	lfd = listener(f, &err);
	if (lfd < 0)
		goto fail;
	s.address = bound_path(lfd);
	s.run_dir = shim_run_dir(f->namespace_, f->id);
	if (mkdir_parents(s.run_dir) < 0) {
		herr_errno(&err, errno, "mkdir %s", s.run_dir);
		goto fail;
	}
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (write_file_atomic(s.run_dir, "shim.pid", pid, &err) < 0)
		goto fail;
	s.events = events_new(s.loop, getenv("TTRPC_ADDRESS"), f->namespace_);
	s.pod = pod_new(s.loop, f->id, s.run_dir, &shim_pod_ops, &s);
	take_start_time(s.pod);
	s.srv = ttrpc_server_new(s.loop, task_methods, task_n_methods, &s);
	if (ttrpc_server_listen_fd(s.srv, lfd, &err) < 0)
		goto fail;
	log_msg(LOG_INFO, "shim serving", "id=%s namespace=%s pid=%d", f->id,
		f->namespace_, (int)getpid());

	while (!may_exit(&s)) {
		int timeout = s.shutdown ? 50 : -1;

		r = evloop_run_once(s.loop, timeout);
		if (r < 0) {
			herr_errno(&err, -r, "event loop");
			goto fail;
		}
	}
	log_info("exiting");
	cleanup_files(&s);
	shim_free(&s);
	return 0;
fail:
	log_error("shim: %s", err.msg);
	if (s.run_dir)
		cleanup_files(&s);
	shim_free(&s);
	return 1;
}
