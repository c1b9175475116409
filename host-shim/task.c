// SPDX-License-Identifier: Apache-2.0
/*
 * The Task service table, and the lookups and conversions every handler
 * starts with.
 */
#include <string.h>

#include "shim.h"
#include "task.h"

/* One row: the RPC's name, its request type, the handler (task-*.c). */
#define METHOD(name, request, handler)                                  \
	{                                                               \
		"containerd.task.v2.Task", name,                        \
			&containerd__task__v2__##request##__descriptor, \
			handler                                         \
	}

const struct ttrpc_method task_methods[] = {
	METHOD("State", state_request, task_state),
	METHOD("Create", create_task_request, task_create),
	METHOD("Start", start_request, task_start),
	METHOD("Delete", delete_request, task_delete),
	METHOD("Pids", pids_request, task_pids),
	METHOD("Pause", pause_request, task_pause),
	METHOD("Resume", resume_request, task_resume),
	METHOD("Checkpoint", checkpoint_task_request, task_checkpoint),
	METHOD("Kill", kill_request, task_kill),
	METHOD("Exec", exec_process_request, task_exec),
	METHOD("ResizePty", resize_pty_request, task_resize_pty),
	METHOD("CloseIO", close_iorequest, task_close_io),
	METHOD("Update", update_task_request, task_update),
	METHOD("Wait", wait_request, task_wait),
	METHOD("Stats", stats_request, task_stats),
	METHOD("Connect", connect_request, task_connect),
	METHOD("Shutdown", shutdown_request, task_shutdown),
};

const size_t task_n_methods = sizeof(task_methods) / sizeof(task_methods[0]);

void timestamp_set(Google__Protobuf__Timestamp *ts, const struct timespec *t)
{
	ts->seconds = t->tv_sec;
	ts->nanos = (int32_t)t->tv_nsec;
}

static struct pod_container *lookup(struct shim *s, const char *id,
				    bool creating, struct ttrpc_call *call)
{
	struct pod_container *c = id && *id ? pod_find(s->pod, id) : NULL;

	if (!c || !(c->state == POD_CONTAINER_READY ||
		    (creating && c->state == POD_CONTAINER_CREATING))) {
		ttrpc_call_fail(call, GRPC_NOT_FOUND, "container %s: not found",
				id ? id : "");
		return NULL;
	}
	return c;
}

struct pod_container *task_container(struct shim *s, const char *id,
				     struct ttrpc_call *call)
{
	return lookup(s, id, false, call);
}

static struct pod_process *find_process(struct shim *s, const char *id,
					const char *exec_id, bool creating,
					struct ttrpc_call *call)
{
	struct pod_container *c = lookup(s, id, creating, call);
	struct pod_process *p;

	if (!c)
		return NULL;
	p = pod_container_find_process(c, exec_id);
	if (!p) {
		ttrpc_call_fail(call, GRPC_NOT_FOUND,
				"process %s of container %s: not found",
				exec_id ? exec_id : "", id);
		return NULL;
	}
	return p;
}

struct pod_process *task_process(struct shim *s, const char *id,
				 const char *exec_id, struct ttrpc_call *call)
{
	return find_process(s, id, exec_id, false, call);
}

struct pod_process *task_process_creating(struct shim *s, const char *id,
					  const char *exec_id,
					  struct ttrpc_call *call)
{
	return find_process(s, id, exec_id, true, call);
}
