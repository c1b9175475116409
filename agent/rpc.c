// SPDX-License-Identifier: Apache-2.0
/*
 * The method table: every method of grpc.AgentService and grpc.Health from
 * the generated service descriptors, so each request is decoded with its
 * own message type, and every method without a handler answers
 * UNIMPLEMENTED with its name.
 */
#include <string.h>

#include "agent.pb-c.h"
#include "health.pb-c.h"
#include "rpc.h"
#include "util.h"

static const struct {
	const char *name;
	ttrpc_handler_fn fn;
} handlers[] = {
	{ "Check", rpc_check },
	{ "Version", rpc_version },
	{ "CreateSandbox", rpc_create_sandbox },
	{ "DestroySandbox", rpc_destroy_sandbox },
	{ "CreateContainer", rpc_create_container },
	{ "StartContainer", rpc_start_container },
	{ "RemoveContainer", rpc_remove_container },
	{ "ExecProcess", rpc_exec_process },
	{ "SignalProcess", rpc_signal_process },
	{ "WaitProcess", rpc_wait_process },
	{ "UpdateContainer", rpc_update_container },
	{ "StatsContainer", rpc_stats_container },
	{ "PauseContainer", rpc_pause_container },
	{ "ResumeContainer", rpc_resume_container },
	{ "GetOOMEvent", rpc_get_oom_event },
	{ "WriteStdin", rpc_write_stdin },
	{ "ReadStdout", rpc_read_stdout },
	{ "ReadStderr", rpc_read_stderr },
	{ "CloseStdin", rpc_close_stdin },
	{ "TtyWinResize", rpc_tty_win_resize },
	{ "UpdateInterface", rpc_update_interface },
	{ "UpdateRoutes", rpc_update_routes },
	{ "ListInterfaces", rpc_list_interfaces },
	{ "ListRoutes", rpc_list_routes },
	{ "AddARPNeighbors", rpc_add_arp_neighbors },
	{ "GetGuestDetails", rpc_get_guest_details },
	{ "SetGuestDateTime", rpc_set_guest_date_time },
	{ "OnlineCPUMem", rpc_online_cpu_mem },
	{ "ReseedRandomDev", rpc_reseed_random_dev },
	{ "CopyFile", rpc_copy_file },
};

static void rpc_unimplemented(struct ttrpc_call *call, const void *req,
			      void *ctx)
{
	ttrpc_call_fail(call, GRPC_UNIMPLEMENTED,
			"%s: not implemented by this agent",
			ttrpc_call_method(call));
}

static ttrpc_handler_fn handler_for(const char *service, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(handlers); i++)
		if (!strcmp(handlers[i].name, name))
			return handlers[i].fn;
	return rpc_unimplemented;
}

const struct ttrpc_method *agent_methods(size_t *n)
{
	static struct ttrpc_method *table;
	static size_t count;
	const ProtobufCServiceDescriptor *svcs[] = {
		&grpc__agent_service__descriptor,
		&grpc__health__descriptor,
	};

	if (!table) {
		size_t total = 0, k = 0;

		for (size_t s = 0; s < ARRAY_SIZE(svcs); s++)
			total += svcs[s]->n_methods;
		table = xcalloc(total, sizeof(*table));
		for (size_t s = 0; s < ARRAY_SIZE(svcs); s++)
			for (unsigned int i = 0; i < svcs[s]->n_methods; i++) {
				const ProtobufCMethodDescriptor *m =
					&svcs[s]->methods[i];

				table[k].service = svcs[s]->name;
				table[k].method = m->name;
				table[k].req_desc = m->input;
				table[k].handler =
					handler_for(svcs[s]->name, m->name);
				k++;
			}
		count = total;
	}
	*n = count;
	return table;
}

bool rpc_dry_run(struct agent *a, struct ttrpc_call *call)
{
	if (!a->dry_run)
		return false;
	ttrpc_call_reply(call, NULL);
	return true;
}

struct container *rpc_container(struct agent *a, const char *id,
				struct ttrpc_call *call)
{
	struct container *c;
	struct herr err;

	if (validate_id("container_id", id, &err) < 0) {
		ttrpc_call_fail_err(call, &err);
		return NULL;
	}
	c = container_find(a, id);
	if (!c)
		ttrpc_call_fail(call, GRPC_NOT_FOUND, "container %s: not found",
				id);
	return c;
}

struct process *rpc_process(struct agent *a, const char *cid,
			    const char *exec_id, struct ttrpc_call *call)
{
	struct container *c;
	struct process *p;
	struct herr err;

	if (validate_exec_id(exec_id, &err) < 0) {
		ttrpc_call_fail_err(call, &err);
		return NULL;
	}
	c = rpc_container(a, cid, call);
	if (!c)
		return NULL;
	p = process_find(c, exec_id, &err);
	if (!p)
		ttrpc_call_fail_err(call, &err);
	return p;
}
