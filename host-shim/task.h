/* SPDX-License-Identifier: Apache-2.0 */
/* The handlers of containerd.task.v2.Task, one file per group (task-*.c). */
#ifndef HUSK_SHIM_TASK_H
#define HUSK_SHIM_TASK_H

#include "ttrpc/server.h"

#define TASK_HANDLER(name) \
	void task_##name(struct ttrpc_call *call, const void *req_, void *ctx)

TASK_HANDLER(state);
TASK_HANDLER(create);
TASK_HANDLER(start);
TASK_HANDLER(delete);
TASK_HANDLER(pids);
TASK_HANDLER(pause);
TASK_HANDLER(resume);
TASK_HANDLER(checkpoint);
TASK_HANDLER(kill);
TASK_HANDLER(exec);
TASK_HANDLER(resize_pty);
TASK_HANDLER(close_io);
TASK_HANDLER(update);
TASK_HANDLER(wait);
TASK_HANDLER(stats);
TASK_HANDLER(connect);
TASK_HANDLER(shutdown);

#endif
