// SPDX-License-Identifier: Apache-2.0
/*
 * ttRPC client: against the real server ("test.Echo") on a socketpair and
 * one event loop, and against a raw server that reads the client's frames
 * and answers by hand, for exact control over ids, order and bytes.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "ttrpc/client.h"
#include "ttrpc_test_util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

/* One completed call, as the callback saw it. */
struct result {
	int done; /* callback runs (must end up exactly 1) */
	int code; /* GRPC_OK or the error's code */
	char msg[HERR_MSG_MAX];
	char service[64]; /* Request.service of an Echo reply */
	int64_t tn; /* Request.timeout_nano of an Echo reply */
	char value[64]; /* KeyValue.value of a KeyValue reply */
	size_t payload_len; /* Request.payload of an Echo/Big reply */
	size_t pattern_ok; /* bytes of that payload matching the pattern */
	long long at; /* now_ms() when it ran */
	int closed_before; /* on_close runs seen when this one ran */
};

FIXTURE(cli)
{
	struct evloop *loop;
	struct ttrpc_server *srv;
	struct svc svc;
	struct ttrpc_client *cl;
	struct raw_peer peer; /* the raw server, for tests that use it */
	int closes;
	struct result r[64];
};

static void count_close(struct ttrpc_client *cl, void *data)
{
	int *n = data;

	(*n)++;
}

FIXTURE_SETUP(cli)
{
	self->peer.fd = -1;
	self->loop = evloop_new();
	ASSERT_NE(NULL, self->loop);
	self->svc.loop = self->loop;
	self->srv = ttrpc_server_new(self->loop, svc_methods,
				     ARRAY_SIZE(svc_methods), &self->svc);
	ASSERT_NE(NULL, self->srv);
}

FIXTURE_TEARDOWN(cli)
{
	ttrpc_client_free(self->cl);
	raw_peer_free(&self->peer);
	ttrpc_server_free(self->srv);
	evloop_free(self->loop);
	EXPECT_EQ(0, leak_check());
}

/* Client to the real server; @sndbuf > 0 shrinks both send buffers. */
static int connect_server(FIXTURE_DATA(cli) * self, int sndbuf)
{
	struct herr err;
	int sv[2];

	if (stream_pair(sv) < 0)
		return -1;
	if (sndbuf > 0) {
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
			   sizeof(sndbuf));
		setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf,
			   sizeof(sndbuf));
	}
	if (ttrpc_server_add_conn(self->srv, sv[0], sv[0], &err) < 0)
		return -1;
	self->cl = ttrpc_client_new(self->loop, sv[1], sv[1]);
	if (!self->cl)
		return -1;
	ttrpc_client_on_close(self->cl, count_close, &self->closes);
	return 0;
}

/* Client to a raw server that the test drives by hand. */
static int connect_raw(FIXTURE_DATA(cli) * self)
{
	int sv[2];

	if (stream_pair(sv) < 0)
		return -1;
	if (raw_peer_init(&self->peer, self->loop, sv[0]) < 0)
		return -1;
	self->cl = ttrpc_client_new(self->loop, sv[1], sv[1]);
	if (!self->cl)
		return -1;
	ttrpc_client_on_close(self->cl, count_close, &self->closes);
	return 0;
}

struct cb_ctx {
	FIXTURE_DATA(cli) * self;
	struct result *r;
};

/* Record a reply; the descriptor used for the call decides the fields. */
static void record(void *resp, const struct herr *err, void *data)
{
	struct cb_ctx *c = data;
	struct result *r = c->r;

	r->done++;
	r->at = now_ms();
	r->closed_before = c->self->closes;
	if (err) {
		r->code = err->code;
		snprintf(r->msg, sizeof(r->msg), "%s", err->msg);
		/* The contract: a failed call has no reply. */
		if (resp)
			r->code = -1;
		return;
	}
	r->code = GRPC_OK;
	if (!resp)
		return;
	if (((ProtobufCMessage *)resp)->descriptor ==
	    &ttrpc__request__descriptor) {
		Ttrpc__Request *q = resp;

		snprintf(r->service, sizeof(r->service), "%s", q->service);
		r->tn = q->timeout_nano;
		r->payload_len = q->payload.len;
		r->pattern_ok =
			check_pattern(q->payload.data, q->payload.len, 1);
	} else if (((ProtobufCMessage *)resp)->descriptor ==
		   &ttrpc__key_value__descriptor) {
		Ttrpc__KeyValue *kv = resp;

		snprintf(r->value, sizeof(r->value), "%s", kv->value);
	}
}

static struct cb_ctx ctxs[64];

/* Start an Echo-shaped call (request and reply are ttrpc.Request). */
static int start(FIXTURE_DATA(cli) * self, int i, const char *method,
		 const ProtobufCMessage *req,
		 const ProtobufCMessageDescriptor *resp_desc,
		 long long timeout_ms, struct herr *err)
{
	ctxs[i].self = self;
	ctxs[i].r = &self->r[i];
	return ttrpc_client_call(self->cl, "test.Echo", method, req, resp_desc,
				 timeout_ms, record, &ctxs[i], err);
}

static int start_tagged(FIXTURE_DATA(cli) * self, int i, const char *method,
			long long timeout_ms)
{
	Ttrpc__Request in = TTRPC__REQUEST__INIT;
	char tag[32];
	struct herr err;

	snprintf(tag, sizeof(tag), "call-%d", i);
	in.service = tag;
	in.timeout_nano = i;
	return start(self, i, method, &in.base, &ttrpc__request__descriptor,
		     timeout_ms, &err);
}

/* The requests the raw server has seen, decoded (NULL if not a Request). */
static Ttrpc__Request *raw_request(FIXTURE_DATA(cli) * self, size_t i)
{
	if (i >= self->peer.n ||
	    self->peer.frames[i].hdr.type != TTRPC_TYPE_REQUEST)
		return NULL;
	return frame_request(&self->peer.frames[i]);
}

static int respond_kv(FIXTURE_DATA(cli) * self, uint32_t id, const char *value)
{
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;

	kv.key = "k";
	kv.value = (char *)value;
	return raw_peer_respond(&self->peer, id, GRPC_OK, NULL, &kv.base);
}

TEST_F(cli, sync_round_trip)
{
	Ttrpc__Request in = TTRPC__REQUEST__INIT, *out = NULL;
	struct herr err;

	ASSERT_EQ(0, connect_server(self, 0));
	in.service = "round";
	in.method = "trip";
	in.payload.data = (uint8_t *)"\x00\x01\x02";
	in.payload.len = 3;
	ASSERT_EQ(0,
		  ttrpc_client_call_sync(self->cl, "test.Echo", "Echo",
					 &in.base, &ttrpc__request__descriptor,
					 5000, (void **)&out, &err))
		TH_LOG("%s", err.msg);
	ASSERT_NE(NULL, out);
	EXPECT_STREQ("round", out->service);
	EXPECT_STREQ("trip", out->method);
	ASSERT_EQ(3, out->payload.len);
	EXPECT_EQ(0, memcmp("\x00\x01\x02", out->payload.data, 3));
	protobuf_c_message_free_unpacked(&out->base, NULL);
	EXPECT_EQ(0, ttrpc_client_pending(self->cl));
}

/* The callback never runs from inside ttrpc_client_call(). */
TEST_F(cli, callback_runs_later_exactly_once)
{
	ASSERT_EQ(0, connect_server(self, 0));
	ASSERT_EQ(0, start_tagged(self, 0, "Echo", 0));
	EXPECT_EQ(0, self->r[0].done);
	EXPECT_EQ(1, ttrpc_client_pending(self->cl));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->r[0].done, 5000));
	EXPECT_EQ(GRPC_OK, self->r[0].code);
	EXPECT_STREQ("call-0", self->r[0].service);
	run_for(self->loop, 20);
	EXPECT_EQ(1, self->r[0].done);
	EXPECT_EQ(0, ttrpc_client_pending(self->cl));
}

/* Odd ids from 1, step 2; flags 0; the envelope carries what was asked. */
TEST_F(cli, stream_ids_and_request_envelope)
{
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
	size_t plen;
	uint8_t *payload;

	ASSERT_EQ(0, connect_raw(self));
	kv.key = "a";
	kv.value = "b";
	payload = pack_msg(&kv.base, &plen);
	for (int i = 0; i < 3; i++) {
		struct herr err;

		ASSERT_EQ(0, start(self, i, "Meta", &kv.base,
				   &ttrpc__key_value__descriptor, 0, &err));
	}
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->peer.n == 3, 5000));
	for (int i = 0; i < 3; i++) {
		Ttrpc__Request *q = raw_request(self, i);

		EXPECT_EQ(2 * i + 1, self->peer.frames[i].hdr.stream_id);
		EXPECT_EQ(0, self->peer.frames[i].hdr.flags);
		ASSERT_NE(NULL, q);
		EXPECT_STREQ("test.Echo", q->service);
		EXPECT_STREQ("Meta", q->method);
		EXPECT_EQ(0, q->timeout_nano);
		EXPECT_EQ(0, q->n_metadata);
		ASSERT_EQ(plen, q->payload.len);
		EXPECT_EQ(0, memcmp(payload, q->payload.data, plen));
		ttrpc__request__free_unpacked(q, NULL);
	}
	free(payload);
	for (uint32_t id = 1; id <= 5; id += 2) {
		ASSERT_EQ(0, respond_kv(self, id, "ok"));
	}
	ASSERT_TRUE(RUN_UNTIL(self->loop, ttrpc_client_pending(self->cl) == 0,
			      5000));
}

/* A NULL request is an empty payload. */
TEST_F(cli, null_request_empty_payload)
{
	struct herr err;
	Ttrpc__Request *q;

	ASSERT_EQ(0, connect_raw(self));
	ASSERT_EQ(0, start(self, 0, "Empty", NULL, NULL, 0, &err));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->peer.n == 1, 5000));
	q = raw_request(self, 0);
	ASSERT_NE(NULL, q);
	EXPECT_EQ(0, q->payload.len);
	ttrpc__request__free_unpacked(q, NULL);
	ASSERT_EQ(0, raw_peer_respond(&self->peer, 1, GRPC_OK, NULL, NULL));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->r[0].done, 5000));
	EXPECT_EQ(GRPC_OK, self->r[0].code);
}

TEST_F(cli, timeout_sent_as_timeout_nano)
{
	Ttrpc__Request *q;
	long long before;

	ASSERT_EQ(0, connect_raw(self));
	ASSERT_EQ(0, start_tagged(self, 0, "Echo", 5000));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->peer.n == 1, 5000));
	q = raw_request(self, 0);
	ASSERT_NE(NULL, q);
	EXPECT_GT(q->timeout_nano, 4000000000LL);
	EXPECT_LE(q->timeout_nano, 5000000000LL);
	ttrpc__request__free_unpacked(q, NULL);

	/* The server turns it into a deadline the handler can read. */
	raw_peer_free(&self->peer);
	ttrpc_client_free(self->cl);
	self->cl = NULL;
	ASSERT_EQ(0, connect_server(self, 0));
	before = now_ms();
	ASSERT_EQ(0, ttrpc_client_call_sync(self->cl, "test.Echo", "Deadline",
					    NULL, NULL, 5000, NULL, NULL));
	EXPECT_GE(self->svc.deadline, before + 4000);
	EXPECT_LE(self->svc.deadline, self->svc.deadline_seen_at + 5001);
}

/* A "forever" timeout must not wrap into a negative or zero timeout_nano. */
TEST_F(cli, huge_timeout_does_not_wrap)
{
	Ttrpc__Request *q;

	ASSERT_EQ(0, connect_raw(self));
	ASSERT_EQ(0, start_tagged(self, 0, "Echo", 1LL << 50));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->peer.n == 1, 5000));
	q = raw_request(self, 0);
	ASSERT_NE(NULL, q);
	EXPECT_GT(q->timeout_nano, 1000000000000000000LL);
	ttrpc__request__free_unpacked(q, NULL);
	run_for(self->loop, 50);
	EXPECT_EQ(0, self->r[0].done);
}

/* 50 in flight, answered last first: each reply matched by stream id. */
TEST_F(cli, concurrent_calls_out_of_order)
{
	const int n = 50;

	ASSERT_EQ(0, connect_server(self, 0));
	for (int i = 0; i < n; i++) {
		ASSERT_EQ(0, start_tagged(self, i, "Hold", 0));
	}
	EXPECT_EQ(n, ttrpc_client_pending(self->cl));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->svc.n_held == n, 5000));
	ASSERT_NE(NULL,
		  evloop_timer(self->loop, 1, svc_release_timer, &self->svc));
	ASSERT_TRUE(RUN_UNTIL(self->loop, ttrpc_client_pending(self->cl) == 0,
			      5000));
	for (int i = 0; i < n; i++) {
		char tag[32];

		snprintf(tag, sizeof(tag), "call-%d", i);
		EXPECT_EQ(1, self->r[i].done);
		EXPECT_EQ(GRPC_OK, self->r[i].code);
		EXPECT_STREQ(tag, self->r[i].service);
		EXPECT_EQ(i, self->r[i].tn);
	}
	/* Answered in reverse: the last call completed first. */
	EXPECT_LE(self->r[n - 1].at, self->r[0].at);
}

TEST_F(cli, raw_replies_out_of_order)
{
	struct herr err;
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;

	ASSERT_EQ(0, connect_raw(self));
	kv.key = "q";
	kv.value = "";
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(0, start(self, i, "Meta", &kv.base,
				   &ttrpc__key_value__descriptor, 0, &err));
	}
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->peer.n == 3, 5000));
	ASSERT_EQ(0, respond_kv(self, 5, "third"));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->r[2].done, 5000));
	EXPECT_EQ(0, self->r[0].done);
	EXPECT_EQ(0, self->r[1].done);
	ASSERT_EQ(0, respond_kv(self, 1, "first"));
	ASSERT_EQ(0, respond_kv(self, 3, "second"));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->r[0].done && self->r[1].done,
			      5000));
	EXPECT_STREQ("first", self->r[0].value);
	EXPECT_STREQ("second", self->r[1].value);
	EXPECT_STREQ("third", self->r[2].value);
}

/* The server never answers: DEADLINE_EXCEEDED locally, on time, once. */
TEST_F(cli, timeout_deadline_exceeded)
{
	long long start_ms;

	ASSERT_EQ(0, connect_raw(self));
	start_ms = now_ms();
	ASSERT_EQ(0, start_tagged(self, 0, "Echo", 200));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->r[0].done, 5000));
	EXPECT_EQ(GRPC_DEADLINE_EXCEEDED, self->r[0].code);
	EXPECT_GE(self->r[0].at - start_ms, 199);
	EXPECT_LT(self->r[0].at - start_ms, 3000);
	EXPECT_EQ(0, ttrpc_client_pending(self->cl));

	/* A late reply is dropped; the connection goes on. */
	ASSERT_EQ(0, respond_kv(self, 1, "late"));
	ASSERT_EQ(0, start_tagged(self, 1, "Echo", 0));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->peer.n == 2, 5000));
	EXPECT_EQ(3, self->peer.frames[1].hdr.stream_id);
	ASSERT_EQ(0, raw_peer_respond(&self->peer, 3, GRPC_OK, NULL, NULL));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->r[1].done, 5000));
	EXPECT_EQ(GRPC_OK, self->r[1].code);
	EXPECT_EQ(1, self->r[0].done);
	EXPECT_FALSE(ttrpc_client_closed(self->cl));
}

/* Against the real server: the server saw the deadline too. */
TEST_F(cli, timeout_with_server_holding_call)
{
	struct herr err;

	ASSERT_EQ(0, connect_server(self, 0));
	ASSERT_EQ(-1, ttrpc_client_call_sync(self->cl, "test.Echo", "Hold",
					     NULL, NULL, 150, NULL, &err));
	EXPECT_EQ(GRPC_DEADLINE_EXCEEDED, err.code);
	EXPECT_NE(0, self->svc.deadline);
	EXPECT_LE(self->svc.deadline, self->svc.deadline_seen_at + 151);
	EXPECT_TRUE(RUN_UNTIL(self->loop, self->svc.cancelled == 1, 5000));
}

/* Server goes away: every pending call fails UNAVAILABLE, then on_close. */
TEST_F(cli, peer_close_fails_pending_unavailable)
{
	struct herr err;
	int r;

	ASSERT_EQ(0, connect_raw(self));
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(0, start_tagged(self, i, "Echo", 0));
	}
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->peer.n == 3, 5000));
	raw_peer_stop(&self->peer);
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->closes == 1, 5000));
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(1, self->r[i].done);
		EXPECT_EQ(GRPC_UNAVAILABLE, self->r[i].code);
		EXPECT_EQ(0, self->r[i].closed_before);
	}
	EXPECT_TRUE(ttrpc_client_closed(self->cl));
	EXPECT_EQ(0, ttrpc_client_pending(self->cl));

	/* A call on a closed client fails one way or the other, once. */
	r = start(self, 3, "Echo", NULL, NULL, 0, &err);
	if (r < 0) {
		EXPECT_EQ(GRPC_UNAVAILABLE, err.code);
		run_for(self->loop, 20);
		EXPECT_EQ(0, self->r[3].done);
	} else {
		ASSERT_TRUE(RUN_UNTIL(self->loop, self->r[3].done, 5000));
		EXPECT_EQ(GRPC_UNAVAILABLE, self->r[3].code);
	}
	run_for(self->loop, 20);
	EXPECT_EQ(1, self->closes);
}

TEST_F(cli, server_free_fails_pending_unavailable)
{
	ASSERT_EQ(0, connect_server(self, 0));
	ASSERT_EQ(0, start_tagged(self, 0, "Hold", 0));
	ASSERT_EQ(0, start_tagged(self, 1, "Hold", 0));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->svc.n_held == 2, 5000));
	ttrpc_server_free(self->srv);
	self->srv = NULL;
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->r[0].done && self->r[1].done,
			      5000));
	EXPECT_EQ(GRPC_UNAVAILABLE, self->r[0].code);
	EXPECT_EQ(GRPC_UNAVAILABLE, self->r[1].code);
	EXPECT_EQ(1, self->closes);
}

/* Freeing the client fails its calls; the server cancels its side. */
TEST_F(cli, client_free_fails_pending_and_server_cancels)
{
	ASSERT_EQ(0, connect_server(self, 0));
	ASSERT_EQ(0, start_tagged(self, 0, "Hold", 0));
	ASSERT_EQ(0, start_tagged(self, 1, "Hold", 0));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->svc.n_held == 2, 5000));
	ttrpc_client_free(self->cl);
	self->cl = NULL;
	EXPECT_EQ(1, self->r[0].done);
	EXPECT_EQ(1, self->r[1].done);
	EXPECT_EQ(GRPC_UNAVAILABLE, self->r[0].code);
	EXPECT_EQ(GRPC_UNAVAILABLE, self->r[1].code);
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->svc.cancelled == 2, 5000));
	EXPECT_EQ(0, ttrpc_server_conn_count(self->srv));
}

static void free_client_cb(void *resp, const struct herr *err, void *data)
{
	struct cb_ctx *c = data;

	record(resp, err, data);
	ttrpc_client_free(c->self->cl);
	c->self->cl = NULL;
}

/* Tearing the client down from inside its own callback is safe. */
TEST_F(cli, free_client_from_callback)
{
	struct herr err;

	ASSERT_EQ(0, connect_server(self, 0));
	ctxs[0].self = self;
	ctxs[0].r = &self->r[0];
	ASSERT_EQ(0,
		  ttrpc_client_call(self->cl, "test.Echo", "Empty", NULL, NULL,
				    0, free_client_cb, &ctxs[0], &err));
	ASSERT_EQ(0, start_tagged(self, 1, "Hold", 0));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->r[0].done && self->r[1].done,
			      5000));
	EXPECT_EQ(GRPC_OK, self->r[0].code);
	EXPECT_EQ(GRPC_UNAVAILABLE, self->r[1].code);
	EXPECT_EQ(NULL, self->cl);
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->svc.cancelled == 1, 5000));
}

struct chain {
	struct ttrpc_client *cl;
	int left, done, failed;
};

static void chain_next(void *resp, const struct herr *err, void *data)
{
	struct chain *c = data;
	struct herr e;

	if (err) {
		c->failed++;
		return;
	}
	c->done++;
	if (--c->left > 0 &&
	    ttrpc_client_call(c->cl, "test.Echo", "Empty", NULL, NULL, 5000,
			      chain_next, c, &e) < 0)
		c->failed++;
}

/* ReadStdout-style: each reply starts the next call from the callback. */
TEST_F(cli, calls_chained_from_callback)
{
	struct chain c = { .left = 20 };
	struct herr err;

	ASSERT_EQ(0, connect_server(self, 0));
	c.cl = self->cl;
	ASSERT_EQ(0, ttrpc_client_call(self->cl, "test.Echo", "Empty", NULL,
				       NULL, 5000, chain_next, &c, &err));
	ASSERT_TRUE(RUN_UNTIL(self->loop, c.done == 20 || c.failed, 5000));
	EXPECT_EQ(0, c.failed);
	EXPECT_EQ(20, self->svc.calls);
}

TEST_F(cli, metadata_sent_with_every_call)
{
	Ttrpc__KeyValue q = TTRPC__KEY_VALUE__INIT, *out = NULL;
	struct herr err;

	ASSERT_EQ(0, connect_server(self, 0));
	ttrpc_client_set_metadata(self->cl, "containerd-namespace-ttrpc",
				  "default");
	ttrpc_client_set_metadata(self->cl, "traceparent", "00-1-01");
	/* Setting a key again replaces its value. */
	ttrpc_client_set_metadata(self->cl, "containerd-namespace-ttrpc",
				  "k8s.io");
	q.key = "containerd-namespace-ttrpc";
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, ttrpc_client_call_sync(
				     self->cl, "test.Echo", "Meta", &q.base,
				     &ttrpc__key_value__descriptor, 5000,
				     (void **)&out, &err))
			TH_LOG("%s", err.msg);
		ASSERT_NE(NULL, out);
		EXPECT_STREQ("k8s.io", out->value);
		protobuf_c_message_free_unpacked(&out->base, NULL);
		EXPECT_STREQ("k8s.io", self->svc.meta_value);
	}
}

TEST_F(cli, metadata_on_the_wire)
{
	Ttrpc__Request *q;

	ASSERT_EQ(0, connect_raw(self));
	ttrpc_client_set_metadata(self->cl, "a", "1");
	ttrpc_client_set_metadata(self->cl, "b", "2");
	ttrpc_client_set_metadata(self->cl, "a", "3");
	ASSERT_EQ(0, start_tagged(self, 0, "Echo", 0));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->peer.n == 1, 5000));
	q = raw_request(self, 0);
	ASSERT_NE(NULL, q);
	ASSERT_EQ(2, q->n_metadata);
	for (size_t i = 0; i < 2; i++) {
		const Ttrpc__KeyValue *kv = q->metadata[i];

		/* The harness macros are two statements: keep the braces. */
		if (!strcmp(kv->key, "a")) {
			EXPECT_STREQ("3", kv->value);
		} else {
			EXPECT_STREQ("b", kv->key);
		}
	}
	ttrpc__request__free_unpacked(q, NULL);
}

/*
 * Over the 4 MiB limit is refused locally (nothing sent, connection
 * intact), whether the payload alone or only the envelope is too big.
 */
TEST_F(cli, request_over_limit_refused_locally)
{
	static const size_t sizes[] = { TTRPC_MAX_DATA + 1,
					TTRPC_MAX_DATA - 8 };
	uint8_t *big = calloc(1, TTRPC_MAX_DATA + 1);

	ASSERT_NE(NULL, big);
	ASSERT_EQ(0, connect_raw(self));
	for (int i = 0; i < 2; i++) {
		Ttrpc__Request in = TTRPC__REQUEST__INIT;
		struct herr err;
		int r;

		in.payload.data = big;
		in.payload.len = sizes[i];
		herr_clear(&err);
		r = start(self, i, "Echo", &in.base,
			  &ttrpc__request__descriptor, 0, &err);
		if (r < 0) {
			EXPECT_EQ(GRPC_RESOURCE_EXHAUSTED, err.code)
				TH_LOG("%s", err.msg);
		} else {
			ASSERT_TRUE(
				RUN_UNTIL(self->loop, self->r[i].done, 5000));
			EXPECT_EQ(GRPC_RESOURCE_EXHAUSTED, self->r[i].code);
		}
	}
	free(big);
	run_for(self->loop, 50);
	EXPECT_EQ(0, self->peer.n);
	EXPECT_FALSE(self->peer.bad);
	EXPECT_FALSE(self->peer.eof);
	EXPECT_EQ(0, ttrpc_client_pending(self->cl));
	/* Still usable, and the refused calls used no stream id. */
	ASSERT_EQ(0, start_tagged(self, 2, "Echo", 0));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->peer.n == 1, 5000));
	EXPECT_EQ(1, self->peer.frames[0].hdr.stream_id);
}

TEST_F(cli, server_status_passed_through)
{
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
	struct herr err;

	ASSERT_EQ(0, connect_server(self, 0));
	kv.key = "9";
	kv.value = "container is running";
	ASSERT_EQ(-1, ttrpc_client_call_sync(self->cl, "test.Echo", "Fail",
					     &kv.base, NULL, 5000, NULL, &err));
	EXPECT_EQ(GRPC_FAILED_PRECONDITION, err.code);
	EXPECT_NE(NULL, strstr(err.msg, "container is running"))
		TH_LOG("msg: %s", err.msg);

	ASSERT_EQ(-1, ttrpc_client_call_sync(self->cl, "test.Nope", "Echo",
					     NULL, NULL, 5000, NULL, &err));
	EXPECT_EQ(GRPC_UNIMPLEMENTED, err.code);
	EXPECT_NE(NULL, strstr(err.msg, "test.Nope"))
		TH_LOG("msg: %s", err.msg);
}

/* Go semantics: no status means OK; status {code 0} too. */
TEST_F(cli, missing_or_zero_status_is_ok)
{
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
	Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
	struct herr err;
	size_t len;
	uint8_t *buf;

	ASSERT_EQ(0, connect_raw(self));
	kv.key = "k";
	kv.value = "nostatus";
	resp.payload.data = pack_msg(&kv.base, &resp.payload.len);
	buf = pack_msg(&resp.base, &len);
	free(resp.payload.data);
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, start(self, i, "Meta", NULL,
				   &ttrpc__key_value__descriptor, 0, &err));
	}
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->peer.n == 2, 5000));
	ASSERT_EQ(0, raw_peer_send_frame(&self->peer, 1, TTRPC_TYPE_RESPONSE, 0,
					 buf, len));
	free(buf);
	ASSERT_EQ(0, respond_kv(self, 3, "zero"));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->r[0].done && self->r[1].done,
			      5000));
	EXPECT_EQ(GRPC_OK, self->r[0].code);
	EXPECT_STREQ("nostatus", self->r[0].value);
	EXPECT_EQ(GRPC_OK, self->r[1].code);
	EXPECT_STREQ("zero", self->r[1].value);
}

/* Replies that do not decode are INTERNAL, and nothing else breaks. */
TEST_F(cli, undecodable_reply_internal)
{
	static const uint8_t bad_envelope[] = { 0x0a, 0x7f };
	static const uint8_t bad_payload[] = { 0x0a, 0x05, 'x' };
	Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
	struct herr err;
	size_t len;
	uint8_t *buf;

	ASSERT_EQ(0, connect_raw(self));
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, start(self, i, "Meta", NULL,
				   &ttrpc__key_value__descriptor, 0, &err));
	}
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->peer.n == 2, 5000));
	ASSERT_EQ(0, raw_peer_send_frame(&self->peer, 1, TTRPC_TYPE_RESPONSE, 0,
					 bad_envelope, sizeof(bad_envelope)));
	resp.payload.data = (uint8_t *)bad_payload;
	resp.payload.len = sizeof(bad_payload);
	buf = pack_msg(&resp.base, &len);
	ASSERT_EQ(0, raw_peer_send_frame(&self->peer, 3, TTRPC_TYPE_RESPONSE, 0,
					 buf, len));
	free(buf);
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->r[0].done && self->r[1].done,
			      5000));
	EXPECT_EQ(GRPC_INTERNAL, self->r[0].code);
	EXPECT_EQ(GRPC_INTERNAL, self->r[1].code);
	EXPECT_FALSE(ttrpc_client_closed(self->cl));
}

/* A hostile server's oversize frame closes the connection. */
TEST_F(cli, oversize_frame_from_server_closes)
{
	const struct ttrpc_hdr h = {
		.len = 0xffffff00,
		.stream_id = 1,
		.type = TTRPC_TYPE_RESPONSE,
	};
	uint8_t hdr[TTRPC_HDR_LEN];

	ASSERT_EQ(0, connect_raw(self));
	ASSERT_EQ(0, start_tagged(self, 0, "Echo", 0));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->peer.n == 1, 5000));
	ttrpc_hdr_encode(&h, hdr);
	ASSERT_EQ(0, raw_peer_write(&self->peer, hdr, sizeof(hdr)));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->r[0].done, 5000));
	EXPECT_NE(GRPC_OK, self->r[0].code);
	EXPECT_TRUE(ttrpc_client_closed(self->cl));
	EXPECT_EQ(1, self->closes);
	EXPECT_TRUE(RUN_UNTIL(self->loop, self->peer.eof, 5000));
}

/*
 * The agent died, and the shim makes a call before the loop saw the
 * hangup: EPIPE must become an UNAVAILABLE call, not a SIGPIPE death.
 */
TEST_F(cli, call_after_peer_vanished_no_sigpipe)
{
	struct herr err;
	int r;

	ASSERT_TRUE(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
	ASSERT_EQ(0, connect_raw(self));
	raw_peer_stop(&self->peer);
	r = start_tagged(self, 0, "Echo", 0);
	if (r == 0) {
		ASSERT_TRUE(RUN_UNTIL(self->loop, self->r[0].done, 5000));
		EXPECT_EQ(GRPC_UNAVAILABLE, self->r[0].code);
	}
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->closes == 1, 5000));
	r = start(self, 1, "Echo", NULL, NULL, 0, &err);
	if (r < 0) {
		EXPECT_EQ(GRPC_UNAVAILABLE, err.code);
	}
}

/* 3 MiB replies and 1 MiB requests through 4 KiB send buffers. */
TEST_F(cli, large_messages_partial_writes)
{
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
	Ttrpc__Request in = TTRPC__REQUEST__INIT, *out = NULL;
	const size_t big = 3u << 20, up = 1u << 20;
	struct herr err;
	char size[32];

	ASSERT_EQ(0, connect_server(self, 4096));
	snprintf(size, sizeof(size), "%zu", big);
	kv.key = "";
	kv.value = size;
	/* Two at once, so replies queue behind each other. */
	ASSERT_EQ(0, start(self, 0, "Big", &kv.base,
			   &ttrpc__request__descriptor, 10000, &err));
	ASSERT_EQ(0, start(self, 1, "Big", &kv.base,
			   &ttrpc__request__descriptor, 10000, &err));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->r[0].done && self->r[1].done,
			      10000));
	for (int i = 0; i < 2; i++) {
		EXPECT_EQ(GRPC_OK, self->r[i].code)
			TH_LOG("%s", self->r[i].msg);
		EXPECT_EQ(big, self->r[i].payload_len);
		EXPECT_EQ(big, self->r[i].pattern_ok);
	}

	in.payload.data = xmalloc(up);
	in.payload.len = up;
	fill_pattern(in.payload.data, up, 1);
	ASSERT_EQ(0,
		  ttrpc_client_call_sync(self->cl, "test.Echo", "Echo",
					 &in.base, &ttrpc__request__descriptor,
					 10000, (void **)&out, &err))
		TH_LOG("%s", err.msg);
	free(in.payload.data);
	ASSERT_NE(NULL, out);
	ASSERT_EQ(up, out->payload.len);
	EXPECT_EQ(up, check_pattern(out->payload.data, up, 1));
	protobuf_c_message_free_unpacked(&out->base, NULL);
}

/*
 * A device-style transport with separate read and write fds (two pipes),
 * including replies far bigger than a pipe's 64 KiB buffer.
 */
TEST_F(cli, pipe_pair_transport)
{
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
	Ttrpc__Request *out = NULL;
	const size_t big = 1u << 20;
	int to_srv[2], to_cli[2];
	struct herr err;
	char size[32];

	ASSERT_EQ(0, pipe2(to_srv, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(to_cli, O_CLOEXEC));
	ASSERT_EQ(0,
		  ttrpc_server_add_conn(self->srv, to_srv[0], to_cli[1], &err));
	self->cl = ttrpc_client_new(self->loop, to_cli[0], to_srv[1]);
	ASSERT_NE(NULL, self->cl);
	ttrpc_client_on_close(self->cl, count_close, &self->closes);

	snprintf(size, sizeof(size), "%zu", big);
	kv.key = "";
	kv.value = size;
	ASSERT_EQ(0,
		  ttrpc_client_call_sync(self->cl, "test.Echo", "Big", &kv.base,
					 &ttrpc__request__descriptor, 10000,
					 (void **)&out, &err))
		TH_LOG("%s", err.msg);
	ASSERT_NE(NULL, out);
	ASSERT_EQ(big, out->payload.len);
	EXPECT_EQ(big, check_pattern(out->payload.data, big, 1));
	protobuf_c_message_free_unpacked(&out->base, NULL);

	/* Closing the client's fds ends the server's connection. */
	ttrpc_client_free(self->cl);
	self->cl = NULL;
	EXPECT_TRUE(RUN_UNTIL(self->loop,
			      ttrpc_server_conn_count(self->srv) == 0, 5000));
}

/*
 * A handler makes a synchronous client call (the loop runs nested inside
 * it, as in a shim task handler calling the agent) while the next request
 * on its own connection is only half read.  Both must be answered intact.
 */
TEST_F(cli, sync_call_inside_handler_with_pipelined_requests)
{
	Ttrpc__Request in = TTRPC__REQUEST__INIT;
	Ttrpc__Request req = TTRPC__REQUEST__INIT;
	const size_t big = 100u << 10;
	struct raw_frame *f;
	Ttrpc__Response *r;
	Ttrpc__Request *out;
	uint8_t *f1, *f3, *body, *buf;
	size_t l1, l3, blen, plen;
	struct herr err;
	int sv[2];

	ASSERT_EQ(0, connect_server(self, 0));
	self->svc.proxy_to = self->cl;
	ASSERT_EQ(0, stream_pair(sv));
	ASSERT_EQ(0, ttrpc_server_add_conn(self->srv, sv[0], sv[0], &err));
	ASSERT_EQ(0, raw_peer_init(&self->peer, self->loop, sv[1]));

	/* Stream 1: Proxy.  Stream 3: Echo of 100 KiB, more than one read. */
	req.service = "test.Echo";
	req.method = "Proxy";
	body = pack_msg(&req.base, &blen);
	f1 = ttrpc_frame_build(1, TTRPC_TYPE_REQUEST, 0, body, blen, &l1);
	free(body);
	in.payload.data = xmalloc(big);
	in.payload.len = big;
	fill_pattern(in.payload.data, big, 1);
	req.method = "Echo";
	req.payload.data = pack_msg(&in.base, &plen);
	req.payload.len = plen;
	free(in.payload.data);
	body = pack_msg(&req.base, &blen);
	free(req.payload.data);
	f3 = ttrpc_frame_build(3, TTRPC_TYPE_REQUEST, 0, body, blen, &l3);
	free(body);
	ASSERT_NE(NULL, f1);
	ASSERT_NE(NULL, f3);
	buf = xmalloc(l1 + l3);
	memcpy(buf, f1, l1);
	memcpy(buf + l1, f3, l3);
	free(f1);
	free(f3);
	/* Both in the socket before the server reads anything. */
	ASSERT_EQ(l1 + l3, write(self->peer.fd, buf, l1 + l3));
	free(buf);

	ASSERT_TRUE(RUN_UNTIL(self->loop,
			      (raw_peer_find(&self->peer, 1) &&
			       raw_peer_find(&self->peer, 3)) ||
				      self->peer.eof,
			      10000));
	EXPECT_FALSE(self->peer.eof);
	EXPECT_EQ(GRPC_OK, self->svc.proxy_code);
	f = raw_peer_find(&self->peer, 1);
	ASSERT_NE(NULL, f);
	r = frame_response(f);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(GRPC_OK, response_code(r));
	ttrpc__response__free_unpacked(r, NULL);
	f = raw_peer_find(&self->peer, 3);
	ASSERT_NE(NULL, f);
	r = frame_response(f);
	ASSERT_NE(NULL, r);
	ASSERT_EQ(GRPC_OK, response_code(r));
	out = ttrpc__request__unpack(NULL, r->payload.len, r->payload.data);
	ttrpc__response__free_unpacked(r, NULL);
	ASSERT_NE(NULL, out);
	ASSERT_EQ(big, out->payload.len);
	EXPECT_EQ(big, check_pattern(out->payload.data, big, 1));
	ttrpc__request__free_unpacked(out, NULL);
}

/* A Response frame for @id carrying a KeyValue whose value is @value. */
static uint8_t *reply_frame(uint32_t id, const char *value, size_t *flen)
{
	Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
	size_t len, plen;
	uint8_t *pbuf, *buf, *f;

	kv.key = "k";
	kv.value = (char *)value;
	pbuf = pack_msg(&kv.base, &plen);
	resp.payload.data = pbuf;
	resp.payload.len = plen;
	buf = pack_msg(&resp.base, &len);
	f = ttrpc_frame_build(id, TTRPC_TYPE_RESPONSE, 0, buf, len, flen);
	free(buf);
	free(pbuf);
	return f;
}

/*
 * Replies that arrive cut anywhere (mid-header, mid-data) or several in
 * one read are all delivered, each once: the agent's channel
 * (virtio-serial) hands the shim bytes in whatever pieces it likes.
 */
TEST_F(cli, replies_split_and_coalesced)
{
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
	uint8_t stream[1024];
	size_t len = 0, cuts[] = { 3, 10, 11, 17 };
	const char *vals[] = { "one", "two", "three", "four" };
	struct herr err;

	ASSERT_EQ(0, connect_raw(self));
	kv.key = "q";
	kv.value = "";
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, start(self, i, "Meta", &kv.base,
				   &ttrpc__key_value__descriptor, 0, &err));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->peer.n == 4, 5000));
	for (int i = 0; i < 4; i++) {
		size_t flen;
		uint8_t *f = reply_frame(1 + 2 * i, vals[i], &flen);

		ASSERT_NE(NULL, f);
		ASSERT_LT(len + flen, sizeof(stream));
		memcpy(stream + len, f, flen);
		len += flen;
		free(f);
	}
	/* Reply 1 cut after 3 header bytes, then after 10 (header only). */
	ASSERT_EQ(0, raw_peer_write(&self->peer, stream, cuts[0]));
	run_for(self->loop, 20);
	ASSERT_EQ(0, raw_peer_write(&self->peer, stream + cuts[0],
				    cuts[1] - cuts[0]));
	run_for(self->loop, 20);
	EXPECT_EQ(0, self->r[0].done);
	/* One byte of data, then the rest of 1 with 2 and 3 and half of 4. */
	ASSERT_EQ(0, raw_peer_write(&self->peer, stream + cuts[1],
				    cuts[2] - cuts[1]));
	run_for(self->loop, 20);
	EXPECT_EQ(0, self->r[0].done);
	ASSERT_EQ(0, raw_peer_write(&self->peer, stream + cuts[2],
				    len - cuts[3] - cuts[2]));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->r[2].done, 5000));
	EXPECT_EQ(0, self->r[3].done);
	ASSERT_EQ(0,
		  raw_peer_write(&self->peer, stream + len - cuts[3], cuts[3]));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->r[3].done, 5000));
	for (int i = 0; i < 4; i++) {
		EXPECT_EQ(1, self->r[i].done);
		EXPECT_EQ(GRPC_OK, self->r[i].code);
		EXPECT_STREQ(vals[i], self->r[i].value);
	}
	EXPECT_EQ(0, ttrpc_client_pending(self->cl));
}

/*
 * The reply is already readable when the call's timer expires (one loop
 * wakeup sees both): the reply wins, the callback runs once, OK, and the
 * timer is gone with the call.
 */
TEST_F(cli, reply_ready_when_the_timer_expires)
{
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
	struct herr err;

	ASSERT_EQ(0, connect_raw(self));
	kv.key = "q";
	kv.value = "";
	ASSERT_EQ(0, start(self, 0, "Meta", &kv.base,
			   &ttrpc__key_value__descriptor, 100, &err));
	/* The request goes out without the loop (written at once). */
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->peer.n == 1, 50));
	ASSERT_EQ(0, respond_kv(self, 1, "just-in-time"));
	usleep(150 * 1000);
	evloop_run_once(self->loop, 0);
	EXPECT_EQ(1, self->r[0].done);
	EXPECT_EQ(GRPC_OK, self->r[0].code);
	EXPECT_STREQ("just-in-time", self->r[0].value);
	run_for(self->loop, 200);
	EXPECT_EQ(1, self->r[0].done);
	EXPECT_EQ(0, ttrpc_client_pending(self->cl));
	EXPECT_FALSE(ttrpc_client_closed(self->cl));
}

TEST_HARNESS_MAIN
