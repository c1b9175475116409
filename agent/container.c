// SPDX-License-Identifier: Apache-2.0
/*
 * Containers: create (storages, cgroup, stdio, the blocked init process),
 * start, exec, signal and remove.  A container whose process fails to
 * start is torn down at once, so nothing is left behind: no process, mount,
 * cgroup or state directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "agent.h"
#include "caps.h"
#include "cgroup.h"
#include "log.h"
#include "pb.h"
#include "seccomp.h"
#include "storage.h"
#include "util.h"

/* Storages are mounted before the container exists: wait this long. */
#define STORAGE_TIMEOUT_MS 3000

struct container *container_find(struct agent *a, const char *id)
{
	for (struct container *c = a->containers; c; c = c->next)
		if (!strcmp(c->id, id))
			return c;
	return NULL;
}

static void kill_pid(pid_t pid, int sig)
{
	if (pid > 0 && kill(pid, sig) < 0 && errno != ESRCH)
		log_warn("kill %d: %s", (int)pid, strerror(errno));
}

/* SIGKILL everything: the cgroup's pids and every process we track. */
static void kill_all(struct container *c)
{
	pid_t *pids = NULL;
	size_t n = 0;
	struct herr err;
	/*
	 * An empty cgroup (its processes exited: the usual Remove) needs no
	 * freeze, whose wait (and the thaw's) costs tens of ms under TCG;
	 * nothing can enter it meanwhile but by a fork from inside.
	 */
	bool freeze = c->cg && (cgroup_pids(c->cg, &pids, &n, &err) < 0 || n);

	free(pids);
	if (freeze) {
		/* Frozen, nothing can fork away between listing and killing. */
		cgroup_freeze(c->cg, true, NULL);
		if (cgroup_pids(c->cg, &pids, &n, &err) == 0)
			for (size_t i = 0; i < n; i++)
				kill_pid(pids[i], SIGKILL);
		free(pids);
	}
	for (struct process *p = c->procs; p; p = p->next)
		if (p->pid > 0 && !p->exited)
			kill_pid(p->pid, SIGKILL);
	if (freeze)
		cgroup_freeze(c->cg, false, NULL);
}

static bool all_exited(const struct container *c)
{
	for (struct process *p = c->procs; p; p = p->next)
		if (p->pid > 0 && !p->exited)
			return false;
	return true;
}

static void unlink_container(struct container *c)
{
	for (struct container **pp = &c->a->containers; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			return;
		}
}

/*
 * Processes are gone: release everything else and forget @c.  When the
 * sandbox is destroyed in a VM that ends next (PID 1), the cgroup and the
 * bundle go with the VM: DestroySandbox answers without removing them one
 * by one (each costs ms under TCG); its sync() still runs, and storages
 * are still unmounted.
 */
static int teardown(struct container *c, struct herr *err)
{
	bool vm_ends = c->a->init_mode && c->a->sb.destroying;
	struct herr e2;
	int r = 0;

	oom_unwatch(c);
	while (c->procs) {
		struct process *p = c->procs;

		c->procs = p->next;
		process_free(p);
	}
	c->init = NULL;
	if (c->cg && vm_ends) {
		cgroup_free(c->cg);
		c->cg = NULL;
	} else if (c->cg) {
		/* cgroup_destroy() itself waits (bounded) for exiting tasks. */
		if (cgroup_destroy(c->cg, &e2) < 0) {
			log_warn("container %s: %s", c->id, e2.msg);
			cgroup_free(c->cg);
		}
		c->cg = NULL;
	}
	for (size_t i = 0; i < c->n_storages; i++)
		if (storage_put(c->storages[i], &e2) < 0) {
			log_warn("container %s: %s", c->id, e2.msg);
			if (r == 0)
				*err = e2;
			r = -1;
		}
	if (c->bundle && !vm_ends && rm_rf(c->bundle) < 0)
		log_warn("container %s: remove %s: %s", c->id, c->bundle,
			 strerror(errno));
	return r;
}

void container_free(struct container *c)
{
	struct herr err;

	unlink_container(c);
	if (c->procs || c->cg)
		teardown(c, &err);
	while (c->removers) {
		struct waiter *w = c->removers;
		struct ttrpc_call *call = w->call;

		ttrpc_call_on_cancel(call, NULL, NULL);
		waiter_drop(w);
		ttrpc_call_fail(call, GRPC_ABORTED, "container %s: gone",
				c->id);
	}
	if (c->remove_timer)
		evloop_timer_cancel(c->a->loop, c->remove_timer);
	if (c->filter)
		seccomp_filter_free(c->filter);
	if (c->spec)
		protobuf_c_message_free_unpacked(&c->spec->base, NULL);
	strvn_free(c->storages, c->n_storages);
	free(c->bundle);
	free(c->id);
	free(c);
}

/* Synchronous cleanup of a container that never got going. */
static void destroy_now(struct container *c)
{
	struct agent *a = c->a;

	kill_all(c);
	for (struct process *p = c->procs; p; p = p->next) {
		if (p->pid > 0 && !p->exited) {
			int st;

			while (waitpid(p->pid, &st, __WALL) < 0 &&
			       errno == EINTR)
				;
			p->exited = true;
		}
	}
	container_free(c);
	sandbox_container_gone(a);
}

static void created(struct process *p, struct ttrpc_call *call,
		    const struct herr *err)
{
	struct container *c = p->c;
	struct agent *a = c->a;
	struct herr herr;

	if (err) {
		log_msg(LOG_WARN, "create failed", "container=%s error=\"%s\"",
			c->id, err->msg);
		herr = *err;
		destroy_now(c);
		ttrpc_call_fail_err(call, &herr);
		return;
	}
	/* The first container of a pod sharing its pid namespace holds it. */
	if (c->sandbox_pidns && a->sb.pid_fd < 0) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)p->pid);
		a->sb.pid_fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (hooks_run(c->spec, c->id, c->bundle, HOOK_CREATE_RUNTIME, p->pid,
		      "created", &herr) < 0 ||
	    hooks_run(c->spec, c->id, c->bundle, HOOK_PRESTART, p->pid,
		      "created", &herr) < 0) {
		destroy_now(c);
		ttrpc_call_fail_err(call, &herr);
		return;
	}
	c->state = CT_CREATED;
	log_msg(LOG_INFO, "container created", "container=%s pid=%d", c->id,
		(int)p->pid);
	ttrpc_call_reply(call, NULL);
}

static char *cgroup_path_for(const struct container *c)
{
	const char *cp = c->spec->linux->cgroupspath;

	if (!cp || !*cp)
		return strdupf("%s/%s", c->a->cgroup_parent, c->id);
	/* systemd style "slice:prefix:name" */
	if (cp[0] != '/' && strchr(cp, ':')) {
		char slice[256], prefix[256], name[256];

		if (sscanf(cp, "%255[^:]:%255[^:]:%255s", slice, prefix,
			   name) == 3)
			return strdupf("/%s/%s-%s.scope", slice, prefix, name);
	}
	return strdupf("%s%s", cp[0] == '/' ? "" : "/", cp);
}

static int add_storages(struct container *c,
			const Grpc__CreateContainerRequest *req,
			struct herr *err)
{
	c->storages = xcalloc(req->n_storages + 1, sizeof(char *));
	for (size_t i = 0; i < req->n_storages; i++) {
		if (storage_add(req->storages[i], STORAGE_TIMEOUT_MS, err) < 0)
			return herr_prefix(err, "storages[%zu]", i);
		c->storages[c->n_storages++] =
			xstrdup(req->storages[i]->mount_point);
	}
	return 0;
}

void container_create(struct agent *a, const Grpc__CreateContainerRequest *req,
		      struct ttrpc_call *call)
{
	struct container *c = xcalloc(1, sizeof(*c));
	_cleanup_free_ char *cgpath = NULL;
	struct spawn_req sr = { 0 };
	const Grpc__Process *proc;
	struct caps caps, *capsp = NULL;
	struct herr err;
	struct process *p;

	c->a = a;
	c->id = xstrdup(req->container_id);
	c->oom_fd = -1;
	/*
	 * Take the spec from the request, which the call owns and frees when
	 * it is answered: a copy (pack and unpack of every string of it) is
	 * slow under TCG, and nothing reads req->oci after this.
	 */
	c->spec = req->oci;
	((Grpc__CreateContainerRequest *)req)->oci = NULL;
	c->sandbox_pidns = req->sandbox_pidns;
	c->state = CT_CREATING;
	c->next = a->containers;
	a->containers = c;
	proc = c->spec->process;

	if (proc->capabilities) {
		if (caps_parse(proc->capabilities, &caps, &err) < 0)
			goto fail;
		capsp = &caps;
	}
	if (c->spec->linux->seccomp) {
		if (!IS_ENABLED_CONFIG_AGENT_SECCOMP) {
			herr_set(&err, GRPC_INVALID_ARGUMENT, 0,
				 "oci.linux.seccomp: this agent was built without seccomp");
			goto fail;
		}
		if (seccomp_filter_build(c->spec->linux->seccomp, &c->filter,
					 &err) < 0)
			goto fail;
	}
	if (add_storages(c, req, &err) < 0)
		goto fail;
	/*
	 * The rootfs (on the shared filesystem) is checked by the child, in
	 * spawn.c: a stalled virtio-fs must not block the agent's loop.
	 */
	c->bundle = strdupf("%s/%s", a->state_dir, c->id);
	if (mkdir_p(c->bundle, 0700) < 0) {
		herr_errno(&err, errno, "create %s", c->bundle);
		goto fail;
	}
	cgpath = cgroup_path_for(c);
	if (cgroup_create(cgpath, &c->cg, &err) < 0)
		goto fail;
	if (c->spec->linux->resources &&
	    cgroup_apply(c->cg, c->spec->linux->resources, &err) < 0) {
		herr_prefix(&err, "oci.linux.resources");
		goto fail;
	}
	p = process_new(c, *req->exec_id ? req->exec_id : c->id, true);
	c->init = p;
	if (stdio_setup(p, proc->terminal, proc->consolesize, &err) < 0)
		goto fail;
	sr.c = c;
	sr.p = p;
	sr.proc = proc;
	sr.init = true;
	sr.caps = capsp;
	sr.call = call;
	sr.done = created;
	if (spawn_process(&sr, &err) < 0)
		goto fail;
	return;
fail:
	herr_prefix(&err, "container %s", c->id);
	log_msg(LOG_WARN, "create failed", "container=%s error=\"%s\"", c->id,
		err.msg);
	destroy_now(c);
	ttrpc_call_fail_err(call, &err);
}

static void started(struct process *p, struct ttrpc_call *call,
		    const struct herr *err)
{
	struct container *c = p->c;
	struct herr herr;

	if (err) {
		/* The init process is gone; the container stays, stopped. */
		c->state = CT_STOPPED;
		ttrpc_call_fail_err(call, err);
		return;
	}
	c->state = CT_RUNNING;
	oom_watch(c);
	if (hooks_run(c->spec, c->id, c->bundle, HOOK_POSTSTART, p->pid,
		      "running", &herr) < 0)
		log_warn("container %s: %s", c->id, herr.msg);
	log_msg(LOG_INFO, "container started", "container=%s pid=%d", c->id,
		(int)p->pid);
	ttrpc_call_reply(call, NULL);
}

void container_start(struct container *c, struct ttrpc_call *call)
{
	struct herr err;

	if (c->state != CT_CREATED || !c->init || c->init->exited) {
		ttrpc_call_fail(call, GRPC_FAILED_PRECONDITION,
				"container %s: cannot start: it is not in the created state",
				c->id);
		return;
	}
	if (spawn_release(c->init, call, started, &err) < 0) {
		ttrpc_call_fail_err(call, &err);
		return;
	}
	c->state = CT_STARTING;
}

static void exec_done(struct process *p, struct ttrpc_call *call,
		      const struct herr *err)
{
	struct container *c = p->c;

	if (err) {
		struct herr herr = *err;

		/* Forget the process: it never ran. */
		for (struct process **pp = &c->procs; *pp; pp = &(*pp)->next)
			if (*pp == p) {
				*pp = p->next;
				break;
			}
		if (p->pid > 0 && !p->exited) {
			int st;

			kill_pid(p->pid, SIGKILL);
			while (waitpid(p->pid, &st, __WALL) < 0 &&
			       errno == EINTR)
				;
		}
		process_free(p);
		ttrpc_call_fail_err(call, &herr);
		return;
	}
	log_msg(LOG_INFO, "process started", "container=%s exec_id=%s pid=%d",
		c->id, p->exec_id, (int)p->pid);
	ttrpc_call_reply(call, NULL);
}

void container_exec(struct container *c, const Grpc__ExecProcessRequest *req,
		    struct ttrpc_call *call)
{
	struct spawn_req sr = { 0 };
	struct caps caps, *capsp = NULL;
	struct process *p;
	struct herr err;

	if (c->state != CT_RUNNING || !c->init || c->init->exited ||
	    c->removing) {
		ttrpc_call_fail(call, GRPC_FAILED_PRECONDITION,
				"container %s: not running", c->id);
		return;
	}
	for (p = c->procs; p; p = p->next)
		if (!strcmp(p->exec_id, req->exec_id) && !p->waited) {
			ttrpc_call_fail(call, GRPC_ALREADY_EXISTS,
					"container %s: exec id %s already exists",
					c->id, req->exec_id);
			return;
		}
	if (req->process->capabilities) {
		if (caps_parse(req->process->capabilities, &caps, &err) < 0) {
			ttrpc_call_fail_err(call, &err);
			return;
		}
		capsp = &caps;
	}
	p = process_new(c, req->exec_id, false);
	p->spec = pb_dup(&req->process->base);
	if (stdio_setup(p, p->spec->terminal, p->spec->consolesize, &err) < 0)
		goto fail;
	sr.c = c;
	sr.p = p;
	sr.proc = p->spec;
	sr.caps = capsp;
	sr.call = call;
	sr.done = exec_done;
	if (spawn_process(&sr, &err) < 0)
		goto fail;
	return;
fail:
	for (struct process **pp = &c->procs; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	process_free(p);
	ttrpc_call_fail_err(call, &err);
}

/* SIGTERM to an init with no handler would be ignored: Kata sends KILL. */
static bool catches(pid_t pid, int sig)
{
	char path[64], line[256];
	bool yes = true;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "SigCgt:", 7)) {
			unsigned long long mask = strtoull(line + 7, NULL, 16);

			yes = mask & (1ull << (sig - 1));
			break;
		}
	fclose(f);
	return yes;
}

int container_signal(struct container *c, const char *exec_id, int sig,
		     struct herr *err)
{
	struct process *p;

	if (sig <= 0 || sig >= 65)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"signal %d: not a valid signal number", sig);
	if ((!exec_id || !*exec_id) && sig == SIGKILL) {
		/* exec id "" + SIGKILL: every process of the container */
		kill_all(c);
		return 0;
	}
	p = process_find(c, exec_id, err);
	if (!p)
		return -1;
	if (p->pid <= 0 || p->exited)
		return 0; /* ESRCH is not an error (Kata) */
	if (p->is_init && sig == SIGTERM && c->spec->linux &&
	    !catches(p->pid, sig) && p->c->init == p) {
		/* pid 1 of its own namespace ignores unhandled signals */
		bool own_pidns = false;

		for (size_t i = 0; i < c->spec->linux->n_namespaces; i++)
			if (!strcmp(c->spec->linux->namespaces[i]->type,
				    "pid"))
				own_pidns = true;
		if (own_pidns)
			sig = SIGKILL;
	}
	if (kill(p->pid, sig) < 0 && errno != ESRCH)
		return herr_errno(err, errno, "container %s: signal %d to %d",
				  c->id, sig, (int)p->pid);
	return 0;
}

static void finish_remove(struct container *c)
{
	struct agent *a = c->a;
	struct herr err;
	int r;

	herr_clear(&err);
	if (c->remove_timer) {
		evloop_timer_cancel(a->loop, c->remove_timer);
		c->remove_timer = NULL;
	}
	if (c->init && c->init->pid > 0)
		hooks_run(c->spec, c->id, c->bundle, HOOK_POSTSTOP,
			  c->init->pid, "stopped", NULL);
	r = teardown(c, &err);
	while (c->removers) {
		struct waiter *w = c->removers;
		struct ttrpc_call *call = w->call;

		ttrpc_call_on_cancel(call, NULL, NULL);
		waiter_drop(w);
		if (r < 0)
			ttrpc_call_fail_err(call, &err);
		else
			ttrpc_call_reply(call, NULL);
	}
	log_msg(LOG_INFO, "container removed", "container=%s", c->id);
	container_free(c);
	sandbox_container_gone(a);
}

static void remove_timed_out(struct evloop *loop, void *data)
{
	struct container *c = data;

	c->remove_timer = NULL;
	while (c->removers) {
		struct waiter *w = c->removers;
		struct ttrpc_call *call = w->call;

		ttrpc_call_on_cancel(call, NULL, NULL);
		waiter_drop(w);
		ttrpc_call_fail(call, GRPC_DEADLINE_EXCEEDED,
				"container %s: processes did not exit in time",
				c->id);
	}
}

static void remove_cancelled(struct ttrpc_call *call, void *data)
{
	waiter_drop(data);
}

void container_remove(struct container *c, uint32_t timeout_s,
		      struct ttrpc_call *call)
{
	if (c->state == CT_CREATING) {
		if (call) {
			ttrpc_call_fail(call, GRPC_FAILED_PRECONDITION,
					"container %s: still being created",
					c->id);
			return;
		}
		/* DestroySandbox: abandon the creation (answers its call). */
		spawn_abort(c->init);
		destroy_now(c);
		return;
	}
	if (call) {
		struct waiter *w = waiter_park(&c->removers, call, c);

		ttrpc_call_on_cancel(call, remove_cancelled, w);
	}
	if (c->state == CT_STARTING) {
		spawn_abort(c->init); /* answers StartContainer */
		c->state = CT_STOPPED;
	}
	c->removing = true;
	kill_all(c);
	if (timeout_s && !c->remove_timer && call)
		c->remove_timer = evloop_timer(c->a->loop, timeout_s * 1000LL,
					       remove_timed_out, c);
	if (all_exited(c))
		finish_remove(c);
}

void container_process_exited(struct container *c, bool was_init)
{
	if (was_init && c->state != CT_CREATING)
		c->state = CT_STOPPED;
	if (c->removing && all_exited(c))
		finish_remove(c);
}
