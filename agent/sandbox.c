// SPDX-License-Identifier: Apache-2.0
/*
 * The sandbox (pod): hostname, DNS, sandbox storages, and the IPC and UTS
 * namespaces every container of the pod shares.  The namespaces are made
 * by a short-lived child and kept alive by open nsfs fds, so no holder
 * process is needed; as PID 1 they are the VM's own.  DestroySandbox
 * removes every container first.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "log.h"
#include "storage.h"
#include "util.h"

#define DESTROY_TIMEOUT_MS 10000

struct shared_ns_req {
	const char *hostname;
	int ipc_fd, uts_fd;
	int errnum;
	const char *what;
};

/*
 * Runs on the agent's memory and fd table (CLONE_VM | CLONE_FILES), in new
 * IPC and UTS namespaces, while the agent waits (CLONE_VFORK): the fds it
 * opens on them are the agent's once it returns.
 */
static int shared_ns_child(void *arg)
{
	struct shared_ns_req *r = arg;

	if (r->hostname && *r->hostname &&
	    sethostname(r->hostname, strlen(r->hostname)) < 0) {
		r->errnum = errno;
		r->what = "set hostname";
		return 1;
	}
	r->ipc_fd = open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
	r->uts_fd = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
	if (r->ipc_fd < 0 || r->uts_fd < 0) {
		r->errnum = errno;
		r->what = "open /proc/self/ns";
		return 1;
	}
	return 0;
}

/*
 * The pod's IPC and UTS namespaces, made by a short-lived child that
 * shares the agent's memory: no copy of the agent's page tables, which a
 * fork pays for (tens of ms under TCG).
 */
static int make_shared_ns(struct agent *a, const char *hostname,
			  struct herr *err)
{
	struct shared_ns_req r = { .hostname = hostname,
				   .ipc_fd = -1,
				   .uts_fd = -1 };
	size_t stack_size = 64 * 1024;
	_cleanup_free_ char *stack = xmalloc(stack_size);
	pid_t pid;
	int st;

	pid = clone(shared_ns_child, stack + stack_size,
		    CLONE_VM | CLONE_VFORK | CLONE_FILES | CLONE_NEWIPC |
			    CLONE_NEWUTS | SIGCHLD,
		    &r);
	if (pid < 0)
		return herr_errno(err, errno, "sandbox: clone");
	while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		closep(&r.ipc_fd);
		closep(&r.uts_fd);
		if (!r.what)
			return herr_set(err, GRPC_INTERNAL, 0,
					"sandbox: the namespace child died");
		return herr_set(err, GRPC_INTERNAL, r.errnum,
				"sandbox: cannot create the shared IPC/UTS "
				"namespaces or set hostname \"%s\": %s: %s",
				hostname ? hostname : "", r.what,
				strerror(r.errnum));
	}
	a->sb.ipc_fd = r.ipc_fd;
	a->sb.uts_fd = r.uts_fd;
	return 0;
}

/*
 * As PID 1 the VM is the pod: the IPC and UTS namespaces the agent was
 * started in hold nothing else (the agent uses no System V IPC nor
 * message queue), so the pod's containers share those.  Making new ones
 * (a clone into new IPC and UTS namespaces; a new IPC namespace mounts
 * its own mqueue instance and registers its sysctls) took 30-70 ms of
 * CreateSandbox in traced guests under TCG on a loaded machine.
 */
static int take_init_ns(struct agent *a, const char *hostname, struct herr *err)
{
	if (hostname && *hostname && sethostname(hostname, strlen(hostname)))
		return herr_errno(err, errno, "sandbox: set hostname \"%s\"",
				  hostname);
	a->sb.ipc_fd = open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
	a->sb.uts_fd = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
	if (a->sb.ipc_fd < 0 || a->sb.uts_fd < 0)
		return herr_errno(err, errno, "sandbox: open /proc/self/ns");
	return 0;
}

static void sandbox_reset(struct agent *a)
{
	struct sandbox *sb = &a->sb;
	char *dir;

	closep(&sb->ipc_fd);
	closep(&sb->uts_fd);
	closep(&sb->pid_fd);
	sb->ipc_fd = sb->uts_fd = sb->pid_fd = -1;
	storage_put_all();
	strvn_free(sb->storages, sb->n_storages);
	sb->storages = NULL;
	sb->n_storages = 0;
	free(sb->id);
	free(sb->hostname);
	sb->id = sb->hostname = NULL;
	sb->created = false;
	sb->pidns = false;
	dir = strdupf("%s/sandbox", a->state_dir);
	rm_rf(dir);
	free(dir);
}

int sandbox_create(struct agent *a, const Grpc__CreateSandboxRequest *req,
		   struct herr *err)
{
	struct sandbox *sb = &a->sb;
	_cleanup_free_ char *dir = NULL, *resolv = NULL;
	FILE *f;

	if (sb->created || sb->destroying)
		return herr_set(err, GRPC_ALREADY_EXISTS, 0,
				"sandbox %s: already created",
				sb->id ? sb->id : "");
	if (a->containers)
		return herr_set(err, GRPC_FAILED_PRECONDITION, 0,
				"sandbox: containers already exist");
	sb->created = true;
	sb->id = xstrdup(req->sandbox_id);
	sb->hostname = xstrdup(req->hostname);
	sb->pidns = req->sandbox_pidns;
	dir = strdupf("%s/sandbox", a->state_dir);
	if (mkdir_p(dir, 0755) < 0) {
		herr_errno(err, errno, "sandbox: create %s", dir);
		goto fail;
	}
	if (a->init_mode ? take_init_ns(a, req->hostname, err) < 0
			 : make_shared_ns(a, req->hostname, err) < 0)
		goto fail;
	sb->storages = xcalloc(req->n_storages + 1, sizeof(char *));
	for (size_t i = 0; i < req->n_storages; i++) {
		if (storage_add(req->storages[i], 3000, err) < 0) {
			herr_prefix(err, "sandbox: storages[%zu]", i);
			goto fail;
		}
		sb->storages[sb->n_storages++] =
			xstrdup(req->storages[i]->mount_point);
	}
	resolv = strdupf("%s/resolv.conf", dir);
	f = fopen(resolv, "we");
	if (!f) {
		herr_errno(err, errno, "sandbox: create %s", resolv);
		goto fail;
	}
	for (size_t i = 0; i < req->n_dns; i++)
		fprintf(f, "%s\n", req->dns[i]);
	if (fclose(f) != 0) {
		herr_errno(err, errno, "sandbox: write %s", resolv);
		goto fail;
	}
	log_msg(LOG_INFO, "sandbox created", "sandbox=%s hostname=%s",
		sb->id, sb->hostname);
	return 0;
fail:
	sandbox_reset(a);
	return -1;
}

static void destroy_finish(struct agent *a)
{
	struct sandbox *sb = &a->sb;
	struct ttrpc_call *call = sb->destroy_call;

	if (sb->destroy_timer) {
		evloop_timer_cancel(a->loop, sb->destroy_timer);
		sb->destroy_timer = NULL;
	}
	/* Anything still here did not die in time: drop it anyway. */
	while (a->containers)
		container_free(a->containers);
	oom_cancel_all(a, "sandbox destroyed");
	sb->destroy_call = NULL;
	if (a->init_mode) {
		/*
		 * The host kills the VM as soon as it has the reply: what the
		 * containers wrote (a shared mmap's dirty pages, a detached
		 * mount's) must be on the host by then.  No reset: it would
		 * only delay the reply (the power-off that follows unmounts
		 * everything), and the sandbox stays destroying (no second
		 * CreateSandbox).
		 */
		sync();
	} else {
		sandbox_reset(a);
		sb->destroying = false;
	}
	log_msg(LOG_INFO, "sandbox destroyed", NULL);
	if (call)
		ttrpc_call_reply(call, NULL);
	if (a->on_destroyed)
		a->on_destroyed(a);
}

static void destroy_timed_out(struct evloop *loop, void *data)
{
	struct agent *a = data;

	a->sb.destroy_timer = NULL;
	log_warn("sandbox: containers did not exit in %d ms",
		 DESTROY_TIMEOUT_MS);
	destroy_finish(a);
}

static void destroy_cancelled(struct ttrpc_call *call, void *data)
{
	struct agent *a = data;

	a->sb.destroy_call = NULL;
}

void sandbox_destroy(struct agent *a, struct ttrpc_call *call)
{
	struct sandbox *sb = &a->sb;

	if (sb->destroying) {
		ttrpc_call_fail(call, GRPC_FAILED_PRECONDITION,
				"sandbox: already being destroyed");
		return;
	}
	sb->destroying = true;
	sb->destroy_call = call;
	ttrpc_call_on_cancel(call, destroy_cancelled, a);
	if (!a->containers) {
		ttrpc_call_on_cancel(call, NULL, NULL);
		destroy_finish(a);
		return;
	}
	sb->destroy_timer = evloop_timer(a->loop, DESTROY_TIMEOUT_MS,
					 destroy_timed_out, a);
	/* container_remove may free containers: walk a snapshot of ids. */
	for (;;) {
		struct container *c;

		for (c = a->containers; c && c->removing; c = c->next)
			;
		if (!c)
			break;
		container_remove(c, 0, NULL);
		if (!sb->destroying)
			return; /* the last one finished synchronously */
	}
}

void sandbox_container_gone(struct agent *a)
{
	struct sandbox *sb = &a->sb;

	if (sb->destroying && !a->containers) {
		if (sb->destroy_call)
			ttrpc_call_on_cancel(sb->destroy_call, NULL, NULL);
		destroy_finish(a);
	}
}
