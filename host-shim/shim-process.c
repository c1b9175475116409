// SPDX-License-Identifier: Apache-2.0
/*
 * The shim's side of a pod process: containerd's stdio paths and their
 * FIFO pumps (stdio.c), and the Wait calls that long-poll for its exit.
 * The pod reports the process's life through these pod_ops callbacks:
 * started (pump the FIFOs), waited (let containerd read the last output,
 * then pod_process_exited()), exited (publish /tasks/exit, answer every
 * Wait), lost, removed and freed.
 */
#include <stdlib.h>

#include "containerd/events/task.pb-c.h"
#include "events.h"
#include "shim.h"
#include "util.h"

static struct shim_process *shim_proc(struct pod_process *p)
{
	return p->fe;
}

struct shim_process *shim_process_new(struct pod_process *p, const char *in,
				      const char *out, const char *err_path)
{
	struct shim_process *sp = xcalloc(1, sizeof(*sp));

	sp->p = p;
	sp->stdin_path = xstrdup(in ? in : "");
	sp->stdout_path = xstrdup(out ? out : "");
	sp->stderr_path = xstrdup(err_path ? err_path : "");
	sp->io.in_fd = sp->io.out.fd = sp->io.err.fd = -1;
	p->fe = sp;
	return sp;
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
	struct shim_process *sp = shim_proc(p);

	for (struct shim_waiter **pp = &sp->waiters; *pp; pp = &(*pp)->next) {
		if ((*pp)->call == call) {
			struct shim_waiter *w = *pp;

			*pp = w->next;
			free(w);
			break;
		}
	}
	pod_process_unref(p);
}

void shim_process_add_waiter(struct pod_process *p, struct ttrpc_call *call)
{
	struct shim_process *sp = shim_proc(p);
	struct shim_waiter *w;

	if (p->status == POD_PROCESS_STOPPED) {
		answer_waiter(p, call);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	w->call = call;
	w->next = sp->waiters;
	sp->waiters = w;
	pod_process_ref(p);
	ttrpc_call_on_cancel(call, waiter_cancelled, p);
}

static void answer_wait_calls(struct pod_process *p)
{
	struct shim_process *sp = shim_proc(p);

	while (sp->waiters) {
		struct shim_waiter *w = sp->waiters;

		sp->waiters = w->next;
		ttrpc_call_on_cancel(w->call, NULL, NULL);
		answer_waiter(p, w->call);
		free(w);
		pod_process_unref(p);
	}
}

void shim_process_started(struct pod_process *p, void *data)
{
	shim_stdio_start(shim_proc(p));
}

static void drained(struct shim_process *sp)
{
	pod_process_exited(sp->p, sp->p->wait_status);
}

void shim_process_waited(struct pod_process *p, void *data)
{
	shim_stdio_wait_drained(shim_proc(p), drained);
}

void shim_process_exited(struct pod_process *p, bool ran, void *data)
{
	struct shim *s = data;

	shim_stdio_close(shim_proc(p));
	if (ran && !*p->exec_id)
		pod_timeline_mark(p->c->pod, POD_T_EXIT);
	if (ran) {
		Containerd__Events__TaskExit ev =
			CONTAINERD__EVENTS__TASK_EXIT__INIT;
		Google__Protobuf__Timestamp ts =
			GOOGLE__PROTOBUF__TIMESTAMP__INIT;

		ev.container_id = p->c->id;
		/* CRI matches exits on this: the container id for init. */
		ev.id = *p->exec_id ? p->exec_id : p->c->id;
		ev.pid = shim_task_pid(s);
		ev.exit_status = p->exit_status;
		timestamp_set(&ts, &p->exited_at);
		ev.exited_at = &ts;
		events_publish(s->events, "/tasks/exit", &ev.base);
	}
	answer_wait_calls(p);
}

void shim_process_lost(struct pod_process *p, void *data)
{
	shim_stdio_abort(shim_proc(p));
}

void shim_process_removed(struct pod_process *p, void *data)
{
	struct shim_process *sp = shim_proc(p);

	shim_stdio_close(sp);
	/* Wait calls still pending get the recorded exit (or lose it). */
	while (sp->waiters) {
		struct shim_waiter *w = sp->waiters;

		sp->waiters = w->next;
		ttrpc_call_on_cancel(w->call, NULL, NULL);
		if (p->status == POD_PROCESS_STOPPED)
			answer_waiter(p, w->call);
		else
			ttrpc_call_fail(
				w->call, GRPC_NOT_FOUND,
				"process %s of container %s was deleted",
				p->exec_id, p->c->id);
		free(w);
		pod_process_unref(p);
	}
}

void shim_process_free(struct pod_process *p, void *data)
{
	struct shim_process *sp = shim_proc(p);

	if (!sp)
		return;
	shim_stdio_close(sp);
	free(sp->stdin_path);
	free(sp->stdout_path);
	free(sp->stderr_path);
	free(sp);
	p->fe = NULL;
}
