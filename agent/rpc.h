/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RPC handlers, one per method, spread over agent/rpc-*.c by concern.
 * Each validates its request (naming the field that is wrong), stops there
 * in dry-run mode (the fuzzer), and then calls the container library.
 */
#ifndef HUSK_AGENT_RPC_H
#define HUSK_AGENT_RPC_H

#include "agent.h"

/* Find container @id or fail @call (INVALID_ARGUMENT / NOT_FOUND). */
struct container *rpc_container(struct agent *a, const char *id,
				struct ttrpc_call *call);
/* Find the process or fail @call. */
struct process *rpc_process(struct agent *a, const char *cid,
			    const char *exec_id, struct ttrpc_call *call);

/* In dry-run mode, answer an empty OK and return true. */
bool rpc_dry_run(struct agent *a, struct ttrpc_call *call);

/*
 * The handlers, in the method table of rpc.c: each has the signature of
 * ttrpc_handler_fn, @msg is the decoded request of its method
 * (Grpc__<Method>Request) and @ctx the struct agent.  rpc_<method> in
 * agent/rpc-<concern>.c.
 */

void rpc_check(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_version(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_create_sandbox(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_destroy_sandbox(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_create_container(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_start_container(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_remove_container(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_exec_process(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_signal_process(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_wait_process(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_update_container(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_stats_container(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_pause_container(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_resume_container(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_get_oom_event(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_write_stdin(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_read_stdout(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_read_stderr(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_close_stdin(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_tty_win_resize(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_update_interface(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_update_routes(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_list_interfaces(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_list_routes(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_add_arp_neighbors(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_get_guest_details(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_set_guest_date_time(struct ttrpc_call *call, const void *msg,
			     void *ctx);
void rpc_online_cpu_mem(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_reseed_random_dev(struct ttrpc_call *call, const void *msg, void *ctx);
void rpc_copy_file(struct ttrpc_call *call, const void *msg, void *ctx);

#endif
