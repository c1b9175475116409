// SPDX-License-Identifier: Apache-2.0
/*
 * The pod's VM, booted for its first container: vm_spawn, then on the
 * event loop QEMU's start and the agent's channel (vm_agent_poll),
 * Health.Check and CreateSandbox (with the shared directory as the
 * agent's first storage) under one deadline, the configuration's
 * dial_timeout; the front end's loop serves its callers meanwhile.
 * Whatever goes wrong - the hypervisor exits, the agent does not answer
 * in time, a reply breaks the protocol - ends in pod_fail(): the VM is
 * killed, every agent call fails, every process reports its exit.
 * pod_teardown() stops the VM on purpose once the last container is gone,
 * at once when that happens during the boot.  Also here: the container
 * list and the OOM event watch (pod_ops.oom).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hv.h"
#include "log.h"
#include "pod.h"
#include "util.h"
#include "virtiofsd.h"

#define POD_DESTROY_TIMEOUT_MS 2000
#define VM_STOP_TIMEOUT_MS 2000
#define OOM_RETRY_MS 1000
/* vsock has no readiness to watch: the agent's port is tried this often. */
#define AGENT_RETRY_MS 20
/* How long virtiofsd's exit waits for QEMU's, which would explain it. */
#define FS_EXIT_GRACE_MS 200

static void on_agent_closed(const struct herr *why, void *data);
/* How the VM goes: killed, stopped once its agent answered
 * DestroySandbox (vm_stop_destroyed()), or given time to power off. */
enum vm_end { VM_KILL, VM_DESTROYED, VM_POWER_OFF };

static void stop_vm(struct pod *pod, enum vm_end how);
static void agent_wait_stop(struct pod *pod);

struct pod *pod_new(struct evloop *loop, const char *id, const char *run_dir,
		    const struct pod_ops *ops, void *ops_data)
{
	struct pod *pod = xcalloc(1, sizeof(*pod));

	pod->loop = loop;
	pod->ops = ops;
	pod->ops_data = ops_data;
	pod->id = xstrdup(id);
	pod->run_dir = xstrdup(run_dir);
	if (asprintf(&pod->shared_dir, "%s/shared", pod->run_dir) < 0)
		abort();
	pod->state = POD_NEW;
	pod->console_fd = -1;
	pod->fs_pidfd = -1;
	pod->boot_fd = -1;
	pod->agent = agent_new(loop);
	agent_on_close(pod->agent, on_agent_closed, pod);
	agent_on_timeout(pod->agent, pod_diag_agent_timeout, pod);
	return pod;
}

void pod_free(struct pod *pod)
{
	if (!pod)
		return;
	stop_vm(pod, VM_KILL);
	pod_net_free(pod);
	agent_free(pod->agent);
	for (size_t i = 0; i < ARRAY_SIZE(pod->recent); i++)
		free(pod->recent[i]);
	free(pod->id);
	free(pod->run_dir);
	free(pod->shared_dir);
	free(pod);
}

bool pod_usable(const struct pod *pod)
{
	return pod->state == POD_READY;
}

struct pod_container *pod_find(struct pod *pod, const char *id)
{
	for (struct pod_container *c = pod->containers; c; c = c->next)
		if (!strcmp(c->id, id))
			return c;
	return NULL;
}

void pod_add_container(struct pod *pod, struct pod_container *c)
{
	pod_container_ref(c);
	c->next = pod->containers;
	pod->containers = c;
	pod->n_containers++;
}

void pod_remove_container(struct pod *pod, struct pod_container *c)
{
	for (struct pod_container **pp = &pod->containers; *pp;
	     pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			free(pod->recent[pod->recent_next]);
			pod->recent[pod->recent_next] = xstrdup(c->id);
			pod->recent_next = (pod->recent_next + 1) %
					   ARRAY_SIZE(pod->recent);
			pod->n_containers--;
			pod_size_release(c);
			c->removed = true;
			pod_container_unref(c);
			return;
		}
}

/* ---- failure ---------------------------------------------------------- */

static void boot_waiters_done(struct pod *pod, const struct herr *err);

static void remove_vm_files(struct pod *pod)
{
	_cleanup_free_ char *pidfile = NULL;

	if (asprintf(&pidfile, "%s/hypervisor.pid", pod->run_dir) < 0)
		abort();
	unlink(pidfile);
}

static void stop_vm(struct pod *pod, enum vm_end how)
{
	struct herr err;
	int rc;

	agent_shutdown(pod->agent, NULL);
	agent_wait_stop(pod);
	evloop_timer_cancel(pod->loop, pod->fs_timer);
	pod->fs_timer = NULL;
	if (pod->fs_pidfd >= 0)
		evloop_del(pod->loop, pod->fs_pidfd);
	pod->fs_pidfd = -1;
	if (pod->vm) {
		if (how == VM_DESTROYED)
			rc = vm_stop_destroyed(pod->vm, VM_STOP_TIMEOUT_MS,
					       &err);
		else
			rc = vm_stop(pod->vm, how == VM_POWER_OFF,
				     how == VM_POWER_OFF ? VM_STOP_TIMEOUT_MS
							 : 0,
				     &err);
		if (rc < 0)
			log_warn("sandbox %s: stop VM: %s", pod->id, err.msg);
		vm_free(pod->vm);
		pod->vm = NULL;
	}
	/* QEMU is gone (stopped or killed): its taps can go. */
	pod_net_teardown(pod);
	pod_console_close(pod);
	remove_vm_files(pod);
}

void pod_fail(struct pod *pod, const struct herr *why)
{
	if (pod->state == POD_DEAD || pod->state == POD_NEW)
		return;
	log_error("sandbox %s: %s", pod->id, why->msg);
	pod->death = *why;
	if (pod->state == POD_STOPPING) {
		/* Already going away: let teardown finish. */
		return;
	}
	pod->state = POD_DEAD;
	/* Fail every pending call first: processes record lost exits. */
	agent_shutdown(pod->agent, why);
	stop_vm(pod, VM_KILL);
	for (struct pod_container *c = pod->containers; c; c = c->next) {
		if (c->init)
			pod_process_lost(c->init);
		for (struct pod_process *p = c->execs; p; p = p->next)
			pod_process_lost(p);
	}
	boot_waiters_done(pod, why);
}

static void on_agent_closed(const struct herr *why, void *data)
{
	struct pod *pod = data;
	struct herr err;

	/*
	 * The hypervisor is gone, the connection with it: its SIGCHLD (on
	 * its way) says more than "connection closed".
	 */
	if (pod->vm && !vm_running(pod->vm) && pod->state != POD_BOOTING)
		return;
	herr_set(&err, GRPC_UNAVAILABLE, 0, "agent connection lost: %s",
		 why->msg);
	pod_fail(pod, &err);
}

static void vm_process_exited(struct pod *pod, int wait_status)
{
	struct herr why;

	if (!pod->vm)
		return;
	vm_exited(pod->vm, wait_status);
	if (WIFSIGNALED(wait_status))
		herr_set(&why, GRPC_UNAVAILABLE, 0,
			 "hypervisor (pid %d) was killed by signal %d",
			 (int)pod->vm_pid, WTERMSIG(wait_status));
	else
		herr_set(&why, GRPC_UNAVAILABLE, 0,
			 "hypervisor (pid %d) exited with status %d",
			 (int)pod->vm_pid, WEXITSTATUS(wait_status));
	if (pod->state == POD_STOPPING)
		return;
	if (pod->state == POD_BOOTING) {
		char msg[HERR_MSG_MAX];
		int fd;

		/*
		 * The driver's account of an exited VM quotes QEMU's log (an
		 * option it refused, a missing device) and its exit status.
		 */
		fd = vm_agent_poll(pod->vm, &why);
		if (fd >= 0)
			close(fd);
		herr_prefix(&why, "VM failed to boot");
		snprintf(msg, sizeof(msg), "%s", why.msg);
		herr_set(&why, why.code, 0, "%s; console: %s", msg,
			 pod_console_tail(pod));
	}
	pod_fail(pod, &why);
}

bool pod_child_reaped(struct pod *pod, pid_t pid, int wait_status)
{
	if (!pod || !pod->vm)
		return false;
	if (pid == pod->vm_pid) {
		vm_process_exited(pod, wait_status);
		return true;
	}
	return vm_child_reaped(pod->vm, pid, wait_status);
}

/*
 * virtiofsd exited while the pod lived: QEMU tells nobody and the guest's
 * next access to the share would hang, so this is the VM dying.
 */
static void fs_daemon_check(struct evloop *loop, void *data)
{
	struct pod *pod = data;
	struct herr why;

	(void)loop;
	pod->fs_timer = NULL;
	/* QEMU gone first ended the daemon: its SIGCHLD says more. */
	if (!pod->vm || pod->state == POD_STOPPING || pod->state == POD_DEAD ||
	    !vm_running(pod->vm))
		return;
	vm_fs_error(pod->vm, &why);
	if (pod->state == POD_BOOTING)
		herr_prefix(&why, "VM failed to boot");
	pod_fail(pod, &why);
}

static void on_fs_daemon_exited(struct evloop *loop, int fd, uint32_t events,
				void *data)
{
	struct pod *pod = data;

	(void)events;
	evloop_del(pod->loop, fd);
	pod->fs_pidfd = -1;
	if (!pod->vm || pod->state == POD_STOPPING || !vm_running(pod->vm))
		return;
	/*
	 * QEMU exiting closes its end first, so the daemon may be seen
	 * gone a moment before QEMU is: give QEMU's exit that moment.
	 */
	evloop_timer_cancel(loop, pod->fs_timer);
	pod->fs_timer =
		evloop_timer(loop, FS_EXIT_GRACE_MS, fs_daemon_check, pod);
}

/*
 * virtiofsd is not waited for before QEMU starts (QEMU's connection waits
 * in its socket's backlog): one that never accepts it is caught here.
 */
static void fs_start_check(struct evloop *loop, void *data)
{
	struct pod *pod = data;
	struct herr why;

	(void)loop;
	pod->fs_start_timer = NULL;
	if (pod->state != POD_BOOTING || !pod->vm ||
	    vm_fs_check_started(pod->vm, &why) == 0)
		return;
	herr_prefix(&why, "VM failed to boot");
	pod_fail(pod, &why);
}

/* ---- boot ------------------------------------------------------------- */

struct deferred_boot {
	pod_booted_cb done;
	void *data;
	struct herr err;
	bool failed;
};

static void deferred_boot_fire(struct evloop *loop, void *data)
{
	struct deferred_boot *d = data;

	(void)loop;
	d->done(d->failed ? &d->err : NULL, d->data);
	free(d);
}

static void defer_boot_done(struct pod *pod, pod_booted_cb done, void *data,
			    const struct herr *err)
{
	struct deferred_boot *d = xcalloc(1, sizeof(*d));

	d->done = done;
	d->data = data;
	if (err) {
		d->failed = true;
		d->err = *err;
	}
	evloop_timer(pod->loop, 0, deferred_boot_fire, d);
}

static void boot_waiters_done(struct pod *pod, const struct herr *err)
{
	while (pod->boot_waiters) {
		struct pod_boot_waiter *w = pod->boot_waiters;

		pod->boot_waiters = w->next;
		defer_boot_done(pod, w->done, w->data, err);
		free(w);
	}
}

static void boot_failed(struct pod *pod, const struct herr *why)
{
	if (pod->state == POD_BOOTING) {
		pod_fail(pod, why);
		return;
	}
	/* Failed before the VM existed (configuration, vm_start). */
	stop_vm(pod, VM_KILL);
	pod->state = POD_NEW;
	boot_waiters_done(pod, why);
}

static void watch_oom(struct pod *pod);

/* A container of this pod, present or just deleted (never any other). */
static bool knows_container(struct pod *pod, const char *id)
{
	if (pod_find(pod, id))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(pod->recent); i++)
		if (pod->recent[i] && !strcmp(pod->recent[i], id))
			return true;
	return false;
}

static void oom_retry(struct evloop *loop, void *data)
{
	(void)loop;
	watch_oom(data);
}

static void on_oom(void *resp, const struct herr *err, void *data)
{
	struct pod *pod = data;
	const Grpc__OOMEvent *ev = resp;

	if (pod->state != POD_READY && pod->state != POD_STOPPING)
		return;
	if (err) {
		if (err->code == GRPC_UNIMPLEMENTED || pod->state != POD_READY)
			return;
		log_debug("sandbox %s: GetOOMEvent: %s", pod->id, err->msg);
		evloop_timer(pod->loop, OOM_RETRY_MS, oom_retry, pod);
		return;
	}
	if (ev->container_id && knows_container(pod, ev->container_id)) {
		log_msg(LOG_WARN, "container out of memory", "container=%s",
			ev->container_id);
		pod->ops->oom(pod, ev->container_id, pod->ops_data);
	}
	watch_oom(pod);
}

static void watch_oom(struct pod *pod)
{
	if (pod->state == POD_READY)
		agent_get_oom_event(pod->agent, on_oom, pod);
}

static void on_sandbox_created(void *resp, const struct herr *err, void *data)
{
	struct pod *pod = data;
	struct herr why;

	(void)resp;
	if (pod->state != POD_BOOTING)
		return;
	if (err) {
		herr_set(&why, err->code, 0, "agent CreateSandbox: %s",
			 err->msg);
		boot_failed(pod, &why);
		return;
	}
	pod->state = POD_READY;
	pod_timeline_mark(pod, POD_T_SANDBOX);
	log_msg(LOG_INFO, "sandbox ready", "sandbox=%s boot_ms=%lld vm=\"%s\"",
		pod->id, now_ms() - pod->boot_started, vm_describe(pod->vm));
	watch_oom(pod);
	boot_waiters_done(pod, NULL);
}

static void create_sandbox(struct pod *pod)
{
	const struct husk_config *cfg = pod->cfg;
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
	req.sandbox_id = pod->id;
	req.hostname = pod->hostname ? pod->hostname : "";
	agent_create_sandbox(pod->agent, &req, on_sandbox_created, pod);
}

static void on_net_updated(const struct herr *err, void *data)
{
	struct pod *pod = data;

	if (pod->state != POD_BOOTING)
		return;
	if (err) {
		boot_failed(pod, err);
		return;
	}
	create_sandbox(pod);
}

static void on_checked(void *resp, const struct herr *err, void *data)
{
	struct pod *pod = data;
	const Grpc__HealthCheckResponse *r = resp;
	struct herr why;

	if (pod->state != POD_BOOTING)
		return;
	if (err) {
		if (err->code == GRPC_DEADLINE_EXCEEDED)
			herr_set(&why, GRPC_DEADLINE_EXCEEDED, 0,
				 "agent not ready within %u s (the VM is "
				 "running; console: %s)",
				 pod->cfg->dial_timeout, pod_console_tail(pod));
		else
			herr_set(&why, err->code, 0,
				 "agent health check: %s (console: %s)",
				 err->msg, pod_console_tail(pod));
		boot_failed(pod, &why);
		return;
	}
	if (r->status != GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING) {
		herr_set(&why, GRPC_UNAVAILABLE, 0,
			 "agent health check: not serving (status %d)",
			 (int)r->status);
		boot_failed(pod, &why);
		return;
	}
	pod_timeline_mark(pod, POD_T_AGENT);
	log_debug("sandbox %s: agent answered after %lld ms", pod->id,
		  now_ms() - pod->boot_started);
	pod_net_update_agent(pod, on_net_updated);
}

/* ---- the wait for the agent's channel, on the event loop ------------- */

static void agent_wait_step(struct pod *pod);

static void agent_wait_stop(struct pod *pod)
{
	if (pod->boot_fd >= 0)
		evloop_del(pod->loop, pod->boot_fd);
	pod->boot_fd = -1;
	evloop_timer_cancel(pod->loop, pod->boot_timer);
	pod->boot_timer = NULL;
	evloop_timer_cancel(pod->loop, pod->fs_start_timer);
	pod->fs_start_timer = NULL;
}

static void on_agent_wait_fd(struct evloop *loop, int fd, uint32_t events,
			     void *data)
{
	(void)loop;
	(void)fd;
	(void)events;
	agent_wait_step(data);
}

static void on_agent_wait_timer(struct evloop *loop, void *data)
{
	struct pod *pod = data;

	(void)loop;
	pod->boot_timer = NULL;
	agent_wait_step(pod);
}

/* Failed while booting: the error quotes the guest's last words. */
static void boot_failed_console(struct pod *pod, struct herr *err)
{
	char msg[HERR_MSG_MAX];

	snprintf(msg, sizeof(msg), "%s", err->msg);
	herr_set(err, err->code, err->errnum, "%s; console: %s", msg,
		 pod_console_tail(pod));
	boot_failed(pod, err);
}

/*
 * Once more: is the agent's channel up?  Then Health.Check; not yet: wait
 * for QEMU's next QMP message (virtio-serial) or retry (vsock) until the
 * deadline; never: the boot failed.  The hypervisor's exit also arrives
 * through pod_child_reaped(), whichever comes first.
 */
static void agent_wait_step(struct pod *pod)
{
	long long left = pod->boot_deadline - now_ms();
	struct herr err;
	int fd, wfd;

	if (pod->state != POD_BOOTING || !pod->vm) {
		agent_wait_stop(pod);
		return;
	}
	fd = vm_agent_poll(pod->vm, &err);
	if (fd >= 0) {
		agent_wait_stop(pod);
		if (agent_connect(pod->agent, fd, &err) < 0) {
			boot_failed_console(pod, &err);
			return;
		}
		left = pod->boot_deadline - now_ms();
		agent_check(pod->agent, left > 0 ? left : 1, on_checked, pod);
		return;
	}
	if (fd != -EAGAIN) {
		agent_wait_stop(pod);
		herr_prefix(&err, "VM failed to boot");
		boot_failed(pod, &err);
		return;
	}
	if (left <= 0) {
		struct herr why;

		/* @err says what the driver still waits for. */
		agent_wait_stop(pod);
		herr_set(&why, GRPC_DEADLINE_EXCEEDED, 0,
			 "agent not ready within %u s: %s (the VM is running; "
			 "console: %s)",
			 pod->cfg->dial_timeout ? pod->cfg->dial_timeout : 30,
			 err.msg, pod_console_tail(pod));
		boot_failed(pod, &why);
		return;
	}
	wfd = vm_agent_wait_fd(pod->vm);
	if (wfd != pod->boot_fd) {
		if (pod->boot_fd >= 0)
			evloop_del(pod->loop, pod->boot_fd);
		pod->boot_fd = -1;
		if (wfd >= 0 && evloop_add(pod->loop, wfd, EPOLLIN,
					   on_agent_wait_fd, pod) == 0)
			pod->boot_fd = wfd;
	}
	/* The deadline, or the next try when there is nothing to watch. */
	evloop_timer_cancel(pod->loop, pod->boot_timer);
	pod->boot_timer = evloop_timer(
		pod->loop,
		pod->boot_fd >= 0 || left < AGENT_RETRY_MS ? left
							   : AGENT_RETRY_MS,
		on_agent_wait_timer, pod);
}

static int start_vm(struct pod *pod, struct herr *err)
{
	const struct husk_config *cfg = pod->cfg;
	struct vm_params params = { 0 };
	struct vm_nic nics[VM_NICS_MAX];
	_cleanup_close_ int cons = -1;
	char pid[32];

	if (rootfs_shared_dir_prepare(pod, err) < 0)
		return -1;
	if (pod_console_open(pod, &cons, err) < 0)
		return -1;
	params.cfg = cfg;
	params.sandbox_id = pod->id;
	params.run_dir = pod->run_dir;
	params.shared_dir = pod->shared_dir;
	params.console_fd = cons;
	params.mem_mib = pod->size.mem_mib;
	params.vcpus = pod->size.vcpus;
	params.max_mem_mib = sizing_max_memory(cfg);
	params.max_vcpus = sizing_max_vcpus(cfg);
	if (pod_net_setup(pod, nics, &params.n_nics, err) < 0)
		return -1;
	params.nics = nics;
	pod->boot_started = now_ms();
	pod->boot_deadline =
		pod->boot_started +
		(long long)(cfg->dial_timeout ? cfg->dial_timeout : 30) * 1000;
	/* QEMU's own start (QMP) ends on the event loop: agent_wait_step(). */
	if (vm_spawn(&params, &pod->vm, err) < 0)
		return herr_prefix(err, "start VM");
	pod_timeline_mark(pod, POD_T_SPAWNED);
	closep(&cons);
	cons = -1;
	pod->fs_pidfd = vm_fs_pidfd(pod->vm);
	if (pod->fs_pidfd >= 0 && evloop_add(pod->loop, pod->fs_pidfd, EPOLLIN,
					     on_fs_daemon_exited, pod) < 0) {
		pod->fs_pidfd = -1;
		return herr_set(err, GRPC_INTERNAL, 0,
				"watch virtiofsd's pidfd");
	}
	pod->vm_pid = vm_pid(pod->vm);
	snprintf(pid, sizeof(pid), "%d", (int)pod->vm_pid);
	if (write_file_atomic(pod->run_dir, "hypervisor.pid", pid, err) < 0)
		return -1;
	log_msg(LOG_INFO, "VM started", "sandbox=%s pid=%d vm=\"%s\"", pod->id,
		(int)pod->vm_pid, vm_describe(pod->vm));
	pod->state = POD_BOOTING;
	/* From here on the event loop waits: the caller's calls go on. */
	agent_wait_step(pod);
	if (pod->state == POD_BOOTING && pod->fs_pidfd >= 0)
		pod->fs_start_timer =
			evloop_timer(pod->loop, VIRTIOFSD_START_TIMEOUT_MS,
				     fs_start_check, pod);
	return 0;
}

void pod_boot(struct pod *pod, const struct husk_config *cfg,
	      pod_booted_cb done, void *data)
{
	struct pod_boot_waiter *w;
	struct herr err;

	switch (pod->state) {
	case POD_READY:
		defer_boot_done(pod, done, data, NULL);
		return;
	case POD_DEAD:
		defer_boot_done(pod, done, data, &pod->death);
		return;
	case POD_STOPPING:
		herr_set(&err, GRPC_FAILED_PRECONDITION, 0,
			 "sandbox %s is shutting down", pod->id);
		defer_boot_done(pod, done, data, &err);
		return;
	case POD_NEW:
	case POD_BOOTING:
		break;
	}
	w = xcalloc(1, sizeof(*w));
	w->done = done;
	w->data = data;
	w->next = pod->boot_waiters;
	pod->boot_waiters = w;
	if (pod->state == POD_NEW)
		pod->cfg = cfg;
	if (pod->state == POD_NEW && start_vm(pod, &err) < 0) {
		char msg[HERR_MSG_MAX];

		if (pod->state == POD_BOOTING) {
			snprintf(msg, sizeof(msg), "%s", err.msg);
			herr_set(&err, err.code, err.errnum, "%s; console: %s",
				 msg, pod_console_tail(pod));
		}
		boot_failed(pod, &err);
	}
}

/* ---- teardown --------------------------------------------------------- */

static void teardown_finish(struct pod *pod, bool destroyed)
{
	void (*done)(void *data) = pod->teardown_done;
	struct herr why;

	/*
	 * DestroySandbox answered: the agent synced what the containers
	 * wrote before it replied, so QEMU is killed at once rather than
	 * waited for while the guest powers off (100 ms and more under
	 * TCG).  A guest that may have got it without answering is given
	 * the time to power itself off (its init syncs too).
	 */
	if (pod->state != POD_STOPPING)
		stop_vm(pod, VM_KILL);
	else
		stop_vm(pod, destroyed ? VM_DESTROYED : VM_POWER_OFF);
	rootfs_shared_dir_release(pod);
	if (pod->boot_waiters) {
		herr_set(&why, GRPC_CANCELLED, 0,
			 "sandbox %s was torn down during its boot", pod->id);
		boot_waiters_done(pod, &why);
	}
	pod->state = POD_NEW;
	herr_clear(&pod->death);
	pod->teardown_done = NULL;
	/* After @done: the front end's own release counts as teardown. */
	if (done)
		done(pod->teardown_data);
	pod_timeline_mark(pod, POD_T_TEARDOWN);
	pod_timeline_log(pod);
}

static void on_destroyed(void *resp, const struct herr *err, void *data)
{
	struct pod *pod = data;

	(void)resp;
	if (err && pod->state == POD_STOPPING)
		log_debug("sandbox %s: DestroySandbox: %s", pod->id, err->msg);
	teardown_finish(pod, !err);
}

void pod_teardown(struct pod *pod, void (*done)(void *data), void *data)
{
	pod->teardown_done = done;
	pod->teardown_data = data;
	if (pod->state == POD_READY) {
		pod->state = POD_STOPPING;
		log_msg(LOG_INFO, "stopping sandbox", "sandbox=%s", pod->id);
		agent_destroy_sandbox(pod->agent, POD_DESTROY_TIMEOUT_MS,
				      on_destroyed, pod);
		return;
	}
	if (pod->state == POD_BOOTING) {
		/* Nothing to wait for: the boot stops here, at once. */
		log_msg(LOG_INFO, "stopping sandbox during its boot",
			"sandbox=%s", pod->id);
		/* No boot step may go on (they check the state). */
		pod->state = POD_STOPPING;
		agent_shutdown(pod->agent, NULL);
		stop_vm(pod, VM_KILL);
	}
	teardown_finish(pod, false);
}
