/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Typed, asynchronous calls to the guest agent (grpc.AgentService and
 * grpc.Health over ttRPC).  Every call has a timeout except the long polls
 * (WaitProcess, ReadStdout/ReadStderr, GetOOMEvent).  The callback runs
 * exactly once and never from inside the call, also when the call cannot
 * even be sent (the agent is gone), so callers have a single path.
 *
 * Replies are checked beyond what protobuf decoding guarantees: a reply
 * that breaks the protocol (more stdout than asked for, ...) closes the
 * connection as if the agent had died, and every pending call fails.
 */
#ifndef HUSK_HOST_AGENT_CLIENT_H
#define HUSK_HOST_AGENT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent.pb-c.h"
#include "err.h"
#include "evloop.h"
#include "health.pb-c.h"

/* Per-call timeouts (Kata uses 60 s for everything but the long polls). */
#define AGENT_TIMEOUT_MS 30000
#define AGENT_CREATE_TIMEOUT_MS 60000
/* ReadStdout/ReadStderr ask for this much at a time (Kata's bufSize). */
#define AGENT_READ_LEN 32768

struct agent_client;

/* @resp is the decoded reply (freed after the callback), NULL on error. */
typedef void (*agent_cb)(void *resp, const struct herr *err, void *data);

/*
 * One per sandbox, for its whole life (callbacks may run after a
 * connection is gone, never after the object is).  agent_connect() takes
 * ownership of a connected fd, replacing any earlier connection.
 */
struct agent_client *agent_new(struct evloop *loop);
int agent_connect(struct agent_client *a, int fd, struct herr *err);
void agent_free(struct agent_client *a);

/* Called once when the connection closes unexpectedly, with the reason. */
void agent_on_close(struct agent_client *a,
		    void (*cb)(const struct herr *why, void *data), void *data);

/*
 * Called when a call's timeout runs out (ours, or the agent's answer for
 * the deadline it was sent), before the call's callback: @cb
 * may extend @err (the timeout) with what the caller knows of why (the
 * guest's console, virtiofsd), so that the failure explains itself.
 */
void agent_on_timeout(struct agent_client *a,
		      void (*cb)(const char *method, struct herr *err,
				 void *data),
		      void *data);

/* Close now: pending calls fail with @why (no on_close callback). */
void agent_shutdown(struct agent_client *a, const struct herr *why);

bool agent_alive(const struct agent_client *a);

void agent_check(struct agent_client *a, long long timeout_ms, agent_cb cb,
		 void *data);
void agent_create_sandbox(struct agent_client *a,
			  const Grpc__CreateSandboxRequest *r, agent_cb cb,
			  void *data);
/* The pod's network, before CreateSandbox (host/pod-net.c). */
void agent_update_interface(struct agent_client *a,
			    const Grpc__UpdateInterfaceRequest *r, agent_cb cb,
			    void *data);
void agent_update_routes(struct agent_client *a,
			 const Grpc__UpdateRoutesRequest *r, agent_cb cb,
			 void *data);
void agent_add_arp_neighbors(struct agent_client *a,
			     const Grpc__AddARPNeighborsRequest *r, agent_cb cb,
			     void *data);
void agent_destroy_sandbox(struct agent_client *a, long long timeout_ms,
			   agent_cb cb, void *data);
void agent_create_container(struct agent_client *a,
			    const Grpc__CreateContainerRequest *r, agent_cb cb,
			    void *data);
void agent_start_container(struct agent_client *a, const char *cid, agent_cb cb,
			   void *data);
void agent_remove_container(struct agent_client *a, const char *cid,
			    agent_cb cb, void *data);
void agent_exec_process(struct agent_client *a,
			const Grpc__ExecProcessRequest *r, agent_cb cb,
			void *data);
void agent_signal_process(struct agent_client *a, const char *cid,
			  const char *eid, uint32_t sig, agent_cb cb,
			  void *data);
/* Reply: Grpc__WaitProcessResponse. No timeout. */
void agent_wait_process(struct agent_client *a, const char *cid,
			const char *eid, agent_cb cb, void *data);
/* Reply: Grpc__ReadStreamResponse, data.len <= AGENT_READ_LEN. No timeout. */
void agent_read_stream(struct agent_client *a, bool is_stderr, const char *cid,
		       const char *eid, agent_cb cb, void *data);
void agent_write_stdin(struct agent_client *a, const char *cid, const char *eid,
		       const uint8_t *buf, size_t len, agent_cb cb, void *data);
void agent_close_stdin(struct agent_client *a, const char *cid, const char *eid,
		       agent_cb cb, void *data);
void agent_tty_resize(struct agent_client *a, const char *cid, const char *eid,
		      uint32_t rows, uint32_t cols, agent_cb cb, void *data);
void agent_pause_container(struct agent_client *a, const char *cid, agent_cb cb,
			   void *data);
void agent_resume_container(struct agent_client *a, const char *cid,
			    agent_cb cb, void *data);
void agent_update_container(struct agent_client *a, const char *cid,
			    Grpc__LinuxResources *res, agent_cb cb, void *data);
/* Reply: Grpc__StatsContainerResponse. */
void agent_stats_container(struct agent_client *a, const char *cid, agent_cb cb,
			   void *data);
/* Online @nb_cpus offline CPUs (Kata: the number added) and every
 * offline memory block. */
void agent_online_cpu_mem(struct agent_client *a, uint32_t nb_cpus, agent_cb cb,
			  void *data);
/* Reply: Grpc__OOMEvent. No timeout. */
void agent_get_oom_event(struct agent_client *a, agent_cb cb, void *data);

#endif
