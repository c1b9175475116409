/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the ttRPC unit tests: a raw peer that writes hand-made
 * frames and collects the frames it receives on the event loop, a test
 * service ("test.Echo") whose handlers answer at once or keep calls for the
 * test to answer later, bounded loop runs and a leak check.
 *
 * Everything here is static inline so each test file takes what it uses.
 */
#ifndef HUSK_TTRPC_TEST_UTIL_H
#define HUSK_TTRPC_TEST_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "err.h"
#include "evloop.h"
#include "util.h"
#include "ttrpc/client.h"
#include "ttrpc/frame.h"
#include "ttrpc/server.h"
#include "ttrpc.pb-c.h"
#include "google/rpc/status.pb-c.h"

#if defined(__SANITIZE_ADDRESS__)
#define TTRPC_TEST_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TTRPC_TEST_LSAN 1
#endif
#endif
#ifdef TTRPC_TEST_LSAN
#include <sanitizer/lsan_interface.h>
#endif

/*
 * The harness compares expected and seen as written; with this off, sizes
 * and ids can be checked against plain literals without casts everywhere.
 */
#pragma GCC diagnostic ignored "-Wsign-compare"

/*
 * kselftest runs each test in a child that ends with _exit(), which skips
 * LeakSanitizer's atexit check; tests call this after freeing everything.
 * Returns non-zero if leaks were found (always 0 without ASan).
 */
static inline int leak_check(void)
{
#ifdef TTRPC_TEST_LSAN
	return __lsan_do_recoverable_leak_check();
#else
	return 0;
#endif
}

/* Run @loop until @cond holds or @ms pass; evaluates to the final @cond. */
#define RUN_UNTIL(loop, cond, ms)                    \
	({                                           \
		long long _end = now_ms() + (ms);    \
		while (!(cond) && now_ms() < _end)   \
			evloop_run_once((loop), 10); \
		(cond);                              \
	})

/* Run @loop for @ms, to show that something does not happen. */
static inline void run_for(struct evloop *loop, long long ms)
{
	long long end = now_ms() + ms, left;

	/* Never pass a negative wait: that would block indefinitely. */
	while ((left = end - now_ms()) > 0)
		evloop_run_once(loop, (int)left);
}

static inline int stream_pair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
}

/* Serialize @m into a new buffer (never NULL, even for 0 bytes). */
static inline uint8_t *pack_msg(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(m);
	buf = xmalloc(*len);
	protobuf_c_message_pack(m, buf);
	return buf;
}

/* Deterministic bytes for big payloads, so corruption is visible. */
static inline uint8_t pattern_byte(size_t i, unsigned int seed)
{
	return (uint8_t)((i * 131 + seed * 7 + (i >> 12)) & 0xff);
}

static inline void fill_pattern(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = pattern_byte(i, seed);
}

/* Index of the first byte that differs from the pattern, or @len. */
static inline size_t check_pattern(const uint8_t *p, size_t len,
				   unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern_byte(i, seed))
			return i;
	return len;
}

/* --- raw peer: the far end of a socketpair, driven by hand --- */

struct raw_frame {
	struct ttrpc_hdr hdr;
	uint8_t *data;
};

struct raw_peer {
	struct evloop *loop;
	int fd;
	struct ttrpc_decoder dec;
	struct raw_frame *frames;
	size_t n, cap;
	bool eof; /* the other side closed (or reset) */
	bool bad; /* it sent a frame the decoder refused */
};

static inline void raw_peer_stop(struct raw_peer *p)
{
	if (p->fd >= 0) {
		evloop_del(p->loop, p->fd);
		close(p->fd);
		p->fd = -1;
	}
}

/* Append the decoder's ready frame to p->frames. */
static inline void raw_peer_keep(struct raw_peer *p)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 16;
		p->frames = realloc(p->frames, p->cap * sizeof(*p->frames));
		if (!p->frames)
			abort();
	}
	p->frames[p->n].hdr = p->dec.hdr;
	p->frames[p->n].data = ttrpc_decoder_take(&p->dec);
	p->n++;
}

static inline void raw_peer_readable(struct evloop *loop, int fd,
				     uint32_t events, void *data)
{
	struct raw_peer *p = data;
	uint8_t buf[65536];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		size_t off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			p->eof = true;
			evloop_del(loop, fd);
			return;
		}
		while (off < (size_t)n) {
			struct herr err;
			size_t used = 0;
			int r = ttrpc_decoder_feed(&p->dec, buf + off,
						   (size_t)n - off, &used,
						   &err);

			off += used;
			if (r < 0) {
				p->bad = true;
				p->eof = true;
				evloop_del(loop, fd);
				return;
			}
			if (r == 1)
				raw_peer_keep(p);
		}
	}
}

/* Take over @fd (non-blocking) and collect what arrives on it. */
static inline int raw_peer_init(struct raw_peer *p, struct evloop *loop, int fd)
{
	memset(p, 0, sizeof(*p));
	p->loop = loop;
	p->fd = fd;
	ttrpc_decoder_init(&p->dec);
	if (fd_set_nonblock(fd, 1) < 0)
		return -1;
	return evloop_add(loop, fd, EPOLLIN, raw_peer_readable, p);
}

static inline void raw_peer_free(struct raw_peer *p)
{
	raw_peer_stop(p);
	for (size_t i = 0; i < p->n; i++)
		free(p->frames[i].data);
	free(p->frames);
	p->frames = NULL;
	p->n = p->cap = 0;
	ttrpc_decoder_reset(&p->dec);
}

/*
 * Write all of @buf, running the loop while the socket is full so that a
 * server on the same loop can drain it.  Returns 0, or -1 (errno) when the
 * other side is gone or nothing moves for 10 s.
 */
static inline int raw_peer_write(struct raw_peer *p, const void *buf,
				 size_t len)
{
	const uint8_t *b = buf;
	long long end = now_ms() + 10000;

	while (len) {
		ssize_t n = write(p->fd, b, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (now_ms() > end)
				return -1;
			evloop_run_once(p->loop, 10);
			continue;
		}
		if (n < 0)
			return -1;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

static inline int raw_peer_send_frame(struct raw_peer *p, uint32_t id,
				      uint8_t type, uint8_t flags,
				      const uint8_t *data, size_t len)
{
	size_t flen;
	uint8_t *f = ttrpc_frame_build(id, type, flags, data, len, &flen);
	int r;

	if (!f)
		return -1;
	r = raw_peer_write(p, f, flen);
	free(f);
	return r;
}

/* Send a ttrpc.Request frame with flags 0 (a unary call). */
static inline int raw_peer_request(struct raw_peer *p, uint32_t id,
				   const char *service, const char *method,
				   const uint8_t *payload, size_t plen,
				   int64_t timeout_nano, Ttrpc__KeyValue **md,
				   size_t n_md)
{
	Ttrpc__Request req = TTRPC__REQUEST__INIT;
	size_t len;
	uint8_t *buf;
	int r;

	req.service = (char *)service;
	req.method = (char *)method;
	req.payload.data = (uint8_t *)payload;
	req.payload.len = plen;
	req.timeout_nano = timeout_nano;
	req.metadata = md;
	req.n_metadata = n_md;
	buf = pack_msg(&req.base, &len);
	r = raw_peer_send_frame(p, id, TTRPC_TYPE_REQUEST, 0, buf, len);
	free(buf);
	return r;
}

/* Send a request whose payload is the serialized @msg. */
static inline int raw_peer_call(struct raw_peer *p, uint32_t id,
				const char *method, const ProtobufCMessage *msg)
{
	size_t len = 0;
	uint8_t *buf = msg ? pack_msg(msg, &len) : NULL;
	int r = raw_peer_request(p, id, "test.Echo", method, buf, len, 0, NULL,
				 0);

	free(buf);
	return r;
}

/* Send a ttrpc.Response frame for stream @id. */
static inline int raw_peer_respond(struct raw_peer *p, uint32_t id, int code,
				   const char *message,
				   const ProtobufCMessage *payload)
{
	Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
	Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
	size_t len, plen = 0;
	uint8_t *pbuf = payload ? pack_msg(payload, &plen) : NULL;
	uint8_t *buf;
	int r;

	st.code = code;
	st.message = (char *)(message ? message : "");
	resp.status = &st;
	resp.payload.data = pbuf;
	resp.payload.len = plen;
	buf = pack_msg(&resp.base, &len);
	r = raw_peer_send_frame(p, id, TTRPC_TYPE_RESPONSE, 0, buf, len);
	free(buf);
	free(pbuf);
	return r;
}

static inline struct raw_frame *raw_peer_find(struct raw_peer *p, uint32_t id)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->frames[i].hdr.stream_id == id)
			return &p->frames[i];
	return NULL;
}

/* Decode frame data as a ttrpc.Response (NULL if it does not decode). */
static inline Ttrpc__Response *frame_response(const struct raw_frame *f)
{
	return ttrpc__response__unpack(NULL, f->hdr.len, f->data);
}

static inline Ttrpc__Request *frame_request(const struct raw_frame *f)
{
	return ttrpc__request__unpack(NULL, f->hdr.len, f->data);
}

/* A missing status means OK (Go client semantics). */
static inline int response_code(const Ttrpc__Response *r)
{
	return r->status ? r->status->code : GRPC_OK;
}

static inline const char *response_message(const Ttrpc__Response *r)
{
	return r->status && r->status->message ? r->status->message : "";
}

/* --- the test service, "test.Echo" --- */

#define SVC_MAX_HELD 128

struct held_call {
	struct ttrpc_call *call;
	const void *req;
};

struct svc {
	struct evloop *loop;
	struct held_call held[SVC_MAX_HELD]; /* kept by Hold/Later */
	size_t n_held;
	struct ttrpc_call *nohook; /* kept by HoldNoHook */
	int cancelled; /* on_cancel hooks run */
	uint32_t cancelled_ids[SVC_MAX_HELD];
	long long cancel_ms; /* when the last hook ran */
	int calls; /* handler invocations, all methods */
	/* Recorded by Deadline/Hold/Info */
	long long deadline;
	long long deadline_seen_at;
	char method[64];
	uint32_t stream_id;
	void *ctx;
	/* Recorded by Meta */
	bool meta_found;
	char meta_value[128];
	/* Recorded by Raw */
	uint8_t raw[64];
	size_t raw_len;
	/* Proxy: where it makes its nested synchronous call */
	struct ttrpc_client *proxy_to;
	int proxy_code;
	/* Peek: bytes waiting on @peek_fd when the handler ran (-1: none) */
	int peek_fd;
	int peeked;
};

static inline void svc_echo(struct ttrpc_call *call, const void *req, void *ctx)
{
	struct svc *s = ctx;

	s->calls++;
	ttrpc_call_reply(call, req);
}

static inline void svc_empty(struct ttrpc_call *call, const void *req,
			     void *ctx)
{
	struct svc *s = ctx;

	s->calls++;
	ttrpc_call_reply(call, NULL);
}

static inline void svc_forget(struct svc *s, struct ttrpc_call *call)
{
	for (size_t i = 0; i < s->n_held; i++) {
		if (s->held[i].call == call) {
			memmove(&s->held[i], &s->held[i + 1],
				(s->n_held - i - 1) * sizeof(s->held[0]));
			s->n_held--;
			return;
		}
	}
}

static inline void svc_cancelled(struct ttrpc_call *call, void *data)
{
	struct svc *s = data;

	if ((size_t)s->cancelled < SVC_MAX_HELD)
		s->cancelled_ids[s->cancelled] = ttrpc_call_stream_id(call);
	s->cancelled++;
	s->cancel_ms = now_ms();
	svc_forget(s, call);
}

/* Keep the call (with a cancel hook) for the test to answer. */
static inline void svc_hold(struct ttrpc_call *call, const void *req, void *ctx)
{
	struct svc *s = ctx;

	s->calls++;
	s->deadline = ttrpc_call_deadline(call);
	s->deadline_seen_at = now_ms();
	if (s->n_held == SVC_MAX_HELD) {
		ttrpc_call_fail(call, GRPC_RESOURCE_EXHAUSTED, "too many");
		return;
	}
	s->held[s->n_held].call = call;
	s->held[s->n_held].req = req;
	s->n_held++;
	ttrpc_call_on_cancel(call, svc_cancelled, s);
}

/* Keep the call without a cancel hook (it must stay valid). */
static inline void svc_hold_nohook(struct ttrpc_call *call, const void *req,
				   void *ctx)
{
	struct svc *s = ctx;

	s->calls++;
	s->nohook = call;
}

/* Answer every held call with its own request, last one first. */
static inline void svc_release_reverse(struct svc *s)
{
	while (s->n_held) {
		struct held_call h = s->held[--s->n_held];

		ttrpc_call_reply(h.call, h.req);
	}
}

static inline void svc_release_timer(struct evloop *loop, void *data)
{
	svc_release_reverse(data);
}

static inline void svc_deadline(struct ttrpc_call *call, const void *req,
				void *ctx)
{
	struct svc *s = ctx;

	s->calls++;
	s->deadline = ttrpc_call_deadline(call);
	s->deadline_seen_at = now_ms();
	ttrpc_call_reply(call, NULL);
}

static inline void svc_info(struct ttrpc_call *call, const void *req, void *ctx)
{
	struct svc *s = ctx;

	s->calls++;
	snprintf(s->method, sizeof(s->method), "%s", ttrpc_call_method(call));
	s->stream_id = ttrpc_call_stream_id(call);
	s->ctx = ttrpc_call_ctx(call);
	ttrpc_call_reply(call, NULL);
}

/* KeyValue{key} -> KeyValue{key, metadata[key]} */
static inline void svc_meta(struct ttrpc_call *call, const void *req, void *ctx)
{
	const Ttrpc__KeyValue *kv = req;
	Ttrpc__KeyValue out = TTRPC__KEY_VALUE__INIT;
	struct svc *s = ctx;
	const char *v = ttrpc_call_metadata(call, kv->key);

	s->calls++;
	s->meta_found = v != NULL;
	snprintf(s->meta_value, sizeof(s->meta_value), "%s", v ? v : "");
	out.key = kv->key;
	out.value = (char *)(v ? v : "");
	ttrpc_call_reply(call, &out.base);
}

/* No descriptor: the handler gets the raw payload bytes. */
static inline void svc_raw(struct ttrpc_call *call, const void *req, void *ctx)
{
	const ProtobufCBinaryData *b = req;
	Ttrpc__KeyValue out = TTRPC__KEY_VALUE__INIT;
	struct svc *s = ctx;
	char len[32];

	s->calls++;
	s->raw_len = b->len;
	memcpy(s->raw, b->data,
	       b->len < sizeof(s->raw) ? b->len : sizeof(s->raw));
	snprintf(len, sizeof(len), "%zu", b->len);
	out.key = "len";
	out.value = len;
	ttrpc_call_reply(call, &out.base);
}

/* KeyValue{key=code, value=message} -> that error status. */
static inline void svc_fail(struct ttrpc_call *call, const void *req, void *ctx)
{
	const Ttrpc__KeyValue *kv = req;
	struct svc *s = ctx;

	s->calls++;
	ttrpc_call_fail(call, atoi(kv->key), "%s", kv->value);
}

static inline void svc_fail_err(struct ttrpc_call *call, const void *req,
				void *ctx)
{
	struct svc *s = ctx;
	struct herr err;

	s->calls++;
	herr_set(&err, GRPC_NOT_FOUND, ENOENT, "container %s", "c1");
	ttrpc_call_fail_err(call, &err);
}

/* KeyValue{value=size} -> Request{payload = size pattern bytes}. */
static inline void svc_big(struct ttrpc_call *call, const void *req, void *ctx)
{
	const Ttrpc__KeyValue *kv = req;
	Ttrpc__Request out = TTRPC__REQUEST__INIT;
	struct svc *s = ctx;
	size_t size = strtoul(kv->value, NULL, 10);

	s->calls++;
	out.payload.data = xmalloc(size);
	out.payload.len = size;
	fill_pattern(out.payload.data, size, 1);
	ttrpc_call_reply(call, &out.base);
	free(out.payload.data);
}

/*
 * Make a synchronous call to @proxy_to from inside the handler, as a shim
 * task handler calls the agent, then answer.  The loop runs nested here.
 */
static inline void svc_proxy(struct ttrpc_call *call, const void *req,
			     void *ctx)
{
	struct svc *s = ctx;
	struct herr err;

	s->calls++;
	herr_clear(&err);
	ttrpc_client_call_sync(s->proxy_to, "test.Echo", "Empty", NULL, NULL,
			       5000, NULL, &err);
	s->proxy_code = err.code;
	ttrpc_call_reply(call, NULL);
}

/*
 * Note how many bytes the peer has not read yet on @peek_fd (the far end of
 * the connection), i.e. what the server wrote before this handler ran.
 */
static inline void svc_peek(struct ttrpc_call *call, const void *req, void *ctx)
{
	struct svc *s = ctx;
	int n = -1;

	s->calls++;
	if (ioctl(s->peek_fd, FIONREAD, &n) < 0)
		n = -1;
	s->peeked = n;
	ttrpc_call_reply(call, NULL);
}

static const struct ttrpc_method svc_methods[] __attribute__((unused)) = {
	{ "test.Echo", "Echo", &ttrpc__request__descriptor, svc_echo },
	{ "test.Echo", "Empty", NULL, svc_empty },
	{ "test.Echo", "Hold", &ttrpc__request__descriptor, svc_hold },
	{ "test.Echo", "HoldNoHook", NULL, svc_hold_nohook },
	{ "test.Echo", "Deadline", NULL, svc_deadline },
	{ "test.Echo", "Info", NULL, svc_info },
	{ "test.Echo", "Meta", &ttrpc__key_value__descriptor, svc_meta },
	{ "test.Echo", "Raw", NULL, svc_raw },
	{ "test.Echo", "Fail", &ttrpc__key_value__descriptor, svc_fail },
	{ "test.Echo", "FailErr", NULL, svc_fail_err },
	{ "test.Echo", "Big", &ttrpc__key_value__descriptor, svc_big },
	{ "test.Echo", "Proxy", NULL, svc_proxy },
	{ "test.Echo", "Peek", NULL, svc_peek },
	{ "test.Other", "Echo", &ttrpc__request__descriptor, svc_echo },
};

#endif
