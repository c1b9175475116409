// SPDX-License-Identifier: Apache-2.0
/*
 * Start: StartContainer releases a container's init process; an exec'd
 * process is created and started at once by ExecProcess.  /tasks/start
 * (or /tasks/exec-started) is published before the pumps run, so it
 * always precedes the process's /tasks/exit.
 */
#include <stdlib.h>

#include "containerd/events/task.pb-c.h"
#include "events.h"
#include "log.h"
#include "shim.h"
#include "task.h"
#include "util.h"

struct start_op {
	struct shim *s;
	struct ttrpc_call *call;
	struct pod_process *p;
};

static void on_started(void *resp, const struct herr *err, void *data)
{
	Containerd__Task__V2__StartResponse r =
		CONTAINERD__TASK__V2__START_RESPONSE__INIT;
	struct start_op *op = data;
	struct pod_process *p = op->p;
	struct shim *s = op->s;

	(void)resp;
	if (err) {
		ttrpc_call_fail(op->call, err->code, "start %s%s%s: agent: %s",
				p->c->id, *p->exec_id ? " exec " : "",
				p->exec_id, err->msg);
		goto out;
	}
	if (p->removed || p->status != POD_PROCESS_CREATED) {
		ttrpc_call_fail(op->call, GRPC_NOT_FOUND,
				"start %s: the process went away", p->c->id);
		goto out;
	}
	r.pid = shim_task_pid(s);
	if (*p->exec_id) {
		Containerd__Events__TaskExecStarted ev =
			CONTAINERD__EVENTS__TASK_EXEC_STARTED__INIT;

		ev.container_id = p->c->id;
		ev.exec_id = p->exec_id;
		ev.pid = r.pid;
		events_publish(s->events, "/tasks/exec-started", &ev.base);
	} else {
		Containerd__Events__TaskStart ev =
			CONTAINERD__EVENTS__TASK_START__INIT;

		pod_timeline_mark(s->pod, POD_T_STARTED);
		ev.container_id = p->c->id;
		ev.pid = r.pid;
		events_publish(s->events, "/tasks/start", &ev.base);
	}
	log_msg(LOG_INFO, "process started", "container=%s exec=%s", p->c->id,
		p->exec_id);
	pod_process_started(p);
	ttrpc_call_reply(op->call, &r.base);
out:
	pod_process_unref(p);
	free(op);
}

void task_start(struct ttrpc_call *call, const void *req_, void *ctx)
{
	const Containerd__Task__V2__StartRequest *req = req_;
	struct shim *s = ctx;
	struct pod_process *p = task_process(s, req->id, req->exec_id, call);
	struct start_op *op;

	if (!p)
		return;
	if (p->status != POD_PROCESS_CREATED) {
		ttrpc_call_fail(call, GRPC_FAILED_PRECONDITION,
				"start %s: process %s was already started",
				req->id, *p->exec_id ? p->exec_id : "init");
		return;
	}
	if (!pod_usable(s->pod)) {
		ttrpc_call_fail(call, GRPC_UNAVAILABLE, "start %s: %s", req->id,
				s->pod->death.msg[0]
					? s->pod->death.msg
					: "the sandbox is not running");
		return;
	}
	op = xcalloc(1, sizeof(*op));
	op->s = s;
	op->call = call;
	op->p = p;
	pod_process_ref(p);
	if (*p->exec_id) {
		Grpc__ExecProcessRequest r = GRPC__EXEC_PROCESS_REQUEST__INIT;

		r.container_id = p->c->id;
		r.exec_id = p->exec_id;
		r.process = p->exec_spec;
		agent_exec_process(s->pod->agent, &r, on_started, op);
	} else {
		agent_start_container(s->pod->agent, p->c->id, on_started, op);
	}
}
