// SPDX-License-Identifier: Apache-2.0
/*
 * The process table: every container's processes keyed by exec id (the
 * init process answers to "", to its own exec id and to the container id),
 * WaitProcess, and the reaper that turns SIGCHLD into exit codes.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "agent.h"
#include "log.h"
#include "util.h"

/* After exit, output still in flight gets this long before EOF (Kata). */
#define DRAIN_MS 500

/*
 * Exits of children the table did not know yet: the reaper can see a
 * container child die before the message that names its pid arrives.
 */
#define EARLY_MAX 32
static struct {
	pid_t pid;
	int wstatus;
} early_exits[EARLY_MAX];
static unsigned int early_next;

struct process *process_new(struct container *c, const char *exec_id,
			    bool is_init)
{
	struct process *p = xcalloc(1, sizeof(*p));

	p->a = c->a;
	p->c = c;
	p->exec_id = xstrdup(exec_id);
	p->is_init = is_init;
	p->io.in_fd = p->io.out.fd = p->io.err.fd = -1;
	p->io.child[0] = p->io.child[1] = p->io.child[2] = -1;
	p->io.pty_slave = -1;
	p->next = c->procs;
	c->procs = p;
	return p;
}

struct process *process_find(struct container *c, const char *exec_id,
			     struct herr *err)
{
	if (!exec_id || !*exec_id || !strcmp(exec_id, c->id)) {
		if (c->init && !c->init->waited)
			return c->init;
		herr_set(err, GRPC_NOT_FOUND, 0,
			 "container %s: init process not found (already waited for)",
			 c->id);
		return NULL;
	}
	for (struct process *p = c->procs; p; p = p->next)
		if (!strcmp(p->exec_id, exec_id) && !p->waited)
			return p;
	herr_set(err, GRPC_NOT_FOUND, 0, "container %s: exec id %s not found",
		 c->id, exec_id);
	return NULL;
}

struct process *process_by_pid(struct agent *a, pid_t pid)
{
	for (struct container *c = a->containers; c; c = c->next)
		for (struct process *p = c->procs; p; p = p->next)
			if (p->pid == pid && !p->exited)
				return p;
	return NULL;
}

static void wait_cancelled(struct ttrpc_call *call, void *data)
{
	waiter_drop(data);
}

static void answer_waiters(struct process *p)
{
	Grpc__WaitProcessResponse resp = GRPC__WAIT_PROCESS_RESPONSE__INIT;

	resp.status = p->status;
	while (p->waiters) {
		struct waiter *w = p->waiters;
		struct ttrpc_call *call = w->call;

		ttrpc_call_on_cancel(call, NULL, NULL);
		waiter_drop(w);
		ttrpc_call_reply(call, &resp.base);
	}
}

/*
 * WaitProcess answered: the process leaves the table (Kata semantics: a
 * second wait or a later read gets NOT_FOUND).  The init process keeps its
 * slot for RemoveContainer but is marked waited.
 */
static void process_retire(struct process *p)
{
	struct container *c = p->c;

	p->waited = true;
	stdio_close(&p->io);
	if (p->is_init)
		return;
	for (struct process **pp = &c->procs; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	process_free(p);
}

void process_wait(struct process *p, struct ttrpc_call *call)
{
	struct waiter *w;

	if (p->exited) {
		Grpc__WaitProcessResponse resp =
			GRPC__WAIT_PROCESS_RESPONSE__INIT;

		resp.status = p->status;
		ttrpc_call_reply(call, &resp.base);
		process_retire(p);
		return;
	}
	w = waiter_park(&p->waiters, call, p);
	ttrpc_call_on_cancel(call, wait_cancelled, w);
}

static void drain_timer_fired(struct evloop *loop, void *data)
{
	struct process *p = data;

	p->drain_timer = NULL;
	p->drain_over = true;
	stdio_drain_over(p);
}

void process_exited(struct process *p, int wstatus)
{
	bool had_waiters = p->waiters != NULL, is_init = p->is_init;
	struct container *c = p->c;

	p->exited = true;
	p->exit_ms = now_ms();
	if (WIFSIGNALED(wstatus))
		p->status = 128 + WTERMSIG(wstatus);
	else
		p->status = WEXITSTATUS(wstatus);
	log_msg(LOG_INFO, "process exited", "container=%s exec_id=%s pid=%d status=%d",
		p->c->id, p->exec_id, (int)p->pid, p->status);
	p->drain_timer = evloop_timer(p->a->loop, DRAIN_MS, drain_timer_fired,
				      p);
	oom_check(c);
	answer_waiters(p);
	if (had_waiters)
		process_retire(p); /* may free p */
	/* Last: it may finish a RemoveContainer and free the container. */
	container_process_exited(c, is_init);
}

void process_free(struct process *p)
{
	if (p->drain_timer)
		evloop_timer_cancel(p->a->loop, p->drain_timer);
	stdio_close(&p->io);
	/* Nobody is left to answer these. */
	while (p->waiters) {
		struct waiter *w = p->waiters;
		struct ttrpc_call *call = w->call;

		ttrpc_call_on_cancel(call, NULL, NULL);
		waiter_drop(w);
		ttrpc_call_fail(call, GRPC_NOT_FOUND,
				"container %s: process %s removed", p->c->id,
				p->exec_id);
	}
	if (p->spawn)
		spawn_abort(p);
	if (p->spec)
		protobuf_c_message_free_unpacked(&p->spec->base, NULL);
	free(p->exec_id);
	free(p);
}

int process_take_early_exit(pid_t pid, int *wstatus)
{
	for (unsigned int i = 0; i < EARLY_MAX; i++)
		if (early_exits[i].pid == pid && pid > 0) {
			*wstatus = early_exits[i].wstatus;
			early_exits[i].pid = 0;
			return 1;
		}
	return 0;
}

void agent_reap(struct agent *a)
{
	for (;;) {
		int wstatus;
		pid_t pid = waitpid(-1, &wstatus, WNOHANG | __WALL);
		struct process *p;

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			return;
		p = process_by_pid(a, pid);
		if (!p) {
			/* Helpers and orphans re-parented to us. */
			early_exits[early_next].pid = pid;
			early_exits[early_next].wstatus = wstatus;
			early_next = (early_next + 1) % EARLY_MAX;
			continue;
		}
		process_exited(p, wstatus);
	}
}
