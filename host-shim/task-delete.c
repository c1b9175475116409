// SPDX-License-Identifier: Apache-2.0
/*
 * Delete: an exec is just forgotten; a container is removed from the guest
 * (RemoveContainer), its rootfs and shares unmounted, /tasks/delete
 * published, and when it was the pod's last container the VM is torn down
 * before the reply, so that the Shutdown which follows finds nothing left.
 * The pod's last container skips RemoveContainer: DestroySandbox removes
 * it in the guest (kills and waits for what is left of it, then syncs),
 * and its host side goes once the VM is gone.
 */
#include <stdlib.h>

#include "containerd/events/task.pb-c.h"
#include "events.h"
#include "log.h"
#include "shim.h"
#include "task.h"
#include "util.h"

struct delete_op {
	struct shim *s;
	struct ttrpc_call *call;
	struct pod_container *c;
	uint32_t exit_status;
	struct timespec exited_at;
	bool torn_down; /* the pod is already torn down: reply at once */
};

static void reply(struct delete_op *op)
{
	Containerd__Task__V2__DeleteResponse r =
		CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	struct shim *s = op->s;

	r.pid = shim_task_pid(s);
	r.exit_status = op->exit_status;
	timestamp_set(&ts, &op->exited_at);
	r.exited_at = &ts;
	ttrpc_call_reply(op->call, &r.base);
	pod_container_unref(op->c);
	free(op);
	shim_maybe_exit(s);
}

static void torn_down(void *data)
{
	reply(data);
}

static void finish(struct delete_op *op)
{
	Containerd__Events__TaskDelete ev =
		CONTAINERD__EVENTS__TASK_DELETE__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	struct pod_container *c = op->c;
	struct pod *pod = c->pod;

	pod_container_release_host(c);
	pod_remove_container(pod, c);
	ev.container_id = c->id;
	ev.id = c->id;
	ev.pid = shim_task_pid(op->s);
	ev.exit_status = op->exit_status;
	timestamp_set(&ts, &op->exited_at);
	ev.exited_at = &ts;
	events_publish(op->s->events, "/tasks/delete", &ev.base);
	log_msg(LOG_INFO, "container deleted", "container=%s", c->id);
	if (!pod->n_containers && !op->torn_down) {
		pod_teardown(pod, torn_down, op);
		return;
	}
	reply(op);
}

/* DestroySandbox removed the pod's last container with the VM. */
static void last_torn_down(void *data)
{
	struct delete_op *op = data;

	op->torn_down = true;
	finish(op);
}

static void on_removed(void *resp, const struct herr *err, void *data)
{
	struct delete_op *op = data;

	(void)resp;
	if (err && pod_usable(op->c->pod))
		log_warn("container %s: RemoveContainer: %s", op->c->id,
			 err->msg);
	finish(op);
}

static void delete_exec(struct shim *s, struct ttrpc_call *call,
			struct pod_process *p)
{
	Containerd__Task__V2__DeleteResponse r =
		CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

	if (p->status == POD_PROCESS_RUNNING) {
		ttrpc_call_fail(call, GRPC_FAILED_PRECONDITION,
				"delete %s exec %s: still running", p->c->id,
				p->exec_id);
		return;
	}
	r.pid = shim_task_pid(s);
	r.exit_status = p->exit_status;
	timestamp_set(&ts, &p->exited_at);
	r.exited_at = &ts;
	ttrpc_call_reply(call, &r.base);
	pod_process_remove(p);
}

void task_delete(struct ttrpc_call *call, const void *req_, void *ctx)
{
	const Containerd__Task__V2__DeleteRequest *req = req_;
	struct shim *s = ctx;
	struct pod_process *p =
		task_process_creating(s, req->id, req->exec_id, call);
	struct pod_container *c;
	struct delete_op *op;
	bool created;

	if (!p)
		return;
	if (*req->exec_id) {
		delete_exec(s, call, p);
		return;
	}
	c = p->c;
	if (p->status == POD_PROCESS_RUNNING && pod_usable(s->pod)) {
		ttrpc_call_fail(
			call, GRPC_FAILED_PRECONDITION,
			"delete %s: the task is still running (kill it first)",
			req->id);
		return;
	}
	op = xcalloc(1, sizeof(*op));
	op->s = s;
	op->call = call;
	op->c = c;
	pod_container_ref(c);
	created = c->state != POD_CONTAINER_CREATING;
	if (!created) {
		struct herr why;

		herr_set(&why, GRPC_ABORTED, 0,
			 "deleted before it was created%s",
			 s->pod->state == POD_BOOTING ? ", during the VM's boot"
						      : "");
		task_create_cancel(c, &why);
	}
	/* No longer visible to the other handlers. */
	c->state = POD_CONTAINER_FAILED;
	op->exit_status = p->exit_status;
	if (p->status == POD_PROCESS_STOPPED)
		op->exited_at = p->exited_at;
	else
		clock_gettime(CLOCK_REALTIME, &op->exited_at);
	if (!pod_usable(s->pod))
		finish(op);
	else if (created && s->pod->n_containers == 1 &&
		 s->pod->containers == c)
		/* One round trip less: no RemoveContainer first. */
		pod_teardown(s->pod, last_torn_down, op);
	else
		agent_remove_container(s->pod->agent, c->id, on_removed, op);
}
