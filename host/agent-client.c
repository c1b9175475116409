// SPDX-License-Identifier: Apache-2.0
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-client.h"
#include "ttrpc/client.h"
#include "log.h"
#include "util.h"

#define SVC "grpc.AgentService"
/* The agent's deadline timer starts when the request arrives. */
#define AGENT_DEADLINE_SLACK_MS 1000

struct agent_client {
	struct evloop *loop;
	struct ttrpc_client *cl; /* NULL once closed */
	struct herr gone; /* why it closed */
	bool closing; /* we closed it: no on_close callback */
	bool self_free; /* we are freeing the client ourselves */
	void (*close_cb)(const struct herr *why, void *data);
	void *close_data;
	void (*timeout_cb)(const char *method, struct herr *err, void *data);
	void *timeout_data;
};

/* One call in flight: the typed check runs before the user callback. */
struct agent_op {
	struct agent_client *a;
	agent_cb cb;
	void *data;
	int (*check)(struct agent_op *op, void *resp, struct herr *err);
	const char *method; /* a string literal */
	long long deadline; /* now_ms() + the call's timeout, or 0 */
	uint32_t want_len; /* ReadStream: the len asked for */
	struct herr err; /* deferred failure */
};

static void on_client_close(struct ttrpc_client *cl, void *data)
{
	struct agent_client *a = data;
	bool notify = !a->closing;

	if (a->cl == cl)
		a->cl = NULL;
	if (!a->gone.msg[0])
		herr_set(&a->gone, GRPC_UNAVAILABLE, 0,
			 "agent connection closed");
	/* The client defers its own free until this callback returns. */
	if (!a->self_free)
		ttrpc_client_free(cl);
	if (notify && a->close_cb)
		a->close_cb(&a->gone, a->close_data);
}

struct agent_client *agent_new(struct evloop *loop)
{
	struct agent_client *a = xcalloc(1, sizeof(*a));

	a->loop = loop;
	herr_set(&a->gone, GRPC_UNAVAILABLE, 0, "agent is not connected");
	return a;
}

int agent_connect(struct agent_client *a, int fd, struct herr *err)
{
	agent_shutdown(a, NULL);
	a->cl = ttrpc_client_new(a->loop, fd, fd);
	if (!a->cl) {
		close(fd);
		return herr_set(err, GRPC_INTERNAL, 0,
				"agent: cannot watch the connection");
	}
	herr_clear(&a->gone);
	ttrpc_client_on_close(a->cl, on_client_close, a);
	return 0;
}

void agent_on_close(struct agent_client *a,
		    void (*cb)(const struct herr *why, void *data), void *data)
{
	a->close_cb = cb;
	a->close_data = data;
}

void agent_on_timeout(struct agent_client *a,
		      void (*cb)(const char *method, struct herr *err,
				 void *data),
		      void *data)
{
	a->timeout_cb = cb;
	a->timeout_data = data;
}

/* Free the client ourselves; pending calls fail (their callbacks run now). */
static void drop_client(struct agent_client *a, bool notify)
{
	struct ttrpc_client *cl = a->cl;

	a->cl = NULL;
	a->closing = !notify;
	a->self_free = true;
	ttrpc_client_free(cl);
	a->self_free = false;
	a->closing = false;
}

void agent_shutdown(struct agent_client *a, const struct herr *why)
{
	if (!a || !a->cl)
		return;
	if (why)
		a->gone = *why;
	else
		herr_set(&a->gone, GRPC_UNAVAILABLE, 0, "agent: disconnected");
	drop_client(a, false);
}

void agent_free(struct agent_client *a)
{
	if (!a)
		return;
	agent_shutdown(a, NULL);
	free(a);
}

bool agent_alive(const struct agent_client *a)
{
	return a && a->cl && !ttrpc_client_closed(a->cl);
}

/* A reply broke the protocol: treat the agent as dead. */
static void protocol_error(struct agent_client *a, const struct herr *why)
{
	if (!a->cl)
		return;
	log_error("agent: %s; closing the connection", why->msg);
	a->gone = *why;
	/* The sandbox must hear about it: notify. */
	drop_client(a, true);
}

/*
 * The call's timeout ran out: ours fired, or the agent's server answered
 * DEADLINE_EXCEEDED for the deadline we sent it (timeout_nano), which
 * under TCG's clocks can come first.  An agent's own DEADLINE_EXCEEDED
 * well before that (RemoveContainer's processes) is an answer, not this.
 */
static bool timed_out(const struct agent_op *op, const struct herr *err)
{
	return ttrpc_timed_out(err) ||
	       (err && err->code == GRPC_DEADLINE_EXCEEDED && op->deadline &&
		now_ms() >= op->deadline - AGENT_DEADLINE_SLACK_MS);
}

static void op_done(void *resp, const struct herr *err, void *data)
{
	struct agent_op *op = data;
	struct herr check_err;

	if (!err && op->check && op->check(op, resp, &check_err) < 0) {
		op->cb(NULL, &check_err, op->data);
		protocol_error(op->a, &check_err);
		free(op);
		return;
	}
	if (timed_out(op, err) && op->a->timeout_cb) {
		struct herr why = *err;

		op->a->timeout_cb(op->method, &why, op->a->timeout_data);
		op->cb(NULL, &why, op->data);
		free(op);
		return;
	}
	op->cb(resp, err, op->data);
	free(op);
}

static void op_deferred_fail(struct evloop *loop, void *data)
{
	struct agent_op *op = data;

	(void)loop;
	op->cb(NULL, &op->err, op->data);
	free(op);
}

static void call(struct agent_client *a, const char *service,
		 const char *method, const ProtobufCMessage *req,
		 const ProtobufCMessageDescriptor *resp_desc, long long timeout,
		 struct agent_op *op)
{
	op->a = a;
	op->method = method;
	op->deadline = timeout > 0 ? now_ms() + timeout : 0;
	if (!a->cl) {
		herr_set(&op->err,
			 a->gone.code ? a->gone.code : GRPC_UNAVAILABLE, 0,
			 "%s: %s", method,
			 a->gone.msg[0] ? a->gone.msg
					: "agent is not connected");
	} else if (ttrpc_client_call(a->cl, service, method, req, resp_desc,
				     timeout, op_done, op, &op->err) == 0) {
		return;
	}
	evloop_timer(a->loop, 0, op_deferred_fail, op);
}

static struct agent_op *op_new(agent_cb cb, void *data)
{
	struct agent_op *op = xcalloc(1, sizeof(*op));

	op->cb = cb;
	op->data = data;
	return op;
}

void agent_check(struct agent_client *a, long long timeout_ms, agent_cb cb,
		 void *data)
{
	Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;

	call(a, "grpc.Health", "Check", &req.base,
	     &grpc__health_check_response__descriptor, timeout_ms,
	     op_new(cb, data));
}

void agent_create_sandbox(struct agent_client *a,
			  const Grpc__CreateSandboxRequest *r, agent_cb cb,
			  void *data)
{
	call(a, SVC, "CreateSandbox", &r->base, NULL, AGENT_TIMEOUT_MS,
	     op_new(cb, data));
}

void agent_update_interface(struct agent_client *a,
			    const Grpc__UpdateInterfaceRequest *r, agent_cb cb,
			    void *data)
{
	call(a, SVC, "UpdateInterface", &r->base, NULL, AGENT_TIMEOUT_MS,
	     op_new(cb, data));
}

void agent_update_routes(struct agent_client *a,
			 const Grpc__UpdateRoutesRequest *r, agent_cb cb,
			 void *data)
{
	call(a, SVC, "UpdateRoutes", &r->base, NULL, AGENT_TIMEOUT_MS,
	     op_new(cb, data));
}

void agent_add_arp_neighbors(struct agent_client *a,
			     const Grpc__AddARPNeighborsRequest *r, agent_cb cb,
			     void *data)
{
	call(a, SVC, "AddARPNeighbors", &r->base, NULL, AGENT_TIMEOUT_MS,
	     op_new(cb, data));
}

void agent_destroy_sandbox(struct agent_client *a, long long timeout_ms,
			   agent_cb cb, void *data)
{
	Grpc__DestroySandboxRequest req = GRPC__DESTROY_SANDBOX_REQUEST__INIT;

	call(a, SVC, "DestroySandbox", &req.base, NULL, timeout_ms,
	     op_new(cb, data));
}

void agent_create_container(struct agent_client *a,
			    const Grpc__CreateContainerRequest *r, agent_cb cb,
			    void *data)
{
	call(a, SVC, "CreateContainer", &r->base, NULL, AGENT_CREATE_TIMEOUT_MS,
	     op_new(cb, data));
}

void agent_start_container(struct agent_client *a, const char *cid, agent_cb cb,
			   void *data)
{
	Grpc__StartContainerRequest req = GRPC__START_CONTAINER_REQUEST__INIT;

	req.container_id = (char *)cid;
	call(a, SVC, "StartContainer", &req.base, NULL, AGENT_TIMEOUT_MS,
	     op_new(cb, data));
}

void agent_remove_container(struct agent_client *a, const char *cid,
			    agent_cb cb, void *data)
{
	Grpc__RemoveContainerRequest req = GRPC__REMOVE_CONTAINER_REQUEST__INIT;

	req.container_id = (char *)cid;
	call(a, SVC, "RemoveContainer", &req.base, NULL, AGENT_TIMEOUT_MS,
	     op_new(cb, data));
}

void agent_exec_process(struct agent_client *a,
			const Grpc__ExecProcessRequest *r, agent_cb cb,
			void *data)
{
	call(a, SVC, "ExecProcess", &r->base, NULL, AGENT_TIMEOUT_MS,
	     op_new(cb, data));
}

void agent_signal_process(struct agent_client *a, const char *cid,
			  const char *eid, uint32_t sig, agent_cb cb,
			  void *data)
{
	Grpc__SignalProcessRequest req = GRPC__SIGNAL_PROCESS_REQUEST__INIT;

	req.container_id = (char *)cid;
	req.exec_id = (char *)eid;
	req.signal = sig;
	call(a, SVC, "SignalProcess", &req.base, NULL, AGENT_TIMEOUT_MS,
	     op_new(cb, data));
}

void agent_wait_process(struct agent_client *a, const char *cid,
			const char *eid, agent_cb cb, void *data)
{
	Grpc__WaitProcessRequest req = GRPC__WAIT_PROCESS_REQUEST__INIT;

	req.container_id = (char *)cid;
	req.exec_id = (char *)eid;
	call(a, SVC, "WaitProcess", &req.base,
	     &grpc__wait_process_response__descriptor, 0, op_new(cb, data));
}

static int check_read(struct agent_op *op, void *resp, struct herr *err)
{
	const Grpc__ReadStreamResponse *r = resp;

	if (r->data.len > op->want_len)
		return herr_set(
			err, GRPC_DATA_LOSS, 0,
			"agent sent %zu bytes of output for a read of %u",
			r->data.len, op->want_len);
	return 0;
}

void agent_read_stream(struct agent_client *a, bool is_stderr, const char *cid,
		       const char *eid, agent_cb cb, void *data)
{
	Grpc__ReadStreamRequest req = GRPC__READ_STREAM_REQUEST__INIT;
	struct agent_op *op = op_new(cb, data);

	req.container_id = (char *)cid;
	req.exec_id = (char *)eid;
	req.len = AGENT_READ_LEN;
	op->check = check_read;
	op->want_len = AGENT_READ_LEN;
	call(a, SVC, is_stderr ? "ReadStderr" : "ReadStdout", &req.base,
	     &grpc__read_stream_response__descriptor, 0, op);
}

static int check_write(struct agent_op *op, void *resp, struct herr *err)
{
	const Grpc__WriteStreamResponse *r = resp;

	if (r->len > op->want_len)
		return herr_set(err, GRPC_DATA_LOSS, 0,
				"agent claims %u bytes of stdin written of %u",
				r->len, op->want_len);
	return 0;
}

void agent_write_stdin(struct agent_client *a, const char *cid, const char *eid,
		       const uint8_t *buf, size_t len, agent_cb cb, void *data)
{
	Grpc__WriteStreamRequest req = GRPC__WRITE_STREAM_REQUEST__INIT;
	struct agent_op *op = op_new(cb, data);

	req.container_id = (char *)cid;
	req.exec_id = (char *)eid;
	req.data.data = (uint8_t *)buf;
	req.data.len = len;
	op->check = check_write;
	op->want_len = (uint32_t)len;
	call(a, SVC, "WriteStdin", &req.base,
	     &grpc__write_stream_response__descriptor, AGENT_TIMEOUT_MS, op);
}

void agent_close_stdin(struct agent_client *a, const char *cid, const char *eid,
		       agent_cb cb, void *data)
{
	Grpc__CloseStdinRequest req = GRPC__CLOSE_STDIN_REQUEST__INIT;

	req.container_id = (char *)cid;
	req.exec_id = (char *)eid;
	call(a, SVC, "CloseStdin", &req.base, NULL, AGENT_TIMEOUT_MS,
	     op_new(cb, data));
}

void agent_tty_resize(struct agent_client *a, const char *cid, const char *eid,
		      uint32_t rows, uint32_t cols, agent_cb cb, void *data)
{
	Grpc__TtyWinResizeRequest req = GRPC__TTY_WIN_RESIZE_REQUEST__INIT;

	req.container_id = (char *)cid;
	req.exec_id = (char *)eid;
	req.row = rows;
	req.column = cols;
	call(a, SVC, "TtyWinResize", &req.base, NULL, AGENT_TIMEOUT_MS,
	     op_new(cb, data));
}

void agent_pause_container(struct agent_client *a, const char *cid, agent_cb cb,
			   void *data)
{
	Grpc__PauseContainerRequest req = GRPC__PAUSE_CONTAINER_REQUEST__INIT;

	req.container_id = (char *)cid;
	call(a, SVC, "PauseContainer", &req.base, NULL, AGENT_TIMEOUT_MS,
	     op_new(cb, data));
}

void agent_resume_container(struct agent_client *a, const char *cid,
			    agent_cb cb, void *data)
{
	Grpc__ResumeContainerRequest req = GRPC__RESUME_CONTAINER_REQUEST__INIT;

	req.container_id = (char *)cid;
	call(a, SVC, "ResumeContainer", &req.base, NULL, AGENT_TIMEOUT_MS,
	     op_new(cb, data));
}

void agent_update_container(struct agent_client *a, const char *cid,
			    Grpc__LinuxResources *res, agent_cb cb, void *data)
{
	Grpc__UpdateContainerRequest req = GRPC__UPDATE_CONTAINER_REQUEST__INIT;

	req.container_id = (char *)cid;
	req.resources = res;
	call(a, SVC, "UpdateContainer", &req.base, NULL, AGENT_TIMEOUT_MS,
	     op_new(cb, data));
}

void agent_online_cpu_mem(struct agent_client *a, uint32_t nb_cpus, agent_cb cb,
			  void *data)
{
	Grpc__OnlineCPUMemRequest req = GRPC__ONLINE_CPUMEM_REQUEST__INIT;

	req.wait = true;
	req.nb_cpus = nb_cpus;
	call(a, SVC, "OnlineCPUMem", &req.base, NULL, AGENT_TIMEOUT_MS,
	     op_new(cb, data));
}

void agent_stats_container(struct agent_client *a, const char *cid, agent_cb cb,
			   void *data)
{
	Grpc__StatsContainerRequest req = GRPC__STATS_CONTAINER_REQUEST__INIT;

	req.container_id = (char *)cid;
	call(a, SVC, "StatsContainer", &req.base,
	     &grpc__stats_container_response__descriptor, AGENT_TIMEOUT_MS,
	     op_new(cb, data));
}

void agent_get_oom_event(struct agent_client *a, agent_cb cb, void *data)
{
	Grpc__GetOOMEventRequest req = GRPC__GET_OOMEVENT_REQUEST__INIT;

	call(a, SVC, "GetOOMEvent", &req.base, &grpc__oomevent__descriptor, 0,
	     op_new(cb, data));
}
