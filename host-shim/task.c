// SPDX-License-Identifier: Apache-2.0
/* The Task service table and the lookups every handler starts with. */
#include <string.h>

#include "shim.h"
#include "task.h"

#define SVC "containerd.task.v2.Task"
#define M(name, fn, desc)                                               \
	{                                                               \
		SVC, name, &containerd__task__v2__##desc##__descriptor, \
			task_##fn                                       \
	}

const struct ttrpc_method task_methods[] = {
	M("State", state, state_request),
	M("Create", create, create_task_request),
	M("Start", start, start_request),
	M("Delete", delete, delete_request),
	M("Pids", pids, pids_request),
	M("Pause", pause, pause_request),
	M("Resume", resume, resume_request),
	M("Checkpoint", checkpoint, checkpoint_task_request),
	M("Kill", kill, kill_request),
	M("Exec", exec, exec_process_request),
	M("ResizePty", resize_pty, resize_pty_request),
	M("CloseIO", close_io, close_iorequest),
	M("Update", update, update_task_request),
	M("Wait", wait, wait_request),
	M("Stats", stats, stats_request),
	M("Connect", connect, connect_request),
	M("Shutdown", shutdown, shutdown_request),
};

const size_t task_n_methods = sizeof(task_methods) / sizeof(task_methods[0]);

struct container *task_container(struct shim *s, const char *id,
				 struct ttrpc_call *call)
{
	struct container *c = id && *id ? sandbox_find(s->sb, id) : NULL;

	if (!c || c->state != CT_READY) {
		ttrpc_call_fail(call, GRPC_NOT_FOUND, "container %s: not found",
				id ? id : "");
		return NULL;
	}
	return c;
}

struct process *task_process(struct shim *s, const char *id,
			     const char *exec_id, struct ttrpc_call *call)
{
	struct container *c = task_container(s, id, call);
	struct process *p;

	if (!c)
		return NULL;
	p = container_find_process(c, exec_id);
	if (!p) {
		ttrpc_call_fail(call, GRPC_NOT_FOUND,
				"process %s of container %s: not found",
				exec_id ? exec_id : "", id);
		return NULL;
	}
	return p;
}
