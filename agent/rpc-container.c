// SPDX-License-Identifier: Apache-2.0
/* Container RPCs: create, start, remove, exec, signal, wait, stats, ... */
#include <string.h>

#include "cgroup.h"
#include "rpc.h"
#include "util.h"

void rpc_create_container(struct ttrpc_call *call, const void *msg, void *ctx)
{
	const Grpc__CreateContainerRequest *req = msg;
	struct agent *a = ctx;
	struct herr err;

	if (validate_id("container_id", req->container_id, &err) < 0 ||
	    validate_exec_id(req->exec_id, &err) < 0 ||
	    validate_spec(req->oci, &err) < 0)
		goto fail;
	for (size_t i = 0; i < req->n_devices; i++) {
		herr_set(&err, GRPC_INVALID_ARGUMENT, 0,
			 "devices[%zu]: device type \"%s\" is not supported", i,
			 req->devices[i]->type);
		goto fail;
	}
	if (req->n_shared_mounts) {
		herr_set(&err, GRPC_INVALID_ARGUMENT, 0,
			 "shared_mounts: not supported");
		goto fail;
	}
	if (req->stdin_port || req->stdout_port || req->stderr_port) {
		herr_set(&err, GRPC_INVALID_ARGUMENT, 0,
			 "stdin_port/stdout_port/stderr_port: vsock stdio is "
			 "not supported");
		goto fail;
	}
	for (size_t i = 0; i < req->n_storages; i++)
		if (validate_path("storages[].mount_point",
				  req->storages[i]->mount_point, true,
				  &err) < 0)
			goto fail;
	if (rpc_dry_run(a, call))
		return;
	if (container_find(a, req->container_id)) {
		ttrpc_call_fail(call, GRPC_ALREADY_EXISTS,
				"container %s: already exists",
				req->container_id);
		return;
	}
	if (a->sb.destroying) {
		ttrpc_call_fail(call, GRPC_FAILED_PRECONDITION,
				"container %s: the sandbox is being destroyed",
				req->container_id);
		return;
	}
	container_create(a, req, call);
	return;
fail:
	ttrpc_call_fail_err(call, &err);
}

void rpc_start_container(struct ttrpc_call *call, const void *msg, void *ctx)
{
	const Grpc__StartContainerRequest *req = msg;
	struct agent *a = ctx;
	struct container *c = rpc_container(a, req->container_id, call);

	if (c)
		container_start(c, call);
}

void rpc_remove_container(struct ttrpc_call *call, const void *msg, void *ctx)
{
	const Grpc__RemoveContainerRequest *req = msg;
	struct agent *a = ctx;
	struct container *c = rpc_container(a, req->container_id, call);

	if (c)
		container_remove(c, req->timeout, call);
}

void rpc_exec_process(struct ttrpc_call *call, const void *msg, void *ctx)
{
	const Grpc__ExecProcessRequest *req = msg;
	struct agent *a = ctx;
	struct container *c;
	struct herr err;

	if (validate_id("container_id", req->container_id, &err) < 0 ||
	    validate_exec_id(req->exec_id, &err) < 0 ||
	    validate_process("process", req->process, &err) < 0) {
		ttrpc_call_fail_err(call, &err);
		return;
	}
	if (!*req->exec_id) {
		ttrpc_call_fail(call, GRPC_INVALID_ARGUMENT,
				"exec_id: must not be empty");
		return;
	}
	if (req->stdin_port || req->stdout_port || req->stderr_port) {
		ttrpc_call_fail(call, GRPC_INVALID_ARGUMENT,
				"stdin_port/stdout_port/stderr_port: vsock "
				"stdio is not supported");
		return;
	}
	c = rpc_container(a, req->container_id, call);
	if (c)
		container_exec(c, req, call);
}

void rpc_signal_process(struct ttrpc_call *call, const void *msg, void *ctx)
{
	const Grpc__SignalProcessRequest *req = msg;
	struct agent *a = ctx;
	struct container *c;
	struct herr err;

	if (req->signal == 0 || req->signal >= 65) {
		ttrpc_call_fail(call, GRPC_INVALID_ARGUMENT,
				"signal %u: not a valid signal number",
				req->signal);
		return;
	}
	if (validate_exec_id(req->exec_id, &err) < 0) {
		ttrpc_call_fail_err(call, &err);
		return;
	}
	c = rpc_container(a, req->container_id, call);
	if (!c)
		return;
	if (container_signal(c, req->exec_id, req->signal, &err) < 0)
		ttrpc_call_fail_err(call, &err);
	else
		ttrpc_call_reply(call, NULL);
}

void rpc_wait_process(struct ttrpc_call *call, const void *msg, void *ctx)
{
	const Grpc__WaitProcessRequest *req = msg;
	struct process *p =
		rpc_process(ctx, req->container_id, req->exec_id, call);

	if (p)
		process_wait(p, call);
}

static struct container *running_container(struct agent *a, const char *id,
					   struct ttrpc_call *call)
{
	struct container *c = rpc_container(a, id, call);

	if (c && !c->cg) {
		ttrpc_call_fail(call, GRPC_FAILED_PRECONDITION,
				"container %s: has no cgroup", id);
		return NULL;
	}
	return c;
}

void rpc_update_container(struct ttrpc_call *call, const void *msg, void *ctx)
{
	const Grpc__UpdateContainerRequest *req = msg;
	struct container *c;
	struct herr err;

	if (!req->resources) {
		ttrpc_call_fail(call, GRPC_INVALID_ARGUMENT,
				"resources: missing");
		return;
	}
	c = running_container(ctx, req->container_id, call);
	if (!c)
		return;
	if (cgroup_apply(c->cg, req->resources, &err) < 0) {
		herr_prefix(&err, "container %s: resources", c->id);
		ttrpc_call_fail_err(call, &err);
		return;
	}
	ttrpc_call_reply(call, NULL);
}

void rpc_stats_container(struct ttrpc_call *call, const void *msg, void *ctx)
{
	const Grpc__StatsContainerRequest *req = msg;
	Grpc__StatsContainerResponse resp =
		GRPC__STATS_CONTAINER_RESPONSE__INIT;
	Grpc__CgroupStats st = GRPC__CGROUP_STATS__INIT;
	struct container *c = running_container(ctx, req->container_id, call);
	struct herr err;

	if (!c)
		return;
	if (cgroup_stats(c->cg, &st, &err) < 0) {
		cgroup_stats_free(&st);
		herr_prefix(&err, "container %s: stats", c->id);
		ttrpc_call_fail_err(call, &err);
		return;
	}
	resp.cgroup_stats = &st;
	ttrpc_call_reply(call, &resp.base);
	cgroup_stats_free(&st);
}

static void pause_resume(struct agent *a, const char *id, bool pause,
			 struct ttrpc_call *call)
{
	struct container *c = running_container(a, id, call);
	struct herr err;

	if (!c)
		return;
	if (c->state != CT_RUNNING) {
		ttrpc_call_fail(call, GRPC_FAILED_PRECONDITION,
				"container %s: not running", id);
		return;
	}
	if (c->paused == pause) {
		ttrpc_call_fail(call, GRPC_FAILED_PRECONDITION,
				"container %s: already %s", id,
				pause ? "paused" : "running (not paused)");
		return;
	}
	if (cgroup_freeze(c->cg, pause, &err) < 0) {
		herr_prefix(&err, "container %s", id);
		ttrpc_call_fail_err(call, &err);
		return;
	}
	c->paused = pause;
	ttrpc_call_reply(call, NULL);
}

void rpc_pause_container(struct ttrpc_call *call, const void *msg, void *ctx)
{
	const Grpc__PauseContainerRequest *req = msg;

	pause_resume(ctx, req->container_id, true, call);
}

void rpc_resume_container(struct ttrpc_call *call, const void *msg, void *ctx)
{
	const Grpc__ResumeContainerRequest *req = msg;

	pause_resume(ctx, req->container_id, false, call);
}

void rpc_get_oom_event(struct ttrpc_call *call, const void *msg, void *ctx)
{
	if (rpc_dry_run(ctx, call))
		return;
	oom_wait(ctx, call);
}
