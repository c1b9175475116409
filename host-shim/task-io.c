// SPDX-License-Identifier: Apache-2.0
/* Wait, ResizePty and CloseIO: the calls about a process's stdio and end. */
#include <stdlib.h>

#include "shim.h"
#include "task.h"
#include "util.h"

void task_wait(struct ttrpc_call *call, const void *req_, void *ctx)
{
	const Containerd__Task__V2__WaitRequest *req = req_;
	struct pod_process *p =
		task_process_creating(ctx, req->id, req->exec_id, call);

	/* Long poll: answered when the process exits, however long. */
	if (p)
		shim_process_add_waiter(p, call);
}

struct resize_op {
	struct ttrpc_call *call;
	struct pod_process *p;
};

static void on_resized(void *resp, const struct herr *err, void *data)
{
	struct resize_op *op = data;

	(void)resp;
	if (err)
		ttrpc_call_fail(op->call, err->code, "resize %s: agent: %s",
				op->p->c->id, err->msg);
	else
		ttrpc_call_reply(op->call, NULL);
	pod_process_unref(op->p);
	free(op);
}

void task_resize_pty(struct ttrpc_call *call, const void *req_, void *ctx)
{
	const Containerd__Task__V2__ResizePtyRequest *req = req_;
	struct shim *s = ctx;
	struct pod_process *p = task_process(s, req->id, req->exec_id, call);
	struct resize_op *op;

	if (!p)
		return;
	if (!p->terminal || p->status == POD_PROCESS_STOPPED || !req->width ||
	    !req->height || req->width > 0xffff || req->height > 0xffff) {
		/* Nothing to resize; containerd does not care. */
		ttrpc_call_reply(call, NULL);
		return;
	}
	if (p->status == POD_PROCESS_CREATED || !pod_usable(s->pod)) {
		/* The pty appears at Start: apply the size then. */
		p->pending_rows = req->height;
		p->pending_cols = req->width;
		ttrpc_call_reply(call, NULL);
		return;
	}
	op = xcalloc(1, sizeof(*op));
	op->call = call;
	op->p = p;
	pod_process_ref(p);
	agent_tty_resize(s->pod->agent, p->c->id, p->agent_exec_id, req->height,
			 req->width, on_resized, op);
}

void task_close_io(struct ttrpc_call *call, const void *req_, void *ctx)
{
	const Containerd__Task__V2__CloseIORequest *req = req_;
	struct pod_process *p = task_process(ctx, req->id, req->exec_id, call);

	if (!p)
		return;
	/* Input already in the FIFO is forwarded before stdin closes. */
	if (req->stdin)
		shim_stdio_close_stdin(p->fe);
	ttrpc_call_reply(call, NULL);
}
