// SPDX-License-Identifier: Apache-2.0
/*
 * The host library's agent client (host/agent-client.c) against an
 * in-process agent stand-in: typed replies arrive, a reply that breaks the
 * protocol (more output than asked for) fails the call and closes the
 * connection as if the agent had died, and a call without a connection still
 * answers through its callback, never from inside the call.  A call whose own
 * timeout runs out goes through the timeout hook first (which extends its
 * error: the pod adds the console and virtiofsd there); a DEADLINE_EXCEEDED
 * the agent answers with does not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent-client.h"
#include "ttrpc/server.h"
#include "util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

#pragma GCC diagnostic ignored "-Wsign-compare"

static size_t reply_len; /* bytes ReadStdout answers with */

static void read_stdout(struct ttrpc_call *call, const void *req_, void *ctx)
{
	Grpc__ReadStreamResponse r = GRPC__READ_STREAM_RESPONSE__INIT;
	uint8_t *buf = calloc(1, reply_len + 1);

	r.data.data = buf;
	r.data.len = reply_len;
	ttrpc_call_reply(call, &r.base);
	free(buf);
}

static void wait_process(struct ttrpc_call *call, const void *req_, void *ctx)
{
	const Grpc__WaitProcessRequest *req = req_;
	Grpc__WaitProcessResponse r = GRPC__WAIT_PROCESS_RESPONSE__INIT;

	r.status = !strcmp(req->exec_id, "e7") ? 7 : 0;
	ttrpc_call_reply(call, &r.base);
}

/* Health.Check is never answered: the call's own timeout must end it. */
static struct ttrpc_call *parked;

static void check_never(struct ttrpc_call *call, const void *req_, void *ctx)
{
	parked = call;
}

static void remove_deadline(struct ttrpc_call *call, const void *req_,
			    void *ctx)
{
	ttrpc_call_fail(call, GRPC_DEADLINE_EXCEEDED,
			"container c1: processes did not exit in time");
}

static const struct ttrpc_method methods[] = {
	{ "grpc.Health", "Check", &grpc__check_request__descriptor,
	  check_never },
	{ "grpc.AgentService", "RemoveContainer",
	  &grpc__remove_container_request__descriptor, remove_deadline },
	{ "grpc.AgentService", "ReadStdout",
	  &grpc__read_stream_request__descriptor, read_stdout },
	{ "grpc.AgentService", "WaitProcess",
	  &grpc__wait_process_request__descriptor, wait_process },
};

struct result {
	int done;
	int code;
	char msg[HERR_MSG_MAX];
	long long status;
	size_t len;
	int closed;
};

static void on_reply(void *resp, const struct herr *err, void *data)
{
	struct result *r = data;

	r->done++;
	r->code = err ? err->code : 0;
	snprintf(r->msg, sizeof(r->msg), "%s", err ? err->msg : "");
}

static void on_read(void *resp, const struct herr *err, void *data)
{
	struct result *r = data;

	on_reply(resp, err, data);
	if (resp)
		r->len = ((Grpc__ReadStreamResponse *)resp)->data.len;
}

static void on_wait(void *resp, const struct herr *err, void *data)
{
	struct result *r = data;

	on_reply(resp, err, data);
	if (resp)
		r->status = ((Grpc__WaitProcessResponse *)resp)->status;
}

static void on_closed(const struct herr *why, void *data)
{
	((struct result *)data)->closed++;
}

FIXTURE(ag)
{
	struct evloop *loop;
	struct ttrpc_server *srv;
	struct agent_client *a;
	struct result closes;
};

FIXTURE_SETUP(ag)
{
	int sv[2];
	struct herr err;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	self->loop = evloop_new();
	self->srv = ttrpc_server_new(self->loop, methods, ARRAY_SIZE(methods),
				     NULL);
	ASSERT_EQ(0, ttrpc_server_add_conn(self->srv, sv[1], sv[1], &err));
	self->a = agent_new(self->loop);
	memset(&self->closes, 0, sizeof(self->closes));
	agent_on_close(self->a, on_closed, &self->closes);
	ASSERT_EQ(0, agent_connect(self->a, sv[0], &err));
}

FIXTURE_TEARDOWN(ag)
{
	agent_free(self->a);
	ttrpc_server_free(self->srv);
	evloop_free(self->loop);
}

static void run_until(struct evloop *loop, int *done, int want)
{
	long long end = now_ms() + 3000;

	while (*done < want && now_ms() < end)
		evloop_run_once(loop, 20);
}

TEST_F(ag, typed_replies)
{
	struct result r = { 0 }, w = { 0 };

	reply_len = 100;
	agent_read_stream(self->a, false, "c1", "c1", on_read, &r);
	agent_wait_process(self->a, "c1", "e7", on_wait, &w);
	run_until(self->loop, &r.done, 1);
	run_until(self->loop, &w.done, 1);
	EXPECT_EQ(0, r.code);
	EXPECT_EQ(100, r.len);
	EXPECT_EQ(0, w.code);
	EXPECT_EQ(7, w.status);
	EXPECT_TRUE(agent_alive(self->a));
	EXPECT_EQ(0, self->closes.closed);
}

TEST_F(ag, oversized_output_closes_the_connection)
{
	struct result r = { 0 }, w = { 0 };

	reply_len = AGENT_READ_LEN + 1;
	agent_read_stream(self->a, false, "c1", "c1", on_read, &r);
	run_until(self->loop, &r.done, 1);
	EXPECT_EQ(1, r.done);
	EXPECT_EQ(GRPC_DATA_LOSS, r.code);
	EXPECT_FALSE(agent_alive(self->a));
	EXPECT_EQ(1, self->closes.closed);
	/* Later calls fail too, through their callback. */
	agent_wait_process(self->a, "c1", "c1", on_wait, &w);
	EXPECT_EQ(0, w.done);
	run_until(self->loop, &w.done, 1);
	EXPECT_EQ(1, w.done);
	EXPECT_NE(0, w.code);
}

TEST_F(ag, shutdown_fails_pending_calls_without_close_callback)
{
	struct result w = { 0 }, r = { 0 };
	struct herr why;

	/* Shut down before the loop runs: the call is still pending. */
	agent_wait_process(self->a, "c1", "e1", on_wait, &w);
	herr_set(&why, GRPC_UNAVAILABLE, 0, "VM killed");
	agent_shutdown(self->a, &why);
	EXPECT_EQ(1, w.done);
	EXPECT_EQ(GRPC_UNAVAILABLE, w.code);
	EXPECT_EQ(0, self->closes.closed);
	agent_read_stream(self->a, true, "c1", "c1", on_read, &r);
	EXPECT_EQ(0, r.done);
	run_until(self->loop, &r.done, 1);
	EXPECT_EQ(GRPC_UNAVAILABLE, r.code);
}

static int hook_calls;
static char hook_method[64];

static void on_timeout(const char *method, struct herr *err, void *data)
{
	char msg[HERR_MSG_MAX];

	hook_calls++;
	snprintf(hook_method, sizeof(hook_method), "%s", method);
	snprintf(msg, sizeof(msg), "%s", err->msg);
	herr_set(err, err->code, 0, "%s; %s", msg, (const char *)data);
}

TEST_F(ag, a_timeout_goes_through_the_hook)
{
	struct result r = { 0 }, m = { 0 };

	hook_calls = 0;
	agent_on_timeout(self->a, on_timeout, "virtiofsd 1: 1x S");
	agent_check(self->a, 200, on_reply, &r);
	run_until(self->loop, &r.done, 1);
	ASSERT_EQ(1, r.done);
	EXPECT_EQ(GRPC_DEADLINE_EXCEEDED, r.code);
	EXPECT_EQ(1, hook_calls);
	EXPECT_STREQ("Check", hook_method);
	/*
	 * Ours ("no reply within 200 ms") or the server's answer for the
	 * deadline it was sent ("timeout"): whichever fired first.
	 */
	EXPECT_NE(NULL, strstr(r.msg, "; virtiofsd 1: 1x S"));
	EXPECT_TRUE(!strcmp(r.msg, "grpc.Health.Check: no reply within 200 ms; "
				   "virtiofsd 1: 1x S") ||
		    !strcmp(r.msg, "timeout; virtiofsd 1: 1x S"));
	/* The agent's own DEADLINE_EXCEEDED is its answer, not our timeout. */
	agent_remove_container(self->a, "c1", on_reply, &m);
	run_until(self->loop, &m.done, 1);
	EXPECT_EQ(GRPC_DEADLINE_EXCEEDED, m.code);
	EXPECT_EQ(1, hook_calls);
	EXPECT_STREQ("container c1: processes did not exit in time", m.msg);
	EXPECT_TRUE(agent_alive(self->a));
}

TEST_HARNESS_MAIN
