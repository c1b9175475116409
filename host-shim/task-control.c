// SPDX-License-Identifier: Apache-2.0
/* Pause, Resume, Update, Checkpoint and Shutdown. */
#include <stdlib.h>
#include <string.h>

#include "containerd/events/task.pb-c.h"
#include "events.h"
#include "log.h"
#include "shim.h"
#include "task.h"
#include "util.h"

enum control_kind { CTL_PAUSE, CTL_RESUME, CTL_UPDATE };

static const char *const control_names[] = { "pause", "resume", "update" };

struct control_op {
	struct shim *s;
	struct ttrpc_call *call;
	struct pod_container *c;
	enum control_kind kind;
	Grpc__LinuxResources *res; /* Update's, until the agent has it */
};

static void on_control(void *resp, const struct herr *err, void *data)
{
	struct control_op *op = data;
	struct pod_container *c = op->c;
	struct shim *s = op->s;

	(void)resp;
	if (err) {
		ttrpc_call_fail(op->call, err->code, "%s %s: agent: %s",
				control_names[op->kind], c->id, err->msg);
		goto out;
	}
	if (op->kind == CTL_PAUSE) {
		Containerd__Events__TaskPaused ev =
			CONTAINERD__EVENTS__TASK_PAUSED__INIT;

		c->paused = true;
		ev.container_id = c->id;
		events_publish(s->events, "/tasks/paused", &ev.base);
	} else if (op->kind == CTL_RESUME) {
		Containerd__Events__TaskResumed ev =
			CONTAINERD__EVENTS__TASK_RESUMED__INIT;

		c->paused = false;
		ev.container_id = c->id;
		events_publish(s->events, "/tasks/resumed", &ev.base);
	}
	log_msg(LOG_INFO, "container controlled", "container=%s action=%s",
		c->id, control_names[op->kind]);
	ttrpc_call_reply(op->call, NULL);
out:
	pod_container_unref(c);
	if (op->res)
		protobuf_c_message_free_unpacked(&op->res->base, NULL);
	free(op);
}

static struct control_op *control_begin(struct shim *s, const char *id,
					struct ttrpc_call *call,
					enum control_kind kind)
{
	struct pod_container *c = task_container(s, id, call);
	struct control_op *op;

	if (!c)
		return NULL;
	if (!pod_usable(s->pod)) {
		ttrpc_call_fail(call, GRPC_UNAVAILABLE,
				"%s %s: the sandbox is not running",
				control_names[kind], id);
		return NULL;
	}
	op = xcalloc(1, sizeof(*op));
	op->s = s;
	op->call = call;
	op->c = c;
	op->kind = kind;
	pod_container_ref(c);
	return op;
}

void task_pause(struct ttrpc_call *call, const void *req_, void *ctx)
{
	const Containerd__Task__V2__PauseRequest *req = req_;
	struct shim *s = ctx;
	struct control_op *op = control_begin(s, req->id, call, CTL_PAUSE);

	if (op)
		agent_pause_container(s->pod->agent, req->id, on_control, op);
}

void task_resume(struct ttrpc_call *call, const void *req_, void *ctx)
{
	const Containerd__Task__V2__ResumeRequest *req = req_;
	struct shim *s = ctx;
	struct control_op *op = control_begin(s, req->id, call, CTL_RESUME);

	if (op)
		agent_resume_container(s->pod->agent, req->id, on_control, op);
}

static void on_update_sized(const struct herr *err, void *data)
{
	struct control_op *op = data;

	if (err) {
		ttrpc_call_fail(op->call, err->code, "update %s: %s", op->c->id,
				err->msg);
		pod_container_unref(op->c);
		protobuf_c_message_free_unpacked(&op->res->base, NULL);
		free(op);
		return;
	}
	agent_update_container(op->s->pod->agent, op->c->id, op->res,
			       on_control, op);
}

void task_update(struct ttrpc_call *call, const void *req_, void *ctx)
{
	const Containerd__Task__V2__UpdateTaskRequest *req = req_;
	struct shim *s = ctx;
	Grpc__LinuxResources *res = NULL;
	struct control_op *op;
	struct herr err;

	if (!task_container(s, req->id, call))
		return;
	if (!req->resources || !req->resources->value.len) {
		ttrpc_call_fail(call, GRPC_INVALID_ARGUMENT,
				"update %s: no resources", req->id);
		return;
	}
	/* typeurl encodes runtime-spec types as JSON. */
	if (spec_resources_from_json((const char *)req->resources->value.data,
				     req->resources->value.len, &res,
				     &err) < 0) {
		ttrpc_call_fail(call, err.code, "update %s: %s", req->id,
				err.msg);
		return;
	}
	op = control_begin(s, req->id, call, CTL_UPDATE);
	if (!op) {
		protobuf_c_message_free_unpacked(&res->base, NULL);
		return;
	}
	/* Raised limits grow the VM first (host/pod-size.c). */
	op->res = res;
	pod_size_update(op->c, res, on_update_sized, op);
}

void task_checkpoint(struct ttrpc_call *call, const void *req_, void *ctx)
{
	const Containerd__Task__V2__CheckpointTaskRequest *req = req_;

	(void)ctx;
	ttrpc_call_fail(call, GRPC_UNIMPLEMENTED,
			"checkpoint %s: not supported by husk (the container's "
			"state lives inside a VM)",
			req->id);
}

void task_shutdown(struct ttrpc_call *call, const void *req_, void *ctx)
{
	struct shim *s = ctx;

	(void)req_;
	/* containerd sends Shutdown after every Delete: serve the pod on. */
	if (s->pod->n_containers) {
		log_debug("shutdown ignored: %zu container(s) remain",
			  s->pod->n_containers);
		ttrpc_call_reply(call, NULL);
		return;
	}
	log_info("shutdown");
	s->shutdown = true;
	ttrpc_call_reply(call, NULL);
	shim_maybe_exit(s);
}
