// SPDX-License-Identifier: Apache-2.0
/*
 * Kill: SignalProcess.  For a container's init the exec id sent is empty,
 * which makes SIGKILL reach every process of the container (Kata forces
 * "all" for init too).  Killing what already stopped with SIGTERM or
 * SIGKILL succeeds, since the kubelet kills again and again.
 */
#include <signal.h>
#include <stdlib.h>

#include "shim.h"
#include "task.h"
#include "util.h"

struct kill_op {
	struct ttrpc_call *call;
	struct pod_process *p;
	uint32_t sig;
};

static bool terminating(uint32_t sig)
{
	return sig == SIGKILL || sig == SIGTERM;
}

static void on_signalled(void *resp, const struct herr *err, void *data)
{
	struct kill_op *op = data;
	struct pod_process *p = op->p;

	(void)resp;
	if (!err || (err->code == GRPC_NOT_FOUND && terminating(op->sig)))
		ttrpc_call_reply(op->call, NULL);
	else
		ttrpc_call_fail(op->call, err->code, "kill %s%s%s: agent: %s",
				p->c->id, *p->exec_id ? " exec " : "",
				p->exec_id, err->msg);
	pod_process_unref(p);
	free(op);
}

void task_kill(struct ttrpc_call *call, const void *req_, void *ctx)
{
	const Containerd__Task__V2__KillRequest *req = req_;
	struct shim *s = ctx;
	struct pod_process *p =
		task_process_creating(s, req->id, req->exec_id, call);
	struct kill_op *op;

	if (!p)
		return;
	if (req->signal == 0 || req->signal > 64) {
		ttrpc_call_fail(call, GRPC_INVALID_ARGUMENT,
				"kill %s: signal %u is not a signal number",
				req->id, req->signal);
		return;
	}
	if (!*p->exec_id && p->c->state == POD_CONTAINER_CREATING &&
	    terminating(req->signal)) {
		struct herr why;

		/* A boot nobody waits for any more stops here, at once. */
		herr_set(&why, GRPC_ABORTED, 0,
			 "killed (signal %u) before it was created%s",
			 req->signal,
			 s->pod->state == POD_BOOTING ? ", during the VM's boot"
						      : "");
		task_create_abort(s, p->c, &why);
		ttrpc_call_reply(call, NULL);
		return;
	}
	if (p->c->state == POD_CONTAINER_CREATING) {
		ttrpc_call_fail(call, GRPC_FAILED_PRECONDITION,
				"kill %s: not created yet (only SIGKILL or "
				"SIGTERM stop its creation)",
				req->id);
		return;
	}
	if (p->status == POD_PROCESS_STOPPED || !pod_usable(s->pod)) {
		if (terminating(req->signal))
			ttrpc_call_reply(call, NULL);
		else
			ttrpc_call_fail(call, GRPC_NOT_FOUND,
					"kill %s: process already finished",
					req->id);
		return;
	}
	if (*p->exec_id && p->status == POD_PROCESS_CREATED) {
		ttrpc_call_fail(call, GRPC_FAILED_PRECONDITION,
				"kill %s exec %s: not started", req->id,
				p->exec_id);
		return;
	}
	op = xcalloc(1, sizeof(*op));
	op->call = call;
	op->p = p;
	op->sig = req->signal;
	pod_process_ref(p);
	agent_signal_process(s->pod->agent, p->c->id,
			     *p->exec_id ? p->exec_id : "", req->signal,
			     on_signalled, op);
}
