/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RPC handlers, one per method, spread over agent/rpc-*.c by concern.
 * Each validates its request (naming the field that is wrong), stops there
 * in dry-run mode (the fuzzer), and then calls the container library.
 */
#ifndef HUSK_AGENT_RPC_H
#define HUSK_AGENT_RPC_H

#include "agent.h"

#define RPC_HANDLER(name)                                                    \
	void rpc_##name(struct ttrpc_call *call, const void *req_, void *ctx)

/* Find container @id or fail @call (INVALID_ARGUMENT / NOT_FOUND). */
struct container *rpc_container(struct agent *a, const char *id,
				struct ttrpc_call *call);
/* Find the process or fail @call. */
struct process *rpc_process(struct agent *a, const char *cid,
			    const char *exec_id, struct ttrpc_call *call);

/* In dry-run mode, answer an empty OK and return true. */
bool rpc_dry_run(struct agent *a, struct ttrpc_call *call);

RPC_HANDLER(check);
RPC_HANDLER(version);
RPC_HANDLER(create_sandbox);
RPC_HANDLER(destroy_sandbox);
RPC_HANDLER(create_container);
RPC_HANDLER(start_container);
RPC_HANDLER(remove_container);
RPC_HANDLER(exec_process);
RPC_HANDLER(signal_process);
RPC_HANDLER(wait_process);
RPC_HANDLER(update_container);
RPC_HANDLER(stats_container);
RPC_HANDLER(pause_container);
RPC_HANDLER(resume_container);
RPC_HANDLER(get_oom_event);
RPC_HANDLER(write_stdin);
RPC_HANDLER(read_stdout);
RPC_HANDLER(read_stderr);
RPC_HANDLER(close_stdin);
RPC_HANDLER(tty_win_resize);
RPC_HANDLER(update_interface);
RPC_HANDLER(update_routes);
RPC_HANDLER(list_interfaces);
RPC_HANDLER(list_routes);
RPC_HANDLER(add_arp_neighbors);
RPC_HANDLER(get_guest_details);
RPC_HANDLER(set_guest_date_time);
RPC_HANDLER(online_cpu_mem);
RPC_HANDLER(reseed_random_dev);
RPC_HANDLER(copy_file);

#endif
