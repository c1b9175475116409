// SPDX-License-Identifier: Apache-2.0
/*
 * The Task service table, and the lookups and conversions every handler
 * starts with.
 */
#include <string.h>

#include "shim.h"
#include "task.h"

#define SVC "containerd.task.v2.Task"

const struct ttrpc_method task_methods[] = {
	{ SVC, "State", &containerd__task__v2__state_request__descriptor,
	  task_state },
	{ SVC, "Create", &containerd__task__v2__create_task_request__descriptor,
	  task_create },
	{ SVC, "Start", &containerd__task__v2__start_request__descriptor,
	  task_start },
	{ SVC, "Delete", &containerd__task__v2__delete_request__descriptor,
	  task_delete },
	{ SVC, "Pids", &containerd__task__v2__pids_request__descriptor,
	  task_pids },
	{ SVC, "Pause", &containerd__task__v2__pause_request__descriptor,
	  task_pause },
	{ SVC, "Resume", &containerd__task__v2__resume_request__descriptor,
	  task_resume },
	{ SVC, "Checkpoint",
	  &containerd__task__v2__checkpoint_task_request__descriptor,
	  task_checkpoint },
	{ SVC, "Kill", &containerd__task__v2__kill_request__descriptor,
	  task_kill },
	{ SVC, "Exec", &containerd__task__v2__exec_process_request__descriptor,
	  task_exec },
	{ SVC, "ResizePty",
	  &containerd__task__v2__resize_pty_request__descriptor,
	  task_resize_pty },
	{ SVC, "CloseIO", &containerd__task__v2__close_iorequest__descriptor,
	  task_close_io },
	{ SVC, "Update", &containerd__task__v2__update_task_request__descriptor,
	  task_update },
	{ SVC, "Wait", &containerd__task__v2__wait_request__descriptor,
	  task_wait },
	{ SVC, "Stats", &containerd__task__v2__stats_request__descriptor,
	  task_stats },
	{ SVC, "Connect", &containerd__task__v2__connect_request__descriptor,
	  task_connect },
	{ SVC, "Shutdown", &containerd__task__v2__shutdown_request__descriptor,
	  task_shutdown },
};

const size_t task_n_methods = sizeof(task_methods) / sizeof(task_methods[0]);

void timestamp_set(Google__Protobuf__Timestamp *ts, const struct timespec *t)
{
	ts->seconds = t->tv_sec;
	ts->nanos = (int32_t)t->tv_nsec;
}

struct pod_container *task_container(struct shim *s, const char *id,
				     struct ttrpc_call *call)
{
	struct pod_container *c = id && *id ? pod_find(s->pod, id) : NULL;

	if (!c || c->state != POD_CONTAINER_READY) {
		ttrpc_call_fail(call, GRPC_NOT_FOUND, "container %s: not found",
				id ? id : "");
		return NULL;
	}
	return c;
}

struct pod_process *task_process(struct shim *s, const char *id,
				 const char *exec_id, struct ttrpc_call *call)
{
	struct pod_container *c = task_container(s, id, call);
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
