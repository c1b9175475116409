// SPDX-License-Identifier: Apache-2.0
/*
 * A process's life after Start: stdio pumps until both output streams
 * reach EOF, then WaitProcess (the agent forgets the process once it
 * answers, so output must be read first), then the exit is recorded only
 * after containerd has read the last output: /tasks/exit goes out and
 * every Wait call is answered.  A VM that dies makes every agent call
 * fail, which runs the same path with EXIT_STATUS_LOST.
 */
#include <stdlib.h>
#include <string.h>

#include "containerd/events/task.pb-c.h"
#include "events.h"
#include "log.h"
#include "shim.h"
#include "util.h"

static char *dup_or_empty(const char *s)
{
	return xstrdup(s ? s : "");
}

struct pod_process *pod_process_new(struct pod_container *c,
				    const char *exec_id, bool terminal,
				    const char *in, const char *out,
				    const char *err_path)
{
	struct pod_process *p = xcalloc(1, sizeof(*p));

	p->c = c;
	pod_container_ref(c);
	p->exec_id = dup_or_empty(exec_id);
	/* The agent names the init process after its container. */
	p->agent_exec_id = xstrdup(*p->exec_id ? p->exec_id : c->id);
	p->status = POD_PROCESS_CREATED;
	p->terminal = terminal;
	p->stdin_path = dup_or_empty(in);
	p->stdout_path = dup_or_empty(out);
	p->stderr_path = dup_or_empty(err_path);
	p->io.in_fd = p->io.out.fd = p->io.err.fd = -1;
	p->refs = 1;
	return p;
}

void pod_process_ref(struct pod_process *p)
{
	p->refs++;
}

static void pod_process_free(struct pod_process *p)
{
	shim_stdio_close(p);
	if (p->exec_spec)
		protobuf_c_message_free_unpacked(&p->exec_spec->base, NULL);
	free(p->exec_id);
	free(p->agent_exec_id);
	free(p->stdin_path);
	free(p->stdout_path);
	free(p->stderr_path);
	pod_container_unref(p->c);
	free(p);
}

void pod_process_unref(struct pod_process *p)
{
	if (--p->refs == 0)
		pod_process_free(p);
}

void timestamp_set(Google__Protobuf__Timestamp *ts, const struct timespec *t)
{
	ts->seconds = t->tv_sec;
	ts->nanos = (int32_t)t->tv_nsec;
}

static void answer_waiter(struct pod_process *p, struct ttrpc_call *call)
{
	Containerd__Task__V2__WaitResponse resp =
		CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

	resp.exit_status = p->exit_status;
	timestamp_set(&ts, &p->exited_at);
	resp.exited_at = &ts;
	ttrpc_call_reply(call, &resp.base);
}

static void waiter_cancelled(struct ttrpc_call *call, void *data)
{
	struct pod_process *p = data;

	for (struct shim_waiter **pp = &p->waiters; *pp; pp = &(*pp)->next) {
		if ((*pp)->call == call) {
			struct shim_waiter *w = *pp;

			*pp = w->next;
			free(w);
			break;
		}
	}
	pod_process_unref(p);
}

void pod_process_add_waiter(struct pod_process *p, struct ttrpc_call *call)
{
	struct shim_waiter *w;

	if (p->status == POD_PROCESS_STOPPED) {
		answer_waiter(p, call);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	w->call = call;
	w->next = p->waiters;
	p->waiters = w;
	pod_process_ref(p);
	ttrpc_call_on_cancel(call, waiter_cancelled, p);
}

static void answer_wait_calls(struct pod_process *p)
{
	while (p->waiters) {
		struct shim_waiter *w = p->waiters;

		p->waiters = w->next;
		ttrpc_call_on_cancel(w->call, NULL, NULL);
		answer_waiter(p, w->call);
		free(w);
		pod_process_unref(p);
	}
}

static void record_exit(struct pod_process *p, uint32_t status, bool publish)
{
	struct shim *s = p->c->pod->shim;

	p->status = POD_PROCESS_STOPPED;
	p->exit_status = status;
	clock_gettime(CLOCK_REALTIME, &p->exited_at);
	shim_stdio_close(p);
	log_msg(LOG_INFO, "process exited", "container=%s exec=%s status=%u",
		p->c->id, p->exec_id, status);
	if (publish) {
		Containerd__Events__TaskExit ev =
			CONTAINERD__EVENTS__TASK_EXIT__INIT;
		Google__Protobuf__Timestamp ts =
			GOOGLE__PROTOBUF__TIMESTAMP__INIT;

		ev.container_id = p->c->id;
		/* CRI matches exits on this: the container id for init. */
		ev.id = *p->exec_id ? p->exec_id : p->c->id;
		ev.pid = shim_task_pid(s);
		ev.exit_status = status;
		timestamp_set(&ts, &p->exited_at);
		ev.exited_at = &ts;
		events_publish(s->events, "/tasks/exit", &ev.base);
	}
	answer_wait_calls(p);
}

void pod_process_exited(struct pod_process *p, uint32_t status)
{
	if (p->status == POD_PROCESS_STOPPED)
		return;
	record_exit(p, status, true);
}

void pod_process_lost(struct pod_process *p)
{
	if (p->status == POD_PROCESS_STOPPED)
		return;
	if (p->status == POD_PROCESS_CREATED) {
		/* Never ran: nothing to wait for, no exit to publish. */
		record_exit(p, EXIT_STATUS_LOST, false);
		return;
	}
	/* Running: stop waiting for output that will never come. */
	shim_stdio_abort(p);
}

static void drained(struct pod_process *p)
{
	pod_process_exited(p, p->wait_status);
}

static void on_wait(void *resp, const struct herr *err, void *data)
{
	struct pod_process *p = data;
	const Grpc__WaitProcessResponse *r = resp;
	uint32_t status = EXIT_STATUS_LOST;

	if (err) {
		/* A dead sandbox already said why; this is its echo. */
		if (!p->removed && p->c->pod->state != POD_DEAD)
			log_warn("container %s: wait for %s: %s", p->c->id,
				 p->agent_exec_id, err->msg);
	} else if (r->status < 0 || r->status > 255) {
		/* Exit statuses are 0..255; anything else is the guest's
		 * invention. */
		log_warn("container %s: agent reported exit status %d for %s; "
			 "using %d",
			 p->c->id, r->status, p->agent_exec_id,
			 EXIT_STATUS_LOST);
	} else {
		status = (uint32_t)r->status;
	}
	if (p->removed || p->status == POD_PROCESS_STOPPED) {
		pod_process_unref(p);
		return;
	}
	p->wait_status = status;
	shim_stdio_wait_drained(p, drained);
	pod_process_unref(p);
}

void pod_process_output_done(struct pod_process *p)
{
	if (p->waiting || p->status == POD_PROCESS_STOPPED)
		return;
	p->waiting = true;
	pod_process_ref(p);
	agent_wait_process(p->c->pod->agent, p->c->id, p->agent_exec_id,
			   on_wait, p);
}

static void on_resized(void *resp, const struct herr *err, void *data)
{
	struct pod_process *p = data;

	(void)resp;
	if (err && !p->removed)
		log_warn("container %s: resize %s: %s", p->c->id,
			 p->agent_exec_id, err->msg);
	pod_process_unref(p);
}

void pod_process_started(struct pod_process *p)
{
	p->status = POD_PROCESS_RUNNING;
	if (p->terminal && p->pending_rows && p->pending_cols) {
		pod_process_ref(p);
		agent_tty_resize(p->c->pod->agent, p->c->id, p->agent_exec_id,
				 p->pending_rows, p->pending_cols, on_resized,
				 p);
	}
	shim_stdio_start(p);
}

void pod_process_remove(struct pod_process *p)
{
	struct pod_container *c = p->c;

	if (p->removed)
		return;
	p->removed = true;
	if (c->init == p) {
		c->init = NULL;
	} else {
		for (struct pod_process **pp = &c->execs; *pp;
		     pp = &(*pp)->next)
			if (*pp == p) {
				*pp = p->next;
				break;
			}
	}
	shim_stdio_close(p);
	/* Wait calls still pending get the recorded exit (or lose it). */
	while (p->waiters) {
		struct shim_waiter *w = p->waiters;

		p->waiters = w->next;
		ttrpc_call_on_cancel(w->call, NULL, NULL);
		if (p->status == POD_PROCESS_STOPPED)
			answer_waiter(p, w->call);
		else
			ttrpc_call_fail(
				w->call, GRPC_NOT_FOUND,
				"process %s of container %s was deleted",
				p->exec_id, c->id);
		free(w);
		pod_process_unref(p);
	}
	pod_process_unref(p);
}
