// SPDX-License-Identifier: Apache-2.0
/* State, Pids, Connect and Stats: what containerd asks about a task. */
#include <stdlib.h>
#include <unistd.h>

#include "metrics.h"
#include "shim.h"
#include "task.h"
#include "util.h"

#define SHIM_VERSION "husk"

static Containerd__V1__Types__Status task_status(const struct pod_process *p)
{
	switch (p->status) {
	case POD_PROCESS_CREATED:
		return CONTAINERD__V1__TYPES__STATUS__CREATED;
	case POD_PROCESS_RUNNING:
		return p->c->paused ? CONTAINERD__V1__TYPES__STATUS__PAUSED
				    : CONTAINERD__V1__TYPES__STATUS__RUNNING;
	case POD_PROCESS_STOPPED:
		return CONTAINERD__V1__TYPES__STATUS__STOPPED;
	}
	return CONTAINERD__V1__TYPES__STATUS__UNKNOWN;
}

void task_state(struct ttrpc_call *call, const void *req_, void *ctx)
{
	const Containerd__Task__V2__StateRequest *req = req_;
	Containerd__Task__V2__StateResponse r =
		CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	struct shim *s = ctx;
	struct pod_process *p =
		task_process_creating(s, req->id, req->exec_id, call);
	struct shim_process *sp;

	if (!p)
		return;
	sp = p->fe;
	r.id = p->c->id;
	r.bundle = p->c->bundle;
	r.pid = shim_task_pid(s);
	r.status = task_status(p);
	r.stdin = sp->stdin_path;
	r.stdout = sp->stdout_path;
	r.stderr = sp->stderr_path;
	r.terminal = p->terminal;
	r.exec_id = p->exec_id;
	if (p->status == POD_PROCESS_STOPPED) {
		r.exit_status = p->exit_status;
		timestamp_set(&ts, &p->exited_at);
		r.exited_at = &ts;
	}
	ttrpc_call_reply(call, &r.base);
}

void task_pids(struct ttrpc_call *call, const void *req_, void *ctx)
{
	const Containerd__Task__V2__PidsRequest *req = req_;
	Containerd__Task__V2__PidsResponse r =
		CONTAINERD__TASK__V2__PIDS_RESPONSE__INIT;
	Containerd__V1__Types__ProcessInfo info =
		CONTAINERD__V1__TYPES__PROCESS_INFO__INIT;
	Containerd__V1__Types__ProcessInfo *list[1] = { &info };
	struct shim *s = ctx;

	if (!task_container(s, req->id, call))
		return;
	/* Guest pids mean nothing on the host: the VM is the process. */
	info.pid = shim_task_pid(s);
	r.processes = list;
	r.n_processes = info.pid ? 1 : 0;
	ttrpc_call_reply(call, &r.base);
}

void task_connect(struct ttrpc_call *call, const void *req_, void *ctx)
{
	Containerd__Task__V2__ConnectResponse r =
		CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;
	struct shim *s = ctx;

	(void)req_;
	r.shim_pid = (uint32_t)getpid();
	r.task_pid = shim_task_pid(s);
	r.version = SHIM_VERSION;
	ttrpc_call_reply(call, &r.base);
}

struct stats_op {
	struct ttrpc_call *call;
	struct pod_container *c;
};

static void on_stats(void *resp, const struct herr *err, void *data)
{
	Containerd__Task__V2__StatsResponse r =
		CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
	Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
	struct stats_op *op = data;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;

	if (err) {
		ttrpc_call_fail(op->call, err->code, "stats %s: agent: %s",
				op->c->id, err->msg);
	} else {
		metrics_from_agent(resp,
				   (uint64_t)op->c->pod->size.mem_mib << 20,
				   &buf, &len);
		any.type_url = METRICS_V1_TYPE_URL;
		any.value.data = buf;
		any.value.len = len;
		r.stats = &any;
		ttrpc_call_reply(op->call, &r.base);
	}
	pod_container_unref(op->c);
	free(op);
}

void task_stats(struct ttrpc_call *call, const void *req_, void *ctx)
{
	const Containerd__Task__V2__StatsRequest *req = req_;
	struct shim *s = ctx;
	struct pod_container *c = task_container(s, req->id, call);
	struct stats_op *op;

	if (!c)
		return;
	if (!pod_usable(s->pod)) {
		ttrpc_call_fail(call, GRPC_UNAVAILABLE,
				"stats %s: the sandbox is not running",
				req->id);
		return;
	}
	op = xcalloc(1, sizeof(*op));
	op->call = call;
	op->c = c;
	pod_container_ref(c);
	agent_stats_container(s->pod->agent, c->id, on_stats, op);
}
