/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The handlers of containerd.task.v2.Task, one file per group (task-*.c),
 * listed in task.c's method table.  Each gets the decoded request and the
 * shim, and answers the call now or from an agent reply.
 */
#ifndef HUSK_SHIM_TASK_H
#define HUSK_SHIM_TASK_H

#include "ttrpc/server.h"

void task_state(struct ttrpc_call *call, const void *req_, void *ctx);
void task_create(struct ttrpc_call *call, const void *req_, void *ctx);
void task_start(struct ttrpc_call *call, const void *req_, void *ctx);
void task_delete(struct ttrpc_call *call, const void *req_, void *ctx);
void task_pids(struct ttrpc_call *call, const void *req_, void *ctx);
void task_pause(struct ttrpc_call *call, const void *req_, void *ctx);
void task_resume(struct ttrpc_call *call, const void *req_, void *ctx);
void task_checkpoint(struct ttrpc_call *call, const void *req_, void *ctx);
void task_kill(struct ttrpc_call *call, const void *req_, void *ctx);
void task_exec(struct ttrpc_call *call, const void *req_, void *ctx);
void task_resize_pty(struct ttrpc_call *call, const void *req_, void *ctx);
void task_close_io(struct ttrpc_call *call, const void *req_, void *ctx);
void task_update(struct ttrpc_call *call, const void *req_, void *ctx);
void task_wait(struct ttrpc_call *call, const void *req_, void *ctx);
void task_stats(struct ttrpc_call *call, const void *req_, void *ctx);
void task_connect(struct ttrpc_call *call, const void *req_, void *ctx);
void task_shutdown(struct ttrpc_call *call, const void *req_, void *ctx);

#endif
