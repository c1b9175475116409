// SPDX-License-Identifier: Apache-2.0
/*
 * ttRPC server: the "test.Echo" service on a socketpair, driven by a raw
 * client that writes hand-made frames, so every byte the server sends back
 * and every error it chooses can be checked exactly.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "ttrpc_test_util.h"
/* After util.h, whose ARRAY_SIZE the harness then keeps. */
#include "kselftest_harness.h"

FIXTURE(srv)
{
	struct evloop *loop;
	struct ttrpc_server *srv;
	struct svc svc;
	struct raw_peer peer; /* connected at setup */
	struct raw_peer peer2; /* connected by tests that need two */
	int disconnects;
	/* dispatch_raw sink */
	uint8_t *sunk;
	size_t sunk_len;
	int sinks;
};

static void count_disconnect(struct ttrpc_server *srv, void *data)
{
	int *n = data;

	(*n)++;
}

/* Connect a new raw peer; @sndbuf > 0 shrinks the server's send buffer. */
static int connect_peer(FIXTURE_DATA(srv) * self, struct raw_peer *p,
			int sndbuf)
{
	struct herr err;
	int sv[2];

	if (stream_pair(sv) < 0)
		return -1;
	if (sndbuf > 0) {
		int rcv = sndbuf;

		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf,
			   sizeof(sndbuf));
		setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	}
	if (ttrpc_server_add_conn(self->srv, sv[0], sv[0], &err) < 0) {
		close(sv[1]);
		return -1;
	}
	return raw_peer_init(p, self->loop, sv[1]);
}

FIXTURE_SETUP(srv)
{
	self->peer.fd = -1;
	self->peer2.fd = -1;
	self->loop = evloop_new();
	ASSERT_NE(NULL, self->loop);
	self->svc.loop = self->loop;
	self->srv = ttrpc_server_new(self->loop, svc_methods,
				     ARRAY_SIZE(svc_methods), &self->svc);
	ASSERT_NE(NULL, self->srv);
	ttrpc_server_on_disconnect(self->srv, count_disconnect,
				   &self->disconnects);
	ASSERT_EQ(0, connect_peer(self, &self->peer, 0));
	ASSERT_EQ(1, ttrpc_server_conn_count(self->srv));
}

FIXTURE_TEARDOWN(srv)
{
	raw_peer_free(&self->peer);
	raw_peer_free(&self->peer2);
	/* Pending calls are cancelled here; no-hook orphans dropped. */
	ttrpc_server_free(self->srv);
	evloop_free(self->loop);
	free(self->sunk);
	EXPECT_EQ(0, leak_check());
}

static struct raw_frame *wait_frame(struct raw_peer *p, uint32_t id)
{
	RUN_UNTIL(p->loop, raw_peer_find(p, id) || p->eof, 5000);
	return raw_peer_find(p, id);
}

/*
 * Status code of the Response on stream @id (message copied to @msg), or -1
 * if no such frame came or it is not a well-formed Response frame.
 */
static int wait_status(struct raw_peer *p, uint32_t id, char *msg, size_t n)
{
	struct raw_frame *f = wait_frame(p, id);
	Ttrpc__Response *r;
	int code;

	if (!f || f->hdr.type != TTRPC_TYPE_RESPONSE || f->hdr.flags)
		return -1;
	r = frame_response(f);
	if (!r)
		return -1;
	code = response_code(r);
	if (msg)
		snprintf(msg, n, "%s", response_message(r));
	/* An error status carries no payload. */
	if (code != GRPC_OK && r->payload.len)
		code = -1;
	ttrpc__response__free_unpacked(r, NULL);
	return code;
}

/* Decode the OK reply on stream @id as @desc (NULL if anything is off). */
static void *wait_reply(struct raw_peer *p, uint32_t id,
			const ProtobufCMessageDescriptor *desc)
{
	struct raw_frame *f = wait_frame(p, id);
	Ttrpc__Response *r;
	void *m = NULL;

	if (!f || f->hdr.type != TTRPC_TYPE_RESPONSE)
		return NULL;
	r = frame_response(f);
	if (!r)
		return NULL;
	if (response_code(r) == GRPC_OK)
		m = protobuf_c_message_unpack(desc, NULL, r->payload.len,
					      r->payload.data);
	ttrpc__response__free_unpacked(r, NULL);
	return m;
}

static int call_kv(struct raw_peer *p, uint32_t id, const char *method,
		   const char *key, const char *value)
{
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;

	kv.key = (char *)key;
	kv.value = (char *)value;
	return raw_peer_call(p, id, method, &kv.base);
}

/* Echo on @id answers with the request it got, byte for byte. */
static bool echo_works(struct raw_peer *p, uint32_t id)
{
	Ttrpc__Request in = TTRPC__REQUEST__INIT;
	Ttrpc__Request *out;
	bool ok;

	in.service = "probe";
	in.timeout_nano = id;
	if (raw_peer_call(p, id, "Echo", &in.base) < 0)
		return false;
	out = wait_reply(p, id, &ttrpc__request__descriptor);
	ok = out && !strcmp(out->service, "probe") && out->timeout_nano == id;
	if (out)
		ttrpc__request__free_unpacked(out, NULL);
	return ok;
}

TEST_F(srv, echo_round_trip)
{
	Ttrpc__Request in = TTRPC__REQUEST__INIT;
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT, *md[] = { &kv };
	Ttrpc__Response *r;
	struct raw_frame *f;
	size_t len;
	uint8_t *want;

	in.service = "svc";
	in.method = "m";
	in.payload.data = (uint8_t *)"hello";
	in.payload.len = 5;
	in.timeout_nano = 42;
	kv.key = "k";
	kv.value = "v";
	in.metadata = md;
	in.n_metadata = 1;
	want = pack_msg(&in.base, &len);
	ASSERT_EQ(0, raw_peer_call(&self->peer, 1, "Echo", &in.base));

	f = wait_frame(&self->peer, 1);
	ASSERT_NE(NULL, f);
	EXPECT_EQ(TTRPC_TYPE_RESPONSE, f->hdr.type);
	EXPECT_EQ(0, f->hdr.flags);
	r = frame_response(f);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(GRPC_OK, response_code(r));
	ASSERT_EQ(len, r->payload.len);
	EXPECT_EQ(0, memcmp(want, r->payload.data, len));
	ttrpc__response__free_unpacked(r, NULL);
	free(want);
	EXPECT_EQ(1, self->svc.calls);
}

/* What a Rust agent sends for an Empty reply: status {code 0}, no payload. */
TEST_F(srv, empty_reply_exact_bytes)
{
	static const uint8_t want[] = { 0x00, 0x00, 0x00, 0x02, 0x00, 0x00,
					0x00, 0x01, 0x02, 0x00, 0x0a, 0x00 };
	struct raw_frame *f;
	uint8_t got[sizeof(want)];

	ASSERT_EQ(0, raw_peer_call(&self->peer, 1, "Empty", NULL));
	f = wait_frame(&self->peer, 1);
	ASSERT_NE(NULL, f);
	ASSERT_EQ(2, f->hdr.len);
	ttrpc_hdr_encode(&f->hdr, got);
	memcpy(got + TTRPC_HDR_LEN, f->data, 2);
	EXPECT_EQ(0, memcmp(want, got, sizeof(want)));
}

TEST_F(srv, call_accessors)
{
	ASSERT_EQ(0, raw_peer_call(&self->peer, 7, "Info", NULL));
	ASSERT_EQ(GRPC_OK, wait_status(&self->peer, 7, NULL, 0));
	EXPECT_STREQ("Info", self->svc.method);
	EXPECT_EQ(7, self->svc.stream_id);
	EXPECT_EQ(&self->svc, self->svc.ctx);
}

struct seen {
	char methods[4][16];
	int n;
	bool handled_before; /* the handler had run when the hook did */
	int *calls;
};

/* Notes each method, then removes itself after the second. */
static void note_request(struct ttrpc_server *srv, const struct ttrpc_method *m,
			 void *data)
{
	struct seen *s = data;

	if (s->n < 4)
		snprintf(s->methods[s->n], sizeof(s->methods[0]), "%s",
			 m->method);
	if (*s->calls > s->n)
		s->handled_before = true;
	if (++s->n == 2)
		ttrpc_server_on_request(srv, NULL, NULL);
}

TEST_F(srv, on_request_hook_runs_before_each_handler)
{
	struct seen s = { .calls = &self->svc.calls };

	ttrpc_server_on_request(self->srv, note_request, &s);
	ASSERT_EQ(0, raw_peer_call(&self->peer, 1, "Info", NULL));
	ASSERT_EQ(GRPC_OK, wait_status(&self->peer, 1, NULL, 0));
	/* Refused before dispatch: the hook does not see it. */
	ASSERT_EQ(0, raw_peer_call(&self->peer, 3, "Nope", NULL));
	ASSERT_EQ(GRPC_UNIMPLEMENTED, wait_status(&self->peer, 3, NULL, 0));
	EXPECT_TRUE(echo_works(&self->peer, 5));
	/* Removed by itself: the third call passes unseen. */
	EXPECT_TRUE(echo_works(&self->peer, 7));
	EXPECT_EQ(2, s.n);
	EXPECT_STREQ("Info", s.methods[0]);
	EXPECT_STREQ("Echo", s.methods[1]);
	EXPECT_FALSE(s.handled_before);
}

TEST_F(srv, unknown_service_unimplemented)
{
	char msg[256];

	ASSERT_EQ(0, raw_peer_request(&self->peer, 1, "test.Nope", "Echo", NULL,
				      0, 0, NULL, 0));
	ASSERT_EQ(GRPC_UNIMPLEMENTED,
		  wait_status(&self->peer, 1, msg, sizeof(msg)));
	EXPECT_NE(NULL, strstr(msg, "test.Nope")) TH_LOG("msg: %s", msg);
	EXPECT_EQ(0, self->svc.calls);
}

TEST_F(srv, unknown_method_unimplemented)
{
	char msg[256];

	ASSERT_EQ(0, raw_peer_request(&self->peer, 1, "test.Echo", "Frobnicate",
				      NULL, 0, 0, NULL, 0));
	ASSERT_EQ(GRPC_UNIMPLEMENTED,
		  wait_status(&self->peer, 1, msg, sizeof(msg)));
	EXPECT_NE(NULL, strstr(msg, "Frobnicate")) TH_LOG("msg: %s", msg);
	/* A method of another service is not found by its bare name. */
	ASSERT_EQ(0, raw_peer_request(&self->peer, 3, "test.Other", "Hold",
				      NULL, 0, 0, NULL, 0));
	ASSERT_EQ(GRPC_UNIMPLEMENTED,
		  wait_status(&self->peer, 3, msg, sizeof(msg)));
	EXPECT_EQ(0, self->svc.calls);
}

TEST_F(srv, undecodable_payload_invalid_argument)
{
	/* Field 1, length 5, but only one byte follows. */
	static const uint8_t bad[] = { 0x0a, 0x05, 'a' };

	ASSERT_EQ(0, raw_peer_request(&self->peer, 1, "test.Echo", "Echo", bad,
				      sizeof(bad), 0, NULL, 0));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, wait_status(&self->peer, 1, NULL, 0));
	EXPECT_EQ(0, self->svc.calls);
	EXPECT_TRUE(echo_works(&self->peer, 3));
}

/* The ttrpc.Request envelope itself does not decode (Go: INVALID_ARGUMENT). */
TEST_F(srv, undecodable_envelope_invalid_argument)
{
	static const uint8_t bad[] = { 0x0a, 0xff, 0xff };

	ASSERT_EQ(0, raw_peer_send_frame(&self->peer, 1, TTRPC_TYPE_REQUEST, 0,
					 bad, sizeof(bad)));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, wait_status(&self->peer, 1, NULL, 0));
	EXPECT_TRUE(echo_works(&self->peer, 3));
}

TEST_F(srv, even_stream_id_invalid_argument)
{
	ASSERT_EQ(0, raw_peer_call(&self->peer, 2, "Empty", NULL));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, wait_status(&self->peer, 2, NULL, 0));
	EXPECT_EQ(0, self->svc.calls);
	/* The connection stays usable. */
	EXPECT_TRUE(echo_works(&self->peer, 3));
}

TEST_F(srv, reused_stream_id_invalid_argument)
{
	EXPECT_TRUE(echo_works(&self->peer, 5));
	ASSERT_EQ(0, raw_peer_call(&self->peer, 3, "Empty", NULL));
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, wait_status(&self->peer, 3, NULL, 0));
	EXPECT_EQ(1, self->svc.calls);
}

/* A method without a descriptor gets the payload bytes as they came. */
TEST_F(srv, raw_payload_method)
{
	static const uint8_t raw[] = { 0xff, 0x00, 0x80, 0x7f };
	Ttrpc__KeyValue *kv;

	ASSERT_EQ(0, raw_peer_request(&self->peer, 1, "test.Echo", "Raw", raw,
				      sizeof(raw), 0, NULL, 0));
	kv = wait_reply(&self->peer, 1, &ttrpc__key_value__descriptor);
	ASSERT_NE(NULL, kv);
	EXPECT_STREQ("4", kv->value);
	ttrpc__key_value__free_unpacked(kv, NULL);
	ASSERT_EQ(sizeof(raw), self->svc.raw_len);
	EXPECT_EQ(0, memcmp(raw, self->svc.raw, sizeof(raw)));
}

TEST_F(srv, fail_sends_status)
{
	char msg[256];

	ASSERT_EQ(0, call_kv(&self->peer, 1, "Fail", "5",
			     "container c1 not found"));
	ASSERT_EQ(GRPC_NOT_FOUND,
		  wait_status(&self->peer, 1, msg, sizeof(msg)));
	EXPECT_STREQ("container c1 not found", msg);

	ASSERT_EQ(0, raw_peer_call(&self->peer, 3, "FailErr", NULL));
	ASSERT_EQ(GRPC_NOT_FOUND,
		  wait_status(&self->peer, 3, msg, sizeof(msg)));
	EXPECT_NE(NULL, strstr(msg, "container c1")) TH_LOG("msg: %s", msg);
}

TEST_F(srv, metadata_passed_to_handler)
{
	Ttrpc__KeyValue a = TTRPC__KEY_VALUE__INIT, b = TTRPC__KEY_VALUE__INIT;
	Ttrpc__KeyValue q = TTRPC__KEY_VALUE__INIT, *md[] = { &a, &b };
	Ttrpc__KeyValue *out;
	size_t len;
	uint8_t *buf;

	a.key = "traceparent";
	a.value = "00-abc-01";
	b.key = "containerd-namespace-ttrpc";
	b.value = "k8s.io";
	q.key = "containerd-namespace-ttrpc";
	buf = pack_msg(&q.base, &len);
	ASSERT_EQ(0, raw_peer_request(&self->peer, 1, "test.Echo", "Meta", buf,
				      len, 0, md, 2));
	free(buf);
	out = wait_reply(&self->peer, 1, &ttrpc__key_value__descriptor);
	ASSERT_NE(NULL, out);
	EXPECT_STREQ("k8s.io", out->value);
	ttrpc__key_value__free_unpacked(out, NULL);
	EXPECT_TRUE(self->svc.meta_found);

	q.key = "absent";
	buf = pack_msg(&q.base, &len);
	ASSERT_EQ(0, raw_peer_request(&self->peer, 3, "test.Echo", "Meta", buf,
				      len, 0, md, 2));
	free(buf);
	ASSERT_EQ(GRPC_OK, wait_status(&self->peer, 3, NULL, 0));
	EXPECT_FALSE(self->svc.meta_found);
}

TEST_F(srv, deadline_from_timeout_nano)
{
	long long before = now_ms();

	ASSERT_EQ(0, raw_peer_request(&self->peer, 1, "test.Echo", "Deadline",
				      NULL, 0, 5000000000LL, NULL, 0));
	ASSERT_EQ(GRPC_OK, wait_status(&self->peer, 1, NULL, 0));
	EXPECT_GE(self->svc.deadline, before + 5000);
	EXPECT_LE(self->svc.deadline, self->svc.deadline_seen_at + 5001);

	/* No timeout_nano: no deadline. */
	self->svc.deadline = -1;
	ASSERT_EQ(0, raw_peer_call(&self->peer, 3, "Deadline", NULL));
	ASSERT_EQ(GRPC_OK, wait_status(&self->peer, 3, NULL, 0));
	EXPECT_EQ(0, self->svc.deadline);
}

/* The server gives up on a call whose timeout_nano passed. */
TEST_F(srv, deadline_cancels_held_call)
{
	long long start = now_ms();
	char msg[256];

	ASSERT_EQ(0, raw_peer_request(&self->peer, 1, "test.Echo", "Hold", NULL,
				      0, 200000000LL, NULL, 0));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->svc.cancelled == 1, 5000));
	EXPECT_GE(self->svc.cancel_ms - start, 199);
	EXPECT_EQ(0, self->svc.n_held);
	EXPECT_EQ(1, self->svc.cancelled_ids[0]);
	/* Like ttrpc-rust, the caller is told. */
	EXPECT_EQ(GRPC_DEADLINE_EXCEEDED,
		  wait_status(&self->peer, 1, msg, sizeof(msg)));
	EXPECT_TRUE(echo_works(&self->peer, 3));
}

/* A hostile timeout_nano (INT64_MAX) is a far deadline, not a wrap. */
TEST_F(srv, huge_timeout_nano)
{
	ASSERT_EQ(0, raw_peer_request(&self->peer, 1, "test.Echo", "Hold", NULL,
				      0, INT64_MAX, NULL, 0));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->svc.n_held == 1, 5000));
	EXPECT_GT(self->svc.deadline, now_ms() + 1000LL * 86400 * 365);
	run_for(self->loop, 200);
	EXPECT_EQ(0, self->svc.cancelled);
	EXPECT_EQ(NULL, raw_peer_find(&self->peer, 1));
}

TEST_F(srv, long_call_does_not_block_others)
{
	Ttrpc__Request *out;

	ASSERT_EQ(0, raw_peer_call(&self->peer, 1, "Hold", NULL));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->svc.n_held == 1, 5000));
	EXPECT_TRUE(echo_works(&self->peer, 3));
	EXPECT_EQ(NULL, raw_peer_find(&self->peer, 1));

	svc_release_reverse(&self->svc);
	out = wait_reply(&self->peer, 1, &ttrpc__request__descriptor);
	ASSERT_NE(NULL, out);
	ttrpc__request__free_unpacked(out, NULL);
}

/* Kept calls answered later, last first: each reply on its own stream. */
TEST_F(srv, held_calls_answered_out_of_order)
{
	const int n = 20;

	for (int i = 0; i < n; i++) {
		Ttrpc__Request in = TTRPC__REQUEST__INIT;

		in.timeout_nano = 1000 + i;
		ASSERT_EQ(0, raw_peer_call(&self->peer, 2 * i + 1, "Hold",
					   &in.base));
	}
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->svc.n_held == n, 5000));
	ASSERT_NE(NULL,
		  evloop_timer(self->loop, 1, svc_release_timer, &self->svc));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->peer.n == n, 5000));
	EXPECT_EQ(2 * (n - 1) + 1, self->peer.frames[0].hdr.stream_id);
	for (int i = 0; i < n; i++) {
		Ttrpc__Request *out = wait_reply(&self->peer, 2 * i + 1,
						 &ttrpc__request__descriptor);

		ASSERT_NE(NULL, out);
		EXPECT_EQ(1000 + i, out->timeout_nano);
		ttrpc__request__free_unpacked(out, NULL);
	}
}

TEST_F(srv, client_close_cancels_calls_and_others_still_served)
{
	ASSERT_EQ(0, connect_peer(self, &self->peer2, 0));
	ASSERT_EQ(2, ttrpc_server_conn_count(self->srv));
	for (uint32_t id = 1; id <= 5; id += 2) {
		ASSERT_EQ(0, raw_peer_call(&self->peer, id, "Hold", NULL));
	}
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->svc.n_held == 3, 5000));

	raw_peer_stop(&self->peer);
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->svc.cancelled == 3, 5000));
	EXPECT_EQ(0, self->svc.n_held);
	EXPECT_EQ(1, ttrpc_server_conn_count(self->srv));
	EXPECT_EQ(1, self->disconnects);
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(1, self->svc.cancelled_ids[i] & 1);
	}
	EXPECT_EQ(1 + 3 + 5, self->svc.cancelled_ids[0] +
				     self->svc.cancelled_ids[1] +
				     self->svc.cancelled_ids[2]);
	EXPECT_TRUE(echo_works(&self->peer2, 1));
}

/* Without a cancel hook the handler may still answer; the reply is dropped. */
TEST_F(srv, abandoned_call_without_hook_stays_valid)
{
	ASSERT_EQ(0, raw_peer_call(&self->peer, 1, "HoldNoHook", NULL));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->svc.nohook != NULL, 5000));
	raw_peer_stop(&self->peer);
	ASSERT_TRUE(RUN_UNTIL(self->loop,
			      ttrpc_server_conn_count(self->srv) == 0, 5000));
	ttrpc_call_reply(self->svc.nohook, NULL);
	self->svc.nohook = NULL;
	run_for(self->loop, 20);
}

/*
 * A handler answers just after its client went away, before the loop saw
 * the hangup (a WaitProcess finishing as the shim dies): the write fails
 * with EPIPE, and that must not kill the process with SIGPIPE.
 */
TEST_F(srv, reply_to_vanished_client_no_sigpipe)
{
	ASSERT_TRUE(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
	ASSERT_EQ(0, raw_peer_call(&self->peer, 1, "Hold", NULL));
	ASSERT_EQ(0, raw_peer_call(&self->peer, 3, "HoldNoHook", NULL));
	ASSERT_TRUE(RUN_UNTIL(self->loop,
			      self->svc.n_held == 1 && self->svc.nohook, 5000));
	raw_peer_stop(&self->peer);
	ttrpc_call_reply(self->svc.nohook, NULL);
	self->svc.nohook = NULL;
	ASSERT_TRUE(RUN_UNTIL(self->loop,
			      ttrpc_server_conn_count(self->srv) == 0, 5000));
	EXPECT_EQ(1, self->svc.cancelled);
}

static void expect_closed_by_bad_frame(struct __test_metadata *_metadata,
				       FIXTURE_DATA(srv) * self,
				       const uint8_t *frame, size_t len)
{
	ASSERT_EQ(0, connect_peer(self, &self->peer2, 0));
	ASSERT_EQ(0, raw_peer_write(&self->peer, frame, len));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->peer.eof, 5000));
	EXPECT_FALSE(self->peer.bad);
	/* Nothing but, at most, an error on the offending stream. */
	for (size_t i = 0; i < self->peer.n; i++) {
		Ttrpc__Response *r = frame_response(&self->peer.frames[i]);

		ASSERT_NE(NULL, r);
		EXPECT_NE(GRPC_OK, response_code(r));
		ttrpc__response__free_unpacked(r, NULL);
	}
	EXPECT_EQ(1, ttrpc_server_conn_count(self->srv));
	EXPECT_EQ(1, self->disconnects);
	EXPECT_TRUE(echo_works(&self->peer2, 1));
}

TEST_F(srv, oversize_frame_closes_connection)
{
	const struct ttrpc_hdr h = {
		.len = TTRPC_MAX_DATA + 1,
		.stream_id = 1,
		.type = TTRPC_TYPE_REQUEST,
	};
	uint8_t frame[TTRPC_HDR_LEN + 16] = { 0 };

	ttrpc_hdr_encode(&h, frame);
	expect_closed_by_bad_frame(_metadata, self, frame, sizeof(frame));
}

TEST_F(srv, garbage_frame_closes_connection)
{
	static const uint8_t frame[] = { 0x00, 0x00, 0x00, 0x04, 0x00,
					 0x00, 0x00, 0x01, 0x09, 0x00,
					 0xde, 0xad, 0xbe, 0xef };

	expect_closed_by_bad_frame(_metadata, self, frame, sizeof(frame));
}

TEST_F(srv, server_free_cancels_pending_calls)
{
	ASSERT_EQ(0, raw_peer_call(&self->peer, 1, "Hold", NULL));
	ASSERT_EQ(0, raw_peer_call(&self->peer, 3, "Hold", NULL));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->svc.n_held == 2, 5000));
	ttrpc_server_free(self->srv);
	self->srv = NULL;
	EXPECT_EQ(2, self->svc.cancelled);
	EXPECT_EQ(0, self->svc.n_held);
	EXPECT_TRUE(RUN_UNTIL(self->loop, self->peer.eof, 5000));
}

/* A reply too big for a frame becomes an error, not an oversize frame. */
TEST_F(srv, oversize_reply_refused)
{
	char size[32], msg[256];
	struct raw_frame *f;

	snprintf(size, sizeof(size), "%u", TTRPC_MAX_DATA + 16);
	ASSERT_EQ(0, call_kv(&self->peer, 1, "Big", "", size));
	f = wait_frame(&self->peer, 1);
	ASSERT_NE(NULL, f);
	EXPECT_LE(f->hdr.len, TTRPC_MAX_DATA);
	EXPECT_EQ(GRPC_RESOURCE_EXHAUSTED,
		  wait_status(&self->peer, 1, msg, sizeof(msg)));
	EXPECT_FALSE(self->peer.eof);
	EXPECT_TRUE(echo_works(&self->peer, 3));
}

/* 3 MiB through a 4 KiB send buffer: many partial writes, frames intact. */
TEST_F(srv, large_reply_partial_writes)
{
	const size_t big = 3u << 20;
	Ttrpc__Request *out;
	char size[32];

	ASSERT_EQ(0, connect_peer(self, &self->peer2, 4096));
	snprintf(size, sizeof(size), "%zu", big);
	ASSERT_EQ(0, call_kv(&self->peer2, 1, "Big", "", size));
	ASSERT_EQ(0, raw_peer_call(&self->peer2, 3, "Empty", NULL));
	out = wait_reply(&self->peer2, 1, &ttrpc__request__descriptor);
	ASSERT_NE(NULL, out);
	ASSERT_EQ(big, out->payload.len);
	EXPECT_EQ(big, check_pattern(out->payload.data, big, 1));
	ttrpc__request__free_unpacked(out, NULL);
	ASSERT_EQ(GRPC_OK, wait_status(&self->peer2, 3, NULL, 0));
	/* In order, not interleaved. */
	EXPECT_EQ(1, self->peer2.frames[0].hdr.stream_id);
	EXPECT_FALSE(self->peer2.bad);
}

TEST_F(srv, listen_fd_accepts_connections)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct raw_peer a, b;
	socklen_t salen;
	struct herr err;
	int lfd, fa, fb;

	/* Abstract name: nothing left on disk. */
	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "husk-ttrpc-test-%d",
		 getpid());
	salen = offsetof(struct sockaddr_un, sun_path) + 1 +
		strlen(sa.sun_path + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_GE(lfd, 0);
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&sa, salen));
	ASSERT_EQ(0, listen(lfd, 8));
	ASSERT_EQ(0, ttrpc_server_listen_fd(self->srv, lfd, &err));

	fa = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	fb = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_EQ(0, connect(fa, (struct sockaddr *)&sa, salen));
	ASSERT_EQ(0, connect(fb, (struct sockaddr *)&sa, salen));
	ASSERT_EQ(0, raw_peer_init(&a, self->loop, fa));
	ASSERT_EQ(0, raw_peer_init(&b, self->loop, fb));
	EXPECT_TRUE(echo_works(&a, 1));
	EXPECT_TRUE(echo_works(&b, 1));
	EXPECT_EQ(3, ttrpc_server_conn_count(self->srv));
	raw_peer_free(&a);
	raw_peer_free(&b);
	EXPECT_TRUE(RUN_UNTIL(self->loop,
			      ttrpc_server_conn_count(self->srv) == 1, 5000));
}

static void sink(const uint8_t *resp, size_t len, void *data)
{
	FIXTURE_DATA(srv) *self = data;

	free(self->sunk);
	self->sunk = xmalloc(len);
	memcpy(self->sunk, resp, len);
	self->sunk_len = len;
	self->sinks++;
}

static int sunk_code(FIXTURE_DATA(srv) * self, char *msg, size_t n)
{
	Ttrpc__Response *r =
		ttrpc__response__unpack(NULL, self->sunk_len, self->sunk);
	int code;

	if (!r)
		return -1;
	code = response_code(r);
	snprintf(msg, n, "%s", response_message(r));
	ttrpc__response__free_unpacked(r, NULL);
	return code;
}

static uint8_t *request_body(const char *service, const char *method,
			     const ProtobufCMessage *payload, size_t *len)
{
	Ttrpc__Request req = TTRPC__REQUEST__INIT;
	size_t plen = 0;
	uint8_t *p = payload ? pack_msg(payload, &plen) : NULL, *body;

	req.service = (char *)service;
	req.method = (char *)method;
	req.payload.data = p;
	req.payload.len = plen;
	body = pack_msg(&req.base, len);
	free(p);
	return body;
}

TEST_F(srv, dispatch_raw_replies_to_sink)
{
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
	Ttrpc__Response *r;
	Ttrpc__KeyValue *out;
	char msg[256];
	size_t len;
	uint8_t *body;

	kv.key = "0";
	kv.value = "x";
	body = request_body("test.Echo", "Meta", &kv.base, &len);
	ttrpc_server_dispatch_raw(self->srv, 1, body, len, sink, self);
	free(body);
	ASSERT_EQ(1, self->sinks);
	r = ttrpc__response__unpack(NULL, self->sunk_len, self->sunk);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(GRPC_OK, response_code(r));
	out = ttrpc__key_value__unpack(NULL, r->payload.len, r->payload.data);
	ASSERT_NE(NULL, out);
	EXPECT_STREQ("0", out->key);
	ttrpc__key_value__free_unpacked(out, NULL);
	ttrpc__response__free_unpacked(r, NULL);

	body = request_body("test.Nope", "X", NULL, &len);
	ttrpc_server_dispatch_raw(self->srv, 3, body, len, sink, self);
	free(body);
	ASSERT_EQ(2, self->sinks);
	EXPECT_EQ(GRPC_UNIMPLEMENTED, sunk_code(self, msg, sizeof(msg)));

	/* Garbage body: an error reply, not a crash. */
	ttrpc_server_dispatch_raw(self->srv, 5, (const uint8_t *)"\x0a\xff", 2,
				  sink, self);
	ASSERT_EQ(3, self->sinks);
	EXPECT_EQ(GRPC_INVALID_ARGUMENT, sunk_code(self, msg, sizeof(msg)));

	/* A kept call sends nothing now; nothing goes to the socket either. */
	body = request_body("test.Echo", "Hold", NULL, &len);
	ttrpc_server_dispatch_raw(self->srv, 7, body, len, sink, self);
	free(body);
	EXPECT_EQ(3, self->sinks);
	ASSERT_EQ(1, self->svc.n_held);
	svc_release_reverse(&self->svc);
	run_for(self->loop, 20);
	EXPECT_EQ(0, self->peer.n);
}

/* Append the frame of a test.Echo request for @method to @stream. */
static uint8_t *append_request(uint8_t *stream, size_t *len, uint32_t id,
			       const char *method,
			       const ProtobufCMessage *payload)
{
	size_t blen, flen;
	uint8_t *body = request_body("test.Echo", method, payload, &blen);
	uint8_t *f =
		ttrpc_frame_build(id, TTRPC_TYPE_REQUEST, 0, body, blen, &flen);

	free(body);
	if (!f)
		abort();
	stream = realloc(stream, *len + flen);
	if (!stream)
		abort();
	memcpy(stream + *len, f, flen);
	*len += flen;
	free(f);
	return stream;
}

/*
 * Two requests in one write: the first one's reply is on the wire before the
 * second handler runs, not held until every frame read in that wakeup is
 * handled (a Check behind a slow CreateContainer waited for it).
 */
TEST_F(srv, reply_written_before_next_handler)
{
	Ttrpc__Request in = TTRPC__REQUEST__INIT;
	struct raw_frame *f;
	uint8_t *stream;
	size_t len = 0;

	in.service = "pipelined";
	stream = append_request(NULL, &len, 1, "Echo", &in.base);
	stream = append_request(stream, &len, 3, "Peek", NULL);
	self->svc.peek_fd = self->peer.fd;
	self->svc.peeked = -2;
	ASSERT_EQ(0, raw_peer_write(&self->peer, stream, len));
	free(stream);
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->peer.n == 2, 5000));
	EXPECT_EQ(2, self->svc.calls);
	f = raw_peer_find(&self->peer, 1);
	ASSERT_NE(NULL, f);
	EXPECT_EQ(&self->peer.frames[0], f);
	/* Exactly the first reply, whole, was waiting when Peek ran. */
	EXPECT_EQ(TTRPC_HDR_LEN + f->hdr.len, self->svc.peeked);
	EXPECT_EQ(GRPC_OK, wait_status(&self->peer, 3, NULL, 0));
}

/*
 * The same behind a reply that does not fit the socket: the replies still
 * go out whole and in order, the later one queued behind the partial write.
 */
TEST_F(srv, reply_queued_behind_partial_write_keeps_order)
{
	const size_t big = 1u << 20;
	Ttrpc__KeyValue kv = TTRPC__KEY_VALUE__INIT;
	Ttrpc__Request *out;
	uint8_t *stream;
	size_t len = 0;
	char size[32];

	ASSERT_EQ(0, connect_peer(self, &self->peer2, 4096));
	snprintf(size, sizeof(size), "%zu", big);
	kv.key = "";
	kv.value = size;
	stream = append_request(NULL, &len, 1, "Big", &kv.base);
	stream = append_request(stream, &len, 3, "Peek", NULL);
	stream = append_request(stream, &len, 5, "Empty", NULL);
	self->svc.peek_fd = self->peer2.fd;
	ASSERT_EQ(0, raw_peer_write(&self->peer2, stream, len));
	free(stream);
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->peer2.n == 3, 10000));
	/* Peek ran while the big reply was only partly written. */
	EXPECT_GT(self->svc.peeked, 0);
	EXPECT_LT(self->svc.peeked, big);
	EXPECT_EQ(1, self->peer2.frames[0].hdr.stream_id);
	EXPECT_EQ(3, self->peer2.frames[1].hdr.stream_id);
	EXPECT_EQ(5, self->peer2.frames[2].hdr.stream_id);
	EXPECT_FALSE(self->peer2.bad);
	out = wait_reply(&self->peer2, 1, &ttrpc__request__descriptor);
	ASSERT_NE(NULL, out);
	ASSERT_EQ(big, out->payload.len);
	EXPECT_EQ(big, check_pattern(out->payload.data, big, 1));
	ttrpc__request__free_unpacked(out, NULL);
}

/* Ten requests in one write, and one frame split over two writes. */
TEST_F(srv, pipelined_and_split_requests)
{
	uint8_t *stream = NULL;
	size_t len = 0;

	for (uint32_t id = 1; id <= 19; id += 2) {
		Ttrpc__Request req = TTRPC__REQUEST__INIT;
		size_t blen, flen;
		uint8_t *body, *f;

		req.service = "test.Echo";
		req.method = "Info";
		body = pack_msg(&req.base, &blen);
		f = ttrpc_frame_build(id, TTRPC_TYPE_REQUEST, 0, body, blen,
				      &flen);
		free(body);
		ASSERT_NE(NULL, f);
		stream = realloc(stream, len + flen);
		ASSERT_NE(NULL, stream);
		memcpy(stream + len, f, flen);
		len += flen;
		free(f);
	}
	ASSERT_EQ(0, raw_peer_write(&self->peer, stream, len));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->peer.n == 10, 5000));
	for (uint32_t id = 1; id <= 19; id += 2)
		EXPECT_EQ(GRPC_OK, wait_status(&self->peer, id, NULL, 0));

	/* The same frames again with new ids, cut mid-header then mid-data. */
	for (size_t i = 0; i < len; i += len / 10) {
		stream[i + 7] += 20; /* stream id, low byte: 21..39 */
	}
	ASSERT_EQ(0, raw_peer_write(&self->peer, stream, 4));
	run_for(self->loop, 20);
	ASSERT_EQ(0, raw_peer_write(&self->peer, stream + 4, 17));
	run_for(self->loop, 20);
	EXPECT_EQ(10, self->peer.n);
	ASSERT_EQ(0, raw_peer_write(&self->peer, stream + 21, len - 21));
	ASSERT_TRUE(RUN_UNTIL(self->loop, self->peer.n == 20, 5000));
	EXPECT_EQ(20, self->svc.calls);
	EXPECT_EQ(39, self->svc.stream_id);
	free(stream);
}

TEST_HARNESS_MAIN
