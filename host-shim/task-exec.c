// SPDX-License-Identifier: Apache-2.0
/*
 * Exec registers a process (its spec arrives as JSON inside an Any) and
 * opens its FIFOs; it runs at Start{exec_id}.  Publishes /tasks/exec-added.
 */
#include <string.h>

#include "containerd/events/task.pb-c.h"
#include "events.h"
#include "shim.h"
#include "task.h"

#define EXEC_ID_MAX 128

static int check_exec_id(const char *id, struct herr *err)
{
	size_t n = strlen(id);

	if (n == 0 || n > EXEC_ID_MAX)
		return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
				"exec id: must be 1 to %d characters",
				EXEC_ID_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] <= ' ' ||
		    (unsigned char)id[i] >= 0x7f || id[i] == '/')
			return herr_set(err, GRPC_INVALID_ARGUMENT, 0,
					"exec id \"%s\": only printable "
					"characters, no '/'",
					id);
	return 0;
}

void task_exec(struct ttrpc_call *call, const void *req_, void *ctx)
{
	const Containerd__Task__V2__ExecProcessRequest *req = req_;
	Containerd__Events__TaskExecAdded ev =
		CONTAINERD__EVENTS__TASK_EXEC_ADDED__INIT;
	struct shim *s = ctx;
	struct pod_container *c = task_container(s, req->id, call);
	Grpc__Process *spec = NULL;
	struct pod_process *p;
	struct herr err;

	if (!c)
		return;
	if (check_exec_id(req->exec_id, &err) < 0)
		goto fail;
	if (pod_container_find_process(c, req->exec_id)) {
		herr_set(&err, GRPC_ALREADY_EXISTS, 0, "already exists");
		goto fail;
	}
	if (!req->spec || !req->spec->value.len) {
		herr_set(&err, GRPC_INVALID_ARGUMENT, 0, "no process spec");
		goto fail;
	}
	if (spec_process_from_json((const char *)req->spec->value.data,
				   req->spec->value.len, &spec, &err) < 0) {
		herr_prefix(&err, "process spec");
		goto fail;
	}
	spec->terminal = req->terminal;
	if (!spec->terminal && spec->consolesize) {
		protobuf_c_message_free_unpacked(&spec->consolesize->base,
						 NULL);
		spec->consolesize = NULL;
	}
	p = pod_process_new(c, req->exec_id, req->terminal);
	p->exec_spec = spec;
	shim_process_new(p, req->stdin, req->stdout, req->stderr);
	if (shim_stdio_open(p->fe, &err) < 0) {
		p->removed = true;
		pod_process_unref(p);
		goto fail;
	}
	pod_container_add_exec(c, p);
	ev.container_id = c->id;
	ev.exec_id = p->exec_id;
	events_publish(s->events, "/tasks/exec-added", &ev.base);
	ttrpc_call_reply(call, NULL);
	return;
fail:
	ttrpc_call_fail(call, err.code, "exec %s in %s: %s", req->exec_id,
			req->id, err.msg);
}
