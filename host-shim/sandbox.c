// SPDX-License-Identifier: Apache-2.0
/*
 * The pod: one VM per shim, booted by the first Create.  Boot is vm_start,
 * vm_connect_agent, then Health.Check and CreateSandbox (with the shared
 * directory as the agent's first storage) under one deadline, the
 * configuration's dial_timeout.  Whatever goes wrong - the hypervisor
 * exits, the agent does not answer in time, a reply breaks the protocol -
 * ends in sandbox_fail(): the VM is killed, every agent call fails, every
 * task reports its exit.  The last Delete tears the VM down on purpose.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "containerd/events/task.pb-c.h"
#include "events.h"
#include "hv.h"
#include "log.h"
#include "shim.h"
#include "start.h"
#include "util.h"

#define DESTROY_TIMEOUT_MS 2000
#define VM_STOP_TIMEOUT_MS 2000
#define OOM_RETRY_MS 1000
#define PIPE_CONSOLE_SIZE (1 << 20)

static void on_agent_closed(const struct herr *why, void *data);
static void stop_vm(struct sandbox *sb, bool graceful);

struct sandbox *sandbox_new(struct shim *s, const char *id)
{
	struct sandbox *sb = xcalloc(1, sizeof(*sb));

	sb->shim = s;
	sb->id = xstrdup(id);
	sb->run_dir = xstrdup(s->run_dir);
	if (asprintf(&sb->shared_dir, "%s/shared", sb->run_dir) < 0)
		abort();
	sb->state = SB_NEW;
	sb->console_fd = -1;
	sb->agent = agent_new(s->loop);
	agent_on_close(sb->agent, on_agent_closed, sb);
	return sb;
}

void sandbox_free(struct sandbox *sb)
{
	if (!sb)
		return;
	stop_vm(sb, false);
	agent_free(sb->agent);
	for (size_t i = 0; i < ARRAY_SIZE(sb->recent); i++)
		free(sb->recent[i]);
	free(sb->id);
	free(sb->run_dir);
	free(sb->shared_dir);
	free(sb);
}

bool sandbox_usable(const struct sandbox *sb)
{
	return sb->state == SB_READY;
}

struct container *sandbox_find(struct sandbox *sb, const char *id)
{
	for (struct container *c = sb->containers; c; c = c->next)
		if (!strcmp(c->id, id))
			return c;
	return NULL;
}

void sandbox_add_container(struct sandbox *sb, struct container *c)
{
	container_ref(c);
	c->next = sb->containers;
	sb->containers = c;
	sb->n_containers++;
}

void sandbox_remove_container(struct sandbox *sb, struct container *c)
{
	for (struct container **pp = &sb->containers; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			free(sb->recent[sb->recent_next]);
			sb->recent[sb->recent_next] = xstrdup(c->id);
			sb->recent_next =
				(sb->recent_next + 1) % ARRAY_SIZE(sb->recent);
			sb->n_containers--;
			c->removed = true;
			container_unref(c);
			return;
		}
}

/* ---- console ---------------------------------------------------------- */

static void console_keep(struct sandbox *sb, const char *line, size_t len)
{
	size_t cap = sizeof(sb->console_tail);

	/* Keep the newest bytes, printable only: the guest is not trusted. */
	if (len + 1 > cap)
		len = cap - 1;
	if (sb->console_len + len + 1 > cap) {
		size_t drop = sb->console_len + len + 1 - cap;

		memmove(sb->console_tail, sb->console_tail + drop,
			sb->console_len - drop);
		sb->console_len -= drop;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		sb->console_tail[sb->console_len++] =
			ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
	}
	sb->console_tail[sb->console_len++] = '|';
}

static void console_line(struct sandbox *sb)
{
	size_t n = sb->console_line_len;

	while (n && (sb->console_line[n - 1] == '\r' ||
		     sb->console_line[n - 1] == ' '))
		n--;
	if (n) {
		sb->console_line[n] = '\0';
		log_msg(LOG_DEBUG, sb->console_line,
			"sandbox=%s source=console", sb->id);
		console_keep(sb, sb->console_line, n);
	}
	sb->console_line_len = 0;
}

static void console_close(struct sandbox *sb)
{
	if (sb->console_fd < 0)
		return;
	evloop_del(sb->shim->loop, sb->console_fd);
	close(sb->console_fd);
	sb->console_fd = -1;
	if (sb->console_line_len)
		console_line(sb);
}

static void on_console(struct evloop *loop, int fd, uint32_t events, void *data)
{
	struct sandbox *sb = data;
	char buf[4096];
	ssize_t n;

	(void)loop;
	(void)events;
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		console_close(sb);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n' ||
		    sb->console_line_len == sizeof(sb->console_line) - 1)
			console_line(sb);
		if (buf[i] != '\n')
			sb->console_line[sb->console_line_len++] = buf[i];
	}
}

/* Read what the console has now (the loop may have been blocked). */
static void console_drain(struct sandbox *sb)
{
	int n = 0;

	for (int i = 0; i < 256 && sb->console_fd >= 0; i++) {
		if (ioctl(sb->console_fd, FIONREAD, &n) < 0 || n == 0)
			break;
		on_console(sb->shim->loop, sb->console_fd, EPOLLIN, sb);
	}
}

/* The last few console lines ("a|b|c"), for an error message. */
static const char *console_tail(struct sandbox *sb)
{
	static char out[CONSOLE_TAIL_MAX];
	size_t n, start;
	int bars = 0;

	console_drain(sb);
	if (sb->console_line_len)
		console_line(sb);
	n = sb->console_len;
	if (!n)
		return "(no console output)";
	/* Entries end with '|': keep the last three. */
	for (start = n - 1; start > 0; start--)
		if (sb->console_tail[start - 1] == '|' && ++bars == 3)
			break;
	memcpy(out, sb->console_tail + start, n - 1 - start);
	out[n - 1 - start] = '\0';
	return out;
}

/* ---- failure ---------------------------------------------------------- */

static void boot_waiters_done(struct sandbox *sb, const struct herr *err);

static void remove_vm_files(struct sandbox *sb)
{
	_cleanup_free_ char *pidfile = NULL;

	if (asprintf(&pidfile, "%s/hypervisor.pid", sb->run_dir) < 0)
		abort();
	unlink(pidfile);
}

static void stop_vm(struct sandbox *sb, bool graceful)
{
	struct herr err;

	agent_shutdown(sb->agent, NULL);
	if (sb->vm) {
		if (vm_stop(sb->vm, graceful, graceful ? VM_STOP_TIMEOUT_MS : 0,
			    &err) < 0)
			log_warn("sandbox %s: stop VM: %s", sb->id, err.msg);
		vm_free(sb->vm);
		sb->vm = NULL;
	}
	console_close(sb);
	remove_vm_files(sb);
}

void sandbox_fail(struct sandbox *sb, const struct herr *why)
{
	if (sb->state == SB_DEAD || sb->state == SB_NEW)
		return;
	log_error("sandbox %s: %s", sb->id, why->msg);
	sb->death = *why;
	if (sb->state == SB_STOPPING) {
		/* Already going away: let teardown finish. */
		return;
	}
	sb->state = SB_DEAD;
	/* Fail every pending call first: processes record lost exits. */
	agent_shutdown(sb->agent, why);
	stop_vm(sb, false);
	for (struct container *c = sb->containers; c; c = c->next) {
		if (c->init)
			process_lost(c->init);
		for (struct process *p = c->execs; p; p = p->next)
			process_lost(p);
	}
	boot_waiters_done(sb, why);
}

static void on_agent_closed(const struct herr *why, void *data)
{
	struct sandbox *sb = data;
	struct herr err;

	/*
	 * The hypervisor is gone, the connection with it: its SIGCHLD (on
	 * its way) says more than "connection closed".
	 */
	if (sb->vm && !vm_running(sb->vm) && sb->state != SB_BOOTING)
		return;
	herr_set(&err, GRPC_UNAVAILABLE, 0, "agent connection lost: %s",
		 why->msg);
	sandbox_fail(sb, &err);
}

void sandbox_vm_exited(struct sandbox *sb, int wait_status)
{
	struct herr why;

	if (!sb->vm)
		return;
	vm_exited(sb->vm, wait_status);
	if (WIFSIGNALED(wait_status))
		herr_set(&why, GRPC_UNAVAILABLE, 0,
			 "hypervisor (pid %d) was killed by signal %d",
			 (int)sb->vm_pid, WTERMSIG(wait_status));
	else
		herr_set(&why, GRPC_UNAVAILABLE, 0,
			 "hypervisor (pid %d) exited with status %d",
			 (int)sb->vm_pid, WEXITSTATUS(wait_status));
	if (sb->state == SB_BOOTING)
		herr_prefix(&why, "VM failed to boot");
	if (sb->state == SB_STOPPING)
		return;
	if (sb->state == SB_BOOTING) {
		char msg[HERR_MSG_MAX];

		snprintf(msg, sizeof(msg), "%s", why.msg);
		herr_set(&why, why.code, 0, "%s; console: %s", msg,
			 console_tail(sb));
	}
	sandbox_fail(sb, &why);
}

/* ---- boot ------------------------------------------------------------- */

struct deferred_boot {
	struct container *c;
	struct herr err;
	bool failed;
};

static void deferred_boot_fire(struct evloop *loop, void *data)
{
	struct deferred_boot *d = data;

	(void)loop;
	container_boot_done(d->c, d->failed ? &d->err : NULL);
	container_unref(d->c);
	free(d);
}

static void defer_boot_done(struct sandbox *sb, struct container *c,
			    const struct herr *err)
{
	struct deferred_boot *d = xcalloc(1, sizeof(*d));

	d->c = c;
	container_ref(c);
	if (err) {
		d->failed = true;
		d->err = *err;
	}
	evloop_timer(sb->shim->loop, 0, deferred_boot_fire, d);
}

static void boot_waiters_done(struct sandbox *sb, const struct herr *err)
{
	while (sb->boot_waiters) {
		struct boot_waiter *w = sb->boot_waiters;

		sb->boot_waiters = w->next;
		defer_boot_done(sb, w->c, err);
		container_unref(w->c);
		free(w);
	}
}

static void boot_failed(struct sandbox *sb, const struct herr *why)
{
	if (sb->state == SB_BOOTING) {
		sandbox_fail(sb, why);
		return;
	}
	/* Failed before the VM existed (configuration, vm_start). */
	stop_vm(sb, false);
	sb->state = SB_NEW;
	boot_waiters_done(sb, why);
}

static void oom_watch(struct sandbox *sb);

/* A container of this pod, present or just deleted (never any other). */
static bool knows_container(struct sandbox *sb, const char *id)
{
	if (sandbox_find(sb, id))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(sb->recent); i++)
		if (sb->recent[i] && !strcmp(sb->recent[i], id))
			return true;
	return false;
}

static void oom_retry(struct evloop *loop, void *data)
{
	(void)loop;
	oom_watch(data);
}

static void on_oom(void *resp, const struct herr *err, void *data)
{
	struct sandbox *sb = data;
	const Grpc__OOMEvent *ev = resp;

	if (sb->state != SB_READY && sb->state != SB_STOPPING)
		return;
	if (err) {
		if (err->code == GRPC_UNIMPLEMENTED || sb->state != SB_READY)
			return;
		log_debug("sandbox %s: GetOOMEvent: %s", sb->id, err->msg);
		evloop_timer(sb->shim->loop, OOM_RETRY_MS, oom_retry, sb);
		return;
	}
	if (ev->container_id && knows_container(sb, ev->container_id)) {
		Containerd__Events__TaskOOM oom =
			CONTAINERD__EVENTS__TASK_OOM__INIT;

		log_msg(LOG_WARN, "container out of memory", "container=%s",
			ev->container_id);
		oom.container_id = ev->container_id;
		events_publish(sb->shim->events, "/tasks/oom", &oom.base);
	}
	oom_watch(sb);
}

static void oom_watch(struct sandbox *sb)
{
	if (sb->state == SB_READY)
		agent_get_oom_event(sb->agent, on_oom, sb);
}

static void on_sandbox_created(void *resp, const struct herr *err, void *data)
{
	struct sandbox *sb = data;
	struct herr why;

	(void)resp;
	if (sb->state != SB_BOOTING)
		return;
	if (err) {
		herr_set(&why, err->code, 0, "agent CreateSandbox: %s",
			 err->msg);
		boot_failed(sb, &why);
		return;
	}
	sb->state = SB_READY;
	log_msg(LOG_INFO, "sandbox ready", "sandbox=%s boot_ms=%lld vm=\"%s\"",
		sb->id, now_ms() - sb->boot_started, vm_describe(sb->vm));
	oom_watch(sb);
	boot_waiters_done(sb, NULL);
}

static void create_sandbox(struct sandbox *sb)
{
	const struct husk_config *cfg = &sb->shim->cfg;
	Grpc__CreateSandboxRequest req = GRPC__CREATE_SANDBOX_REQUEST__INIT;
	Grpc__Storage st = GRPC__STORAGE__INIT, *sts[1] = { &st };
	char msize[32];
	char *opts9p[] = { "trans=virtio,version=9p2000.L,cache=mmap", "nodev",
			   msize };

	snprintf(msize, sizeof(msize), "msize=%u",
		 cfg->msize_9p ? cfg->msize_9p : 8192);
	st.source = "kataShared";
	st.mount_point = GUEST_SHARED_DIR "/";
	if (cfg->shared_fs == SHARED_FS_VIRTIO_FS) {
		st.driver = "virtio-fs";
		st.fstype = "virtiofs";
	} else {
		st.driver = "9p";
		st.fstype = "9p";
		st.options = opts9p;
		st.n_options = ARRAY_SIZE(opts9p);
	}
	req.storages = sts;
	req.n_storages = 1;
	req.sandbox_id = sb->id;
	req.hostname = "";
	agent_create_sandbox(sb->agent, &req, on_sandbox_created, sb);
}

static void on_checked(void *resp, const struct herr *err, void *data)
{
	struct sandbox *sb = data;
	const Grpc__HealthCheckResponse *r = resp;
	struct herr why;

	if (sb->state != SB_BOOTING)
		return;
	if (err) {
		if (err->code == GRPC_DEADLINE_EXCEEDED)
			herr_set(&why, GRPC_DEADLINE_EXCEEDED, 0,
				 "agent not ready within %u s (the VM is "
				 "running; console: %s)",
				 sb->shim->cfg.dial_timeout, console_tail(sb));
		else
			herr_set(&why, err->code, 0,
				 "agent health check: %s (console: %s)",
				 err->msg, console_tail(sb));
		boot_failed(sb, &why);
		return;
	}
	if (r->status != GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING) {
		herr_set(&why, GRPC_UNAVAILABLE, 0,
			 "agent health check: not serving (status %d)",
			 (int)r->status);
		boot_failed(sb, &why);
		return;
	}
	log_debug("sandbox %s: agent answered after %lld ms", sb->id,
		  now_ms() - sb->boot_started);
	create_sandbox(sb);
}

static int open_console(struct sandbox *sb, int *wfd, struct herr *err)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return herr_errno(err, errno, "console pipe");
	/* Room for a chatty boot while vm_connect_agent blocks the loop. */
	fcntl(p[0], F_SETPIPE_SZ, PIPE_CONSOLE_SIZE);
	fd_set_nonblock(p[1], 0);
	if (evloop_add(sb->shim->loop, p[0], EPOLLIN, on_console, sb) < 0) {
		close(p[0]);
		close(p[1]);
		return herr_set(err, GRPC_INTERNAL, 0, "watch console pipe");
	}
	sb->console_fd = p[0];
	sb->console_len = sb->console_line_len = 0;
	*wfd = p[1];
	return 0;
}

static int start_vm(struct sandbox *sb, struct herr *err)
{
	struct shim *s = sb->shim;
	struct vm_params params = { 0 };
	_cleanup_close_ int cons = -1;
	char pid[32];
	long long left;
	int fd;

	if (shim_load_config(s, err) < 0)
		return -1;
	if (mkdir(sb->shared_dir, 0700) < 0 && errno != EEXIST)
		return herr_errno(err, errno, "mkdir %s", sb->shared_dir);
	if (open_console(sb, &cons, err) < 0)
		return -1;
	params.cfg = &s->cfg;
	params.sandbox_id = sb->id;
	params.run_dir = sb->run_dir;
	params.shared_dir = sb->shared_dir;
	params.console_fd = cons;
	sb->boot_started = now_ms();
	sb->boot_deadline =
		sb->boot_started +
		(long long)(s->cfg.dial_timeout ? s->cfg.dial_timeout : 30) *
			1000;
	if (vm_start(&params, &sb->vm, err) < 0)
		return herr_prefix(err, "start VM");
	closep(&cons);
	cons = -1;
	sb->vm_pid = vm_pid(sb->vm);
	snprintf(pid, sizeof(pid), "%d", (int)sb->vm_pid);
	if (write_file_atomic(sb->run_dir, "hypervisor.pid", pid, err) < 0)
		return -1;
	log_msg(LOG_INFO, "VM started", "sandbox=%s pid=%d vm=\"%s\"", sb->id,
		(int)sb->vm_pid, vm_describe(sb->vm));
	sb->state = SB_BOOTING;
	left = sb->boot_deadline - now_ms();
	fd = vm_connect_agent(sb->vm, left > 0 ? left : 1, err);
	if (fd < 0)
		return herr_prefix(err, err->code == GRPC_DEADLINE_EXCEEDED
						? "agent not ready"
						: "VM failed to boot");
	if (agent_connect(sb->agent, fd, err) < 0)
		return -1;
	left = sb->boot_deadline - now_ms();
	agent_check(sb->agent, left > 0 ? left : 1, on_checked, sb);
	return 0;
}

void sandbox_boot(struct sandbox *sb, struct container *c)
{
	struct boot_waiter *w;
	struct herr err;

	switch (sb->state) {
	case SB_READY:
		defer_boot_done(sb, c, NULL);
		return;
	case SB_DEAD:
		defer_boot_done(sb, c, &sb->death);
		return;
	case SB_STOPPING:
		herr_set(&err, GRPC_FAILED_PRECONDITION, 0,
			 "sandbox %s is shutting down", sb->id);
		defer_boot_done(sb, c, &err);
		return;
	case SB_NEW:
	case SB_BOOTING:
		break;
	}
	w = xcalloc(1, sizeof(*w));
	w->c = c;
	container_ref(c);
	w->next = sb->boot_waiters;
	sb->boot_waiters = w;
	if (sb->state == SB_NEW && start_vm(sb, &err) < 0) {
		char msg[HERR_MSG_MAX];

		if (sb->state == SB_BOOTING) {
			snprintf(msg, sizeof(msg), "%s", err.msg);
			herr_set(&err, err.code, err.errnum, "%s; console: %s",
				 msg, console_tail(sb));
		}
		boot_failed(sb, &err);
	}
}

/* ---- teardown --------------------------------------------------------- */

static void teardown_finish(struct sandbox *sb)
{
	void (*done)(void *data) = sb->teardown_done;

	stop_vm(sb, true);
	rmdir(sb->shared_dir);
	sb->state = SB_NEW;
	herr_clear(&sb->death);
	sb->teardown_done = NULL;
	if (done)
		done(sb->teardown_data);
}

static void on_destroyed(void *resp, const struct herr *err, void *data)
{
	struct sandbox *sb = data;

	(void)resp;
	if (err && sb->state == SB_STOPPING)
		log_debug("sandbox %s: DestroySandbox: %s", sb->id, err->msg);
	teardown_finish(sb);
}

void sandbox_teardown(struct sandbox *sb, void (*done)(void *data), void *data)
{
	sb->teardown_done = done;
	sb->teardown_data = data;
	if (sb->state == SB_READY) {
		sb->state = SB_STOPPING;
		log_msg(LOG_INFO, "stopping sandbox", "sandbox=%s", sb->id);
		agent_destroy_sandbox(sb->agent, DESTROY_TIMEOUT_MS,
				      on_destroyed, sb);
		return;
	}
	teardown_finish(sb);
}
